from __future__ import annotations

import httpx
import pytest

from support import DEMO_MP4, ThreadServer, assert_error, claim, create_job, upload


@pytest.fixture
def video_id(client: httpx.Client) -> str:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"]).status_code == 200
    return str(work["job_id"])


def test_download_whole_video(client: httpx.Client, video_id: str) -> None:
    reply = client.get(f"/videos/{video_id}.mp4")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "video/mp4"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["etag"]
    assert reply.headers["last-modified"]
    assert reply.content == DEMO_MP4


def test_head_has_headers_and_no_body(client: httpx.Client, video_id: str) -> None:
    reply = client.head(f"/videos/{video_id}.mp4")
    assert reply.status_code == 200
    assert int(reply.headers["content-length"]) == len(DEMO_MP4)
    assert reply.content == b""


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-1", 0, 1), ("bytes=100-199", 100, 199), ("bytes=-10", len(DEMO_MP4) - 10, len(DEMO_MP4) - 1)],
)
def test_single_ranges(client: httpx.Client, video_id: str, header: str, start: int, end: int) -> None:
    reply = client.get(f"/videos/{video_id}.mp4", headers={"Range": header})
    assert reply.status_code == 206
    assert reply.headers["content-range"] == f"bytes {start}-{end}/{len(DEMO_MP4)}"
    assert reply.content == DEMO_MP4[start : end + 1]


def test_open_ended_range_for_seeking(client: httpx.Client, video_id: str) -> None:
    reply = client.get(f"/videos/{video_id}.mp4", headers={"Range": "bytes=50000-"})
    assert reply.status_code == 206
    assert reply.content == DEMO_MP4[50000:]


def test_multiple_ranges(client: httpx.Client, video_id: str) -> None:
    reply = client.get(f"/videos/{video_id}.mp4", headers={"Range": "bytes=0-9,20-29"})
    assert reply.status_code == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges")
    assert DEMO_MP4[0:10] in reply.content and DEMO_MP4[20:30] in reply.content


@pytest.mark.parametrize("spec", ["bytes={size}-", "bytes=0-0,-0", "bytes=-0"])
def test_unsatisfiable_range_is_416(client: httpx.Client, video_id: str, spec: str) -> None:
    reply = client.get(f"/videos/{video_id}.mp4", headers={"Range": spec.format(size=len(DEMO_MP4))})
    assert_error(reply, 416, "range_not_satisfiable", "Range")
    assert reply.headers["content-range"] == f"bytes */{len(DEMO_MP4)}"


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes="])
def test_malformed_range_is_400(client: httpx.Client, video_id: str, header: str) -> None:
    assert_error(client.get(f"/videos/{video_id}.mp4", headers={"Range": header}), 400, "invalid_range")


def test_conditional_requests(client: httpx.Client, video_id: str) -> None:
    first = client.get(f"/videos/{video_id}.mp4")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(f"/videos/{video_id}.mp4", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/videos/{video_id}.mp4", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(f"/videos/{video_id}.mp4", headers={"If-Modified-Since": modified}).status_code == 304
    stale_if_range = {"Range": "bytes=0-1", "If-Range": '"old"'}
    assert client.get(f"/videos/{video_id}.mp4", headers=stale_if_range).status_code == 200
    fresh_if_range = {"Range": "bytes=0-1", "If-Range": etag}
    assert client.get(f"/videos/{video_id}.mp4", headers=fresh_if_range).status_code == 206


def test_before_the_video_exists_the_error_names_the_state(client: httpx.Client) -> None:
    job = create_job(client)
    reply = client.get(f"/videos/{job['id']}.mp4")
    assert_error(reply, 404, "video_not_ready", "job_id")
    assert "pending" in reply.json()["error"]["message"]
    claim(client)
    reply = client.get(f"/videos/{job['id']}.mp4")
    assert_error(reply, 404, "video_not_ready")
    assert "processing" in reply.json()["error"]["message"]
    client.post("/extension/error", json={"job_id": job["id"], "error": "Content Moderated"})
    reply = client.get(f"/videos/{job['id']}.mp4")
    assert_error(reply, 404, "job_failed")
    assert "Content Moderated" in reply.json()["error"]["message"]


def test_unknown_and_malformed_ids(client: httpx.Client) -> None:
    assert_error(client.get("/videos/job_123abc.mp4"), 404, "job_not_found")
    assert_error(client.get("/videos/..%2Fjobs.db.mp4"), 404)


@pytest.mark.one_backend  # removes the file by hand
def test_missing_file_is_reported_not_served(client: httpx.Client, server: ThreadServer, video_id: str) -> None:
    (server.settings.video_storage_path / f"{video_id}.mp4").unlink()
    assert_error(client.get(f"/videos/{video_id}.mp4"), 404, "video_missing")


def test_cors_exposes_range_headers(client: httpx.Client, video_id: str) -> None:
    reply = client.get(f"/videos/{video_id}.mp4", headers={"Origin": "http://app.example", "Range": "bytes=0-1"})
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "content-range" in reply.headers["access-control-expose-headers"].lower()
