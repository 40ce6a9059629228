from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from grok_imagine_api.domain.errors import Conflict, NotFound
from grok_imagine_api.domain.jobs import (
    ErrorCode,
    GenerationOptions,
    InputImage,
    JobStatus,
    NewJob,
    new_job_id,
)
from grok_imagine_api.store.queries import QUERIES, parse_queries
from grok_imagine_api.store.schema import current_version, load_migrations, migrate
from grok_imagine_api.store.sqlite import SqliteJobStore

T = TypeVar("T")
NOW = 1_000_000.0
LEASE = 300.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def new(prompt: str = "p", image: InputImage | None = None, at: float = NOW) -> NewJob:
    return NewJob(id=new_job_id(), model="grok", prompt=prompt, options=GenerationOptions(), image=image, created_at=at)


class Harness:
    """Runs store calls on one event loop that lives for the test."""

    def __init__(self, path: Path, *, exclusive: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = SqliteJobStore(path, exclusive=exclusive)
        self.call(self.store.open())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.call(self.store.close())
        self.loop.close()


@pytest.fixture
def h(tmp_path: Path):  # type: ignore[no-untyped-def]
    harness = Harness(tmp_path / "jobs.db")
    yield harness
    harness.close()


def test_create_get_and_image_kept_apart(h: Harness) -> None:
    image = InputImage(b"\x89PNG\r\n\x1a\n....", "image/png")
    job = h.call(h.store.create(new("hello", image)))
    assert job.status is JobStatus.PENDING
    assert job.image_size == len(image.data)
    assert h.call(h.store.get(job.id)) == job
    assert h.call(h.store.get_image(job.id)) == image
    assert h.call(h.store.get("job_missing")) is None


def test_claim_is_fifo_and_leases(h: Harness) -> None:
    first = h.call(h.store.create(new("1")))
    h.call(h.store.create(new("2")))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW + 5))
    assert got is not None
    assert got.job.id == first.id
    assert got.job.status is JobStatus.PROCESSING
    assert got.job.claim_token
    assert got.job.lease_expires_at == NOW + 5 + LEASE
    assert got.job.attempts == 1
    assert h.call(h.store.counts())[JobStatus.PROCESSING] == 1


def test_claim_on_empty_queue(h: Harness) -> None:
    assert h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW)) is None


def test_guarded_transitions(h: Harness) -> None:
    job = h.call(h.store.create(new()))
    with pytest.raises(Conflict) as pending:
        h.call(h.store.fail(job.id, claim_token=None, error="e", code=ErrorCode.MODERATED, now=NOW))
    assert pending.value.code == "job_pending"
    claim = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert claim is not None
    with pytest.raises(Conflict) as mismatch:
        h.call(h.store.touch(job.id, claim_token="x", progress=5, lease_seconds=LEASE, now=NOW))
    assert mismatch.value.code == "lease_mismatch"
    done = h.call(h.store.complete(job.id, claim_token=claim.job.claim_token, video_size=10, now=NOW + 1))
    assert done.status is JobStatus.COMPLETED and done.progress == 100 and done.video_size == 10
    with pytest.raises(Conflict):
        h.call(h.store.complete(job.id, claim_token=None, video_size=1, now=NOW))
    with pytest.raises(NotFound):
        h.call(h.store.touch("job_x", claim_token=None, progress=1, lease_seconds=LEASE, now=NOW))


def test_a_failed_transaction_leaves_nothing(h: Harness) -> None:
    job = new(image=InputImage(b"\x89PNG\r\n\x1a\n", "image/png"))
    h.call(h.store.create(job))
    with pytest.raises(sqlite3.IntegrityError):
        h.call(h.store.create(job))
    assert h.call(h.store.counts())[JobStatus.PENDING] == 1


def test_concurrent_creations_share_a_commit_but_fail_alone(h: Harness) -> None:
    existing = h.call(h.store.create(new("first")))
    clash = NewJob(id=existing.id, model="grok", prompt="dup", options=GenerationOptions(), image=None, created_at=NOW)

    async def together() -> list[object]:
        return await asyncio.gather(
            h.store.create(new("a")), h.store.create(clash), h.store.create(new("b")), return_exceptions=True
        )

    a, dup, b = h.call(together())
    assert isinstance(dup, sqlite3.IntegrityError)
    assert [getattr(a, "prompt", None), getattr(b, "prompt", None)] == ["a", "b"]
    assert h.call(h.store.counts())[JobStatus.PENDING] == 3
    seqs = [j.seq for j in h.call(h.store.list_jobs(status=None, limit=10, before_seq=None))]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 3


def test_checkpoints_keep_the_wal_small(h: Harness) -> None:
    for i in range(300):
        h.call(h.store.create(new(str(i))))
    wal = h.store.path.with_name(h.store.path.name + "-wal")
    h.store.checkpoint()
    conn = sqlite3.connect(h.store.path)
    busy, pages, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    conn.close()
    assert (busy, pages) == (0, done)
    assert wal.exists()


def test_release_returns_a_claim_to_the_head_of_the_queue(h: Harness) -> None:
    first = h.call(h.store.create(new("1")))
    h.call(h.store.create(new("2")))
    claim = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert claim is not None and claim.job.claim_token
    assert not h.call(h.store.release(first.id, claim_token="other", now=NOW))
    assert h.call(h.store.release(first.id, claim_token=claim.job.claim_token, now=NOW))
    again = h.call(h.store.claim(worker_id="w2", lease_seconds=LEASE, now=NOW))
    assert again is not None and again.job.id == first.id and again.job.attempts == 1


def test_fail_stale_and_counts(h: Harness) -> None:
    a = h.call(h.store.create(new()))
    h.call(h.store.create(new()))
    h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert h.call(h.store.fail_stale(now=NOW + LEASE - 1, error="late")) == []
    stale = h.call(h.store.fail_stale(now=NOW + LEASE, error="late"))
    assert [j.id for j in stale] == [a.id]
    assert stale[0].error_code == "timeout"
    counts = h.call(h.store.counts())
    assert counts == {
        JobStatus.PENDING: 1,
        JobStatus.PROCESSING: 0,
        JobStatus.COMPLETED: 0,
        JobStatus.FAILED: 1,
    }


def test_expire_videos_in_batches(h: Harness) -> None:
    ids = []
    for _ in range(3):
        job = h.call(h.store.create(new()))
        h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
        h.call(h.store.complete(job.id, claim_token=None, video_size=1, now=NOW))
        ids.append(job.id)
    assert h.call(h.store.expire_videos(cutoff=NOW, now=NOW + 9, limit=10)) == []
    first = h.call(h.store.expire_videos(cutoff=NOW + 1, now=NOW + 9, limit=2))
    second = h.call(h.store.expire_videos(cutoff=NOW + 1, now=NOW + 9, limit=2))
    assert sorted(first + second) == sorted(ids)
    assert h.call(h.store.jobs_keeping_files(ids)) == set()


def test_listing_pages_backwards(h: Harness) -> None:
    jobs = [h.call(h.store.create(new(str(i)))) for i in range(5)]
    page = h.call(h.store.list_jobs(status=None, limit=3, before_seq=None))
    assert [j.id for j in page] == [j.id for j in jobs[::-1][:3]]
    rest = h.call(h.store.list_jobs(status=None, limit=3, before_seq=page[-1].seq))
    assert [j.id for j in rest] == [j.id for j in jobs[::-1][3:]]
    assert h.call(h.store.list_jobs(status=JobStatus.FAILED, limit=3, before_seq=None)) == []


def test_threads_never_claim_the_same_job(tmp_path: Path) -> None:
    """32 threads, each with its own store (own writer connection) on one database file."""
    path = tmp_path / "jobs.db"
    seed = Harness(path, exclusive=False)
    created = {seed.call(seed.store.create(new(str(i)))).id for i in range(512)}
    claimed: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        harness = Harness(path, exclusive=False)
        try:
            while got := harness.call(harness.store.claim(worker_id="t", lease_seconds=LEASE, now=NOW)):
                with lock:
                    claimed.append(got.job.id)
        finally:
            harness.close()

    threads = [threading.Thread(target=drain) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seed.close()
    assert len(claimed) == len(created)
    assert set(claimed) == created


def test_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert current_version(conn) == 0
    assert migrate(conn) == len(load_migrations())
    assert migrate(conn) == len(load_migrations())
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_derived_jobs_queued_before_abilities_need_a_capable_worker(tmp_path: Path) -> None:
    """Migration 0004 gives a pending remix, extension or edit the needs the server itself would write."""
    from grok_imagine_api.store.sqlite import needs_key

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    for migration in load_migrations()[:3]:
        conn.executescript(f"BEGIN;{migration.sql};PRAGMA user_version = {migration.version};COMMIT;")
    for kind, status in (("extend", "pending"), ("generate", "pending"), ("remix", "completed")):
        conn.execute(
            "INSERT INTO jobs (id, model, prompt, status, created_at, updated_at, kind)"
            " VALUES (?, 'm', 'p', ?, 0, 0, ?)",
            (f"job_{kind}", status, kind),
        )
    migrate(conn)
    needs = dict(conn.execute("SELECT kind, needs FROM jobs").fetchall())
    assert needs == {"extend": needs_key(["kind:extend", "source:upload"]), "generate": "[]", "remix": "[]"}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    conn.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer"):
        migrate(conn)


def test_claim_and_listing_use_indexes(h: Harness) -> None:
    conn = sqlite3.connect(h.store.path)

    def plan(sql: str, params: dict[str, Any]) -> str:
        return " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    claim_plan = plan("SELECT seq FROM jobs WHERE status = 'pending' ORDER BY seq LIMIT 1", {})
    assert "jobs_status_seq" in claim_plan and "TEMP B-TREE" not in claim_plan
    listing = QUERIES["list_jobs"]
    by_status = plan(
        listing.format(where="deleted_at IS NULL AND status = :status AND seq < :before", order="DESC"),
        {"status": "failed", "before": 10, "limit": 5},
    )
    assert "jobs_status_seq" in by_status and "TEMP B-TREE" not in by_status
    by_owner = plan(
        listing.format(where="deleted_at IS NULL AND owner = :owner AND seq > :after", order="ASC"),
        {"owner": "key_x", "after": 10, "limit": 5},
    )
    assert "jobs_owner_seq" in by_owner and "TEMP B-TREE" not in by_owner
    stale = plan("SELECT * FROM jobs WHERE status = 'processing' AND lease_expires_at <= 5", {})
    assert stale.startswith("SEARCH")
    expire = plan(
        "SELECT seq FROM jobs WHERE status = 'completed' AND video_expired_at IS NULL AND completed_at < 5",
        {},
    )
    assert expire.startswith("SEARCH")


def test_query_file_parser() -> None:
    assert parse_queries("-- name: a\n-- comment\nSELECT 1;\n\n-- name: b\nSELECT\n 2;") == {
        "a": "SELECT 1;",
        "b": "SELECT\n 2;",
    }
