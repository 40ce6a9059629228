"""The server's memory under big request bodies: many connections at once each send a body of many MB, without
credentials (every answer should be 401, the body left unread) and with a key (the bodies in flight share one
budget, MAX_BUFFERED_BYTES; those that find no room in time get 503 server_busy; the last phase lifts the budget
to compare). Prints the server's RSS before, at peak and a second after.

    .venv/bin/python bench/big_bodies.py [--connections 20] [--mb 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from time import perf_counter, sleep

import psutil

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
KEY = "sk-bench-big-bodies"
WORKER = "wt-bench-big-bodies"
CHUNK = 64 * 1024


def log_line(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


class Server:
    """The real server in a subprocess (uvicorn, as users start it), with API keys and a worker token."""

    def __init__(self, workdir: Path, extra_env: dict[str, str]) -> None:
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
            "API_KEYS": KEY,
            "WORKER_TOKEN": WORKER,
            **extra_env,
        }
        cmd = [sys.executable, "-m", "uvicorn", "grok_imagine_api.app:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.log_path = workdir / "server.log"
        with open(self.log_path, "wb") as log:  # cwd=workdir: no developer's .env is read
            self.proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)
        started = perf_counter()
        while send(self.port, "GET", "/health", b"", {}) != 200:
            if self.proc.poll() is not None or perf_counter() - started > 30:
                self.stop()
                raise RuntimeError("server did not start")
            sleep(0.05)
        send(self.port, "GET", "/v1/videos", b"", {"Authorization": f"Bearer {KEY}"})  # warm up the routes

    def rss(self) -> float:
        return float(self.ps.memory_info().rss) / MIB

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def send(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> int | str:
    """One request on its own connection, the body sent in 64 KB writes; the status, or what went wrong.
    A server that answers early and hangs up may cut the sending short: the answer is read all the same."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        with contextlib.suppress(OSError):
            view = memoryview(body)
            for start in range(0, len(body), CHUNK):
                sock.sendall(view[start : start + CHUNK])
        reply = b""
        while b"\r\n" not in reply:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
        if reply.startswith(b"HTTP/1.1 "):
            return int(reply.split(b" ", 2)[1])
        return "no answer"
    return "connection error"


def flood(
    server: Server, connections: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[Counter[str], float]:
    """`connections` POSTs at once, each on its own connection; the answers, and the server's peak RSS."""
    answers: Counter[str] = Counter()
    peak = server.rss()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.01):
            with contextlib.suppress(psutil.Error):
                peak = max(peak, server.rss())

    def one() -> None:
        answers[str(send(server.port, "POST", path, body, headers))] += 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [threading.Thread(target=one) for _ in range(connections)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    done.set()
    sampler.join()
    return answers, peak


def settle(server: Server) -> float:
    """RSS once the server has finished with the requests (a second of quiet, a few samples)."""
    samples = []
    for _ in range(5):
        sleep(0.2)
        samples.append(server.rss())
    return min(samples)


def multipart(size: int) -> tuple[bytes, str]:
    boundary = "bench-boundary-0123456789"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmake it night\r\n'
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="in.mp4"\r\n'
    head += "Content-Type: video/mp4\r\n\r\n"
    tail = f"\r\n--{boundary}--\r\n"
    video = b"\x00\x00\x00\x18ftypisom" + bytes(size - 12)
    return head.encode() + video + tail.encode(), f"multipart/form-data; boundary={boundary}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20, help="requests at once (default 20)")
    parser.add_argument("--mb", type=int, default=15, help="MB in each body (default 15)")
    args = parser.parse_args()
    size = args.mb * MIB
    prompt = json.dumps({"prompt": "x" * (size - 20)}).encode()
    video, video_type = multipart(size)
    json_type = {"Content-Type": "application/json"}
    keyed = {**json_type, "Authorization": f"Bearer {KEY}"}
    upload = {"Content-Type": video_type}
    unbounded = {"MAX_BUFFERED_BYTES": str(1024 * MIB)}
    phases: list[tuple[str, str, bytes, dict[str, str], dict[str, str]]] = [
        ("no key, POST /v1/videos/generations", "/v1/videos/generations", prompt, json_type, {}),
        ("no key, POST /v1/videos/edits (upload)", "/v1/videos/edits", video, upload, {}),
        ("no token, POST /extension/complete", "/extension/complete", video, upload, {}),
        ("key, POST /v1/videos/generations", "/v1/videos/generations", prompt, keyed, {}),
        ("key, same, MAX_BUFFERED_BYTES=1 GiB", "/v1/videos/generations", prompt, keyed, unbounded),
    ]
    workdir = Path(tempfile.mkdtemp(prefix="grok-bench-bodies-"))
    rows = []
    try:
        for number, (name, path, body, headers, env) in enumerate(phases):
            log_line(name)
            server = Server(workdir / str(number), {"MAX_REQUEST_BYTES": str(16 * MIB), **env})
            try:
                before = server.rss()
                started = perf_counter()
                answers, peak = flood(server, args.connections, path, body, headers)
                seconds = perf_counter() - started
                after = settle(server)
                rows.append((name, answers, before, peak, after, seconds))
            finally:
                server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.connections} connections at once, {args.mb} MB bodies; server RSS in MB")
    print(f"{'phase':<42} {'before':>7} {'peak':>7} {'after':>7} {'seconds':>8}  answers")
    for name, answers, before, peak, after, seconds in rows:
        print(f"{name:<42} {before:>7.1f} {peak:>7.1f} {after:>7.1f} {seconds:>8.2f}  {dict(answers)}")


if __name__ == "__main__":
    main()
