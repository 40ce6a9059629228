"""What only the SQLite store has: its WAL checkpoints, its migrations tracked by user_version, its query plans.
The contract both stores keep is in test_contract.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grok_imagine_api.store.queries import QUERIES, numbered, parse_queries
from grok_imagine_api.store.schema import current_version, load_migrations, migrate
from grok_imagine_api.store.sqlite import SqliteJobStore
from stores import Harness, new


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "jobs.db")
    yield harness
    harness.close()


def test_checkpoints_keep_the_wal_small(h: Harness) -> None:
    for i in range(300):
        h.call(h.store.create(new(str(i))))
    wal = sqlite_store(h).path.with_name(sqlite_store(h).path.name + "-wal")
    sqlite_store(h).checkpoint()
    conn = sqlite3.connect(sqlite_store(h).path)
    busy, pages, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    conn.close()
    assert (busy, pages) == (0, done)
    assert wal.exists()


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
    conn = sqlite3.connect(sqlite_store(h).path)

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


def test_named_parameters_become_numbered_for_postgres() -> None:
    assert numbered("SELECT :a, :b::text[], :a WHERE n = :c") == (
        "SELECT $1, $2::text[], $1 WHERE n = $3",
        ("a", "b", "c"),
    )


def sqlite_store(h: Harness) -> SqliteJobStore:
    assert isinstance(h.store, SqliteJobStore)
    return h.store
