"""A full disk (ENOSPC) answers 507 `insufficient_storage`: nothing half-written stays, the job stays as it was,
the server logs it and /metrics counts it. The disk is a swapped opener, so it fills up exactly when told."""

from __future__ import annotations

import errno
import http.server
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.files.storage import LocalVideoStorage, TempFile
from support import DEMO_MP4, EVERYTHING, ThreadServer, assert_error, claim, create_job, settings_for, upload


class FillingDisk:
    """Files on a disk with `room` bytes left in all (None: plenty); a write past it fails with ENOSPC."""

    def __init__(self) -> None:
        self.room: int | None = None

    def __call__(self, path: Path) -> TempFile:
        return DiskFile(open(path, "xb"), self)


class DiskFile:
    def __init__(self, file: TempFile, disk: FillingDisk) -> None:
        self.file = file
        self.disk = disk

    def write(self, data: bytes, /) -> int:
        if self.disk.room is not None:
            if len(data) > self.disk.room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.disk.room -= len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()


@pytest.fixture
def disk() -> FillingDisk:
    return FillingDisk()


@pytest.fixture
def full_server(tmp_path: Path, disk: FillingDisk) -> Iterator[ThreadServer]:
    settings = settings_for(tmp_path, allow_private_urls=True)
    with ThreadServer(settings, storage=LocalVideoStorage(settings.video_storage_path, opener=disk)) as srv:
        yield srv


@pytest.fixture
def http_client(full_server: ThreadServer) -> Iterator[httpx.Client]:
    with full_server.client() as client:
        yield client


def written(server: ThreadServer) -> list[str]:
    """Job files and temp files in the video storage (not the server's lock file)."""
    root = server.settings.video_storage_path
    names = [path.name for path in root.iterdir() if path.is_file()]
    if (root / "sources").is_dir():
        names += [f"sources/{path.name}" for path in (root / "sources").iterdir()]
    return sorted(name for name in names if "job_" in name or name.endswith(".part"))


def metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


def test_a_full_disk_answers_the_worker_507_and_the_same_upload_succeeds_later(
    http_client: httpx.Client, full_server: ThreadServer, disk: FillingDisk, caplog: pytest.LogCaptureFixture
) -> None:
    job = create_job(http_client)
    work = claim(http_client)
    disk.room = len(DEMO_MP4) // 3
    with caplog.at_level(logging.ERROR, logger="grok_imagine_api"):
        reply = upload(http_client, work["job_id"], token=work["claim_token"])
    assert_error(reply, 507, "insufficient_storage")
    assert reply.json()["error"]["type"] == "server_error"
    assert written(full_server) == []  # the partial temp file is gone
    assert any("is full" in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)
    assert metric(http_client, "grok_imagine_storage_full_total") == 1
    assert metric(http_client, "grok_imagine_storage_free_bytes") > 0
    assert http_client.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "processing"
    assert_error(http_client.get(f"/videos/{job['id']}.mp4"), 404, "video_not_ready")

    disk.room = None  # space was freed: the worker retries under the same lease
    done = upload(http_client, work["job_id"], token=work["claim_token"])
    assert done.status_code == 200, done.text
    assert http_client.get(f"/videos/{job['id']}.mp4").content == DEMO_MP4
    assert written(full_server) == [f"{job['id']}.mp4"]


def test_a_thumbnail_on_a_full_disk_is_507_and_leaves_no_part_file(
    http_client: httpx.Client, full_server: ThreadServer, disk: FillingDisk
) -> None:
    create_job(http_client)
    work = claim(http_client)
    assert upload(http_client, work["job_id"]).status_code == 200
    disk.room = 100
    thumbnail = f"/v1/videos/{work['job_id']}/content"
    assert_error(http_client.get(thumbnail, params={"variant": "thumbnail"}), 507, "insufficient_storage")
    assert written(full_server) == [f"{work['job_id']}.mp4"]
    disk.room = None
    reply = http_client.get(thumbnail, params={"variant": "thumbnail"})
    assert reply.status_code == 200 and reply.content[:3] == b"\xff\xd8\xff"


def test_a_source_upload_on_a_full_disk_is_507_and_makes_no_job(
    http_client: httpx.Client, full_server: ThreadServer, disk: FillingDisk
) -> None:
    disk.room = 1000
    for route in ("/v1/videos/extensions", "/v1/videos/edits"):
        reply = http_client.post(route, data={"prompt": "more"}, files={"video": ("in.mp4", DEMO_MP4, "video/mp4")})
        assert_error(reply, 507, "insufficient_storage")
    assert written(full_server) == []
    assert http_client.get("/v1/videos").json()["data"] == []
    assert http_client.get("/extension/poll", params=EVERYTHING).status_code == 204


class VideoHost(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(DEMO_MP4)))
        self.end_headers()
        self.wfile.write(DEMO_MP4)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def video_url() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), VideoHost)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/clip.mp4"
    httpd.shutdown()
    httpd.server_close()


def test_a_fetched_source_on_a_full_disk_is_507_and_makes_no_job(
    http_client: httpx.Client, full_server: ThreadServer, disk: FillingDisk, video_url: str
) -> None:
    disk.room = 1000
    reply = http_client.post("/v1/videos/extensions", json={"prompt": "more", "video": {"url": video_url}})
    assert_error(reply, 507, "insufficient_storage")
    assert written(full_server) == []
    assert http_client.get("/v1/videos").json()["data"] == []
    disk.room = None
    assert http_client.post("/v1/videos/extensions", json={"prompt": "more", "video": {"url": video_url}}).is_success
