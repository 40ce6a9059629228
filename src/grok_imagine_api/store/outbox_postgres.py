"""The webhook outbox in PostgreSQL, on the job store's pool (see outbox.py). Several replicas may run the
delivery loop at once: events and due deliveries are taken with FOR UPDATE SKIP LOCKED, and a delivery is sent
by whoever holds its lease."""

from __future__ import annotations

import dataclasses
import secrets

from .outbox import (
    Attempt,
    Delivery,
    DeliveryStatus,
    NewDelivery,
    Plan,
    attempt_from_row,
    delivery_from_row,
    event_from_row,
    steps_among,
)
from .postgres import PostgresJobStore
from .queries import load_queries, numbered

QUERIES = load_queries("outbox_postgres.sql")


class PostgresOutbox:
    def __init__(self, jobs: PostgresJobStore) -> None:
        self._jobs = jobs

    async def fan_out(self, plan: Plan, *, limit: int) -> list[NewDelivery]:
        async with self._jobs.transaction() as conn:
            rows = await self._jobs.fetch(conn, QUERIES["queued_events"], {"limit": limit})
            if not rows:
                return []
            ids = list({row["job_id"] for row in rows})
            steps = steps_among(await self._jobs.fetch(conn, QUERIES["jobs_of_events"], {"ids": ids}))
            events = [event_from_row(row, steps) for row in rows]
            made = [delivery for event in events for delivery in plan(event)]
            if made:
                sql, names = numbered(QUERIES["insert_delivery"])
                await conn.executemany(sql, [[getattr(d, name) for name in names] for d in made])
            await self._jobs.execute(conn, QUERIES["delete_events"], {"seqs": [event.seq for event in events]})
        return made

    async def claim_due(self, *, now: float, lease_seconds: float, limit: int) -> list[Delivery]:
        params = {"token": secrets.token_hex(8), "lease_expires_at": now + lease_seconds, "now": now, "limit": limit}
        async with self._jobs.connection() as conn:
            return [delivery_from_row(row) for row in await self._jobs.fetch(conn, QUERIES["claim_deliveries"], params)]

    async def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: DeliveryStatus,
        next_attempt_at: float | None,
    ) -> bool:
        params = {
            "id": delivery.id,
            "token": delivery.lease_token,
            "status": status,
            "next_attempt_at": next_attempt_at,
            "finished_at": attempt.at if status != "pending" else None,
            **dataclasses.asdict(attempt),
        }
        async with self._jobs.transaction() as conn:
            row = await self._jobs.fetchrow(conn, QUERIES["record_attempt"], params)
            if row is None:
                return False
            await self._jobs.execute(conn, QUERIES["insert_attempt"], {**params, "attempt": row["attempts"]})
        return True

    async def next_due(self) -> float | None:
        async with self._jobs.connection() as conn:
            row = await self._jobs.fetchrow(conn, QUERIES["next_due"], {})
        return float(row[0]) if row is not None and row[0] is not None else None

    async def has_events(self) -> bool:
        async with self._jobs.connection() as conn:
            return await self._jobs.fetchrow(conn, QUERIES["any_event"], {}) is not None

    async def pending_count(self) -> int:
        async with self._jobs.connection() as conn:
            row = await self._jobs.fetchrow(conn, QUERIES["count_pending"], {})
        return int(row[0]) if row is not None else 0

    async def recent(self, *, owner: str | None, limit: int) -> list[Delivery]:
        query = QUERIES["recent_deliveries"] if owner is None else QUERIES["recent_deliveries_of"]
        params: dict[str, object] = {"limit": limit} if owner is None else {"owner": owner, "limit": limit}
        async with self._jobs.connection() as conn:
            return [delivery_from_row(row) for row in await self._jobs.fetch(conn, query, params)]

    async def attempts(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        found: dict[str, list[Attempt]] = {delivery_id: [] for delivery_id in delivery_ids}
        async with self._jobs.connection() as conn:
            for row in await self._jobs.fetch(conn, QUERIES["attempts_of"], {"ids": delivery_ids}):
                found[row["delivery_id"]].append(attempt_from_row(row))
        return found

    async def purge(self, *, before: float) -> int:
        async with self._jobs.connection() as conn:
            status = await self._jobs.execute(conn, QUERIES["purge_deliveries"], {"before": before})
        return int(status.rsplit(" ", 1)[-1])
