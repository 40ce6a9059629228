"""How the job store behaves with a million rows: claim, listing, counts and sweeps stay fast.

.venv/bin/python bench/million_rows.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from grok_imagine_api.domain.abilities import DEFAULT_TOKENS, KINDS, SOURCES, Abilities
from grok_imagine_api.domain.jobs import JobStatus, new_job_id
from grok_imagine_api.store.schema import migrate
from grok_imagine_api.store.sqlite import SqliteJobStore, connect

STATUSES = ["completed"] * 90 + ["failed"] * 8 + ["pending"] * 2
# The older half of the pending jobs are extensions, which a worker that declared nothing cannot make: its claim
# must look past all of them.
EXTEND = json.dumps(["kind:extend", "source:upload"])
PLAIN = json.dumps(["kind:text_to_video"])


def fill(path: Path, rows: int) -> float:
    started = time.perf_counter()
    conn = connect(path)
    migrate(conn)
    options = json.dumps({"aspect_ratio": None, "resolution": None, "duration": None, "mode": None})
    now = time.time() - rows
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO jobs (id, model, prompt, status, options, created_at, updated_at, completed_at, video_size,"
        " needs) VALUES (?, 'grok', 'a prompt of ordinary length for a video', ?, ?, ?, ?, ?, 1000, ?)",
        (
            (
                new_job_id(),
                STATUSES[i % 100],
                options,
                now + i,
                now + i,
                now + i if i % 100 < 98 else None,
                EXTEND if i < rows // 2 else PLAIN,
            )
            for i in range(rows)
        ),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


async def timed(label: str, call: Callable[[], Awaitable[Any]], repeat: int = 200) -> None:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"  {label:<44} p50 {statistics.median(samples):7.3f} ms   p99 {p99:7.3f} ms")


async def measure(path: Path, rows: int) -> None:
    store = SqliteJobStore(path)
    await store.open()
    now = time.time()
    middle = (await store.list_jobs(status=None, limit=1, before_seq=rows // 2))[0]

    everything = Abilities(kinds=KINDS, sources=SOURCES).tokens()
    await timed(
        "claim oldest pending job (it can make all)",
        lambda: store.claim(worker_id="b", lease_seconds=300, now=now, abilities=everything),
    )
    await timed(
        f"claim past {rows // 100:,} pending it cannot make",
        lambda: store.claim(worker_id="b", lease_seconds=300, now=now, abilities=DEFAULT_TOKENS),
    )
    await timed("distinct needs of pending jobs (sweep)", store.waiting_needs, 50)
    await timed("GET /jobs first page (100)", lambda: store.list_jobs(status=None, limit=100, before_seq=None))
    await timed(
        "GET /jobs deep page (cursor mid-table)",
        lambda: store.list_jobs(status=None, limit=100, before_seq=middle.seq),
    )
    await timed(
        "GET /jobs?status=failed (100)",
        lambda: store.list_jobs(status=JobStatus.FAILED, limit=100, before_seq=None),
    )
    await timed("counts per state (health)", store.counts)
    await timed("get one job by id", lambda: store.get(middle.id))
    await timed("stale sweep (nothing stale)", lambda: store.fail_stale(now=now, error="x"), 50)
    await timed("video expiry sweep (nothing old)", lambda: store.expire_videos(cutoff=0, now=now, limit=500), 50)
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.db"
        seconds = fill(path, args.rows)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        print(f"{args.rows:,} jobs ({args.rows // 50:,} pending) written in {seconds:.1f} s, {size:.0f} MB on disk")
        asyncio.run(measure(path, args.rows))


if __name__ == "__main__":
    main()
