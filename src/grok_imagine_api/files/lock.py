"""One server per database and video directory: an OS lock on a file beside the data, held while it is open.

The kernel drops an flock when its process ends, however it ends (kill -9 included), so a crash never leaves
a stale lock behind. The text inside only says who holds it, for the message a second server prints."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path


class DataInUse(Exception):
    """Another process holds the lock: this one must not touch the data."""

    def __init__(self, data: Path, lock_path: Path, holder: str) -> None:
        self.data = data
        self.lock_path = lock_path
        self.holder = holder
        super().__init__(
            f"{data} is in use by another grok-imagine-api server ({holder}; lock file {lock_path}). "
            "Run one server per DB_PATH and VIDEO_STORAGE_PATH: stop that one first, or give this one its own."
        )


def holder_text() -> str:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={started}\n"


def describe(text: str) -> str:
    """`pid 41 on build-box, started 2026-…` from what the holder wrote."""
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "pid" not in fields:
        return "a process that has not written its pid yet"
    where = f" on {fields['host']}" if "host" in fields else ""
    since = f", started {fields['started']}" if "started" in fields else ""
    return f"pid {fields['pid']}{where}{since}"


class FileLock:
    """An exclusive, non-blocking flock on `path`, guarding `data`. Opening the file never changes it: only the
    process that wins the lock writes who it is."""

    def __init__(self, path: Path, data: Path) -> None:
        self.path = path
        self.data = data
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            os.close(fd)
            raise DataInUse(self.data, self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_text().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # nobody holds it now
        finally:
            os.close(fd)  # which drops the lock
