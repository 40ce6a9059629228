"""Benchmark the real grok-imagine-api server over loopback.

Starts `uvicorn grok_imagine_api.app:create_app` as a subprocess on a fresh temp dir and measures, in
one run: request rates of health, job creation and empty polls; end-to-end jobs/s with concurrent
workers; long-poll dispatch delay; and a large streamed upload's throughput and server RSS growth.

    .venv/bin/python bench/bench.py [--duration 5] [--jobs 400] [--upload-mb 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue as MPQueue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from time import perf_counter, sleep
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEMO_MP4 = ROOT / "src" / "grok_imagine_api" / "assets" / "demo.mp4"
CREATE = ("POST", "/v1/videos/generations", json.dumps({"model": "grok", "prompt": "bench"}).encode())
MIB = 1024 * 1024
NET_ERRORS = (OSError, http.client.HTTPException)
Conn = http.client.HTTPConnection
Spec = tuple[str, str, bytes | None, int]  # method, path, body, expected status


@dataclass
class Result:
    count: int
    seconds: float
    errors: Counter[str] = field(default_factory=Counter)
    cpu: float | None = None  # server CPU seconds per wall second

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def log_line(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def connect(port: int, timeout: float = 30) -> Conn:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def request(
    conn: Conn, method: str, path: str, body: bytes | None = None, ctype: str = ""
) -> tuple[int, bytes]:
    headers = {"Content-Type": ctype or "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def hang_up(conn: Conn) -> None:
    """Wake a thread blocked reading `conn` (shutdown works across threads; close does not)."""
    if conn.sock is not None:
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def form_parts(fields: dict[str, str], filename: str) -> tuple[bytes, bytes, str]:
    """Multipart text fields and the head of a `video` file part; the tail; the content type."""
    boundary = f"bench-{secrets.token_hex(12)}"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="{filename}"\r\n'
    head += "Content-Type: video/mp4\r\n\r\n"
    return head.encode(), f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Server:
    """The real server in a subprocess, with its own port, database, video and log directories."""

    def __init__(self, workdir: Path, max_upload: int) -> None:
        workdir.mkdir(parents=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
            "DB_PATH": str(workdir / "jobs.db"),
            "VIDEO_STORAGE_PATH": str(workdir / "videos"),
            "LOG_PATH": str(workdir / "logs"),
            "MAX_UPLOAD_BYTES": str(max_upload),
        }
        cmd = [sys.executable, "-m", "uvicorn", "grok_imagine_api.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.log_path = workdir / "server.log"
        with open(self.log_path, "wb") as log:  # cwd=workdir, so no developer's .env is read
            self.proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)
        started = perf_counter()
        while True:
            try:
                self.health()
                break
            except (*NET_ERRORS, RuntimeError) as exc:
                if self.proc.poll() is not None or perf_counter() - started > 30:
                    self.stop()
                    raise RuntimeError(f"server did not start: {exc}") from None
                sleep(0.02)
        log_line(f"server pid {self.proc.pid}, port {self.port}: up in {perf_counter() - started:.2f} s")

    def health(self) -> dict[str, Any]:
        conn = connect(self.port, timeout=5)
        try:
            status, body = request(conn, "GET", "/health")
        finally:
            conn.close()
        if status != 200:
            raise RuntimeError(f"GET /health answered {status}")
        result: dict[str, Any] = json.loads(body)
        return result

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / MIB

    def stop(self) -> None:
        started = perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
            log_line("server ignored SIGTERM for 20 s: killed")
        log_line(f"server pid {self.proc.pid} stopped in {perf_counter() - started:.2f} s, exit code {code}")
        if output := self.log_path.read_text(errors="replace").strip():
            log_line("server output (last 3000 chars):\n" + output[-3000:])


# -- request rates: client processes x threads, one keep-alive connection each ---------------------


def _rate_thread(port: int, spec: Spec, measure_from: float, end: float, out: list[Counter[str]]) -> None:
    method, path, body, expect = spec
    counts: Counter[str] = Counter()
    conn = connect(port)
    while perf_counter() < end:
        try:
            status, _ = request(conn, method, path, body)
            outcome = "ok" if status == expect else f"HTTP {status}"
        except NET_ERRORS as exc:
            outcome = type(exc).__name__
            conn.close()  # the next request reconnects
        if measure_from <= perf_counter() < end:
            counts[outcome] += 1
    conn.close()
    out.append(counts)


def _rate_proc(port: int, spec: Spec, args: Any, barrier: Barrier, results: MPQueue[Counter[str]]) -> None:
    barrier.wait()
    measure_from = perf_counter() + args.warmup
    out: list[Counter[str]] = []
    threads = [
        threading.Thread(
            target=_rate_thread, args=(port, spec, measure_from, measure_from + args.duration, out)
        )
        for _ in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(sum(out, Counter()))


def measure_rate(server: Server, spec: Spec, args: Any) -> Result:
    barrier, results = mp.Barrier(args.procs), mp.Queue()
    procs = [
        mp.Process(target=_rate_proc, args=(server.port, spec, args, barrier, results))
        for _ in range(args.procs)
    ]
    cpu = server.cpu_seconds()
    for proc in procs:
        proc.start()
    counts: Counter[str] = Counter()
    for _ in procs:
        counts += results.get(timeout=args.warmup + args.duration + 60)
    cpu = (server.cpu_seconds() - cpu) / (args.warmup + args.duration)  # warm-up included
    for proc in procs:
        proc.join()
    ok = counts.pop("ok", 0)
    return Result(ok, args.duration, counts, cpu)


# -- end to end: N queued jobs; W workers loop poll -> progress -> complete ------------------------


@dataclass
class Shared:
    barrier: Barrier
    stop: Event
    all_done: Event
    done: Any  # multiprocessing.Value("i")
    total: int
    results: MPQueue[Counter[str]]


def _worker(
    port: int, name: str, clip: bytes, shared: Shared, conns: list[Conn], errors: Counter[str]
) -> None:
    conn = connect(port, timeout=60)
    conns.append(conn)
    while not shared.stop.is_set():
        try:
            status, body = request(conn, "GET", f"/extension/poll?client_id={name}&wait=5")
            if status == 204:
                continue
            if status != 200:
                errors[f"poll HTTP {status}"] += 1
                continue
            job = json.loads(body)
            ids = {"job_id": job["job_id"], "claim_token": job["claim_token"]}
            status, _ = request(
                conn, "POST", "/extension/progress", json.dumps({**ids, "progress": 50}).encode()
            )
            if status != 200:
                errors[f"progress HTTP {status}"] += 1
                continue
            head, tail, ctype = form_parts(ids, f"{name}.mp4")
            status, _ = request(conn, "POST", "/extension/complete", head + clip + tail, ctype)
            if status != 200:
                errors[f"complete HTTP {status}"] += 1
                continue
            with shared.done.get_lock():
                shared.done.value += 1
                if shared.done.value == shared.total:
                    shared.all_done.set()
        except NET_ERRORS as exc:
            if not shared.stop.is_set():
                errors[type(exc).__name__] += 1
            conn.close()
    conn.close()


def _worker_proc(port: int, names: list[str], shared: Shared) -> None:
    clip, conns, errors = DEMO_MP4.read_bytes(), list[Conn](), Counter[str]()
    threads = [
        threading.Thread(target=_worker, args=(port, name, clip, shared, conns, errors)) for name in names
    ]
    shared.barrier.wait()
    for thread in threads:
        thread.start()
    shared.stop.wait()
    for conn in list(conns):
        hang_up(conn)  # workers waiting in a long poll for jobs that will never come
    for thread in threads:
        thread.join()
    shared.results.put(errors)


def measure_e2e(server: Server, args: Any) -> Result:
    conn, errors = connect(server.port), Counter[str]()
    for _ in range(args.jobs):
        if (status := request(conn, *CREATE)[0]) != 200:
            errors[f"create HTTP {status}"] += 1
    conn.close()
    shared = Shared(
        mp.Barrier(args.procs + 1), mp.Event(), mp.Event(), mp.Value("i", 0), args.jobs, mp.Queue()
    )
    names = [f"w{i}" for i in range(args.workers)]
    procs = [
        mp.Process(target=_worker_proc, args=(server.port, names[i :: args.procs], shared))
        for i in range(args.procs)
    ]
    for proc in procs:
        proc.start()
    shared.barrier.wait()
    started = perf_counter()
    finished = shared.all_done.wait(timeout=max(60, args.jobs / 5))
    seconds = perf_counter() - started
    shared.stop.set()
    for _ in procs:
        errors += shared.results.get(timeout=30)
    for proc in procs:
        proc.join()
    jobs = server.health()["jobs"]
    if not finished or jobs != {"pending": 0, "processing": 0, "completed": args.jobs, "failed": 0}:
        errors[f"unexpected /health job counts {jobs}"] += 1
    return Result(shared.done.value, seconds, errors)


# -- dispatch delay: job creation sent -> response to the already-waiting long poll arrives --------


def measure_dispatch(server: Server, samples: int) -> tuple[list[float], Counter[str]]:
    arrivals: queue.Queue[float] = queue.Queue()
    errors: Counter[str] = Counter()
    stop = threading.Event()
    worker_conn, control, delays = connect(server.port, timeout=60), connect(server.port), list[float]()

    def worker() -> None:
        while not stop.is_set():
            try:
                status, _ = request(worker_conn, "GET", "/extension/poll?client_id=dispatch&wait=30")
                if status == 200:
                    arrivals.put(perf_counter())
                elif status != 204:
                    errors[f"poll HTTP {status}"] += 1
            except NET_ERRORS as exc:
                if not stop.is_set():
                    errors[type(exc).__name__] += 1
                worker_conn.close()

    thread = threading.Thread(target=worker)
    thread.start()
    for _ in range(samples):
        deadline = perf_counter() + 10
        while json.loads(request(control, "GET", "/health")[1])["workers"]["waiting"] < 1:
            if perf_counter() > deadline:
                raise RuntimeError("the dispatch worker never started waiting")
        sent = perf_counter()
        if (status := request(control, *CREATE)[0]) != 200:
            errors[f"create HTTP {status}"] += 1
            continue
        delays.append((arrivals.get(timeout=35) - sent) * 1000)
    stop.set()
    hang_up(worker_conn)
    thread.join()
    control.close()
    return delays, errors


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


# -- one large upload streamed from disk, the server's RSS sampled meanwhile -----------------------


def measure_upload(server: Server, workdir: Path, megabytes: int) -> dict[str, Any]:
    path, size = workdir / "upload.mp4", megabytes * MIB
    with open(path, "wb") as out:
        out.write(b"\x00\x00\x00\x18ftypisom" + bytes(MIB - 12))
        for _ in range(megabytes - 1):
            out.write(bytes(MIB))
    conn = connect(server.port, timeout=300)
    request(conn, *CREATE)
    status, body = request(conn, "GET", "/extension/poll?client_id=uploader")
    if status != 200:
        raise RuntimeError(f"could not claim a job for the upload: {status} {body[:200]!r}")
    job = json.loads(body)
    head, tail, ctype = form_parts({"job_id": job["job_id"], "claim_token": job["claim_token"]}, "big.mp4")
    before = peak = server.ps.memory_info().rss
    sampled = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampled.wait(0.02):
            peak = max(peak, server.ps.memory_info().rss)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = perf_counter()
    conn.putrequest("POST", "/extension/complete")
    conn.putheader("Content-Type", ctype)
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as video:
        while chunk := video.read(MIB):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    reply = response.read()
    seconds = perf_counter() - started
    sampled.set()
    sampler.join()
    peak = max(peak, server.ps.memory_info().rss)
    conn.close()
    ok = response.status == 200 and json.loads(reply).get("video_size") == size
    growth = (peak - before) / MIB
    return {"status": response.status, "ok": ok, "reply": reply[:300], "seconds": seconds, "growth": growth}


# -- report -----------------------------------------------------------------------------------------


def row(name: str, result: Result, unit: str) -> str:
    line = f"{name:<40} {result.count:>8} {sum(result.errors.values()):>7} {result.seconds:>8.2f}"
    line += f" {result.rate:>9.1f} {unit}"
    return line + (f"   (server CPU {result.cpu:.0%})" if result.cpu is not None else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate phase (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each (default 1)")
    parser.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="connections per process (default 4)")
    parser.add_argument("--jobs", type=int, default=400, help="end-to-end jobs (default 400)")
    parser.add_argument("--workers", type=int, default=8, help="end-to-end workers (default 8)")
    parser.add_argument("--samples", type=int, default=200, help="dispatch delay samples (default 200)")
    parser.add_argument("--upload-mb", type=int, default=200, help="big upload size in MB (default 200)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="grok-bench-"))
    try:
        # Rates on one server, the empty poll before any job exists; the worker flow on a fresh one.
        server = Server(workdir / "rates", max_upload=64 * MIB)
        try:
            log_line("GET /health")
            health = measure_rate(server, ("GET", "/health", None, 200), args)
            log_line("GET /extension/poll on an empty queue")
            poll = measure_rate(server, ("GET", "/extension/poll", None, 204), args)
            if (pending := server.health()["jobs"]["pending"]) != 0:
                poll.errors[f"{pending} jobs pending"] += 1
            log_line("POST /v1/videos/generations")
            create = measure_rate(server, (*CREATE, 200), args)
            log_line(f"server RSS after the rate phases: {server.rss_mb():.1f} MB")
        finally:
            server.stop()
        server = Server(workdir / "flow", max_upload=(args.upload_mb + 16) * MIB)
        try:
            log_line(f"end to end: {args.jobs} jobs, {args.workers} workers")
            e2e = measure_e2e(server, args)
            log_line(f"dispatch delay: {args.samples} samples")
            delays, dispatch_errors = measure_dispatch(server, args.samples)
            log_line(f"upload: {args.upload_mb} MB, server RSS before it {server.rss_mb():.1f} MB")
            upload = measure_upload(server, workdir, args.upload_mb)
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    p50, p99, worst = percentile(delays, 0.50), percentile(delays, 0.99), max(delays)
    upload_name = f"upload {args.upload_mb} MB (HTTP {upload['status']})"
    print(
        f"\nclient: {args.procs} processes x {args.threads} connections; rate phases {args.duration:g} s each"
    )
    print(f"{'phase':<40} {'count':>8} {'errors':>7} {'seconds':>8} {'rate':>9}")
    print(row("GET /health", health, "req/s"))
    print(row("POST /v1/videos/generations", create, "req/s"))
    print(row("GET /extension/poll (empty queue, 204)", poll, "req/s"))
    print(row(f"end to end ({args.workers} workers)", e2e, "jobs/s"))
    print(
        f"{f'dispatch delay ({len(delays)} samples)':<40} p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms"
    )
    print(
        f"{upload_name:<40} {args.upload_mb / upload['seconds']:.1f} MB/s ({upload['seconds']:.2f} s), ",
        end="",
    )
    print(f"server RSS growth {upload['growth']:.1f} MB")
    results = {"health": health, "create": create, "poll": poll, "end to end": e2e}
    for name, errors in [
        *((name, result.errors) for name, result in results.items()),
        ("dispatch", dispatch_errors),
    ]:
        if errors:
            print(f"ERRORS in {name}: {dict(errors)}")
    if not upload["ok"]:
        print(f"ERROR in upload: HTTP {upload['status']} {upload['reply']!r}")
    ratio = create.rate / health.rate if health.rate else 0.0
    print()
    for passed, text in [
        (
            ratio >= 0.5,
            f"job creation {create.rate:.0f}/s = {ratio:.2f} x health {health.rate:.0f}/s (target >= 0.5)",
        ),
        (p99 < 50, f"dispatch delay p99 {p99:.2f} ms (target < 50 ms)"),
        (upload["growth"] < 32, f"upload RSS growth {upload['growth']:.1f} MB (target < 32 MB)"),
    ]:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
