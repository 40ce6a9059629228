"""Test helpers: real servers (in a thread with a controllable clock, or as a separate process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from grok_imagine_api.app import create_app
from grok_imagine_api.clock import FakeClock
from grok_imagine_api.config import Settings
from grok_imagine_api.files.storage import LOCK_FILE, VideoStorage

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
DEMO_MP4 = resources.files("grok_imagine_api").joinpath("assets/demo.mp4").read_bytes()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG_1PX = tiny_png()


def png(width: int, height: int, shade: int = 0) -> bytes:
    """A real, whole PNG of one colour (`shade` tells images apart), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes([shade % 256, (shade * 7) % 256, 200]) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# What a worker declares and polls with to be handed image jobs (docs/images.md).
IMAGE_WORKER = {"kinds": "text_to_image,image_to_image", "mode": "image"}


class Backend:
    """Where the servers of a test keep jobs and videos, unless the test says otherwise: SQLite and local files
    (the default), or PostgreSQL and an S3-compatible store (tests/backends.py picks it per test)."""

    def __init__(self, name: str, settings: dict[str, Any] | None = None, bucket: Any = None) -> None:
        self.name = name
        self.settings = settings or {}
        self.bucket = bucket  # tests/s3.py Bucket, when videos are in one

    def env(self) -> dict[str, str]:
        return {name.upper(): str(value) for name, value in self.settings.items()}


LOCAL = Backend("sqlite+files")


def stored_names(root: Path) -> list[str]:
    """The names (paths relative to `root`, or object keys) of everything the server keeps for its jobs."""
    return sorted(str(path.relative_to(root)) for path in stored_files(root))


def stored_bytes(root: Path, name: str) -> bytes:
    """A stored file's bytes, wherever the backend keeps it."""
    if BACKEND.bucket is not None:
        data: bytes = BACKEND.bucket.read(name)
        return data
    return (root / name).read_bytes()


BACKEND = LOCAL


def stored_files(root: Path) -> list[Path]:
    """Every file the server keeps under `root`, without the lock that says which server uses it; with videos in
    an object store, its objects too (as if under `root`)."""
    found = [path for path in root.rglob("*") if path.is_file() and path.name != LOCK_FILE]
    if BACKEND.bucket is not None:
        found += [root / key for key in BACKEND.bucket.objects()]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll `condition` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def settings_for(tmp: Path, *, database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings under `tmp`; the jobs in SQLite there, or at `database_url` (PostgreSQL)."""
    values: dict[str, Any] = {
        "db_path": tmp / "jobs.db",
        "database_url": database_url,
        "video_storage_path": tmp / "videos",
        "log_path": tmp / "logs",
        "server_port": 8000,
        "server_host": "127.0.0.1",
    }
    if database_url is None:
        values.update(BACKEND.settings)
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class ThreadServer:
    """The real app under a real uvicorn, in a thread of the test process, with a FakeClock."""

    def __init__(self, settings: Settings, *, maintenance: bool = False, storage: VideoStorage | None = None) -> None:
        self.settings = settings
        self.clock = FakeClock()
        self.app = create_app(settings, clock=self.clock, run_maintenance=maintenance, storage=storage)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=lambda: self.loop.run_until_complete(self.server.serve()), daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=15)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's own event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    @property
    def service(self) -> Any:
        return self.app.state.service

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


class ProcessServer:
    """The server as its own process, started the way users start it."""

    def __init__(
        self,
        tmp: Path,
        *,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        cwd: Path | None = None,
        database_url: str | None = None,
    ) -> None:
        """`database_url`: the jobs in PostgreSQL there, instead of SQLite under `tmp`."""
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "DB_PATH": str(tmp / "jobs.db"),
            "DATABASE_URL": database_url or "",
            "VIDEO_STORAGE_PATH": str(tmp / "videos"),
            "LOG_PATH": str(tmp / "logs"),
            "LOG_LEVEL": "warning",
            **(BACKEND.env() if database_url is None else {}),
            **(env or {}),
        }
        self.command = command or [sys.executable, str(ROOT / "server.py")]
        self.cwd = cwd or tmp
        self.output = tmp / "server-output.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessServer:
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=out, stderr=out)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.read_output()}")
            try:
                return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, interval=0.05)
        return self

    def read_output(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        return self.read_output()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def process_server(tmp: Path, **kwargs: Any) -> Iterator[ProcessServer]:
    server = ProcessServer(tmp, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def demo_worker(server_url: str, token: str | None = None, *flags: str) -> Iterator[subprocess.Popen[bytes]]:
    """`grok-imagine-api worker --demo` against `server_url` (plus `flags`), stopped on exit."""
    command = [sys.executable, "-m", "grok_imagine_api.cli", "worker", "--demo", "--server", server_url]
    command += ["--delay", "0.01", *(["--token", token] if token else []), *flags]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_job(client: httpx.Client, prompt: str = "A cat playing piano", **extra: Any) -> dict[str, Any]:
    reply = client.post("/v1/videos/generations", json={"model": "grok", "prompt": prompt, **extra})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


# What a worker declares to be handed remixes, extensions and edits too (one that declares nothing gets none).
EVERYTHING = {"kinds": "text_to_video,image_to_video,extend,remix,edit", "sources": "grok,upload"}


def claim(client: httpx.Client, **params: Any) -> dict[str, Any]:
    reply = client.get("/extension/poll", params=params)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def upload(
    client: httpx.Client, job_id: str | None, video: bytes = DEMO_MP4, token: str | None = None, **fields: str
) -> httpx.Response:
    data = {**fields}
    if job_id is not None:
        data["job_id"] = job_id
    if token is not None:
        data["claim_token"] = token
    return client.post("/extension/complete", data=data, files={"video": ("out.mp4", video, "video/mp4")})


def assert_error(reply: httpx.Response, status: int, code: str | None = None, param: str | None = None) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    if param is not None:
        assert body["error"]["param"] == param, body


class HeldUpload:
    """A worker's upload to /extension/complete, sent up to a few KiB into the video and held there until
    `finish()` sends the rest and reads the answer."""

    def __init__(self, port: int, job_id: str, video: bytes = DEMO_MP4) -> None:
        boundary = "held"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{job_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        body = head + video + f"\r\n--{boundary}--\r\n".encode()
        request = (
            "POST /extension/complete HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        split = len(head) + 4096
        self.rest = body[split:]
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(request + body[:split])

    def finish(self) -> bytes:
        """The rest of the body; the answer's status line and headers (and what else arrived with them)."""
        self.sock.sendall(self.rest)
        self.sock.settimeout(30)
        return self.sock.recv(65536)

    def close(self) -> None:
        self.sock.close()


def cli_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without the developer's own client settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GROK_IMAGINE_")}
    return {**env, "COLUMNS": "100", **(extra or {})}


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`grok-imagine-api ARGS` as its own process, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "grok_imagine_api.cli", *args],
        cwd=cwd,
        env=cli_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
