"""What only the object store does: temp directories per server, a grace period before an object counts as an
orphan, a bucket that cannot be reached stopping the start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from grok_imagine_api.domain.errors import Unavailable
from grok_imagine_api.files.s3 import TEMP_DIR_PREFIX, S3VideoStorage
from grok_imagine_api.files.storage import LOCK_FILE
from s3 import Bucket
from support import DEMO_MP4, free_port

JOB = "job_0123456789abcdef01234567"


def test_the_sweep_removes_the_temp_files_of_a_gone_server_and_keeps_a_live_ones(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    async def scenario() -> None:
        live, starting = s3_bucket.storage(tmp_path), s3_bucket.storage(tmp_path)
        await live.open()
        in_flight = live.begin_upload()
        in_flight.write(b"an upload in flight")
        gone = tmp_path / f"{TEMP_DIR_PREFIX}0123456789ab"  # a server killed mid-upload: nobody holds its lock
        gone.mkdir()
        (gone / LOCK_FILE).write_text("pid=1\n")
        (gone / ".upload-0123456789abcdef.part").write_bytes(b"half")
        await starting.open()
        assert await starting.sweep_temp() == 1
        assert not gone.exists()
        assert in_flight.path.exists()
        in_flight.discard()
        await live.close()
        await starting.close()

    asyncio.run(scenario())
    assert list(tmp_path.iterdir()) == []


def test_a_fresh_object_is_not_an_orphan_yet(s3_bucket: Bucket, tmp_path: Path) -> None:
    """Another server may have stored a source a moment before it writes the job that keeps it."""

    async def scenario() -> list[str]:
        storage = s3_bucket.storage(tmp_path)
        await storage.open()
        upload = storage.begin_upload()
        upload.write(DEMO_MP4)
        await storage.promote_source(upload, JOB)
        ids = await storage.file_ids()
        await storage.close()
        return ids

    assert asyncio.run(scenario()) == []
    assert s3_bucket.objects() == [f"sources/{JOB}.mp4"]


def test_a_bucket_that_does_not_exist_stops_the_start(s3_bucket: Bucket, tmp_path: Path) -> None:
    missing = Bucket(s3_bucket.server, "no-such-bucket-here")
    with pytest.raises(Exception, match="NoSuchBucket"):
        asyncio.run(missing.storage(tmp_path).open())
    assert list(tmp_path.iterdir()) == []  # and its temp directory is not left behind


def test_a_store_that_cannot_be_reached_is_a_503_to_retry(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    down = S3VideoStorage.connect("s3://bucket", tmp_path, endpoint=endpoint, access_key_id="k", secret_access_key="s")

    async def scenario() -> None:
        with pytest.raises(Unavailable, match="looking up a file") as error:
            await down.video(JOB)
        assert error.value.code == "storage_unavailable"
        down.temp.mkdir()  # as open() would, had the store answered
        upload = down.begin_upload()
        upload.write(DEMO_MP4)
        with pytest.raises(Unavailable, match="storing a video"):
            await down.promote(upload, JOB)
        assert not upload.path.exists()  # nothing kept

    asyncio.run(scenario())
