"""Where finished videos live: `{VIDEO_STORAGE_PATH}/{job_id}.mp4`, written durably via temp files."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Protocol

TEMP_PREFIX = ".upload-"
TEMP_SUFFIX = ".part"
_VIDEO_NAME = re.compile(r"^(job_[0-9a-f]{24})\.mp4$")


class Upload(Protocol):
    size: int

    def write(self, chunk: bytes) -> None: ...

    def head(self) -> bytes: ...

    def finish(self) -> None: ...

    def discard(self) -> None: ...


class VideoStorage(Protocol):
    def begin_upload(self) -> Upload: ...

    def promote(self, upload: Upload, job_id: str) -> None:
        """Make a finished upload the job's video, atomically and durably (blocking: call in a thread)."""
        ...

    def path_for(self, job_id: str) -> Path | None: ...

    def delete(self, job_id: str) -> bool: ...

    def video_ids(self) -> list[str]: ...

    def sweep_temp(self) -> int: ...


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalUpload:
    HEAD_BYTES = 16

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in finish/discard
        self._head = b""
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise RuntimeError("upload already closed")
        if len(self._head) < self.HEAD_BYTES:
            self._head += chunk[: self.HEAD_BYTES - len(self._head)]
        self._file.write(chunk)
        self.size += len(chunk)

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

    def _video_path(self, job_id: str) -> Path:
        if not _VIDEO_NAME.match(f"{job_id}.mp4"):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.directory / f"{job_id}.mp4"

    def begin_upload(self) -> LocalUpload:
        return LocalUpload(self.directory)

    def promote(self, upload: Upload, job_id: str) -> None:
        if not isinstance(upload, LocalUpload):
            raise TypeError("upload does not belong to this storage")
        upload.finish()
        os.replace(upload.path, self._video_path(job_id))
        fsync_dir(self.directory)

    def path_for(self, job_id: str) -> Path | None:
        try:
            path = self._video_path(job_id)
        except ValueError:
            return None
        return path if path.is_file() else None

    def delete(self, job_id: str) -> bool:
        try:
            self._video_path(job_id).unlink()
        except (FileNotFoundError, ValueError):
            return False
        return True

    def video_ids(self) -> list[str]:
        ids = []
        for entry in os.scandir(self.directory):
            match = _VIDEO_NAME.match(entry.name)
            if match and entry.is_file():
                ids.append(match.group(1))
        return ids

    def sweep_temp(self) -> int:
        removed = 0
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed
