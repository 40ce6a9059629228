"""Benchmark the real grok-imagine-api server (a uvicorn subprocess on a fresh temp dir) over loopback:
request rates of health, job creation and empty polls; end-to-end jobs/s with concurrent workers;
long-poll dispatch delay; a large streamed upload's throughput and the server's RSS growth during it.

    .venv/bin/python bench/bench.py [--duration 5] [--jobs 400] [--upload-mb 200]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
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
from collections.abc import Callable
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
Spec = tuple[str, str, bytes | None, int] | None  # method, path, body, expected status


@dataclass
class Result:
    count: int
    seconds: float
    errors: Counter[str] = field(default_factory=Counter)
    unit: str = "req/s"
    note: str = ""
    metric: float = 0.0  # what a target is checked against: dispatch p99 ms, upload RSS growth MB

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def log_line(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def connect(port: int, timeout: float = 60) -> Conn:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def request(
    conn: Conn, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    if headers is None:
        headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def hang_up(conn: Conn) -> None:
    """Wake a thread blocked reading `conn` (shutdown works across threads; close does not)."""
    if conn.sock is not None:
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)


def form_parts(fields: dict[str, str], filename: str) -> tuple[bytes, bytes, str]:
    """What goes before and after the bytes of the `video` file part, and the content type."""
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
        with open(self.log_path, "wb") as log:  # cwd=workdir: no developer's .env is read
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
        with contextlib.closing(connect(self.port, timeout=5)) as conn:
            status, body = request(conn, "GET", "/health")
        if status != 200:
            raise RuntimeError(f"GET /health answered {status}")
        return dict(json.loads(body))

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


# -- client processes x threads, one keep-alive connection per thread ------------------------------


@dataclass
class Control:
    """Shared by the parent and the client processes of one phase."""

    barrier: Barrier
    measuring: Event
    stop: Event
    done: Any  # multiprocessing.Value("i"): jobs completed; workers set `stop` when it reaches `total`
    total: int
    results: MPQueue[Counter[str]]


def rate_loop(conn: Conn, name: str, spec: Spec, ctl: Control) -> Counter[str]:
    """Send one request after another; count the answers that arrive inside the measured window."""
    assert spec is not None
    method, path, body, expect = spec
    counts: Counter[str] = Counter()
    while not ctl.stop.is_set():
        try:
            status, _ = request(conn, method, path, body)
            outcome = "ok" if status == expect else f"HTTP {status}"
        except NET_ERRORS as exc:
            outcome = type(exc).__name__
            conn.close()  # the next request reconnects
        if ctl.measuring.is_set() and not ctl.stop.is_set():
            counts[outcome] += 1
    return counts


def worker_loop(conn: Conn, name: str, spec: Spec, ctl: Control) -> Counter[str]:
    """A worker: long-poll, report progress, upload the demo clip; "ok" counts completed jobs."""
    clip, counts = DEMO_MP4.read_bytes(), Counter[str]()
    while not ctl.stop.is_set():
        try:
            status, body = request(conn, "GET", f"/extension/poll?client_id={name}&wait=5")
            if status != 200:
                counts.update([] if status == 204 else [f"poll HTTP {status}"])
                continue
            job = json.loads(body)
            ids = {"job_id": job["job_id"], "claim_token": job["claim_token"]}
            status, _ = request(conn, "POST", "/extension/progress", json.dumps({**ids, "progress": 50}))
            if status != 200:
                counts[f"progress HTTP {status}"] += 1
                continue
            head, tail, ctype = form_parts(ids, f"{name}.mp4")
            form = head + clip + tail
            status, _ = request(conn, "POST", "/extension/complete", form, {"Content-Type": ctype})
            if status != 200:
                counts[f"complete HTTP {status}"] += 1
                continue
            counts["ok"] += 1
            with ctl.done.get_lock():
                ctl.done.value += 1
                if ctl.done.value >= ctl.total:
                    ctl.stop.set()  # the last job is done: the phase ends
        except NET_ERRORS as exc:
            if not ctl.stop.is_set():
                counts[type(exc).__name__] += 1
            conn.close()
    return counts


Loop = Callable[[Conn, str, Spec, Control], Counter[str]]


def _client_proc(port: int, loop: Loop, names: list[str], spec: Spec, ctl: Control) -> None:
    conns, out = [connect(port) for _ in names], list[Counter[str]]()
    threads = [
        threading.Thread(target=lambda c=conn, n=name: out.append(loop(c, n, spec, ctl)))
        for conn, name in zip(conns, names, strict=True)
    ]
    ctl.barrier.wait()
    for thread in threads:
        thread.start()
    ctl.stop.wait()
    for conn in conns:
        hang_up(conn)  # ends what is still in flight, such as long polls that no job will answer
    for thread in threads:
        thread.join()
    ctl.results.put(sum(out, Counter()))


def run_clients(server: Server, loop: Loop, spec: Spec, clients: int, args: Any, total: int = 0) -> Result:
    """Measure from the end of the warm-up until `args.duration` passes (rate phases: `total` == 0)
    or the workers complete `total` jobs (each client process runs its share of the threads)."""
    procs = args.procs
    warmup, limit = (0.0, max(60.0, total / 5)) if total else (args.warmup, args.duration)
    ctl = Control(mp.Barrier(procs + 1), mp.Event(), mp.Event(), mp.Value("i", 0), total, mp.Queue())
    names = [f"w{i}" for i in range(clients)]
    shares = [names[i::procs] for i in range(procs)]
    children = [mp.Process(target=_client_proc, args=(server.port, loop, part, spec, ctl)) for part in shares]
    for child in children:
        child.start()
    ctl.barrier.wait()
    ctl.stop.wait(warmup)
    cpu, started = sum(server.ps.cpu_times()[:2]), perf_counter()  # user + system
    ctl.measuring.set()
    finished = ctl.stop.wait(limit)
    seconds = perf_counter() - started
    cpu = (sum(server.ps.cpu_times()[:2]) - cpu) / seconds
    ctl.stop.set()
    counts: Counter[str] = sum((ctl.results.get(timeout=60) for _ in children), Counter())
    for child in children:
        child.join()
    if total and not finished:
        counts[f"timed out after {limit:g} s"] += 1
    return Result(counts.pop("ok", 0), seconds, counts, note=f"server CPU {cpu:.0%}")


def measure_e2e(server: Server, args: Any) -> Result:
    with contextlib.closing(connect(server.port)) as conn:
        created = Counter(request(conn, *CREATE)[0] for _ in range(args.jobs))
    result = run_clients(server, worker_loop, None, args.workers, args, total=args.jobs)
    result.unit = "jobs/s"
    result.errors.update({f"create HTTP {status}": n for status, n in created.items() if status != 200})
    expected = {"pending": 0, "processing": 0, "completed": args.jobs, "failed": 0}
    if (jobs := server.health()["jobs"]) != expected:
        result.errors[f"/health job counts {jobs}"] += 1
    return result


def measure_dispatch(server: Server, samples: int) -> Result:
    """From sending a job creation to the response to an already-waiting long poll, `samples` times."""
    arrivals: queue.Queue[float] = queue.Queue()
    errors, stop, delays = Counter[str](), threading.Event(), list[float]()
    worker_conn, control = connect(server.port), connect(server.port)

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
    started = perf_counter()
    for _ in range(samples):
        deadline = perf_counter() + 10
        while json.loads(request(control, "GET", "/health")[1])["workers"]["waiting"] < 1:
            if perf_counter() > deadline:
                raise RuntimeError("the dispatch worker is not waiting in a long poll")
        sent = perf_counter()
        if (status := request(control, *CREATE)[0]) != 200:
            errors[f"create HTTP {status}"] += 1
            continue
        delays.append((arrivals.get(timeout=35) - sent) * 1000)
    seconds = perf_counter() - started
    stop.set()
    hang_up(worker_conn)
    thread.join()
    control.close()
    ordered = sorted(delays) or [float("inf")]
    p50, p99 = (ordered[max(0, math.ceil(q * len(ordered)) - 1)] for q in (0.50, 0.99))  # nearest rank
    note = f"delay p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"
    return Result(len(delays), seconds, errors, unit="", note=note, metric=p99)


def measure_upload(server: Server, workdir: Path, megabytes: int) -> Result:
    """One big upload streamed from a file on disk, the server's RSS sampled every 20 ms meanwhile."""
    path, size = workdir / "upload.mp4", megabytes * MIB
    with open(path, "wb") as out:
        out.write(b"\x00\x00\x00\x18ftypisom" + bytes(MIB - 12))
        for _ in range(megabytes - 1):
            out.write(bytes(MIB))
    conn = connect(server.port, timeout=300)
    request(conn, *CREATE)
    status, body = request(conn, "GET", "/extension/poll?client_id=uploader")
    if status != 200:
        raise RuntimeError(f"could not claim a job for the upload: HTTP {status} {body[:200]!r}")
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
    with open(path, "rb") as video:  # an iterable body with a Content-Length is sent as it is read
        parts = itertools.chain([head], iter(lambda: video.read(MIB), b""), [tail])
        headers = {"Content-Type": ctype, "Content-Length": str(len(head) + size + len(tail))}
        status, reply = request(conn, "POST", "/extension/complete", parts, headers)
    seconds = perf_counter() - started
    sampled.set()
    sampler.join()
    conn.close()
    growth = (max(peak, server.ps.memory_info().rss) - before) / MIB
    errors = Counter[str]()
    if status != 200 or json.loads(reply).get("video_size") != size:
        errors[f"HTTP {status} {reply[:300]!r}"] += 1
    note = f"server RSS {before / MIB:.1f} MB before, +{growth:.1f} MB at peak"
    return Result(megabytes, seconds, errors, unit="MB/s", note=note, metric=growth)


def parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    add = parser.add_argument
    add("--duration", type=float, default=5.0, help="measured seconds per rate phase (default 5)")
    add("--warmup", type=float, default=1.0, help="warm-up seconds before each rate phase (default 1)")
    add("--procs", type=int, default=2, help="client processes (default 2)")
    add("--threads", type=int, default=4, help="connections per client process in rate phases (default 4)")
    add("--jobs", type=int, default=400, help="jobs for the end-to-end phase (default 400)")
    add("--workers", type=int, default=8, help="workers for the end-to-end phase (default 8)")
    add("--samples", type=int, default=200, help="dispatch delay samples (default 200)")
    add("--upload-mb", type=int, default=200, help="size of the big upload in MB (default 200)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir, results = Path(tempfile.mkdtemp(prefix="grok-bench-")), dict[str, Result]()
    try:
        # The rate phases on one server (the empty poll before any job exists), the worker flow on another.
        server = Server(workdir / "rates", max_upload=64 * MIB)
        try:
            for name, spec in [
                ("GET /health", ("GET", "/health", None, 200)),
                ("GET /extension/poll (empty queue, 204)", ("GET", "/extension/poll", None, 204)),
                ("POST /v1/videos/generations", (*CREATE, 200)),
            ]:
                log_line(name)
                results[name] = run_clients(server, rate_loop, spec, args.procs * args.threads, args)
                if spec[1] == "/extension/poll" and (pending := server.health()["jobs"]["pending"]):
                    results[name].errors[f"{pending} jobs pending"] += 1
        finally:
            server.stop()
        server = Server(workdir / "flow", max_upload=(args.upload_mb + 16) * MIB)
        try:
            log_line(name := f"end to end ({args.workers} workers, {args.jobs} jobs)")
            results[name] = measure_e2e(server, args)
            log_line(name := f"dispatch delay ({args.samples} creates)")
            results[name] = dispatch = measure_dispatch(server, args.samples)
            log_line(name := f"upload {args.upload_mb} MB")
            results[name] = upload = measure_upload(server, workdir, args.upload_mb)
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nclient: {args.procs} processes x {args.threads} connections; rate phases {args.duration:g} s")
    print(f"{'phase':<40} {'count':>8} {'errors':>7} {'seconds':>8} {'rate':>9}")
    for name, result in results.items():
        line = f"{name:<40} {result.count:>8} {sum(result.errors.values()):>7} {result.seconds:>8.2f}"
        print(f"{line} {f'{result.rate:.1f}' if result.unit else '-':>9} {result.unit:<7} {result.note}")
        if result.errors:
            print(f"    ERRORS: {dict(result.errors)}")
    health, create = results["GET /health"].rate, results["POST /v1/videos/generations"].rate
    ratio = create / health if health else 0.0
    print()
    for passed, text in [
        (ratio >= 0.5, f"job creation {create:.0f}/s = {ratio:.2f} x health {health:.0f}/s (target >= 0.5)"),
        (dispatch.metric < 50, f"dispatch delay p99 {dispatch.metric:.2f} ms (target < 50 ms)"),
        (upload.metric < 32, f"server RSS growth during the upload {upload.metric:.1f} MB (target < 32 MB)"),
    ]:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
