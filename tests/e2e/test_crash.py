"""kill -9 in the middle of an upload: nothing partial is ever served, nothing is half-written."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx

import support
from support import DEMO_MP4, ProcessServer, assert_error, claim, create_job, upload, wait_until

BIG = 64 * 1024 * 1024


def partial_uploads(videos: Path) -> list[Path]:
    return list(videos.rglob(".upload-*"))  # with videos in S3, in a temp folder of the process's own


def start_slow_upload(server: ProcessServer, job_id: str, token: str) -> socket.socket:
    """Send the head of a large multipart upload and leave it hanging, as a worker cut off mid-way would."""
    boundary = "crashtest"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{job_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="claim_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    request = (
        "POST /extension/complete HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + BIG + 64}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(request + head + DEMO_MP4[:4096] + b"\0" * (2 * 1024 * 1024))
    return sock


def test_kill_during_upload_then_restart(tmp_path: Path) -> None:
    server = ProcessServer(tmp_path).start()
    videos = tmp_path / "videos"
    with httpx.Client(base_url=server.url) as client:
        job = create_job(client)
        work = claim(client)
    sock = start_slow_upload(server, work["job_id"], work["claim_token"])
    try:
        wait_until(lambda: any(p.stat().st_size > 1024 * 1024 for p in partial_uploads(videos)), timeout=30)
        server.kill9()
    finally:
        sock.close()
    assert partial_uploads(videos), "the kill should have left a partial temp file behind"
    assert not (videos / f"{job['id']}.mp4").exists()

    with closing(sqlite3.connect(tmp_path / "jobs.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    server.start()
    try:
        assert partial_uploads(videos) == []
        with httpx.Client(base_url=server.url) as client:
            assert client.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "processing"
            assert_error(client.get(f"/videos/{job['id']}.mp4"), 404, "video_not_ready")
            # The worker retries its upload under the same lease, and only the whole file is served.
            assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
            assert client.get(f"/videos/{job['id']}.mp4").content == DEMO_MP4
    finally:
        server.stop()
    if support.BACKEND is support.LOCAL:  # the SQLite file itself survived the kill
        with closing(sqlite3.connect(tmp_path / "jobs.db")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT status FROM jobs WHERE id = ?", (job["id"],)).fetchone()[0] == "completed"


def test_client_cut_off_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    server = ProcessServer(tmp_path).start()
    videos = tmp_path / "videos"
    try:
        with httpx.Client(base_url=server.url) as client:
            create_job(client)
            work = claim(client)
            sock = start_slow_upload(server, work["job_id"], work["claim_token"])
            wait_until(lambda: partial_uploads(videos), timeout=30)
            sock.close()
            wait_until(lambda: not partial_uploads(videos), timeout=30)
            assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "processing"
    finally:
        server.stop()
