"""Every documented way to start the server really starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import ROOT, ProcessServer, create_job

# The default start-up and the data-directory lock are about SQLite and local files themselves.
pytestmark = pytest.mark.one_backend

VENV_BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda port: [sys.executable, "server.py"], id="python server.py"),
        pytest.param(
            lambda port: [
                str(VENV_BIN / "uvicorn"),
                "server:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            id="uvicorn server:app",
        ),
        pytest.param(lambda port: [str(VENV_BIN / "grok-imagine-api"), "serve"], id="grok-imagine-api serve"),
    ],
)
def test_start_commands(tmp_path: Path, command) -> None:  # type: ignore[no-untyped-def]
    server = ProcessServer(tmp_path, cwd=ROOT)
    server.command = command(server.port)
    server.start()
    try:
        with httpx.Client(base_url=server.url) as client:
            job = create_job(client)
            assert job["video_url"] == f"{server.url}/videos/{job['id']}.mp4"
        assert (tmp_path / "jobs.db").exists()
        assert (tmp_path / "videos").is_dir()
        assert any((tmp_path / "logs").glob("requests_*.jsonl"))
    finally:
        server.stop()


def test_uvicorn_reload(tmp_path: Path) -> None:
    server = ProcessServer(tmp_path, cwd=ROOT)
    server.command = [
        str(VENV_BIN / "uvicorn"),
        "server:app",
        "--reload",
        "--reload-dir",
        str(ROOT / "src"),
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
    ]
    server.start()
    try:
        assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    finally:
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGINT)
        server.proc.wait(timeout=20)
        server.proc = None


def test_defaults_are_relative_to_the_working_directory(tmp_path: Path) -> None:
    server = ProcessServer(tmp_path)
    for name in ("DB_PATH", "VIDEO_STORAGE_PATH", "LOG_PATH"):
        server.env.pop(name)
    server.start()
    try:
        assert httpx.get(f"{server.url}/").status_code == 200
    finally:
        server.stop()
    assert (tmp_path / "jobs.db").is_file()
    assert (tmp_path / "videos").is_dir()
    assert (tmp_path / "logs").is_dir()


def test_the_demo_worker_says_what_it_is() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grok_imagine_api.cli", "worker", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "not generation" in result.stdout
