"""Where finished videos live: `{VIDEO_STORAGE_PATH}/{job_id}.mp4`, written durably via temp files."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

TEMP_PREFIX = ".upload-"
TEMP_SUFFIX = ".part"
_JOB_ID = re.compile(r"^job_[0-9a-f]{24}$")
_FILE_NAME = re.compile(r"^(job_[0-9a-f]{24})\.(mp4|jpg)$")
SOURCES = "sources"


class Upload(Protocol):
    size: int
    path: Path

    def digest(self) -> str:
        """SHA-256 of the bytes written so far."""
        ...

    def write(self, chunk: bytes) -> None: ...

    def head(self) -> bytes: ...

    def finish(self) -> None: ...

    def discard(self) -> None: ...


class VideoStorage(Protocol):
    """Files per job: the finished video, its thumbnail, and a source video for edits and extensions.
    Blocking: call from a thread."""

    def begin_upload(self, *, hashed: bool = False) -> Upload:
        """A temp file to stream into; `hashed` keeps a SHA-256 of its bytes (costs CPU on large files)."""
        ...

    def promote(self, upload: Upload, job_id: str) -> None:
        """Make a finished upload the job's video, atomically and durably."""
        ...

    def promote_source(self, upload: Upload, job_id: str) -> None: ...

    def path_for(self, job_id: str) -> Path | None: ...

    def source_path(self, job_id: str) -> Path | None: ...

    def thumbnail_target(self, job_id: str) -> Path: ...

    def delete(self, job_id: str) -> bool:
        """Remove every file of the job; True if the video was there."""
        ...

    def delete_source(self, job_id: str) -> None: ...

    def file_ids(self) -> list[str]:
        """Ids of the jobs that have any file here."""
        ...

    def sweep_temp(self) -> int: ...


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalUpload:
    HEAD_BYTES = 16

    def __init__(self, directory: Path, *, hashed: bool = False) -> None:
        self.path = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in finish/discard
        self._head = b""
        self._hash = hashlib.sha256() if hashed else None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise RuntimeError("upload already closed")
        if len(self._head) < self.HEAD_BYTES:
            self._head += chunk[: self.HEAD_BYTES - len(self._head)]
        self._file.write(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

    def digest(self) -> str:
        if self._hash is None:
            raise RuntimeError("this upload was not hashed")
        return self._hash.hexdigest()

    def head(self) -> bytes:
        return self._head

    def finish(self) -> None:
        """Flush and fsync; blocking, so call it from a thread."""
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


class LocalVideoStorage:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sources = directory / SOURCES

    def _checked(self, job_id: str) -> str:
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return job_id

    def _video_path(self, job_id: str) -> Path:
        return self.directory / f"{self._checked(job_id)}.mp4"

    def begin_upload(self, *, hashed: bool = False) -> LocalUpload:
        return LocalUpload(self.directory, hashed=hashed)

    def _move(self, upload: Upload, target: Path) -> None:
        if not isinstance(upload, LocalUpload):
            raise TypeError("upload does not belong to this storage")
        upload.finish()
        target.parent.mkdir(exist_ok=True)
        os.replace(upload.path, target)
        fsync_dir(target.parent)

    def promote(self, upload: Upload, job_id: str) -> None:
        self._move(upload, self._video_path(job_id))

    def promote_source(self, upload: Upload, job_id: str) -> None:
        self._move(upload, self.sources / f"{self._checked(job_id)}.mp4")

    def _existing(self, path_of: Callable[[], Path]) -> Path | None:
        try:
            path = path_of()
        except ValueError:
            return None
        return path if path.is_file() else None

    def path_for(self, job_id: str) -> Path | None:
        return self._existing(lambda: self._video_path(job_id))

    def source_path(self, job_id: str) -> Path | None:
        return self._existing(lambda: self.sources / f"{self._checked(job_id)}.mp4")

    def thumbnail_target(self, job_id: str) -> Path:
        return self.directory / f"{self._checked(job_id)}.jpg"

    def delete(self, job_id: str) -> bool:
        try:
            self._checked(job_id)
        except ValueError:
            return False
        existed = False
        for path in (
            self.directory / f"{job_id}.mp4",
            self.directory / f"{job_id}.jpg",
            self.sources / f"{job_id}.mp4",
        ):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            existed = existed or (path.suffix == ".mp4" and path.parent == self.directory)
        return existed

    def delete_source(self, job_id: str) -> None:
        path = self.source_path(job_id)
        if path is not None:
            path.unlink(missing_ok=True)

    def file_ids(self) -> list[str]:
        ids = set()
        for folder in (self.directory, self.sources):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                match = _FILE_NAME.match(entry.name)
                if match and entry.is_file():
                    ids.add(match.group(1))
        return sorted(ids)

    def sweep_temp(self) -> int:
        removed = 0
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed
