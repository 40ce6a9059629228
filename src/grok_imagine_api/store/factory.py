"""Which store the settings ask for: PostgreSQL when DATABASE_URL is set, else SQLite at DB_PATH."""

from __future__ import annotations

from ..config import Settings
from .base import JobStore, KeyStore


def build_stores(settings: Settings) -> tuple[JobStore, KeyStore]:
    if settings.database_url:
        try:
            from .postgres import PostgresJobStore, PostgresKeyStore
        except ImportError as exc:  # the driver is an optional extra
            raise SystemExit('DATABASE_URL is set but asyncpg is not installed: pip install -e ".[postgres]"') from exc
        pg = PostgresJobStore(settings.database_url)
        return pg, PostgresKeyStore(pg)
    from .sqlite import SqliteJobStore, SqliteKeyStore

    sqlite = SqliteJobStore(settings.db_path)
    return sqlite, SqliteKeyStore(sqlite)
