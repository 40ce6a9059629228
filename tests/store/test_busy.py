"""Another process holding the database lock must not freeze the server."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing

import httpx
import pytest

from grok_imagine_api.store import sqlite as sqlite_store
from support import ThreadServer, assert_error, create_job, wait_until


def test_reads_go_on_and_writes_wait_while_another_process_writes(server: ThreadServer, client: httpx.Client) -> None:
    create_job(client)
    with closing(sqlite3.connect(server.settings.db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        results: list[httpx.Response] = []
        writer = threading.Thread(
            target=lambda: results.append(client.post("/v1/videos/generations", json={"prompt": "x"}))
        )
        writer.start()
        try:
            # While the create waits for the lock, the event loop keeps serving.
            for _ in range(5):
                assert client.get("/health").json()["jobs"]["pending"] == 1
                assert client.get("/jobs").status_code == 200
            assert writer.is_alive()
        finally:
            other.execute("ROLLBACK")
        writer.join(timeout=10)
    assert results[0].status_code == 200
    wait_until(lambda: client.get("/health").json()["jobs"]["pending"] == 2)


def test_a_lock_held_too_long_is_a_503(
    server: ThreadServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_SECONDS", 0.2)
    with closing(sqlite3.connect(server.settings.db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            reply = client.post("/v1/videos/generations", json={"prompt": "x"})
        finally:
            other.execute("ROLLBACK")
    assert_error(reply, 503, "database_busy")
    assert client.post("/v1/videos/generations", json={"prompt": "x"}).status_code == 200
