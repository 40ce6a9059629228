"""Two servers in this process on one PostgreSQL database and one bucket: what one replica does while another
handles the same job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grok_imagine_api.files.storage import Upload, VideoStorage
from s3 import Bucket
from support import DEMO_MP4, ThreadServer, claim, create_job, settings_for, upload


class BeforePromote:
    """The bucket, with `before` run as an upload is about to be put in place."""

    def __init__(self, inner: VideoStorage, before: Callable[[], None]) -> None:
        self.inner = inner
        self.before = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def promote(self, upload: Upload, job_id: str) -> None:
        await asyncio.to_thread(self.before)
        await self.inner.promote(upload, job_id)


def test_an_upload_sent_again_to_another_replica_keeps_the_video_of_the_one_that_completed(
    tmp_path: Path, database_url: str, s3_bucket: Bucket
) -> None:
    """A worker's upload to b is slow; it sends the video again, through the proxy, to a, which completes the job
    first. b's upload then finds the job completed: it must not delete the video a put in place."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a_settings = settings_for(tmp_path / "a", database_url=database_url, **s3_bucket.settings())
    b_settings = settings_for(tmp_path / "b", database_url=database_url, **s3_bucket.settings())
    work: dict[str, Any] = {}

    def a_completes_first() -> None:
        with a.client() as on_a:
            assert upload(on_a, work["job_id"], token=work["claim_token"]).status_code == 200

    b_storage = BeforePromote(s3_bucket.storage(tmp_path / "b" / "videos"), a_completes_first)
    with (
        ThreadServer(a_settings) as a,
        ThreadServer(b_settings, storage=b_storage) as b,  # type: ignore[arg-type]
        a.client() as on_a,
        b.client() as on_b,
    ):
        job = create_job(on_a)
        work.update(claim(on_b))
        late = upload(on_b, job["id"], token=work["claim_token"])
        assert late.status_code == 409, late.text
        assert on_a.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "completed"
        for server in (on_a, on_b):
            assert server.get(f"/videos/{job['id']}.mp4", follow_redirects=True).content == DEMO_MP4
