"""asyncpg or psycopg 3 (with its pool) for the PostgreSQL store: the same queries (store/postgres.sql) through
each driver, on a throwaway cluster (tests/pg.py): claim + complete round trips per second with concurrent
workers, and the latency of a job read.

.venv/bin/python bench/pg_drivers.py [--jobs 4000] [--workers 8] [--reads 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import psycopg_pool

from grok_imagine_api.domain.jobs import GenerationOptions, NewJob, new_claim_token, new_job_id
from grok_imagine_api.store.postgres import QUERIES, PostgresJobStore
from grok_imagine_api.store.queries import numbered

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pg import throwaway_cluster

NEEDS = [json.dumps([])]


def pyformat(sql: str) -> str:
    return re.sub(r"(?<![:\w]):([a-z_][a-z0-9_]*)", r"%(\1)s", sql)


class AsyncpgDriver:
    name = "asyncpg"

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size

    async def open(self) -> None:
        self.pool = await asyncpg.create_pool(self.url, min_size=self.size, max_size=self.size)

    async def close(self) -> None:
        await self.pool.close()

    async def claim_and_complete(self, now: float) -> bool:
        claim_sql, claim_names = numbered(QUERIES["claim_job"])
        done_sql, done_names = numbered(QUERIES["complete_job"])
        params = claim_params(now)
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                row = await conn.fetchrow(claim_sql, *[params[n] for n in claim_names])
            if row is None:
                return False
            done = complete_params(row["id"], now)
            async with conn.transaction():
                await conn.fetchrow(done_sql, *[done[n] for n in done_names])
        return True

    async def get(self, job_id: str) -> None:
        sql, _ = numbered(QUERIES["get_job"])
        async with self.pool.acquire() as conn:
            await conn.fetchrow(sql, job_id)


class PsycopgDriver:
    name = "psycopg 3 + pool"

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size

    async def open(self) -> None:
        self.pool = psycopg_pool.AsyncConnectionPool(self.url, min_size=self.size, max_size=self.size, open=False)
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def claim_and_complete(self, now: float) -> bool:
        async with self.pool.connection() as conn:
            async with conn.transaction():
                cursor = await conn.execute(pyformat(QUERIES["claim_job"]), claim_params(now))
                row = await cursor.fetchone()
            if row is None:
                return False
            async with conn.transaction():
                job_id = row[1]  # seq, id, ...
                await conn.execute(pyformat(QUERIES["complete_job"]), complete_params(job_id, now))
        return True

    async def get(self, job_id: str) -> None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(pyformat(QUERIES["get_job"]), {"id": job_id})
            await cursor.fetchone()


def claim_params(now: float) -> dict[str, Any]:
    return {"token": new_claim_token(), "worker_id": "bench", "now": now, "lease_expires_at": now + 300, "needs": NEEDS}


def complete_params(job_id: str, now: float) -> dict[str, Any]:
    return {
        "id": job_id,
        "now": now,
        "video_size": 1000,
        "produced": None,
        "grok_post_id": None,
        "output_mismatch": None,
    }


async def prepare(url: str, jobs: int) -> list[str]:
    store = PostgresJobStore(url)
    await store.open()
    ids = []
    now = time.time()
    for _ in range(jobs):
        new = NewJob(
            id=new_job_id(), model="grok", prompt="a prompt", options=GenerationOptions(), image=None, created_at=now
        )
        ids.append((await store.create(new)).id)
    await store.close()
    return ids


async def timed(work: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return times


async def measure(
    driver: AsyncpgDriver | PsycopgDriver, url: str, jobs: int, workers: int, reads: int
) -> dict[str, float]:
    ids = await prepare(url, jobs)
    await driver.open()
    try:
        now = time.time()

        async def drain() -> int:
            done = 0
            while await driver.claim_and_complete(now):
                done += 1
            return done

        started = time.perf_counter()
        drained = sum(await asyncio.gather(*(drain() for _ in range(workers))))
        elapsed = time.perf_counter() - started
        assert drained == jobs, (drained, jobs)
        await timed(lambda: driver.get(ids[0]), 200)  # warm up
        latencies = sorted(await timed(lambda: driver.get(ids[len(ids) // 2]), reads))
    finally:
        await driver.close()
    return {
        "claim+complete per s": drained / elapsed,
        "get median us": statistics.median(latencies) * 1e6,
        "get p99 us": latencies[int(len(latencies) * 0.99)] * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--reads", type=int, default=3000)
    args = parser.parse_args()
    with throwaway_cluster() as cluster:
        for make in (AsyncpgDriver, PsycopgDriver, AsyncpgDriver, PsycopgDriver):  # twice each, interleaved
            url = cluster.fresh_database()
            driver = make(url, args.workers)
            figures = asyncio.run(measure(driver, url, args.jobs, args.workers, args.reads))
            print(f"{driver.name:18} " + "  ".join(f"{k}: {v:,.0f}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
