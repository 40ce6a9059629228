"""Once the server is stopping, long polls answer "no job" (204) at once, open or new, and hand out nothing."""

from __future__ import annotations

import threading
import time

import httpx

from support import ThreadServer, create_job, wait_until


def stop_dispatching(server: ThreadServer) -> None:
    """What a SIGTERM does to a server (see signals.py); a server in a thread has no signal handlers."""
    server.loop.call_soon_threadsafe(server.service.dispatcher.close)
    wait_until(lambda: server.service.dispatcher.closing)


def test_an_open_long_poll_ends_at_once(server: ThreadServer, client: httpx.Client) -> None:
    answers: list[tuple[int, float]] = []

    def poll() -> None:
        start = time.monotonic()
        reply = client.get("/extension/poll", params={"wait": 30})
        answers.append((reply.status_code, time.monotonic() - start))

    poller = threading.Thread(target=poll)
    poller.start()
    wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 1)
    stop_dispatching(server)
    poller.join(timeout=20)
    assert [status for status, _ in answers] == [204]
    assert answers[0][1] < 10


def test_new_polls_get_no_job_even_with_one_queued(server: ThreadServer, client: httpx.Client) -> None:
    job = create_job(client)
    stop_dispatching(server)
    start = time.monotonic()
    assert client.get("/extension/poll", params={"wait": 30}).status_code == 204
    assert client.post("/extension/poll", json={"wait": 30}).status_code == 204
    assert client.get("/extension/poll").status_code == 204
    assert time.monotonic() - start < 10
    assert client.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "pending"
