"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied in order, tracked by user_version (SQLite;
PostgreSQL's own are in pg_schema.py)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(where: str = "migrations", *, contiguous: bool = True) -> list[Migration]:
    """`contiguous`: numbered 1, 2, 3, ... (SQLite's user_version counts them); else only increasing."""
    folder = resources.files(__package__).joinpath(where)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if len({m.version for m in found}) != len(found):
        raise RuntimeError(f"two migrations in {where} share a number")
    for expected, migration in enumerate(found, start=1):
        if contiguous and migration.version != expected:
            raise RuntimeError(f"migration {migration.name} is out of sequence (expected {expected:04d})")
    return found


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every pending migration, each in its own transaction; returns the resulting version."""
    migrations = load_migrations()
    version = current_version(conn)
    if version > len(migrations):
        raise RuntimeError(
            f"database schema version {version} is newer than this server knows ({len(migrations)}); "
            "upgrade grok-imagine-api"
        )
    for migration in migrations[version:]:
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current_version(conn)
