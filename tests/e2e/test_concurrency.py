"""32 concurrent long-polling workers drain 2,000 jobs from a real server: each claimed exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx

from support import process_server, wait_until

JOBS = 2000
POLLERS = 32
CREATORS = 4


def test_every_job_is_claimed_exactly_once(tmp_path: Path) -> None:
    with process_server(tmp_path) as server:
        created: list[str] = []
        claimed: list[str] = []
        lock = threading.Lock()
        errors: list[str] = []
        stop = threading.Event()

        def create(count: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for i in range(count):
                    reply = client.post("/v1/videos/generations", json={"prompt": f"job {i}"})
                    if reply.status_code != 200:
                        errors.append(reply.text)
                        continue
                    with lock:
                        created.append(reply.json()["id"])

        def poll(n: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    reply = client.get("/extension/poll", params={"client_id": f"w{n}", "wait": 1})
                    if reply.status_code == 200:
                        with lock:
                            claimed.append(reply.json()["job_id"])
                    elif reply.status_code != 204:
                        errors.append(reply.text)

        pollers = [threading.Thread(target=poll, args=(n,)) for n in range(POLLERS)]
        creators = [threading.Thread(target=create, args=(JOBS // CREATORS,)) for _ in range(CREATORS)]
        for thread in pollers + creators:
            thread.start()
        for thread in creators:
            thread.join()
        try:
            wait_until(lambda: len(claimed) >= len(created) or errors, timeout=120, interval=0.05)
        finally:
            stop.set()
        for thread in pollers:
            thread.join()

        assert errors == []
        assert len(created) == JOBS
        duplicates = [job for job, n in Counter(claimed).items() if n > 1]
        assert duplicates == []
        assert set(claimed) == set(created)
        counts = httpx.get(f"{server.url}/health").json()["jobs"]
        assert counts == {"pending": 0, "processing": JOBS, "completed": 0, "failed": 0}
