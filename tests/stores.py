"""The store test suite's harness: either store, run on one event loop that lives for the test."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from grok_imagine_api.domain.jobs import GenerationOptions, InputImage, NewJob, new_job_id
from grok_imagine_api.store.base import JobStore, KeyStore
from grok_imagine_api.store.postgres import PostgresJobStore, PostgresKeyStore
from grok_imagine_api.store.sqlite import SqliteJobStore, SqliteKeyStore

T = TypeVar("T")
NOW = 1_000_000.0
LEASE = 300.0
BACKENDS = ["sqlite", "postgres"]


def new(prompt: str = "p", image: InputImage | None = None, at: float = NOW) -> NewJob:
    return NewJob(id=new_job_id(), model="grok", prompt=prompt, options=GenerationOptions(), image=image, created_at=at)


def make_stores(where: Path | str, *, exclusive: bool = True) -> tuple[JobStore, KeyStore]:
    """SQLite at a path, PostgreSQL at a URL."""
    if isinstance(where, str):
        pg = PostgresJobStore(where, max_connections=4)
        return pg, PostgresKeyStore(pg)
    sqlite = SqliteJobStore(where, exclusive=exclusive)
    return sqlite, SqliteKeyStore(sqlite)


class Harness:
    def __init__(self, where: Path | str, *, exclusive: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.store, self.keys = make_stores(where, exclusive=exclusive)
        # What a second insert of the same job raises.
        self.integrity_error: type[Exception] = (
            asyncpg.UniqueViolationError if isinstance(where, str) else sqlite3.IntegrityError
        )
        self.call(self.store.open())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.call(self.store.close())
        self.loop.close()
