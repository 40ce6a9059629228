"""SQLite implementation of JobStore: one connection, used from the event loop; WAL checkpoints in
a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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
from ..files.lock import FileLock
from .attempts import Retry, completed_log, failure
from .base import ACTIVITY_BUCKET, Activity, IdempotencyRecord
from .queries import QUERIES
from .rows import job_from_row, list_filter, needs_key, needs_of, new_job_params
from .schema import migrate

T = TypeVar("T")
log = logging.getLogger("grok_imagine_api")

_SEQ_MAX = 2**63 - 1
BUSY_SECONDS = 10.0
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def connect(path: Path | str, *, busy_seconds: float = 10.0) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_seconds)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL survives a crash of the process (the WAL is fsynced at checkpoints); see README.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class SqliteJobStore:
    def __init__(self, path: Path | str, *, checkpoint_seconds: float = 1.0, exclusive: bool = True) -> None:
        """`exclusive`: while open, hold `{path}.lock` so that a second server cannot open the same database
        (off only where one process opens the file many times on purpose)."""
        self.path = Path(path)
        self.checkpoint_seconds = checkpoint_seconds
        self._data_lock = FileLock(self.path.with_name(self.path.name + ".lock"), self.path) if exclusive else None
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._creations: list[tuple[NewJob, asyncio.Future[Job]]] = []
        self._aside: sqlite3.Connection | None = None
        self._aside_lock = threading.Lock()
        self._tasks: set[asyncio.Future[None]] = set()

    # -- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._data_lock is not None:
            # Before the database is opened: a server refused here has touched nothing.
            await asyncio.to_thread(self._data_lock.acquire)
        try:
            conn = await asyncio.to_thread(self._open_and_migrate)
        except BaseException:
            if self._data_lock is not None:
                self._data_lock.release()
            raise
        # Checkpoints fsync; they run on their own connection in a thread, never inside a request.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        # Never wait for a lock on the event loop: when another process holds it, _retry sleeps instead.
        conn.execute("PRAGMA busy_timeout = 0")
        self._conn = conn
        self._checkpointer = asyncio.create_task(self._checkpoint_forever())

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._conn is not None:
            with contextlib.suppress(sqlite3.OperationalError):  # busy elsewhere: skip it this time
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None
        with self._aside_lock:
            if self._aside is not None:
                self._aside.close()
                self._aside = None
        try:
            await asyncio.to_thread(self.checkpoint)
        finally:
            if self._data_lock is not None:
                self._data_lock.release()

    def _open_and_migrate(self) -> sqlite3.Connection:
        conn = connect(self.path)
        migrate(conn)
        return conn

    def checkpoint(self) -> None:
        conn = connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    async def _checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(self.checkpoint_seconds)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; retrying", exc_info=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is not open")
        return self._conn

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    async def _retry(self, attempt: Callable[[], T]) -> T:
        """Run `attempt`; while another process holds the database lock, sleep and try again."""
        delay = 0.001
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in _BUSY_CODES:
                    raise
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"The database stayed locked by another process for {BUSY_SECONDS:g} s; try again",
                        code="database_busy",
                    ) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    # Statements run on the event loop's thread, one connection for the process: each is tens of
    # microseconds with the indexes in place, cheaper than any hand-off to another thread, and
    # nothing awaits inside a transaction, so transactions never interleave.
    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._retry(lambda: self._transaction(fn))

    async def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._retry(lambda: fn(self._connection()))

    async def _read_aside(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read that may scan many rows (text search): on a connection of its own in a thread, so the event
        loop keeps serving everyone else meanwhile. WAL lets it read while the main connection writes."""

        def run() -> T:
            with self._aside_lock:
                if self._aside is None:
                    self._aside = connect(self.path)
                return fn(self._aside)

        return await asyncio.to_thread(run)

    # -- jobs -------------------------------------------------------------------------------

    async def create(self, new: NewJob) -> Job:
        # Group commit: creations arriving in the same turn of the event loop share one transaction.
        future: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._creations.append((new, future))
        if len(self._creations) == 1:
            task = asyncio.ensure_future(self._commit_creations())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _commit_creations(self) -> None:
        batch, self._creations = self._creations, []
        try:
            jobs = await self._write(lambda conn: [self._insert(conn, new) for new, _ in batch])
        except Unavailable as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except Exception:
            # One bad row must not sink its neighbours: insert each on its own.
            for new, future in batch:
                try:
                    job = await self._write(functools.partial(self._insert, new=new))
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(job)
            return
        for (_, future), job in zip(batch, jobs, strict=True):
            if not future.done():
                future.set_result(job)

    @staticmethod
    def _insert(conn: sqlite3.Connection, new: NewJob) -> Job:
        job = job_from_row(conn.execute(QUERIES["insert_job"], new_job_params(new)).fetchone())
        if new.image is not None:
            conn.execute(QUERIES["insert_image"], {"job_id": new.id, "mime": new.image.mime, "data": new.image.data})
        return job

    async def get(self, job_id: str) -> Job | None:
        def read(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(QUERIES["get_job"], {"id": job_id}).fetchone()
            return job_from_row(row) if row else None

        return await self._run_read(read)

    async def get_image(self, job_id: str) -> InputImage | None:
        def read(conn: sqlite3.Connection) -> InputImage | None:
            row = conn.execute(QUERIES["get_image"], {"job_id": job_id}).fetchone()
            return InputImage(data=bytes(row["data"]), mime=row["mime"]) if row else None

        return await self._run_read(read)

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
            like="LIKE",
            not_cancelled="error_code IS NOT 'cancelled'",
        )
        params["limit"] = limit
        sql = QUERIES["list_jobs"].format(where=where, order="ASC" if ascending else "DESC")

        def read(conn: sqlite3.Connection) -> list[Job]:
            return [job_from_row(row) for row in conn.execute(sql, params)]

        return await (self._read_aside(read) if "like" in params else self._run_read(read))

    async def claim(
        self, *, worker_id: str, lease_seconds: float, now: float, abilities: frozenset[str] = DEFAULT_TOKENS
    ) -> Claim | None:
        def claim(conn: sqlite3.Connection) -> Claim | None:
            oldest = []
            for (needs,) in conn.execute(QUERIES["waiting_needs"]).fetchall():
                if needs_of(needs) <= abilities:
                    params = {"needs": needs, "now": now, "worker_id": worker_id}
                    found = conn.execute(QUERIES["oldest_with_needs"], params).fetchone()
                    if found is not None:
                        oldest.append(found[0])
            if not oldest:
                return None
            row = conn.execute(
                QUERIES["claim_job"],
                {
                    "token": new_claim_token(),
                    "worker_id": worker_id,
                    "now": now,
                    "lease_expires_at": now + lease_seconds,
                    "seq": min(oldest),
                },
            ).fetchone()
            job = job_from_row(row)
            image = None
            if job.image_mime is not None:
                image_row = conn.execute(QUERIES["get_image"], {"job_id": job.id}).fetchone()
                if image_row is not None:
                    image = InputImage(data=bytes(image_row["data"]), mime=image_row["mime"])
            return Claim(job=job, image=image)

        return await self._write(claim)

    async def release(self, job_id: str, *, claim_token: str, now: float) -> bool:
        def release(conn: sqlite3.Connection) -> bool:
            row = conn.execute(QUERIES["release_job"], {"id": job_id, "token": claim_token, "now": now}).fetchone()
            return row is not None

        return await self._write(release)

    def _checked(self, conn: sqlite3.Connection, job_id: str, claim_token: str | None, now: float) -> Job:
        row = conn.execute(QUERIES["get_job"], {"id": job_id}).fetchone()
        if row is None:
            raise NotFound(f"No job with id '{job_id}'", param="job_id", code="job_not_found")
        job = job_from_row(row)
        check_worker_report(job, claim_token, now)
        return job

    async def touch(
        self, job_id: str, *, claim_token: str | None, progress: int | None, lease_seconds: float, now: float
    ) -> Job:
        def touch(conn: sqlite3.Connection) -> Job:
            self._checked(conn, job_id, claim_token, now)
            row = conn.execute(
                QUERIES["touch_job"],
                {
                    "id": job_id,
                    "progress": progress or 0,
                    "now": now,
                    "lease_expires_at": now + lease_seconds,
                },
            ).fetchone()
            return job_from_row(row)

        return await self._write(touch)

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
        def complete(conn: sqlite3.Connection) -> Job:
            job = self._checked(conn, job_id, claim_token, now)
            params = {
                "attempt_log": completed_log(job, now),
                "id": job_id,
                "now": now,
                "video_size": video_size,
                "produced": json.dumps(produced.to_dict()) if produced else None,
                "grok_post_id": grok_post_id,
                "output_mismatch": json.dumps(output_mismatch) if output_mismatch else None,
                "images": json.dumps(images) if images else None,
                "hd_size": hd_size,
                "hd_produced": json.dumps(hd_produced.to_dict()) if hd_produced else None,
            }
            return job_from_row(conn.execute(QUERIES["complete_job"], params).fetchone())

        return await self._write(complete)

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
        def fail(conn: sqlite3.Connection) -> Job:
            job = self._checked(conn, job_id, claim_token, now)
            query, ending = failure(job, now=now, error=error, code=code, retry=retry)
            params = {
                "id": job_id,
                "now": now,
                "error": error,
                "error_code": code.value,
                "produced": json.dumps(produced.to_dict()) if produced else None,
                "output_mismatch": json.dumps(output_mismatch) if output_mismatch else None,
                **ending,
            }
            return job_from_row(conn.execute(QUERIES[query], params).fetchone())

        return await self._write(fail)

    async def waiting_needs(self) -> list[list[str]]:
        def read(conn: sqlite3.Connection) -> list[list[str]]:
            return [json.loads(row["needs"]) for row in conn.execute(QUERIES["waiting_needs"])]

        return await self._run_read(read)

    async def mark_unmatched(self, unmatched: list[list[str]], *, now: float) -> None:
        keys = json.dumps([needs_key(needs) for needs in unmatched])
        await self._write(lambda conn: conn.execute(QUERIES["mark_unmatched"], {"unmatched": keys, "now": now}))

    async def fail_unmatched(self, needs: list[str], *, before: float, now: float, error: str) -> list[Job]:
        params = {"needs": needs_key(needs), "before": before, "now": now, "error": error}

        def sweep(conn: sqlite3.Connection) -> list[Job]:
            return [job_from_row(row) for row in conn.execute(QUERIES["fail_unmatched"], params)]

        return await self._write(sweep)

    async def fail_stale(self, *, now: float, error: str, retry: Retry | None = None) -> list[Job]:
        def sweep(conn: sqlite3.Connection) -> list[Job]:
            ended = []
            for row in conn.execute(QUERIES["stale_jobs"], {"now": now}).fetchall():
                job = job_from_row(row)
                query, ending = failure(job, now=now, error=error, code=ErrorCode.TIMEOUT, retry=retry)
                params = {"id": job.id, "now": now, "error": error, "error_code": ErrorCode.TIMEOUT.value}
                params.update(produced=None, output_mismatch=None, **ending)
                ended.append(job_from_row(conn.execute(QUERIES[query], params).fetchone()))
            return ended

        return await self._write(sweep)

    async def expire_videos(self, *, cutoff: float, now: float, limit: int) -> list[str]:
        def expire(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(QUERIES["expire_videos"], {"cutoff": cutoff, "now": now, "limit": limit})
            return [row["id"] for row in rows]

        return await self._write(expire)

    async def jobs_keeping_files(self, job_ids: list[str]) -> set[str]:
        def read(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute(QUERIES["jobs_keeping_files"], {"ids": json.dumps(job_ids)})
            return {row["id"] for row in rows}

        return await self._run_read(read)

    async def delete(self, job_id: str, *, now: float) -> Job:
        """Hide a job from clients; a job not yet finished is cancelled (failed, code `cancelled`)."""

        def delete(conn: sqlite3.Connection) -> Job:
            row = conn.execute(QUERIES["delete_job"], {"id": job_id, "now": now}).fetchone()
            if row is None:
                raise NotFound(f"No job with id '{job_id}'", param="video_id", code="job_not_found")
            return job_from_row(row)

        return await self._write(delete)

    async def cancel(self, job_id: str, *, now: float) -> Job | None:
        """Stop a queued or running job (failed, code `cancelled`), keeping it listed; None if it had finished."""

        def cancel(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(QUERIES["cancel_job"], {"id": job_id, "now": now}).fetchone()
            return job_from_row(row) if row else None

        return await self._write(cancel)

    async def activity(self, *, since: float, recent: int) -> Activity:
        def read(conn: sqlite3.Connection) -> Activity:
            params = {"since": since, "bucket": ACTIVITY_BUCKET}
            created = {row["bucket"]: row["n"] for row in conn.execute(QUERIES["created_per_bucket"], params)}
            finished = {
                (row["bucket"], row["status"]): row["n"] for row in conn.execute(QUERIES["finished_per_bucket"], params)
            }
            timings = conn.execute(QUERIES["recent_timings"], {"limit": recent}).fetchall()
            return Activity(
                created=created,
                completed={bucket: n for (bucket, status), n in finished.items() if status == "completed"},
                failed={bucket: n for (bucket, status), n in finished.items() if status == "failed"},
                queue_waits=[row["wait"] for row in timings if row["wait"] is not None],
                generation_times=[row["generation"] for row in timings if row["generation"] is not None],
            )

        return await self._run_read(read)

    async def counts(self) -> dict[JobStatus, int]:
        def read(conn: sqlite3.Connection) -> dict[JobStatus, int]:
            return {JobStatus(row["status"]): row["n"] for row in conn.execute(QUERIES["count_jobs"])}

        return await self._run_read(read)

    async def count_cancelled(self) -> int:
        return await self._run_read(lambda conn: int(conn.execute(QUERIES["count_cancelled"]).fetchone()[0]))

    # -- long videos (chains.py) -------------------------------------------------------------

    async def update_chain(
        self, job_id: str, *, chain: dict[str, Any], progress: int, now: float, expected: dict[str, Any] | None = None
    ) -> Job | None:
        params = {"id": job_id, "chain": json.dumps(chain), "progress": progress, "now": now}
        params["expected"] = json.dumps(expected) if expected is not None else None

        def update(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(QUERIES["update_chain"], params).fetchone()
            return job_from_row(row) if row else None

        return await self._write(update)

    async def active_chains(self) -> list[Job]:
        def read(conn: sqlite3.Connection) -> list[Job]:
            return [job_from_row(row) for row in conn.execute(QUERIES["active_chains"])]

        return await self._run_read(read)


class SqliteKeyStore:
    """Idempotency keys and server-wide values, in the job store's database and on its connection."""

    def __init__(self, jobs: SqliteJobStore) -> None:
        self._jobs = jobs

    async def idempotency_begin(self, scope: str, key: str, fingerprint: str, now: float) -> IdempotencyRecord | None:
        """Reserve `key`, or return the record already there (finished, or still in flight)."""

        def begin(conn: sqlite3.Connection) -> IdempotencyRecord | None:
            row = conn.execute(QUERIES["get_idempotency"], {"scope": scope, "key": key}).fetchone()
            if row is not None:
                return IdempotencyRecord(row["fingerprint"], row["status_code"], row["response"], row["created_at"])
            conn.execute(
                QUERIES["reserve_idempotency"], {"scope": scope, "key": key, "fingerprint": fingerprint, "now": now}
            )
            return None

        return await self._jobs._write(begin)

    async def idempotency_finish(self, scope: str, key: str, status_code: int, response: str) -> None:
        params = {"scope": scope, "key": key, "status_code": status_code, "response": response}
        await self._jobs._write(lambda conn: conn.execute(QUERIES["finish_idempotency"], params))

    async def idempotency_abort(self, scope: str, key: str) -> None:
        await self._jobs._write(lambda conn: conn.execute(QUERIES["abort_idempotency"], {"scope": scope, "key": key}))

    async def idempotency_purge(self, *, before: float) -> int:
        return await self._jobs._write(
            lambda conn: conn.execute(QUERIES["purge_idempotency"], {"before": before}).rowcount
        )

    async def meta_value(self, name: str, default: Callable[[], str]) -> str:
        """A server-wide value, created once with `default` and kept from then on."""

        def get_or_create(conn: sqlite3.Connection) -> str:
            conn.execute(QUERIES["insert_meta"], {"name": name, "value": default()})
            return str(conn.execute(QUERIES["get_meta"], {"name": name}).fetchone()["value"])

        return await self._jobs._write(get_or_create)
