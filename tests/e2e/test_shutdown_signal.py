"""SIGTERM ends open long polls at once (204, "no job"), lets uploads in flight finish, and the process exits."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import DEMO_MP4, ROOT, HeldUpload, ProcessServer, claim, create_job, stored_bytes, wait_until

VENV_BIN = Path(sys.executable).parent
# Far below the 30 s a long poll waits: the stop must not wait the poll out.
STOP_WITHIN = 10.0

COMMANDS: list[Callable[[int], list[str]]] = [
    lambda port: [sys.executable, "server.py"],
    lambda port: [str(VENV_BIN / "uvicorn"), "server:app", "--host", "127.0.0.1", "--port", str(port)],
]


def started(tmp: Path, command: Callable[[int], list[str]]) -> ProcessServer:
    server = ProcessServer(tmp, cwd=ROOT, env={"LOG_LEVEL": "info"})
    server.command = command(server.port)
    return server.start()


def open_long_poll(server: ProcessServer, answers: list[httpx.Response]) -> threading.Thread:
    def poll() -> None:
        answers.append(httpx.get(f"{server.url}/extension/poll", params={"wait": 30}, timeout=60))

    thread = threading.Thread(target=poll)
    thread.start()
    wait_until(lambda: httpx.get(f"{server.url}/health").json()["workers"]["waiting"] == 1, timeout=20)
    return thread


def sigterm(server: ProcessServer) -> float:
    """Send SIGTERM, wait for the process to end; the seconds it took."""
    assert server.proc is not None
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=60)
    return time.monotonic() - start


@pytest.mark.parametrize("command", COMMANDS, ids=["python server.py", "uvicorn server:app"])
def test_sigterm_ends_an_open_long_poll_at_once(tmp_path: Path, command: Callable[[int], list[str]]) -> None:
    server = started(tmp_path, command)
    try:
        answers: list[httpx.Response] = []
        poller = open_long_poll(server, answers)
        took = sigterm(server)
        poller.join(timeout=60)
        print(f"stopped in {took:.2f} s with a long poll open")
        assert [reply.status_code for reply in answers] == [204]
        assert took < STOP_WITHIN, server.read_output()
        assert "Application shutdown complete" in server.read_output()
    finally:
        server.stop()


def test_an_upload_in_flight_finishes_before_the_process_exits(tmp_path: Path) -> None:
    server = started(tmp_path, COMMANDS[0])
    videos = tmp_path / "videos"
    answers: list[httpx.Response] = []
    poller: threading.Thread | None = None
    try:
        with httpx.Client(base_url=server.url) as client:
            create_job(client)
            work = claim(client)
        upload = HeldUpload(server.port, work["job_id"])
        try:
            wait_until(lambda: any(videos.rglob(".upload-*")), timeout=20)
            poller = open_long_poll(server, answers)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            poller.join(timeout=STOP_WITHIN)
            assert [reply.status_code for reply in answers] == [204]
            assert server.proc.poll() is None, "the process must wait for the upload"
            answer = upload.finish()
        finally:
            upload.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        server.proc.wait(timeout=STOP_WITHIN)
        assert stored_bytes(videos, f"{work['job_id']}.mp4") == DEMO_MP4
    finally:
        server.stop()
        if poller is not None:
            poller.join(timeout=60)
