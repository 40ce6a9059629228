"""Images: how soon a waiting `POST /v1/images/generations` answers once its worker uploads, and how many such
round trips one server does a second with several clients waiting at once. A real server process
(tests/support.py's ProcessServer, SQLite and local files); the worker is this script, polling with the image
abilities and uploading PNGs, so the figures are the server's own and not a browser's.

    .venv/bin/python bench/images.py [--jobs 200] [--clients 8] [--n 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import IMAGE_WORKER, ProcessServer, png  # noqa: E402


def worker(url: str, jobs: int, n: int, uploaded: dict[str, float], stop: threading.Event) -> None:
    images = [png(512, 512, shade) for shade in range(n)]
    with httpx.Client(base_url=url, timeout=60) as client:
        done = 0
        while done < jobs and not stop.is_set():
            reply = client.get("/extension/poll", params={**IMAGE_WORKER, "wait": 5})
            if reply.status_code != 200:
                continue
            work = reply.json()
            files = [("image", (f"{i}.png", data, "image/png")) for i, data in enumerate(images)]
            ids = {"job_id": work["job_id"], "claim_token": work["claim_token"]}
            answer = client.post("/extension/complete", data=ids, files=files)
            answer.raise_for_status()
            uploaded[work["job_id"]] = perf_counter()
            done += 1


def client_loop(url: str, count: int, n: int, answered: list[tuple[str, float, float]]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(count):
            started = perf_counter()
            reply = client.post("/v1/images/generations", json={"prompt": "bench", "n": n})
            reply.raise_for_status()
            answered.append((reply.json()["id"], started, perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ProcessServer(Path(tmp))
        server.start()
        try:
            uploaded: dict[str, float] = {}
            answered: list[tuple[str, float, float]] = []
            stop = threading.Event()
            feeder = threading.Thread(target=worker, args=(server.url, args.jobs, args.n, uploaded, stop))
            feeder.start()
            per_client = args.jobs // args.clients
            started = perf_counter()
            clients = [
                threading.Thread(target=client_loop, args=(server.url, per_client, args.n, answered))
                for _ in range(args.clients)
            ]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join()
            elapsed = perf_counter() - started
            stop.set()
            feeder.join()
        finally:
            server.stop()
    delays = sorted((end - uploaded[job]) * 1000 for job, _, end in answered if job in uploaded)
    totals = sorted((end - start) * 1000 for _, start, end in answered)
    report: dict[str, Any] = {
        "jobs": len(answered),
        "images per job": args.n,
        "clients waiting at once": args.clients,
        "round trips per second": round(len(answered) / elapsed, 1),
        "answer after upload, median ms": round(statistics.median(delays), 1),
        "answer after upload, p95 ms": round(delays[int(len(delays) * 0.95) - 1], 1),
        "whole request, median ms": round(statistics.median(totals), 1),
    }
    for name, value in report.items():
        print(f"{name:32} {value}")


if __name__ == "__main__":
    main()
