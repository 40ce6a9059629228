"""Benchmark webhook delivery: N jobs end in a fresh SQLite store (or PostgreSQL with --database-url), then the
delivery loop fans their events out and sends them, signed, to a local receiver; prints deliveries/s.

    .venv/bin/python bench/webhooks.py [--jobs 2000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import tempfile
import threading
from pathlib import Path
from time import perf_counter

from grok_imagine_api.clock import SystemClock
from grok_imagine_api.config import Settings
from grok_imagine_api.domain.jobs import GenerationOptions, NewJob, new_job_id
from grok_imagine_api.metrics import Metrics
from grok_imagine_api.store.base import JobStore
from grok_imagine_api.store.outbox import outbox_for
from grok_imagine_api.webhooks.delivery import Webhooks
from grok_imagine_api.webhooks.endpoints import Endpoint, Endpoints

KEY = b"bench-webhook-key"


def receiver() -> tuple[http.server.ThreadingHTTPServer, list[int]]:
    seen = [0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                seen[0] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 512
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


async def end_jobs(store: JobStore, n: int) -> None:
    now = SystemClock().now()
    for _ in range(n):
        job = await store.create(
            NewJob(id=new_job_id(), model="grok", prompt="p", options=GenerationOptions(), image=None, created_at=now)
        )
        got = await store.claim(worker_id="bench", lease_seconds=300, now=now)
        assert got is not None and got.job.id == job.id
        await store.complete(job.id, claim_token=got.job.claim_token, video_size=1, now=now)


async def main(jobs: int, database_url: str | None) -> None:
    store: JobStore
    if database_url:
        from grok_imagine_api.store.postgres import PostgresJobStore

        store = PostgresJobStore(database_url)
    else:
        from grok_imagine_api.store.sqlite import SqliteJobStore

        store = SqliteJobStore(Path(tempfile.mkdtemp()) / "jobs.db")
    await store.open()
    server, seen = receiver()
    try:
        started = perf_counter()
        await end_jobs(store, jobs)
        print(f"{jobs} jobs ended in {perf_counter() - started:.2f} s")
        outbox = outbox_for(store)
        assert outbox is not None
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        settings = Settings(_env_file=None, allow_private_urls=True)  # type: ignore[call-arg]
        hooks = Webhooks(
            outbox, Endpoints(Endpoint("server", url, KEY)), clock=SystemClock(), settings=settings, metrics=Metrics()
        )
        started = perf_counter()
        async with hooks.client() as client:
            while seen[0] < jobs or await outbox.pending_count():
                await hooks.step(client)
        took = perf_counter() - started
        print(f"{seen[0]} deliveries in {took:.2f} s: {seen[0] / took:.0f} deliveries/s")
    finally:
        server.shutdown()
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    asyncio.run(main(options.jobs, options.database_url))
