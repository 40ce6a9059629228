"""PostgreSQL implementation of JobStore and KeyStore, on an asyncpg connection pool. Any number of servers may
share the database: claims pick with FOR UPDATE SKIP LOCKED, and worker reports lock the row they check."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from ..domain.abilities import DEFAULT_TOKENS
from ..domain.errors import NotFound, Unavailable
from ..domain.jobs import (
    Claim,
    ErrorCode,
    InputImage,
    Job,
    JobStatus,
    Media,
    NewJob,
    Produced,
    check_worker_report,
    new_claim_token,
)
from .attempts import Retry, completed_log, failure
from .base import ACTIVITY_BUCKET, Activity, IdempotencyRecord
from .pg_schema import migrate
from .queries import load_queries, numbered
from .rows import job_from_row, list_filter, needs_key, needs_of, new_job_params

QUERIES = load_queries("postgres.sql")
# The database is down, restarting or out of reach (a 503, safe to retry), as opposed to a bad statement.
_UNREACHABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError)


class PostgresJobStore:
    def __init__(self, url: str, *, min_connections: int = 1, max_connections: int = 10) -> None:
        self.url = url
        self.min_connections = min_connections
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None

    # -- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        pool = await asyncpg.create_pool(self.url, min_size=self.min_connections, max_size=self.max_connections)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise RuntimeError("store is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _UNREACHABLE as exc:
            # The pool replaces a lost connection at the next acquire: a retry may well succeed.
            raise Unavailable("The database cannot be reached; try again", code="database_unavailable") from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    @staticmethod
    def _sql(name_or_sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, names = numbered(QUERIES.get(name_or_sql, name_or_sql))
        return sql, [params[name] for name in names]

    async def fetch(self, conn: asyncpg.Connection, query: str, params: dict[str, Any]) -> list[asyncpg.Record]:
        sql, args = self._sql(query, params)
        return list(await conn.fetch(sql, *args))

    async def fetchrow(self, conn: asyncpg.Connection, query: str, params: dict[str, Any]) -> asyncpg.Record | None:
        sql, args = self._sql(query, params)
        return await conn.fetchrow(sql, *args)

    async def execute(self, conn: asyncpg.Connection, query: str, params: dict[str, Any]) -> str:
        sql, args = self._sql(query, params)
        return str(await conn.execute(sql, *args))

    async def _one(self, query: str, params: dict[str, Any]) -> asyncpg.Record | None:
        async with self.connection() as conn:
            return await self.fetchrow(conn, query, params)

    async def _jobs(self, query: str, params: dict[str, Any]) -> list[Job]:
        async with self.connection() as conn:
            return [job_from_row(row) for row in await self.fetch(conn, query, params)]

    # -- jobs -------------------------------------------------------------------------------

    async def create(self, new: NewJob) -> Job:
        async with self.transaction() as conn:
            row = await self.fetchrow(conn, "insert_job", new_job_params(new))
            if new.image is not None:
                await self.execute(
                    conn, "insert_image", {"job_id": new.id, "mime": new.image.mime, "data": new.image.data}
                )
        assert row is not None
        return job_from_row(row)

    async def get(self, job_id: str) -> Job | None:
        row = await self._one("get_job", {"id": job_id})
        return job_from_row(row) if row else None

    async def get_image(self, job_id: str) -> InputImage | None:
        row = await self._one("get_image", {"job_id": job_id})
        return InputImage(data=bytes(row["data"]), mime=row["mime"]) if row else None

    async def list_jobs(
        self,
        *,
        status: JobStatus | None,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
        ascending: bool = False,
        owner: str | None = None,
        text: str | None = None,
        cancelled: bool | None = None,
        media: Media | None = None,
        steps: bool = False,
    ) -> list[Job]:
        where, params = list_filter(
            status=status,
            before_seq=before_seq,
            after_seq=after_seq,
            owner=owner,
            text=text,
            cancelled=cancelled,
            media=media,
            steps=steps,
            like="ILIKE",
            not_cancelled="error_code IS DISTINCT FROM 'cancelled'",
        )
        params["limit"] = limit
        sql = QUERIES["list_jobs"].format(where=where, order="ASC" if ascending else "DESC")
        return await self._jobs(sql, params)

    async def claim(
        self, *, worker_id: str, lease_seconds: float, now: float, abilities: frozenset[str] = DEFAULT_TOKENS
    ) -> Claim | None:
        async with self.transaction() as conn:
            waiting = [row["needs"] for row in await self.fetch(conn, "waiting_needs", {})]
            needs = [stored for stored in waiting if needs_of(stored) <= abilities]
            if not needs:
                return None
            params = {
                "token": new_claim_token(),
                "worker_id": worker_id,
                "now": now,
                "lease_expires_at": now + lease_seconds,
                "needs": needs,
            }
            row = await self.fetchrow(conn, "claim_job", params)
            if row is None:
                return None  # every job it could take is being claimed by someone else right now
            job = job_from_row(row)
            image = None
            if job.image_mime is not None:
                image_row = await self.fetchrow(conn, "get_image", {"job_id": job.id})
                if image_row is not None:
                    image = InputImage(data=bytes(image_row["data"]), mime=image_row["mime"])
            return Claim(job=job, image=image)

    async def release(self, job_id: str, *, claim_token: str, now: float) -> bool:
        return await self._one("release_job", {"id": job_id, "token": claim_token, "now": now}) is not None

    async def _checked(self, conn: asyncpg.Connection, job_id: str, claim_token: str | None, now: float) -> Job:
        row = await self.fetchrow(conn, "get_job_for_update", {"id": job_id})
        if row is None:
            raise NotFound(f"No job with id '{job_id}'", param="job_id", code="job_not_found")
        job = job_from_row(row)
        check_worker_report(job, claim_token, now)
        return job

    async def _report(
        self,
        job_id: str,
        claim_token: str | None,
        now: float,
        query: str,
        params: dict[str, Any],
        ending: Callable[[Job], tuple[str, dict[str, Any]]] | None = None,
    ) -> Job:
        """Check the report against the row, locked, then apply `query`; or what `ending` makes of the job."""
        async with self.transaction() as conn:
            job = await self._checked(conn, job_id, claim_token, now)
            if ending is not None:
                query, extra = ending(job)
                params = {**params, **extra}
            row = await self.fetchrow(conn, query, {"id": job_id, "now": now, **params})
        assert row is not None
        return job_from_row(row)

    async def touch(
        self, job_id: str, *, claim_token: str | None, progress: int | None, lease_seconds: float, now: float
    ) -> Job:
        params = {"progress": progress or 0, "lease_expires_at": now + lease_seconds}
        return await self._report(job_id, claim_token, now, "touch_job", params)

    async def complete(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        video_size: int,
        now: float,
        produced: Produced | None = None,
        grok_post_id: str | None = None,
        output_mismatch: list[dict[str, Any]] | None = None,
        images: list[dict[str, Any]] | None = None,
        hd_size: int | None = None,
        hd_produced: Produced | None = None,
    ) -> Job:
        params = {
            "video_size": video_size,
            "produced": json.dumps(produced.to_dict()) if produced else None,
            "grok_post_id": grok_post_id,
            "output_mismatch": json.dumps(output_mismatch) if output_mismatch else None,
            "images": json.dumps(images) if images else None,
            "hd_size": hd_size,
            "hd_produced": json.dumps(hd_produced.to_dict()) if hd_produced else None,
        }
        return await self._report(
            job_id,
            claim_token,
            now,
            "complete_job",
            params,
            lambda job: ("complete_job", {"attempt_log": completed_log(job, now)}),
        )

    async def fail(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        error: str,
        code: ErrorCode,
        now: float,
        produced: Produced | None = None,
        output_mismatch: list[dict[str, Any]] | None = None,
        retry: Retry | None = None,
    ) -> Job:
        params = {
            "error": error,
            "error_code": code.value,
            "produced": json.dumps(produced.to_dict()) if produced else None,
            "output_mismatch": json.dumps(output_mismatch) if output_mismatch else None,
        }
        return await self._report(
            job_id,
            claim_token,
            now,
            "fail_job",
            params,
            lambda job: failure(job, now=now, error=error, code=code, retry=retry),
        )

    async def waiting_needs(self) -> list[list[str]]:
        async with self.connection() as conn:
            return [json.loads(row["needs"]) for row in await self.fetch(conn, "waiting_needs", {})]

    async def mark_unmatched(self, unmatched: list[list[str]], *, now: float) -> None:
        keys = [needs_key(needs) for needs in unmatched]
        async with self.connection() as conn:
            await self.execute(conn, "mark_unmatched", {"unmatched": keys, "now": now})

    async def fail_unmatched(self, needs: list[str], *, before: float, now: float, error: str) -> list[Job]:
        params = {"needs": needs_key(needs), "before": before, "now": now, "error": error}
        return await self._jobs("fail_unmatched", params)

    async def fail_stale(self, *, now: float, error: str, retry: Retry | None = None) -> list[Job]:
        ended = []
        async with self.transaction() as conn:
            for row in await self.fetch(conn, "stale_jobs", {"now": now}):
                job = job_from_row(row)
                query, ending = failure(job, now=now, error=error, code=ErrorCode.TIMEOUT, retry=retry)
                params = {"id": job.id, "now": now, "error": error, "error_code": ErrorCode.TIMEOUT.value}
                params.update(produced=None, output_mismatch=None, **ending)
                updated = await self.fetchrow(conn, query, params)
                assert updated is not None
                ended.append(job_from_row(updated))
        return ended

    async def expire_videos(self, *, cutoff: float, now: float, limit: int) -> list[str]:
        async with self.connection() as conn:
            rows = await self.fetch(conn, "expire_videos", {"cutoff": cutoff, "now": now, "limit": limit})
        return [row["id"] for row in rows]

    async def jobs_keeping_files(self, job_ids: list[str]) -> set[str]:
        async with self.connection() as conn:
            return {row["id"] for row in await self.fetch(conn, "jobs_keeping_files", {"ids": job_ids})}

    async def delete(self, job_id: str, *, now: float) -> Job:
        """Hide a job from clients; a job not yet finished is cancelled (failed, code `cancelled`)."""
        row = await self._one("delete_job", {"id": job_id, "now": now})
        if row is None:
            raise NotFound(f"No job with id '{job_id}'", param="video_id", code="job_not_found")
        return job_from_row(row)

    async def cancel(self, job_id: str, *, now: float) -> Job | None:
        """Stop a queued or running job (failed, code `cancelled`), keeping it listed; None if it had finished."""
        row = await self._one("cancel_job", {"id": job_id, "now": now})
        return job_from_row(row) if row else None

    async def activity(self, *, since: float, recent: int) -> Activity:
        params = {"since": since, "bucket": ACTIVITY_BUCKET}
        async with self.connection() as conn:
            created = {row["bucket"]: row["n"] for row in await self.fetch(conn, "created_per_bucket", params)}
            finished = {
                (row["bucket"], row["status"]): row["n"]
                for row in await self.fetch(conn, "finished_per_bucket", params)
            }
            timings = await self.fetch(conn, "recent_timings", {"limit": recent})
        return Activity(
            created=created,
            completed={bucket: n for (bucket, status), n in finished.items() if status == "completed"},
            failed={bucket: n for (bucket, status), n in finished.items() if status == "failed"},
            queue_waits=[row["wait"] for row in timings if row["wait"] is not None],
            generation_times=[row["generation"] for row in timings if row["generation"] is not None],
        )

    async def counts(self) -> dict[JobStatus, int]:
        async with self.connection() as conn:
            return {JobStatus(row["status"]): row["n"] for row in await self.fetch(conn, "count_jobs", {})}

    async def count_cancelled(self) -> int:
        row = await self._one("count_cancelled", {})
        return int(row[0]) if row else 0

    # -- long videos (chains.py) -------------------------------------------------------------

    async def update_chain(
        self, job_id: str, *, chain: dict[str, Any], progress: int, now: float, expected: dict[str, Any] | None = None
    ) -> Job | None:
        params = {"id": job_id, "chain": json.dumps(chain), "progress": progress, "now": now}
        params["expected"] = json.dumps(expected) if expected is not None else None
        row = await self._one("update_chain", params)
        return job_from_row(row) if row else None

    async def active_chains(self) -> list[Job]:
        return await self._jobs("active_chains", {})


class PostgresKeyStore:
    """Idempotency keys and server-wide values, in the job store's database, on its pool."""

    def __init__(self, jobs: PostgresJobStore) -> None:
        self._jobs = jobs

    async def idempotency_begin(self, scope: str, key: str, fingerprint: str, now: float) -> IdempotencyRecord | None:
        """Reserve `key`, or return the record already there (finished, or still in flight)."""
        params = {"scope": scope, "key": key, "fingerprint": fingerprint, "now": now}
        async with self._jobs.connection() as conn:
            while True:
                if await self._jobs.fetchrow(conn, "reserve_idempotency", params) is not None:
                    return None
                row = await self._jobs.fetchrow(conn, "get_idempotency", params)
                if row is not None:  # else it was aborted in between: reserve again
                    return IdempotencyRecord(row["fingerprint"], row["status_code"], row["response"], row["created_at"])

    async def idempotency_finish(self, scope: str, key: str, status_code: int, response: str) -> None:
        params = {"scope": scope, "key": key, "status_code": status_code, "response": response}
        async with self._jobs.connection() as conn:
            await self._jobs.execute(conn, "finish_idempotency", params)

    async def idempotency_abort(self, scope: str, key: str) -> None:
        async with self._jobs.connection() as conn:
            await self._jobs.execute(conn, "abort_idempotency", {"scope": scope, "key": key})

    async def idempotency_purge(self, *, before: float) -> int:
        async with self._jobs.connection() as conn:
            status = await self._jobs.execute(conn, "purge_idempotency", {"before": before})
        return int(status.rsplit(" ", 1)[-1])

    async def meta_value(self, name: str, default: Callable[[], str]) -> str:
        """A server-wide value, created once with `default` and kept from then on (the first replica's wins)."""
        async with self._jobs.connection() as conn:
            await self._jobs.execute(conn, "insert_meta", {"name": name, "value": default()})
            row = await self._jobs.fetchrow(conn, "get_meta", {"name": name})
        assert row is not None
        return str(row["value"])
