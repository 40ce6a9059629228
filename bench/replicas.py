"""Replicas: create and drain throughput of one server on SQLite, one on PostgreSQL and two on one PostgreSQL
database, and the dispatch delay from a creation on one replica to a claim on the other. Real server processes
(tests/support.py's ProcessServer), a throwaway PostgreSQL cluster (tests/pg.py); clients are processes of
threads that spread their requests over the replicas, as a load balancer would.

    .venv/bin/python bench/replicas.py [--jobs 2000] [--clients 16] [--workers 32] [--samples 200]

On a machine with few cores the clients, the replicas and PostgreSQL share them: a second replica then adds
little, and the figures say what one machine does, not what two would.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from time import perf_counter
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg import Cluster, throwaway_cluster  # noqa: E402
from support import DEMO_MP4, ProcessServer  # noqa: E402

CREATE = json.dumps({"model": "grok", "prompt": "bench"}).encode()
JSON = {"Content-Type": "application/json"}


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers or (JSON if body is not None else {}))
    reply = conn.getresponse()
    return reply.status, reply.read()


def connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def creator(port: int, count: int, out: list[Counter[str]]) -> None:
    counts: Counter[str] = Counter()
    with contextlib.closing(connection(port)) as conn:
        for _ in range(count):
            status, _ = request(conn, "POST", "/v1/videos/generations", CREATE)
            counts["ok" if status == 200 else f"create HTTP {status}"] += 1
    out.append(counts)


def worker(port: int, name: str, done: Any, total: int, out: list[Counter[str]]) -> None:
    """Long-poll, report progress, upload the demo clip, until `total` jobs are done by all."""
    counts: Counter[str] = Counter()
    boundary = f"bench-{secrets.token_hex(8)}"
    with contextlib.closing(connection(port)) as conn:
        while done.value < total:
            status, body = request(conn, "GET", f"/extension/poll?client_id={name}&wait=1")
            if status != 200:
                counts.update([] if status == 204 else [f"poll HTTP {status}"])
                continue
            job = json.loads(body)
            ids = {"job_id": job["job_id"], "claim_token": job["claim_token"]}
            status, _ = request(conn, "POST", "/extension/progress", json.dumps({**ids, "progress": 50}).encode())
            head = "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in ids.items()
            )
            head += f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'
            form = (head + "Content-Type: video/mp4\r\n\r\n").encode() + DEMO_MP4 + f"\r\n--{boundary}--\r\n".encode()
            ctype = f"multipart/form-data; boundary={boundary}"
            status, _ = request(conn, "POST", "/extension/complete", form, **{"Content-Type": ctype})
            if status != 200:
                counts[f"complete HTTP {status}"] += 1
                continue
            counts["ok"] += 1
            with done.get_lock():
                done.value += 1
    out.append(counts)


def client_process(
    kind: str, ports: list[int], first: int, threads: int, count: int, done: Any, total: int, results: Any
) -> None:
    out: list[Counter[str]] = []
    running = []
    for i in range(threads):
        port = ports[(first + i) % len(ports)]  # round robin over the replicas
        if kind == "create":
            running.append(threading.Thread(target=creator, args=(port, count, out)))
        else:
            running.append(threading.Thread(target=worker, args=(port, f"w{first + i}", done, total, out)))
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    results.put(sum(out, Counter()))


def run(kind: str, ports: list[int], threads: int, total: int, procs: int = 2) -> tuple[float, Counter[str]]:
    done, results = mp.Value("i", 0), mp.Queue()
    share = threads // procs
    children = [
        mp.Process(
            target=client_process,
            args=(kind, ports, p * share, share, total // threads, done, total, results),
        )
        for p in range(procs)
    ]
    started = perf_counter()
    for child in children:
        child.start()
    counts: Counter[str] = sum((results.get(timeout=600) for _ in children), Counter())
    seconds = perf_counter() - started
    for child in children:
        child.join()
    return seconds, counts


def dispatch_delays(a: int, b: int, samples: int) -> list[float]:
    """Create on A with only B's worker waiting; the time from sending the creation to B's answer."""
    delays: list[float] = []
    claimed = threading.Event()
    stop = threading.Event()
    at: list[float] = []

    def wait_on_b() -> None:
        with contextlib.closing(connection(b)) as conn:
            while not stop.is_set():
                status, _ = request(conn, "GET", "/extension/poll?client_id=probe&wait=2")
                if status == 200:
                    at.append(perf_counter())
                    claimed.set()

    poller = threading.Thread(target=wait_on_b)
    poller.start()
    with contextlib.closing(connection(a)) as conn:
        for _ in range(samples):
            claimed.clear()
            # The poll is open again: its answer went out before the flag was set, the next request follows.
            started = perf_counter()
            status, _ = request(conn, "POST", "/v1/videos/generations", CREATE)
            assert status == 200
            if not claimed.wait(10):
                raise RuntimeError("a job created on A was not claimed on B within 10 s")
            delays.append(at[-1] - started)
    stop.set()
    poller.join()
    return delays


@contextlib.contextmanager
def servers(root: Path, name: str, count: int, database_url: str | None) -> Iterator[list[ProcessServer]]:
    started: list[ProcessServer] = []
    try:
        for i in range(count):
            folder = root / f"{name}-{i}"
            folder.mkdir()
            env = {"INSTANCE_ID": f"{name}-{i}", "MAX_POLL_WAIT_SECONDS": "5"}
            if database_url:
                env["DATABASE_URL"] = database_url
            started.append(ProcessServer(folder, env=env).start())
        yield started
    finally:
        for server in started:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16, help="creating threads, spread over the replicas")
    parser.add_argument("--workers", type=int, default=32, help="worker threads, spread over the replicas")
    parser.add_argument("--samples", type=int, default=200, help="dispatch delays measured")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gia-replicas-"))
    rows: list[tuple[str, int, float, float, str]] = []
    delays: list[float] = []
    try:
        with throwaway_cluster() as cluster:
            setups: list[tuple[str, int, Cluster | None]] = [
                ("sqlite", 1, None),
                ("postgres", 1, cluster),
                ("postgres", 2, cluster),
            ]
            for name, count, pg in setups:
                url = pg.fresh_database() if pg else None
                with servers(root, f"{name}{count}", count, url) as running:
                    ports = [server.port for server in running]
                    created_s, created = run("create", ports, args.clients, args.jobs)
                    drained_s, drained = run("drain", ports, args.workers, args.jobs)
                    errors = {k: v for k, v in (created + drained).items() if k != "ok"}
                    rows.append(
                        (
                            f"{name}, {count} replica{'s' * (count > 1)}",
                            created["ok"],
                            created_s,
                            drained_s,
                            str(errors or ""),
                        )
                    )
                    if count == 2:
                        delays = dispatch_delays(ports[0], ports[1], args.samples)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{'setup':<24} {'jobs':>6} {'create/s':>9} {'drain/s':>8}  errors")
    for label, jobs, created_s, drained_s, errors in rows:
        print(f"{label:<24} {jobs:>6} {jobs / created_s:>9.0f} {jobs / drained_s:>8.0f}  {errors}")
    if delays:
        ordered = sorted(delays)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"\ndispatch delay, create on A -> claim on B ({len(delays)} jobs): "
            f"p50 {statistics.median(delays) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
