"""Where finished videos live: `{VIDEO_STORAGE_PATH}/{job_id}.mp4`, written durably via temp files.

A write that fails because the disk is full (ENOSPC, EDQUOT) removes what it had written and raises
InsufficientStorage (507): the request changed nothing and can be retried."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from ..domain.errors import InsufficientStorage
from .lock import FileLock

log = logging.getLogger("grok_imagine_api")

TEMP_PREFIX = ".upload-"
THUMBNAIL_PREFIX = ".thumbnail-"
TEMP_SUFFIX = ".part"
# Every temp file the server writes: uploads, thumbnails, and the thumbnails of older versions
# (`.{job_id}.jpg.part`). The start-up sweep removes them all: a crash can leave any of them behind.
_TEMP_NAME = re.compile(r"^\.(upload-[0-9a-f]+|thumbnail-[0-9a-f]+|job_[0-9a-f]{24}\.jpg)\.part$")
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_JOB_ID = re.compile(r"^job_[0-9a-f]{24}$")
_FILE_NAME = re.compile(r"^(job_[0-9a-f]{24})\.(mp4|jpg)$")
SOURCES = "sources"
# Held while a server has the directory open: a second server on it refuses to start (see files/lock.py).
LOCK_FILE = ".grok-imagine-api.lock"


class TempFile(Protocol):
    """What the storage needs of a file it writes."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


# Creates a new file to write into: the part tests swap for one whose disk fills up.
Opener = Callable[[Path], TempFile]


def create_new(path: Path) -> TempFile:
    return open(path, "xb")


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

    def open(self) -> None:
        """Claim the files for this process; raises DataInUse when another server has them."""
        ...

    def close(self) -> None: ...

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

    def save_thumbnail(self, job_id: str, jpeg: bytes) -> Path:
        """Write the job's thumbnail through a temp file of its own: concurrent writers never collide."""
        ...

    def sweep_temp(self) -> int:
        """Remove every temp file an interrupted write left behind."""
        ...

    def disk_full_count(self) -> int:
        """Writes refused since start because the disk was full."""
        ...

    def free_bytes(self) -> int | None:
        """Free space for videos, or None when it cannot be told."""
        ...


class DiskFull:
    """Turns a full disk into InsufficientStorage, logged and counted once per refused write."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def guard(self, writing: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno not in NO_SPACE:
                raise
            with self._lock:
                self.count += 1
            log.error("video storage %s is full: %s failed (%s); answering 507", self.directory, writing, exc)
            raise InsufficientStorage(
                f"The server's video storage is full: {writing} failed and nothing was kept; retry later"
            ) from exc


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalUpload:
    HEAD_BYTES = 16

    def __init__(
        self, directory: Path, *, hashed: bool = False, opener: Opener = create_new, full: DiskFull | None = None
    ) -> None:
        self.path = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._full = full or DiskFull(directory)
        self._file: TempFile | None = None
        with self._cleaned("starting an upload"):
            self._file = opener(self.path)
        self._head = b""
        self._hash = hashlib.sha256() if hashed else None
        self.size = 0

    @contextlib.contextmanager
    def _cleaned(self, writing: str) -> Iterator[None]:
        """On a full disk the partial temp file goes before the error does."""
        try:
            with self._full.guard(writing):
                yield
        except InsufficientStorage:
            self.discard()
            raise

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise RuntimeError("upload already closed")
        if len(self._head) < self.HEAD_BYTES:
            self._head += chunk[: self.HEAD_BYTES - len(self._head)]
        with self._cleaned("writing an upload"):
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
        with self._cleaned("saving an upload"):  # a full disk may show only at flush or fsync
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        self._file = None

    def discard(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
                file.close()
        self.path.unlink(missing_ok=True)


class LocalVideoStorage:
    def __init__(self, directory: Path, *, opener: Opener = create_new) -> None:
        self.directory = directory
        self.sources = directory / SOURCES
        self._opener = opener
        self._full = DiskFull(directory)
        self._data_lock = FileLock(directory / LOCK_FILE, directory)

    def open(self) -> None:
        self._data_lock.acquire()

    def close(self) -> None:
        self._data_lock.release()

    def _checked(self, job_id: str) -> str:
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return job_id

    def _video_path(self, job_id: str) -> Path:
        return self.directory / f"{self._checked(job_id)}.mp4"

    def begin_upload(self, *, hashed: bool = False) -> LocalUpload:
        return LocalUpload(self.directory, hashed=hashed, opener=self._opener, full=self._full)

    def _move(self, upload: Upload, target: Path) -> None:
        if not isinstance(upload, LocalUpload):
            raise TypeError("upload does not belong to this storage")
        upload.finish()
        with self._full.guard("saving a video"):
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

    def save_thumbnail(self, job_id: str, jpeg: bytes) -> Path:
        target = self.thumbnail_target(job_id)
        temp = self.directory / f"{THUMBNAIL_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            with self._full.guard("saving a thumbnail"):
                file = self._opener(temp)
                try:
                    file.write(jpeg)
                    file.flush()
                    os.fsync(file.fileno())  # never an empty thumbnail after a power cut
                finally:
                    with contextlib.suppress(OSError):
                        file.close()
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return target

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
        for folder in (self.directory, self.sources):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if _TEMP_NAME.match(entry.name) and entry.is_file():
                    Path(entry.path).unlink(missing_ok=True)
                    removed += 1
        return removed

    def disk_full_count(self) -> int:
        return self._full.count

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.directory).free
        except OSError:
            return None
