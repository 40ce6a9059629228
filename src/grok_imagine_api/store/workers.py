"""The workers and replicas tables of a PostgreSQL database: each replica's view of its workers and its count of
changes to jobs, written and read by worker/sharing.py. The SQL is in workers.sql."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from ..domain.abilities import parse_abilities
from ..worker.registry import RECENT_ERRORS, WorkerError, WorkerInfo, can_make, combine
from .queries import load_queries

QUERIES = load_queries("workers.sql")


class PostgresWorkerTable:
    def __init__(self, dsn: str, instance: str) -> None:
        self.dsn = dsn
        self.instance = instance
        self._pool: Any = None

    async def open(self) -> None:
        import asyncpg  # an optional extra: only a server with DATABASE_URL needs it

        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=1)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def exchange(
        self, own: list[WorkerInfo], changes: int, *, now: float, fresh_after: float, forget_before: float
    ) -> tuple[list[WorkerInfo], int]:
        """Save this replica's view and count of changes; read the other replicas' views, one entry a worker, and
        the sum of their counts. A replica that has not written since `fresh_after` is gone: its workers are not
        inside a poll there any more."""
        columns = [row(info) for info in own]
        async with self._pool.acquire() as connection, connection.transaction():
            if columns:
                await connection.execute(QUERIES["save_workers"], self.instance, now, *zip(*columns, strict=True))
            await connection.execute(QUERIES["forget_own_workers"], self.instance, [info.worker_id for info in own])
            await connection.execute(QUERIES["forget_gone_replicas"], forget_before, forget_before)
            await connection.execute(QUERIES["save_changes"], self.instance, changes, now)
            await connection.execute(QUERIES["forget_gone_changes"], forget_before)
            rows = await connection.fetch(QUERIES["other_workers"], self.instance)
            elsewhere = int(await connection.fetchval(QUERIES["changes_elsewhere"], self.instance))
        views: dict[str, WorkerInfo] = {}
        for record in rows:
            info = to_info(record, fresh=record["synced_at"] >= fresh_after)
            views[info.worker_id] = combine(views[info.worker_id], info) if info.worker_id in views else info
        return list(views.values()), elsewhere


def row(info: WorkerInfo) -> tuple[Any, ...]:
    errors = [
        {"job_id": e.job_id, "code": e.code, "message": e.message, "at": e.at, "owner": e.owner} for e in info.errors
    ]
    return (
        info.worker_id,
        info.first_seen,
        info.last_seen,
        info.polling,
        info.version,
        info.current_job_id,
        info.current_job_owner,
        info.job_at,
        info.jobs_claimed,
        info.jobs_completed,
        info.jobs_failed,
        json.dumps(info.abilities.to_dict()) if info.abilities else None,
        info.declared_at,
        json.dumps(errors),
        ",".join(sorted(info.modes)),
        info.cooldown_until,
        info.cooldown_reason,
        info.rate_limit_streak,
    )


def to_info(record: Any, *, fresh: bool) -> WorkerInfo:
    abilities = parse_abilities(json.loads(record["abilities"])) if record["abilities"] else None
    modes = frozenset(record["modes"].split(","))
    errors = deque((WorkerError(**error) for error in json.loads(record["errors"])), maxlen=RECENT_ERRORS)
    return WorkerInfo(
        worker_id=record["worker_id"],
        first_seen=record["first_seen"],
        last_seen=record["last_seen"],
        current_job_id=record["current_job_id"],
        current_job_owner=record["current_job_owner"],
        jobs_claimed=record["jobs_claimed"],
        jobs_completed=record["jobs_completed"],
        jobs_failed=record["jobs_failed"],
        version=record["version"],
        polling=record["polling"] if fresh else 0,
        errors=errors,
        abilities=abilities,
        tokens=can_make(abilities, modes),
        modes=modes,
        job_at=record["job_at"],
        declared_at=record["declared_at"],
        cooldown_until=record["cooldown_until"],
        cooldown_reason=record["cooldown_reason"],
        rate_limit_streak=record["rate_limit_streak"],
    )
