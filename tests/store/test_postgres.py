"""What only the PostgreSQL store has: migrations applied once under an advisory lock, whoever starts first; the
same columns as SQLite; a database out of reach."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from grok_imagine_api.domain.errors import Unavailable
from grok_imagine_api.domain.jobs import JobStatus
from grok_imagine_api.store.pg_schema import postgres_migrations
from grok_imagine_api.store.postgres import PostgresJobStore
from grok_imagine_api.store.schema import migrate as sqlite_migrate
from pg import Cluster, throwaway_cluster
from stores import new


async def _applied(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        await conn.close()


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    async def start_eight() -> list[int]:
        stores = [PostgresJobStore(database_url, max_connections=2) for _ in range(8)]
        await asyncio.gather(*(store.open() for store in stores))
        try:
            await stores[0].create(new("after start-up"))
            counts = await asyncio.gather(*(store.counts() for store in stores))
            assert all(count[JobStatus.PENDING] == 1 for count in counts)
        finally:
            await asyncio.gather(*(store.close() for store in stores))
        return await _applied(database_url)

    assert asyncio.run(start_eight()) == [m.version for m in postgres_migrations()]


def test_migrations_are_numbered_and_a_restart_applies_none(database_url: str) -> None:
    migrations = postgres_migrations()
    versions = [m.version for m in migrations]
    assert versions[0] == 1 and versions == sorted(set(versions))

    async def open_twice() -> None:
        for _ in range(2):
            store = PostgresJobStore(database_url)
            await store.open()
            await store.close()

    asyncio.run(open_twice())
    assert asyncio.run(_applied(database_url)) == [m.version for m in migrations]


def test_a_newer_schema_is_refused(database_url: str, pg_cluster: Cluster) -> None:
    async def open_and_close() -> None:
        store = PostgresJobStore(database_url)
        await store.open()
        await store.close()

    asyncio.run(open_and_close())
    pg_cluster.psql(
        "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')", database_url.rsplit("/", 1)[1]
    )
    with pytest.raises(RuntimeError, match="newer"):
        asyncio.run(open_and_close())


def test_no_data_directory_lock(database_url: str) -> None:
    """Replicas share the database: the SQLite store's one-server lock file has no part here."""

    async def two_at_once() -> None:
        first, second = PostgresJobStore(database_url), PostgresJobStore(database_url)
        await first.open()
        await second.open()
        await first.close()
        await second.close()

    asyncio.run(two_at_once())


def test_the_same_columns_as_sqlite(database_url: str, pg_cluster: Cluster, tmp_path: Path) -> None:
    """A column added to one store's migrations and not the other's fails here, not in production."""
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    sqlite_migrate(conn)
    tables = ["jobs", "job_images", "idempotency_keys", "meta"]
    in_sqlite = {table: sorted(row[1] for row in conn.execute(f"PRAGMA table_info({table})")) for table in tables}
    conn.close()

    async def columns() -> dict[str, list[str]]:
        store = PostgresJobStore(database_url)
        await store.open()
        try:
            async with store.connection() as pg:
                rows = await pg.fetch(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_name = ANY($1)",
                    tables,
                )
        finally:
            await store.close()
        return {table: sorted(r["column_name"] for r in rows if r["table_name"] == table) for table in tables}

    assert asyncio.run(columns()) == in_sqlite


def test_a_database_out_of_reach_is_a_503() -> None:
    """Its own cluster, stopped under an open store: calls answer `database_unavailable`, safe to retry."""
    with throwaway_cluster() as cluster:

        async def run() -> None:
            store = PostgresJobStore(cluster.url(), max_connections=1)
            await store.open()
            try:
                await store.create(new("before"))
                cluster.stop()
                with pytest.raises(Unavailable) as first:
                    await store.counts()
                assert first.value.code == "database_unavailable"
                with pytest.raises(Unavailable):
                    await store.claim(worker_id="w", lease_seconds=60, now=0)
            finally:
                await store.close()

        asyncio.run(run())
