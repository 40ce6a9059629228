"""What the dashboard asks the server for, timed over HTTP against a real server holding 100,000 jobs.

.venv/bin/python bench/dashboard.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from grok_imagine_api.domain.jobs import new_job_id
from grok_imagine_api.service import ACTIVITY_HOURS, TIMING_SAMPLE
from grok_imagine_api.store.base import ACTIVITY_BUCKET
from grok_imagine_api.store.schema import migrate
from grok_imagine_api.store.sqlite import SqliteJobStore, connect

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ["completed"] * 85 + ["failed"] * 8 + ["pending"] * 5 + ["processing"] * 2
WORDS = [
    "cat",
    "dog",
    "fox",
    "owl",
    "whale",
    "city",
    "forest",
    "desert",
    "ocean",
    "night",
    "rain",
    "snow",
    "neon",
    "golden",
    "slow",
    "drone",
    "portrait",
    "sunset",
]


def fill(path: Path, rows: int) -> tuple[float, str]:
    """`rows` jobs created over the last 48 hours with varied prompts; one holds the word 'lighthouse'."""
    started = time.perf_counter()
    pick = random.Random(7)
    conn = connect(path)
    migrate(conn)
    options = json.dumps({"aspect_ratio": "16:9", "resolution": "720p", "duration": 6, "mode": "normal"})
    now = time.time()
    step = 48 * 3600 / rows
    rare = rows // 3

    def row(i: int) -> tuple[object, ...]:
        created = now - 48 * 3600 + i * step
        status = STATUSES[i % 100]
        finished = created + 40 if status in ("completed", "failed") else None
        prompt = " ".join(pick.choice(WORDS) for _ in range(12))
        if i == rare:
            prompt = "a lighthouse in a storm, " + prompt
        return new_job_id(), prompt, status, options, created, created, created + 5, finished

    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO jobs (id, model, prompt, status, options, created_at, updated_at, claimed_at, completed_at)"
        " VALUES (?, 'grok', ?, ?, ?, ?, ?, ?, ?)",
        (row(i) for i in range(rows)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    some_id = conn.execute("SELECT id FROM jobs WHERE seq = ?", (rows // 2,)).fetchone()[0]
    conn.close()
    return time.perf_counter() - started, some_id


def timed(http: httpx.Client, label: str, url: str | Callable[[], str], repeat: int = 100) -> None:
    samples = []
    for _ in range(repeat):
        target = url() if callable(url) else url
        started = time.perf_counter()
        reply = http.get(target)
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, reply.text
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"  {label:<52} p50 {statistics.median(samples):7.2f} ms   p99 {p99:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "jobs.db"
        seconds, some_id = fill(db, args.rows)
        print(f"{args.rows:,} jobs written in {seconds:.1f} s")
        env = {
            **os.environ,
            "DB_PATH": str(db),
            "VIDEO_STORAGE_PATH": str(Path(tmp) / "videos"),
            "LOG_PATH": str(Path(tmp) / "logs"),
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(args.port),
            "LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env)
        url = f"http://127.0.0.1:{args.port}"
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if http.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
                measure(http, some_id)
        finally:
            server.terminate()
            server.wait(timeout=30)
        asyncio.run(activity_query(db))


def measure(http: httpx.Client, some_id: str) -> None:
    first = http.get("/jobs", params={"limit": 50}).json()
    cursors = [first["next_cursor"]]
    for _ in range(200):  # 200 pages deep: 10,000 jobs in
        cursors.append(http.get("/jobs", params={"limit": 50, "cursor": cursors[-1]}).json()["next_cursor"])
    pages = iter(cursors * 10)
    timed(http, "GET /jobs?limit=50 (first page)", "/jobs?limit=50")
    timed(http, "GET /jobs?limit=50&cursor=… (next page, any depth)", lambda: f"/jobs?limit=50&cursor={next(pages)}")
    timed(http, "GET /jobs?status=failed&limit=50", "/jobs?status=failed&limit=50")
    timed(http, "GET /jobs?status=processing&limit=50", "/jobs?status=processing&limit=50")
    timed(http, "GET /jobs?q=sunset (common word)", "/jobs?q=sunset&limit=50")
    timed(http, "GET /jobs?q=lighthouse (one match: scans the table)", "/jobs?q=lighthouse&limit=50", 20)
    timed(http, "GET /jobs?q=<job id>", f"/jobs?q={some_id}&limit=50", 20)
    timed(http, "GET /jobs/{id}", f"/jobs/{some_id}")
    timed(http, "GET /stats (the 2-second live poll)", "/stats", 200)
    timed(http, "GET /workers", "/workers")
    searching = threading.Event()

    def search_forever() -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=30) as other:
            while not searching.is_set():
                other.get("/jobs", params={"q": "lighthouse", "limit": 50})

    beside = threading.Thread(target=search_forever)
    beside.start()
    try:
        timed(http, "GET /health while another client searches nonstop", "/health", 200)
    finally:
        searching.set()
        beside.join()


async def activity_query(db: Path) -> None:
    """What /stats pays when it recomputes the hourly chart and medians (at most every 2 s, while jobs change)."""
    store = SqliteJobStore(db)
    await store.open()
    since = (int(time.time() // ACTIVITY_BUCKET) - ACTIVITY_HOURS + 1) * ACTIVITY_BUCKET
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        await store.activity(since=since, recent=TIMING_SAMPLE)
        samples.append((time.perf_counter() - started) * 1000)
    await store.close()
    print(f"  {'activity query behind /stats (uncached)':<52} p50 {statistics.median(samples):7.2f} ms")


if __name__ == "__main__":
    main()
