"""The start-up warnings name the address uvicorn really listens on, not SERVER_HOST (which only
`python server.py` uses, and whose default is 0.0.0.0)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from support import ROOT, ProcessServer, wait_until

VENV_BIN = Path(sys.executable).parent


def uvicorn_server(tmp_path: Path, host: str, **env: str) -> ProcessServer:
    server = ProcessServer(tmp_path, cwd=ROOT, env=env)
    if "SERVER_HOST" not in env:
        server.env.pop("SERVER_HOST")
    server.command = [str(VENV_BIN / "uvicorn"), "server:app", "--host", host, "--port", str(server.port)]
    return server


@pytest.mark.parametrize("server_host", [None, "0.0.0.0"])
def test_uvicorn_on_loopback_does_not_warn(tmp_path: Path, server_host: str | None) -> None:
    """Whatever SERVER_HOST says: it is only what `python server.py` binds."""
    server = uvicorn_server(tmp_path, "127.0.0.1", **({"SERVER_HOST": server_host} if server_host else {}))
    server.start()
    try:
        wait_until(lambda: f"start-up: listening on 127.0.0.1:{server.port}" in server.read_output())
    finally:
        output = server.stop()
    assert "NO API KEYS" not in output and "NO WORKER TOKEN" not in output, output
    assert "0.0.0.0" not in output, output


def test_uvicorn_on_every_address_warns_naming_it(tmp_path: Path) -> None:
    # Client routes need a key for the moment this test server is reachable from elsewhere.
    server = uvicorn_server(tmp_path, "0.0.0.0", API_KEYS="sk-listen-test").start()
    try:
        warning = f"NO WORKER TOKEN: listening on 0.0.0.0:{server.port}, "
        wait_until(lambda: warning in server.read_output())
    finally:
        output = server.stop()
    assert "NO API KEYS" not in output, output
