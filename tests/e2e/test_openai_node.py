"""The official `openai` Node package (tests/node/videos.test.mjs and images.test.mjs, `node --test`) against a
live server with an API key and the demo worker. scripts/test.sh installs the Node packages
(tests/node/package-lock.json)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from support import DEMO_MP4, ROOT, demo_worker, process_server, wait_until

KEY = "sk-test-node"
WORKER = "worker-secret"
NODE_TESTS = ROOT / "tests" / "node"
NODE_TIMEOUT = 300


def node_failure(output: str, server_log: str) -> str:
    return f"node --test failed:\n{output}\n--- server log (last 4000 characters) ---\n{server_log[-4000:]}"


@pytest.mark.timeout(NODE_TIMEOUT + 60)
@pytest.mark.parametrize("suite", ["videos.test.mjs", "images.test.mjs"])
def test_the_openai_node_sdk_against_a_live_server(tmp_path: Path, suite: str) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the openai Node package tests need Node.js 20 or later")
    if not (NODE_TESTS / "node_modules" / "openai").is_dir():
        pytest.fail("tests/node/node_modules is missing: run scripts/test.sh (it runs `npm ci` in tests/node)")
    demo = tmp_path / "demo.mp4"
    demo.write_bytes(DEMO_MP4)
    env = {"API_KEYS": KEY, "WORKER_TOKEN": WORKER, "POLL_AFTER_MS": "20"}
    with process_server(tmp_path, env=env) as server, demo_worker(server.url, WORKER):
        headers = {"Authorization": f"Bearer {KEY}"}
        # Until the demo worker declared, a 12-second video would not be planned as a chain (docs/long-videos.md).
        wait_until(lambda: declared(server.url, headers), timeout=30)
        try:
            run = subprocess.run(
                [node, "--test", "--test-reporter=spec", str(NODE_TESTS / suite)],
                cwd=ROOT,
                env={
                    **os.environ,
                    "GROK_SERVER_URL": server.url,
                    "GROK_API_KEY": KEY,
                    "GROK_DEMO_MP4": str(demo),
                    "NO_COLOR": "1",
                },
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NODE_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
            pytest.fail(f"node --test ran past {NODE_TIMEOUT} s\n" + node_failure(output or "", server.read_output()))
        output = run.stdout + run.stderr
        assert run.returncode == 0, node_failure(output, server.read_output())


def declared(url: str, headers: dict[str, str]) -> bool:
    """A worker is connected and has declared what it can make."""
    return any(worker["abilities"] for worker in httpx.get(f"{url}/workers", headers=headers).json()["data"])
