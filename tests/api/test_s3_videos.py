"""Videos in an S3-compatible bucket (moto), served by a real server process: streamed through it with Range and
validators, or redirected to a presigned URL; thumbnails, expiry and the start-up sweep work on objects too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.files.storage import LOCK_FILE
from s3 import Bucket, MotoS3
from support import (
    DEMO_MP4,
    EVERYTHING,
    HeldUpload,
    ProcessServer,
    ThreadServer,
    assert_error,
    claim,
    create_job,
    process_server,
    settings_for,
    upload,
    wait_until,
)

# Its servers are on a bucket whatever the backend of the suite: one run is enough.
pytestmark = pytest.mark.one_backend
SIZE = len(DEMO_MP4)


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory, s3_server: MotoS3) -> Iterator[tuple[ProcessServer, Bucket]]:
    bucket = s3_server.fresh_bucket()
    with process_server(tmp_path_factory.mktemp("stream"), env=bucket.env(s3_delivery="stream")) as server:
        yield server, bucket


@pytest.fixture(scope="module")
def redirecting(tmp_path_factory: pytest.TempPathFactory, s3_server: MotoS3) -> Iterator[tuple[ProcessServer, Bucket]]:
    bucket = s3_server.fresh_bucket()
    with process_server(tmp_path_factory.mktemp("redirect"), env=bucket.env(s3_delivery="redirect")) as server:
        yield server, bucket


@pytest.fixture
def http(streaming: tuple[ProcessServer, Bucket]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=streaming[0].url, timeout=30) as client:
        yield client


def finished(client: httpx.Client) -> str:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"]).status_code == 200
    return str(work["job_id"])


def test_a_workers_upload_becomes_the_object_and_leaves_no_temp_file(
    streaming: tuple[ProcessServer, Bucket], http: httpx.Client
) -> None:
    server, bucket = streaming
    job_id = finished(http)
    assert http.get(f"/v1/videos/generations/{job_id}").json()["status"] == "completed"
    assert f"{job_id}.mp4" in bucket.objects()
    assert bucket.read(f"{job_id}.mp4") == DEMO_MP4
    temp = [path for path in (server.tmp / "videos").rglob("*") if path.is_file() and path.name != LOCK_FILE]
    assert temp == []


def test_an_upload_in_flight_is_not_in_the_bucket_and_the_job_completes_only_once_it_is(
    streaming: tuple[ProcessServer, Bucket], http: httpx.Client
) -> None:
    server, bucket = streaming
    create_job(http)
    job_id = claim(http)["job_id"]
    held = HeldUpload(server.port, job_id)
    try:
        wait_until(lambda: any((server.tmp / "videos").rglob(".upload-*.part")))  # the server is reading it
        assert f"{job_id}.mp4" not in bucket.objects()
        assert http.get(f"/v1/videos/generations/{job_id}").json()["status"] == "processing"
        assert held.finish().startswith(b"HTTP/1.1 200")
    finally:
        held.close()
    assert bucket.read(f"{job_id}.mp4") == DEMO_MP4
    assert http.get(f"/v1/videos/generations/{job_id}").json()["status"] == "completed"


def test_the_whole_video_streams_with_validators(http: httpx.Client) -> None:
    job_id = finished(http)
    reply = http.get(f"/videos/{job_id}.mp4")
    assert reply.status_code == 200
    assert reply.content == DEMO_MP4
    assert reply.headers["content-type"] == "video/mp4"
    assert reply.headers["accept-ranges"] == "bytes"
    assert int(reply.headers["content-length"]) == SIZE
    etag, modified = reply.headers["etag"], reply.headers["last-modified"]
    head = http.head(f"/videos/{job_id}.mp4")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(SIZE))
    assert http.get(f"/videos/{job_id}.mp4", headers={"If-None-Match": etag}).status_code == 304
    assert http.get(f"/videos/{job_id}.mp4", headers={"If-Modified-Since": modified}).status_code == 304


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-1", 0, 1),
        ("bytes=100-199", 100, 199),
        ("bytes=-10", SIZE - 10, SIZE - 1),
        ("bytes=50000-", 50000, SIZE - 1),
    ],
)
def test_a_range_is_206_with_its_part(http: httpx.Client, header: str, start: int, end: int) -> None:
    job_id = finished(http)
    reply = http.get(f"/videos/{job_id}.mp4", headers={"Range": header})
    assert reply.status_code == 206
    assert reply.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert reply.content == DEMO_MP4[start : end + 1]


def test_several_ranges_are_multipart_as_for_a_local_file(http: httpx.Client) -> None:
    job_id = finished(http)
    reply = http.get(f"/videos/{job_id}.mp4", headers={"Range": "bytes=0-9,20-29"})
    assert reply.status_code == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(reply.headers["content-length"]) == len(reply.content)
    assert f"Content-Range: bytes 20-29/{SIZE}".encode() in reply.content
    assert DEMO_MP4[0:10] in reply.content and DEMO_MP4[20:30] in reply.content


def test_a_bad_range_is_416_or_400_and_a_stale_if_range_gets_the_whole_video(http: httpx.Client) -> None:
    job_id = finished(http)
    reply = http.get(f"/videos/{job_id}.mp4", headers={"Range": f"bytes={SIZE}-"})
    assert_error(reply, 416, "range_not_satisfiable", "Range")
    assert reply.headers["content-range"] == f"bytes */{SIZE}"
    assert_error(http.get(f"/videos/{job_id}.mp4", headers={"Range": "bytes=9-1"}), 400, "invalid_range")
    stale = http.get(f"/videos/{job_id}.mp4", headers={"Range": "bytes=0-1", "If-Range": '"not-the-etag"'})
    assert (stale.status_code, stale.content) == (200, DEMO_MP4)
    etag = stale.headers["etag"]
    fresh = http.get(f"/videos/{job_id}.mp4", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, DEMO_MP4[:2])


def test_the_openai_content_route_serves_the_video_and_a_thumbnail_kept_in_the_bucket(
    streaming: tuple[ProcessServer, Bucket], http: httpx.Client
) -> None:
    bucket = streaming[1]
    job_id = finished(http)
    video = http.get(f"/v1/videos/{job_id}/content", headers={"Range": "bytes=0-99"})
    assert (video.status_code, video.content) == (206, DEMO_MP4[:100])
    thumbnail = http.get(f"/v1/videos/{job_id}/content", params={"variant": "thumbnail"})
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content.startswith(b"\xff\xd8")
    assert bucket.read(f"{job_id}.jpg") == thumbnail.content
    again = http.get(f"/v1/videos/{job_id}/content", params={"variant": "thumbnail"})
    assert again.headers["etag"] == thumbnail.headers["etag"]  # made once, then served from the bucket


def test_redirect_delivery_sends_the_client_to_a_presigned_url(redirecting: tuple[ProcessServer, Bucket]) -> None:
    server, _ = redirecting
    with httpx.Client(base_url=server.url, timeout=30) as client:
        job_id = finished(client)
        reply = client.get(f"/videos/{job_id}.mp4")
        assert reply.status_code == 307
        assert reply.headers["cache-control"] == "no-store"
        location = reply.headers["location"]
        assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
        part = httpx.get(location, headers={"Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, DEMO_MP4[10:20])
        assert httpx.get(location).headers["content-type"] == "video/mp4"
        thumbnail = client.get(f"/v1/videos/{job_id}/content", params={"variant": "thumbnail"}, follow_redirects=True)
        assert thumbnail.status_code == 200
        assert thumbnail.content.startswith(b"\xff\xd8")
        assert_error(client.get("/videos/job_0123456789abcdef01234567.mp4"), 404, "job_not_found")


def test_expired_videos_are_deleted_from_the_bucket(s3_bucket: Bucket, tmp_path: Path) -> None:
    env = s3_bucket.env(max_video_age_days="0.00003", cleanup_interval_seconds="0.1")  # about 2.6 s
    with process_server(tmp_path, env=env) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        job_id = finished(client)
        assert f"{job_id}.mp4" in s3_bucket.objects()
        wait_until(lambda: s3_bucket.objects() == [], timeout=30, interval=0.1)
        assert_error(client.get(f"/videos/{job_id}.mp4"), 410, "video_expired")


def test_the_start_up_sweep_removes_objects_no_job_keeps(s3_bucket: Bucket, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **s3_bucket.settings())
    first = ThreadServer(settings, storage=s3_bucket.storage(tmp_path / "videos", orphan_grace_seconds=0))
    with first, first.client() as client:
        kept = finished(client)
    orphan = "job_0123456789abcdef01234567"
    for key in (f"{orphan}.mp4", f"{orphan}.jpg", f"sources/{orphan}.mp4", "notes.txt"):
        s3_bucket.put(key, b"left behind")
    with ThreadServer(settings, storage=s3_bucket.storage(tmp_path / "videos", orphan_grace_seconds=0)):
        assert s3_bucket.objects() == sorted([f"{kept}.mp4", "notes.txt"])


def test_a_workers_source_video_is_kept_in_the_bucket_and_always_streamed(
    redirecting: tuple[ProcessServer, Bucket],
) -> None:
    """Under S3_DELIVERY=redirect too: the extension may fetch from the server's own origin only."""
    server, bucket = redirecting
    with httpx.Client(base_url=server.url, timeout=30) as client:
        finished_id = finished(client)
        edit = client.post(
            "/v1/videos/edits",
            data={"prompt": "make it night"},
            files={"video": ("in.mp4", DEMO_MP4, "video/mp4")},
        )
        assert edit.status_code == 200, edit.text
        edit_id = edit.json()["id"]
        assert bucket.read(f"sources/{edit_id}.mp4") == DEMO_MP4
        remix = client.post(f"/v1/videos/{finished_id}/remix", json={"prompt": "now in space"})
        assert remix.status_code == 200, remix.text
        for job_id in (edit_id, remix.json()["id"]):
            source = client.get(f"/extension/jobs/{job_id}/source", headers={"Range": "bytes=0-9"})
            assert (source.status_code, source.content) == (206, DEMO_MP4[:10])
        work = claim(client, **EVERYTHING)
        assert work["job_id"] == edit_id
        assert upload(client, edit_id).status_code == 200
        wait_until(lambda: f"sources/{edit_id}.mp4" not in bucket.objects())  # a finished job needs no source
