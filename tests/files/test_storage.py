from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

from grok_imagine_api.domain.errors import InsufficientStorage
from grok_imagine_api.files.storage import LocalVideoStorage, TempFile
from support import DEMO_MP4, ThreadServer, settings_for

JOB = "job_0123456789abcdef01234567"


def no_space(*_: object) -> TempFile:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FailsToSync:
    """A file whose data is accepted, as a full disk can do until the flush or fsync."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "xb")  # noqa: SIM115 - closed by close()

    def write(self, data: bytes, /) -> int:
        return len(data)

    def flush(self) -> None:
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()


def test_a_full_disk_when_a_file_is_created_is_507_and_counted(tmp_path: Path) -> None:
    storage = LocalVideoStorage(tmp_path, opener=no_space)
    with pytest.raises(InsufficientStorage):
        storage.begin_upload()
    with pytest.raises(InsufficientStorage):
        asyncio.run(storage.save_thumbnail(JOB, b"\xff\xd8\xff"))
    assert storage.disk_full_count() == 2
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_found_at_the_fsync_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalVideoStorage(tmp_path, opener=FailsToSync)
    upload = storage.begin_upload()
    upload.write(DEMO_MP4)
    with pytest.raises(InsufficientStorage):
        asyncio.run(storage.promote(upload, JOB))
    with pytest.raises(InsufficientStorage):
        asyncio.run(storage.save_thumbnail(JOB, b"\xff\xd8\xff"))
    assert list(tmp_path.iterdir()) == []
    assert asyncio.run(storage.video(JOB)) is None
    assert storage.disk_full_count() == 2


def test_other_write_errors_are_not_a_full_disk(tmp_path: Path) -> None:
    def denied(_: Path) -> TempFile:
        raise PermissionError(errno.EACCES, "denied")

    with pytest.raises(PermissionError):
        LocalVideoStorage(tmp_path, opener=denied).begin_upload()


def test_start_up_removes_every_kind_of_temp_file_and_nothing_else(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    videos = settings.video_storage_path
    (videos / "sources").mkdir(parents=True)
    temps = [
        videos / ".upload-0123456789abcdef.part",  # an upload cut off by a crash
        videos / ".thumbnail-0123456789abcdef.part",  # a thumbnail being written
        videos / f".{JOB}.jpg.part",  # a thumbnail as older versions named it
        videos / "sources" / ".upload-fedcba9876543210.part",
    ]
    kept = [videos / ".keep", videos / "notes.part", videos / "sources" / ".keep"]
    for path in temps + kept:
        path.write_bytes(b"x")
    with ThreadServer(settings):
        assert [path for path in temps if path.exists()] == []
        assert all(path.exists() for path in kept)
