"""No event is lost to a restart: the server as its own process, killed (kill -9) or stopped between a job's end
and its delivery, then started again on the same database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import openai
import pytest
import standardwebhooks
from webhook_receiver import SECRET, Receiver

from support import ProcessServer, claim, create_job, upload, wait_until


def env(receiver: Receiver) -> dict[str, str]:
    return {
        "WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_FIRST_RETRY_SECONDS": "0.2",
        # A kill in the middle of a send leaves the delivery leased for this + 5 s, then it is sent again.
        "WEBHOOK_TIMEOUT_SECONDS": "2",
    }


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_kill_between_the_end_and_the_delivery_loses_nothing(
    tmp_path: Path, receiver: Receiver, store: str, request: pytest.FixtureRequest
) -> None:
    database_url = request.getfixturevalue("database_url") if store == "postgres" else None
    receiver.status = 503
    server = ProcessServer(tmp_path, env=env(receiver), database_url=database_url).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            job = create_job(client)
            work = claim(client)
            assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
        wait_until(lambda: len(receiver.all()) >= 1, timeout=30)
        server.kill9()
        receiver.status = 200
        server.start()
        [got] = wait_until(receiver.delivered, timeout=30)
    finally:
        server.stop()
    openai.OpenAI(api_key="unused").webhooks.unwrap(got.body, got.headers, secret=SECRET)
    standardwebhooks.Webhook(SECRET).verify(got.body, got.headers)
    assert got.event["data"]["id"] == job["id"] and got.event["type"] == "video.completed"
    assert {r.webhook_id for r in receiver.all()} == {got.webhook_id}


def test_a_job_that_ends_while_the_server_is_down_is_delivered_at_the_next_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = ProcessServer(tmp_path, env=env(receiver)).start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        job = create_job(client)
        assert claim(client)["job_id"] == job["id"]
    server.stop()
    # An admin's script fails the job while no server runs: the database itself queues the event.
    with sqlite3.connect(tmp_path / "jobs.db") as conn:
        conn.execute("UPDATE jobs SET status = 'failed', error_code = 'worker_error' WHERE id = ?", (job["id"],))
    conn.close()
    assert receiver.all() == []
    server.start()
    try:
        [got] = wait_until(receiver.delivered, timeout=30)
    finally:
        server.stop()
    event = standardwebhooks.Webhook(SECRET).verify(got.body, got.headers)
    assert event["data"]["id"] == job["id"] and event["type"] == "video.failed"
