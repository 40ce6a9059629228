"""One server per database and video directory: the lock files, the store and the storage that hold them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grok_imagine_api.files.lock import DataInUse, FileLock
from grok_imagine_api.files.storage import LOCK_FILE, LocalVideoStorage
from grok_imagine_api.store.sqlite import SqliteJobStore


def test_the_holder_writes_who_it_is_and_a_second_lock_is_refused_without_a_change(tmp_path: Path) -> None:
    path = tmp_path / "data.lock"
    first = FileLock(path, tmp_path)
    first.acquire()
    text = path.read_text()
    assert f"pid={os.getpid()}\n" in text and "host=" in text and "started=" in text
    with pytest.raises(DataInUse) as refused:
        FileLock(path, tmp_path).acquire()
    message = str(refused.value)
    assert f"pid {os.getpid()} on " in message
    assert str(path) in message and str(tmp_path) in message
    assert path.read_text() == text
    first.release()
    second = FileLock(path, tmp_path)
    second.acquire()  # released: free again
    second.release()
    assert path.read_text() == ""


def test_a_killed_process_leaves_no_lock_behind(tmp_path: Path) -> None:
    path = tmp_path / "data.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from grok_imagine_api.files.lock import FileLock; "
            f"FileLock(Path({str(path)!r}), Path('.')).acquire(); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DataInUse, match=f"pid {holder.pid} "):
            FileLock(path, tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.stdout.close()
    lock = FileLock(path, tmp_path)
    lock.acquire()
    lock.release()


def test_a_second_store_on_one_database_is_refused_before_it_opens_the_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = SqliteJobStore(tmp_path / "jobs.db")
        await first.open()
        names = sorted(os.listdir(tmp_path))
        second = SqliteJobStore(tmp_path / "jobs.db")
        with pytest.raises(DataInUse, match=re.escape("jobs.db.lock")):
            await second.open()
        assert sorted(os.listdir(tmp_path)) == names
        await first.close()
        await second.open()  # once the first is closed, the file is free
        await second.close()

    asyncio.run(scenario())


def test_a_store_that_fails_to_open_lets_the_lock_go(tmp_path: Path) -> None:
    (tmp_path / "jobs.db").write_bytes(b"not a database, but long enough to be read as one" * 100)

    async def scenario() -> None:
        for _ in range(2):  # the second attempt fails the same way, not on the lock
            with pytest.raises(sqlite3.DatabaseError, match="not a database"):
                await SqliteJobStore(tmp_path / "jobs.db").open()

    asyncio.run(scenario())


def test_a_second_storage_on_one_directory_is_refused_and_the_lock_is_no_video(tmp_path: Path) -> None:
    async def scenario() -> None:
        first = LocalVideoStorage(tmp_path)
        await first.open()
        with pytest.raises(DataInUse, match=re.escape(LOCK_FILE)):
            await LocalVideoStorage(tmp_path).open()
        (tmp_path / ".upload-0123456789abcdef.part").write_bytes(b"half")
        assert await first.sweep_temp() == 1
        assert await first.file_ids() == []
        assert os.listdir(tmp_path) == [LOCK_FILE]
        await first.close()
        second = LocalVideoStorage(tmp_path)
        await second.open()
        await second.close()

    asyncio.run(scenario())
