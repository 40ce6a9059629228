"""The VideoStorage contract, held by both kinds: a local directory and an S3-compatible bucket (moto)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from grok_imagine_api.files.storage import LocalVideoStorage, Stored, StoredObject, VideoStorage
from s3 import Bucket
from support import DEMO_MP4

T = TypeVar("T")
JOB = "job_0123456789abcdef01234567"
OTHER = "job_fedcba9876543210fedcba98"
JPEG = b"\xff\xd8\xff\xe0 a thumbnail"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VideoStorage]:
    made: VideoStorage
    if request.param == "local":
        made = LocalVideoStorage(tmp_path)
    else:
        bucket: Bucket = request.getfixturevalue("s3_bucket")
        made = bucket.storage(tmp_path, orphan_grace_seconds=0)
    run(made.open())
    try:
        yield made
    finally:
        run(made.close())


async def read(stored: Stored) -> bytes:
    if isinstance(stored, Path):
        return stored.read_bytes()
    return b"".join([chunk async for chunk in await stored.open_range(0, stored.size)])


def promote(storage: VideoStorage, job_id: str, data: bytes = DEMO_MP4, *, source: bool = False) -> None:
    upload = storage.begin_upload()
    upload.write(data)
    run(storage.promote_source(upload, job_id) if source else storage.promote(upload, job_id))


def test_a_promoted_upload_is_the_jobs_video_and_its_temp_file_is_gone(storage: VideoStorage) -> None:
    upload = storage.begin_upload(hashed=True)
    upload.write(DEMO_MP4)
    run(storage.promote(upload, JOB))
    assert not upload.path.exists()
    stored = run(storage.video(JOB))
    assert stored is not None
    assert run(read(stored)) == DEMO_MP4
    assert run(storage.video(OTHER)) is None
    assert run(storage.video("../etc/passwd")) is None


def test_a_source_is_kept_apart_from_the_video(storage: VideoStorage) -> None:
    promote(storage, JOB, b"\x00\x00\x00\x18ftypsource", source=True)
    assert run(storage.video(JOB)) is None
    source = run(storage.source(JOB))
    assert source is not None and run(read(source)) == b"\x00\x00\x00\x18ftypsource"
    run(storage.delete_source(JOB))
    assert run(storage.source(JOB)) is None


def test_a_thumbnail_is_saved_whole_and_found_again(storage: VideoStorage) -> None:
    assert run(storage.thumbnail(JOB)) is None
    saved = run(storage.save_thumbnail(JOB, JPEG))
    assert run(read(saved)) == JPEG
    found = run(storage.thumbnail(JOB))
    assert found is not None and run(read(found)) == JPEG


def test_a_local_copy_of_the_video_lasts_as_long_as_its_context(storage: VideoStorage) -> None:
    async def missing() -> Path | None:
        async with storage.local_copy(JOB) as copy:
            return copy

    async def scenario() -> tuple[Path | None, bool]:
        async with storage.local_copy(JOB) as copy:
            assert copy is not None and copy.read_bytes() == DEMO_MP4
        return copy, copy.exists()

    assert run(missing()) is None
    promote(storage, JOB)
    copy, exists = run(scenario())
    assert copy is not None
    assert exists == isinstance(storage, LocalVideoStorage)  # a download is removed; the video itself stays


def test_delete_removes_every_file_of_the_job_and_says_if_the_video_was_there(storage: VideoStorage) -> None:
    promote(storage, JOB)
    promote(storage, JOB, source=True)
    run(storage.save_thumbnail(JOB, JPEG))
    promote(storage, OTHER)
    assert run(storage.delete(JOB)) is True
    assert [run(storage.video(JOB)), run(storage.source(JOB)), run(storage.thumbnail(JOB))] == [None] * 3
    assert run(storage.delete(JOB)) is False
    assert run(storage.delete("not-a-job")) is False
    assert run(storage.video(OTHER)) is not None


def test_file_ids_names_every_job_with_a_file(storage: VideoStorage) -> None:
    promote(storage, JOB, source=True)
    run(storage.save_thumbnail(OTHER, JPEG))
    assert run(storage.file_ids()) == sorted([JOB, OTHER])


def test_a_video_replaced_after_it_was_looked_up_is_never_served_spliced(storage: VideoStorage) -> None:
    promote(storage, JOB)
    first = run(storage.video(JOB))
    promote(storage, JOB, DEMO_MP4[::-1])
    assert first is not None
    if isinstance(first, StoredObject):
        with pytest.raises(FileNotFoundError):
            run(first.open_range(0, 100))
    latest = run(storage.video(JOB))
    assert latest is not None and run(read(latest)) == DEMO_MP4[::-1]
