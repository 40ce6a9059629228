"""The video storage contract, and its local kind: `{VIDEO_STORAGE_PATH}/{job_id}.mp4`, written durably via temp
files. Object stores (VIDEO_STORAGE_URL=s3://…) are in files/s3.py.

A write that fails because the disk is full (ENOSPC, EDQUOT) removes what it had written and raises
InsufficientStorage (507): the request changed nothing and can be retried."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..domain.errors import InsufficientStorage
from .lock import FileLock

log = logging.getLogger("grok_imagine_api")

TEMP_PREFIX = ".upload-"
THUMBNAIL_PREFIX = ".thumbnail-"
IMAGE_PREFIX = ".image-"
TEMP_SUFFIX = ".part"
# Every temp file the server writes: uploads, thumbnails, and the thumbnails of older versions
# (`.{job_id}.jpg.part`). The start-up sweep removes them all: a crash can leave any of them behind.
_TEMP_NAME = re.compile(r"^\.(upload-[0-9a-f]+|thumbnail-[0-9a-f]+|image-[0-9a-f]+|job_[0-9a-f]{24}\.jpg)\.part$")
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
JOB_ID = re.compile(r"^job_[0-9a-f]{24}$")
# A job's files: its video, HD video (`{job_id}.hd.mp4`) and thumbnail, or its images (`{job_id}-{index}.{ext}`).
FILE_NAME = re.compile(r"^(job_[0-9a-f]{24})(\.(mp4|jpg)|\.hd\.mp4|-[0-9]{1,2}\.(png|jpg|webp))$")
HD_SUFFIX = ".hd.mp4"


def hd_name(job_id: str) -> str:
    return f"{checked(job_id)}{HD_SUFFIX}"


IMAGE_EXTENSIONS = ("png", "jpg", "webp")
MAX_IMAGES = 10


def image_name(job_id: str, index: int, ext: str) -> str:
    if ext not in IMAGE_EXTENSIONS or not 0 <= index < MAX_IMAGES:
        raise ValueError(f"not an image of a job: {index}.{ext}")
    return f"{checked(job_id)}-{index}.{ext}"


def image_names(job_id: str) -> list[str]:
    """Every name an image of the job may have."""
    return [f"{job_id}-{index}.{ext}" for index in range(MAX_IMAGES) for ext in IMAGE_EXTENSIONS]


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


@dataclass(frozen=True)
class StoredObject:
    """A file in an object store, with what serving it needs: the API streams it or redirects to it without
    knowing the store."""

    size: int
    etag: str
    last_modified: datetime
    # Bytes [start, end): raises FileNotFoundError when the object went (or changed) since it was looked up.
    open_range: Callable[[int, int], Awaitable[AsyncIterator[bytes]]]
    # A short-lived presigned GET URL.
    url: Callable[[], Awaitable[str]]


# A local file (served with Starlette's FileResponse) or an object in a store.
Stored = Path | StoredObject


class VideoStorage(Protocol):
    """Files per job: the finished video, its thumbnail, and a source video for edits and extensions.
    Uploads are local temp files first (the video is probed before it is accepted), then promoted."""

    async def open(self) -> None:
        """Claim the files for this process; raises DataInUse when another server has them."""
        ...

    async def close(self) -> None: ...

    def begin_upload(self, *, hashed: bool = False) -> Upload:
        """A local temp file to stream into; `hashed` keeps a SHA-256 of its bytes (costs CPU on large files).
        Blocking, but quick: the multipart parser calls it as the file part begins."""
        ...

    async def promote(self, upload: Upload, job_id: str) -> None:
        """Make a finished upload the job's video, atomically and durably: readers see all of it or nothing."""
        ...

    async def promote_source(self, upload: Upload, job_id: str) -> None: ...

    async def promote_hd(self, upload: Upload, job_id: str) -> None:
        """Make a finished upload the job's HD (upscaled) video, as `promote` does the video."""
        ...

    async def video(self, job_id: str) -> Stored | None: ...

    async def hd_video(self, job_id: str) -> Stored | None: ...

    async def delete_hd(self, job_id: str) -> None:
        """Remove the job's HD video only (a completion that failed after promoting it)."""
        ...

    async def source(self, job_id: str) -> Stored | None: ...

    async def thumbnail(self, job_id: str) -> Stored | None: ...

    def local_copy(self, job_id: str) -> contextlib.AbstractAsyncContextManager[Path | None]:
        """The job's video as a local file while the context lasts (for decoding), or None without one."""
        ...

    async def save_image(self, job_id: str, index: int, ext: str, data: bytes) -> None:
        """Keep one of an image job's images (whole or not at all)."""
        ...

    async def image(self, job_id: str, index: int, ext: str) -> Stored | None: ...

    async def save_thumbnail(self, job_id: str, jpeg: bytes) -> Stored:
        """Write the job's thumbnail whole: concurrent writers never collide, readers never see half of one."""
        ...

    async def delete(self, job_id: str) -> bool:
        """Remove every file of the job; True if the video was there."""
        ...

    async def delete_source(self, job_id: str) -> None: ...

    async def file_ids(self) -> list[str]:
        """Ids of the jobs that have any file here (that may be an orphan: see each storage)."""
        ...

    async def sweep_temp(self) -> int:
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
    """Files in one directory, taken by one server at a time (files/lock.py). Blocking file work runs in a
    thread."""

    def __init__(self, directory: Path, *, opener: Opener = create_new) -> None:
        self.directory = directory
        self.sources = directory / SOURCES
        self._opener = opener
        self._full = DiskFull(directory)
        self._data_lock = FileLock(directory / LOCK_FILE, directory)

    async def open(self) -> None:
        await asyncio.to_thread(self._data_lock.acquire)

    async def close(self) -> None:
        await asyncio.to_thread(self._data_lock.release)

    def _video_path(self, job_id: str) -> Path:
        return self.directory / f"{checked(job_id)}.mp4"

    def _source_path(self, job_id: str) -> Path:
        return self.sources / f"{checked(job_id)}.mp4"

    def _thumbnail_path(self, job_id: str) -> Path:
        return self.directory / f"{checked(job_id)}.jpg"

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

    async def promote(self, upload: Upload, job_id: str) -> None:
        await asyncio.to_thread(self._move, upload, self._video_path(job_id))

    async def promote_source(self, upload: Upload, job_id: str) -> None:
        await asyncio.to_thread(self._move, upload, self._source_path(job_id))

    async def promote_hd(self, upload: Upload, job_id: str) -> None:
        await asyncio.to_thread(self._move, upload, self.directory / hd_name(job_id))

    async def hd_video(self, job_id: str) -> Path | None:
        return self._existing(lambda job: self.directory / hd_name(job), job_id)

    async def delete_hd(self, job_id: str) -> None:
        with contextlib.suppress(ValueError):
            await asyncio.to_thread((self.directory / hd_name(job_id)).unlink, missing_ok=True)

    def _existing(self, path_of: Callable[[str], Path], job_id: str) -> Path | None:
        try:
            path = path_of(job_id)
        except ValueError:
            return None
        return path if path.is_file() else None

    async def video(self, job_id: str) -> Path | None:
        return self._existing(self._video_path, job_id)

    async def source(self, job_id: str) -> Path | None:
        return self._existing(self._source_path, job_id)

    async def thumbnail(self, job_id: str) -> Path | None:
        return self._existing(self._thumbnail_path, job_id)

    @contextlib.asynccontextmanager
    async def local_copy(self, job_id: str) -> AsyncIterator[Path | None]:
        yield await self.video(job_id)

    def _write_thumbnail(self, job_id: str, jpeg: bytes) -> Path:
        return self._write_whole(self._thumbnail_path(job_id), jpeg, THUMBNAIL_PREFIX, "saving a thumbnail")

    def _write_whole(self, target: Path, data: bytes, prefix: str, writing: str) -> Path:
        """Write a small file whole: a temp file, fsynced, then renamed over `target`."""
        temp = self.directory / f"{prefix}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            with self._full.guard(writing):
                file = self._opener(temp)
                try:
                    file.write(data)
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

    async def save_thumbnail(self, job_id: str, jpeg: bytes) -> Path:
        return await asyncio.to_thread(self._write_thumbnail, job_id, jpeg)

    async def save_image(self, job_id: str, index: int, ext: str, data: bytes) -> None:
        target = self.directory / image_name(job_id, index, ext)
        await asyncio.to_thread(self._write_whole, target, data, IMAGE_PREFIX, "saving an image")

    async def image(self, job_id: str, index: int, ext: str) -> Path | None:
        return self._existing(lambda job: self.directory / image_name(job, index, ext), job_id)

    def _delete(self, job_id: str) -> bool:
        try:
            checked(job_id)
        except ValueError:
            return False
        existed = False
        for path in (
            self.directory / f"{job_id}.mp4",
            self.directory / f"{job_id}.jpg",
            self.directory / f"{job_id}{HD_SUFFIX}",
            self.sources / f"{job_id}.mp4",
            *(self.directory / name for name in image_names(job_id)),
        ):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            existed = existed or (path.parent == self.directory and path.name != f"{job_id}.jpg")
        return existed

    async def delete(self, job_id: str) -> bool:
        return await asyncio.to_thread(self._delete, job_id)

    async def delete_source(self, job_id: str) -> None:
        path = await self.source(job_id)
        if path is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    def _file_ids(self) -> list[str]:
        ids = set()
        for folder in (self.directory, self.sources):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                match = FILE_NAME.match(entry.name)
                if match and entry.is_file():
                    ids.add(match.group(1))
        return sorted(ids)

    async def file_ids(self) -> list[str]:
        """No other server uses this directory (the lock), so every file without a job row is an orphan."""
        return await asyncio.to_thread(self._file_ids)

    async def sweep_temp(self) -> int:
        return await asyncio.to_thread(sweep_temp_files, (self.directory, self.sources))

    def disk_full_count(self) -> int:
        return self._full.count

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.directory).free
        except OSError:
            return None


def checked(job_id: str) -> str:
    if not JOB_ID.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id


def sweep_temp_files(folders: tuple[Path, ...]) -> int:
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file():
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed
