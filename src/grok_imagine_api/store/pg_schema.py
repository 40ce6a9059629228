"""PostgreSQL migrations: `migrations/postgres/NNNN_name.sql`, applied in order at start-up under an advisory
lock, so replicas starting together migrate once; applied versions are rows of schema_migrations. Numbers may
leave gaps (0100 and up: tables apart from the jobs'); each number is applied once, in order."""

from __future__ import annotations

from typing import Any

from .schema import Migration, load_migrations

# pg_advisory_lock's key: any constant this server alone uses ("grokimag" in ASCII).
MIGRATION_LOCK = 0x67726F6B696D6167


def postgres_migrations() -> list[Migration]:
    return load_migrations("migrations/postgres", contiguous=False)


async def migrate(conn: Any) -> int:
    """Apply every pending migration on `conn` (an asyncpg connection), each in its own transaction; returns the
    resulting version."""
    migrations = postgres_migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        known = max((m.version for m in migrations), default=0)
        if applied and max(applied) > known:
            raise RuntimeError(
                f"database schema version {max(applied)} is newer than this server knows ({known}); "
                "upgrade grok-imagine-api"
            )
        for migration in migrations:
            if migration.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
                )
        return known
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
