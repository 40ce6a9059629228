"""A second server on the same database or video directory refuses to start, and touches nothing of the first's:
before the lock, its start-up sweep deleted the first one's upload in flight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.files.storage import LOCK_FILE
from support import DEMO_MP4, ROOT, HeldUpload, ProcessServer, claim, create_job, wait_until

# The default start-up and the data-directory lock are about SQLite and local files themselves.
pytestmark = pytest.mark.one_backend

VENV_BIN = Path(sys.executable).parent


def files_under(root: Path) -> dict[str, str]:
    """Every file but the logs, with the text of the lock files (which names their holder)."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.suffix == ".lock":
                found[str(path.relative_to(root))] = path.read_text()
            elif "logs" not in path.parts and path.suffix != ".log":
                found[str(path.relative_to(root))] = ""
    return found


def second_server(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    other = ProcessServer(tmp, env=env)
    return subprocess.run(other.command, cwd=tmp, env=other.env, capture_output=True, text=True, timeout=60)


def test_a_second_server_refuses_and_the_first_one_s_upload_completes(tmp_path: Path) -> None:
    first = ProcessServer(tmp_path).start()
    videos = tmp_path / "videos"
    try:
        with httpx.Client(base_url=first.url) as client:
            create_job(client)
            work = claim(client)
        upload = HeldUpload(first.port, work["job_id"])
        try:
            wait_until(lambda: any(p.name.startswith(".upload-") for p in videos.iterdir()), timeout=20)
            before = files_under(tmp_path)

            refused = second_server(tmp_path)

            assert refused.returncode != 0
            assert first.proc is not None
            output = refused.stdout + refused.stderr
            print(output)
            assert f"in use by another grok-imagine-api server (pid {first.proc.pid} on " in output
            assert str(videos / LOCK_FILE) in output
            assert files_under(tmp_path) == before  # the upload in flight is still there; nothing else changed
            answer = upload.finish()
        finally:
            upload.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert (videos / f"{work['job_id']}.mp4").read_bytes() == DEMO_MP4
    finally:
        first.stop()
    # Stopped, the first one lets the data go: the next server on it starts.
    ProcessServer(tmp_path).start().stop()


def test_the_database_alone_is_guarded_too(tmp_path: Path) -> None:
    first = ProcessServer(tmp_path).start()
    try:
        refused = second_server(tmp_path, VIDEO_STORAGE_PATH=str(tmp_path / "other-videos"))
        assert refused.returncode != 0
        assert first.proc is not None
        output = refused.stdout + refused.stderr
        assert f"(pid {first.proc.pid} on " in output
        assert f"lock file {tmp_path / 'jobs.db.lock'})" in output
        # It gave its own video directory back on the way out.
        assert (tmp_path / "other-videos" / LOCK_FILE).read_text() == ""
    finally:
        first.stop()


def test_under_the_reloader_the_serving_process_holds_the_lock(tmp_path: Path) -> None:
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
        assert server.proc is not None
        fields = dict(line.split("=", 1) for line in (tmp_path / "jobs.db.lock").read_text().splitlines())
        serving = int(fields["pid"])
        assert serving != server.proc.pid  # the reloader takes no lock
        refused = second_server(tmp_path)
        assert refused.returncode != 0
        assert f"(pid {serving} on " in refused.stdout + refused.stderr
    finally:
        server.stop()
