"""A 200 MB worker upload goes to the bucket as a multipart upload without the server holding it: its memory
grows by less than 32 MB (issue 13)."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from s3 import Bucket
from support import DEMO_MP4, claim, create_job, process_server, upload

# Its servers are on a bucket whatever the backend of the suite: one run is enough.
pytestmark = pytest.mark.one_backend
MIB = 1024 * 1024
PADDING = 200 * MIB
CHUNK = MIB


def big_video_form(job_id: str, boundary: str) -> tuple[Iterator[bytes], int]:
    """A multipart body whose video is the demo clip and a 200 MB `free` box (still a readable MP4), streamed."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{job_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    video = DEMO_MP4 + struct.pack(">I", PADDING + 8) + b"free"

    def chunks() -> Iterator[bytes]:
        yield head + video
        zeros = bytes(CHUNK)
        for _ in range(PADDING // CHUNK):
            yield zeros
        yield tail

    return chunks(), len(head) + len(video) + PADDING + len(tail)


def test_a_200_mb_upload_to_s3_keeps_the_server_under_32_mb_more(s3_bucket: Bucket, tmp_path: Path) -> None:
    with (
        process_server(tmp_path, env=s3_bucket.env()) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        assert server.proc is not None
        process = psutil.Process(server.proc.pid)
        create_job(client)
        create_job(client)
        warm_up = claim(client)["job_id"]  # the first video probed and stored loads what every later one uses
        assert upload(client, warm_up).status_code == 200
        job_id = claim(client)["job_id"]
        before = process.memory_info().rss
        peak = before
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.01):
                peak = max(peak, process.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        body, length = big_video_form(job_id, "bigvideo")
        try:
            reply = client.post(
                "/extension/complete",
                content=body,
                headers={"Content-Type": "multipart/form-data; boundary=bigvideo", "Content-Length": str(length)},
            )
        finally:
            done.set()
            sampler.join()
        peak = max(peak, process.memory_info().rss)
        assert reply.status_code == 200, reply.text
        stored = s3_bucket.server.client.head_object(Bucket=s3_bucket.name, Key=f"{s3_bucket.prefix}/{job_id}.mp4")
        assert stored["ContentLength"] == len(DEMO_MP4) + 8 + PADDING
        assert stored["ETag"].strip('"').endswith(f"-{-(-stored['ContentLength'] // (5 * MIB))}")  # multipart
    growth = (peak - before) / MIB
    print(f"server RSS grew by {growth:.1f} MB during a 200 MB upload to S3")
    assert growth < 32, f"server RSS grew by {growth:.1f} MB"
