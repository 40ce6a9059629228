"""Callers without credentials cannot make the server hold their bodies (issue 12: 20 bodies of 15 MB without
a key grew the server by 300 MB before any 401)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import psutil

from rawhttp import RawRequest
from support import bearer, process_server

CONNECTIONS = 20
BODY_BYTES = 15 * 1024 * 1024
CHUNK = 64 * 1024
MIB = 1024 * 1024


def test_twenty_big_bodies_without_a_key_are_refused_unread(tmp_path: Path) -> None:
    env = {"API_KEYS": "sk-e2e-bodies", "WORKER_TOKEN": "wt-e2e-bodies"}
    body = json.dumps({"prompt": "x" * (BODY_BYTES - 20)}).encode()
    with process_server(tmp_path, env=env) as server:
        assert server.proc is not None
        process = psutil.Process(server.proc.pid)
        with httpx.Client(base_url=server.url, headers=bearer("sk-e2e-bodies")) as alice:
            assert alice.get("/v1/videos").status_code == 200  # the routes are warm before measuring
        before = process.memory_info().rss
        peak = before
        answers: list[int | str] = []
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.005):
                peak = max(peak, process.memory_info().rss)

        def send() -> None:
            with RawRequest(server.port, "POST", "/v1/videos/generations", declared=len(body)) as request:
                view = memoryview(body)
                for start in range(0, len(body), CHUNK):
                    if not request.send(view[start : start + CHUNK].tobytes()):
                        break  # answered and hung up: the rest is never sent
                try:
                    answers.append(request.reply().status)
                except OSError as exc:
                    answers.append(type(exc).__name__)

        sampler = threading.Thread(target=sample)
        sampler.start()
        clients = [threading.Thread(target=send) for _ in range(CONNECTIONS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=60)
        done.set()
        sampler.join()
        peak = max(peak, process.memory_info().rss)
    assert answers == [401] * CONNECTIONS
    growth = (peak - before) / MIB
    assert growth < 30, f"server RSS grew by {growth:.1f} MB"
