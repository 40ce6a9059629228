"""Videos in an S3-compatible object store (VIDEO_STORAGE_URL=s3://bucket/prefix), through obstore.

Keys under the prefix mirror the local layout: `{job_id}.mp4`, `{job_id}.hd.mp4` (HD, docs/hd.md), `{job_id}.jpg`,
`sources/{job_id}.mp4`.
Uploads still land in a local temp file first (the video is probed before it is accepted), then go to the
store as a multipart upload of PART_BYTES parts, PARALLEL_PARTS at a time: memory stays bounded whatever the
size, and the object appears only when the upload completes. Several servers may share one bucket: this
storage takes no lock, and each process keeps its temp files in a directory of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import BaseError, PreconditionError
from obstore.store import S3Store

from ..config import parse_s3_url
from ..domain.errors import Unavailable
from ..domain.images import CONTENT_TYPES
from .lock import DataInUse, FileLock
from .storage import (
    FILE_NAME,
    LOCK_FILE,
    SOURCES,
    DiskFull,
    LocalUpload,
    StoredObject,
    Upload,
    checked,
    hd_name,
    image_name,
    image_names,
)

if TYPE_CHECKING:
    from obstore import ObjectMeta

log = logging.getLogger("grok_imagine_api")

# S3's smallest part (except the last) is 5 MiB. One part in flight: a 200 MB upload grows the server by about
# 21 MB; two measured 26 to 31 MB, too close to the 32 MB bound (tests/e2e/test_s3_upload_memory.py).
PART_BYTES = 5 * 1024 * 1024
PARALLEL_PARTS = 1
READ_CHUNK_BYTES = 256 * 1024
TEMP_DIR_PREFIX = ".s3-temp-"
# A store that is down answers 503 within seconds instead of holding the request for obstore's default 3 minutes.
RETRIES = 3
RETRY_SECONDS = 15
# Another server may have put an object moments before it writes the job row that keeps it (a source is
# stored before its job is created): the orphan sweep leaves anything younger than this alone.
ORPHAN_GRACE_SECONDS = 3600.0


class S3VideoStorage:
    def __init__(
        self,
        store: S3Store,
        temp_root: Path,
        *,
        url_ttl_seconds: float = 300,
        orphan_grace_seconds: float = ORPHAN_GRACE_SECONDS,
    ) -> None:
        self._store = store
        self.temp_root = temp_root
        self.temp = temp_root / f"{TEMP_DIR_PREFIX}{secrets.token_hex(6)}"
        self._temp_lock = FileLock(self.temp / LOCK_FILE, self.temp)
        self._full = DiskFull(temp_root)
        self.url_ttl = timedelta(seconds=url_ttl_seconds)
        self.orphan_grace_seconds = orphan_grace_seconds

    @classmethod
    def connect(
        cls,
        url: str,
        temp_root: Path,
        *,
        endpoint: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        url_ttl_seconds: float = 300,
        orphan_grace_seconds: float = ORPHAN_GRACE_SECONDS,
    ) -> S3VideoStorage:
        bucket, prefix = parse_s3_url(url)
        config: dict[str, str | bool] = {}
        if endpoint:
            # Most S3-compatible servers (MinIO, Ceph, moto) want path-style requests on their own endpoint.
            config.update(endpoint=endpoint, virtual_hosted_style_request=False)
        if access_key_id:
            config["access_key_id"] = access_key_id
        if secret_access_key:
            config["secret_access_key"] = secret_access_key
        if region:
            config["region"] = region
        store = S3Store(
            bucket,
            prefix=prefix or None,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
            retry_config={"max_retries": RETRIES, "retry_timeout": timedelta(seconds=RETRY_SECONDS)},
            **config,  # type: ignore[arg-type]
        )
        return cls(store, temp_root, url_ttl_seconds=url_ttl_seconds, orphan_grace_seconds=orphan_grace_seconds)

    async def open(self) -> None:
        """Make this process's temp directory, and check the bucket can be listed: a wrong name or key stops
        the start-up with the store's own message."""
        await asyncio.to_thread(self.temp.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(self._temp_lock.acquire)
        try:
            await anext(aiter(obstore.list(self._store, chunk_size=1)), None)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self.temp, ignore_errors=True)
        await asyncio.to_thread(self._temp_lock.release)

    def begin_upload(self, *, hashed: bool = False) -> LocalUpload:
        return LocalUpload(self.temp, hashed=hashed, full=self._full)

    async def _put(self, upload: Upload, key: str) -> None:
        if not isinstance(upload, LocalUpload):
            raise TypeError("upload does not belong to this storage")
        await asyncio.to_thread(upload.finish)
        try:
            with reached("storing a video"):
                await obstore.put_async(
                    self._store,
                    key,
                    upload.path,
                    attributes={"Content-Type": "video/mp4"},
                    chunk_size=PART_BYTES,
                    max_concurrency=PARALLEL_PARTS,
                )
        finally:
            await asyncio.to_thread(upload.discard)

    async def promote(self, upload: Upload, job_id: str) -> None:
        await self._put(upload, f"{checked(job_id)}.mp4")

    async def promote_source(self, upload: Upload, job_id: str) -> None:
        await self._put(upload, f"{SOURCES}/{checked(job_id)}.mp4")

    async def promote_hd(self, upload: Upload, job_id: str) -> None:
        await self._put(upload, hd_name(job_id))

    async def _stored(self, key: str) -> StoredObject | None:
        try:
            with reached("looking up a file"):
                meta = await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return None
        etag = meta["e_tag"] or f'"{meta["size"]}-{meta["last_modified"].timestamp():.0f}"'

        async def open_range(start: int, end: int) -> AsyncIterator[bytes]:
            return await self._open_range(key, etag, start, end)

        async def url() -> str:
            with reached("signing a URL"):
                return await obstore.sign_async(self._store, "GET", key, self.url_ttl)

        return StoredObject(meta["size"], etag, meta["last_modified"], open_range, url)

    async def _open_range(self, key: str, etag: str, start: int, end: int) -> AsyncIterator[bytes]:
        if start >= end:
            return empty()
        try:
            # If-Match: a video replaced since it was looked up is not served spliced from two versions.
            result = await obstore.get_async(self._store, key, options={"range": (start, end), "if_match": etag})
        except PreconditionError as exc:
            raise FileNotFoundError(key) from exc
        except BaseError as exc:
            raise unreachable("reading a video", exc) from exc
        return chunks(result.stream(min_chunk_size=READ_CHUNK_BYTES))

    async def _maybe(self, key: str, job_id: str) -> StoredObject | None:
        try:
            checked(job_id)
        except ValueError:
            return None
        return await self._stored(key)

    async def video(self, job_id: str) -> StoredObject | None:
        return await self._maybe(f"{job_id}.mp4", job_id)

    async def source(self, job_id: str) -> StoredObject | None:
        return await self._maybe(f"{SOURCES}/{job_id}.mp4", job_id)

    async def hd_video(self, job_id: str) -> StoredObject | None:
        try:
            key = hd_name(job_id)
        except ValueError:
            return None
        return await self._stored(key)

    async def delete_hd(self, job_id: str) -> None:
        with contextlib.suppress(ValueError), reached("deleting an HD video"):
            await obstore.delete_async(self._store, hd_name(job_id))

    async def thumbnail(self, job_id: str) -> StoredObject | None:
        return await self._maybe(f"{job_id}.jpg", job_id)

    @contextlib.asynccontextmanager
    async def local_copy(self, job_id: str) -> AsyncIterator[Path | None]:
        stored = await self.video(job_id)
        if stored is None:
            yield None
            return
        upload = self.begin_upload()
        try:
            copy: Path | None = upload.path
            try:
                async for chunk in await stored.open_range(0, stored.size):
                    await asyncio.to_thread(upload.write, chunk)
                await asyncio.to_thread(upload.finish)
            except FileNotFoundError:  # deleted or replaced since it was looked up
                copy = None
            yield copy
        finally:
            await asyncio.to_thread(upload.discard)

    async def save_thumbnail(self, job_id: str, jpeg: bytes) -> StoredObject:
        key = f"{checked(job_id)}.jpg"
        with reached("storing a thumbnail"):
            await obstore.put_async(self._store, key, jpeg, attributes={"Content-Type": "image/jpeg"})
        stored = await self._stored(key)
        if stored is None:
            raise FileNotFoundError(key)  # deleted at once by an expiry on another server
        return stored

    async def save_image(self, job_id: str, index: int, ext: str, data: bytes) -> None:
        key = image_name(job_id, index, ext)
        with reached("storing an image"):
            await obstore.put_async(self._store, key, data, attributes={"Content-Type": CONTENT_TYPES[ext]})

    async def image(self, job_id: str, index: int, ext: str) -> StoredObject | None:
        try:
            key = image_name(job_id, index, ext)
        except ValueError:
            return None
        return await self._maybe(key, job_id)

    async def delete(self, job_id: str) -> bool:
        try:
            checked(job_id)
        except ValueError:
            return False
        existed = await self._stored(f"{job_id}.mp4") is not None
        keys = [f"{job_id}.mp4", f"{job_id}.jpg", hd_name(job_id), f"{SOURCES}/{job_id}.mp4", *image_names(job_id)]
        with reached("deleting a video"):
            await obstore.delete_async(self._store, keys)
        return existed

    async def delete_source(self, job_id: str) -> None:
        with contextlib.suppress(ValueError), reached("deleting a source video"):
            await obstore.delete_async(self._store, f"{SOURCES}/{checked(job_id)}.mp4")

    async def file_ids(self) -> list[str]:
        """Jobs with an object older than the grace period: younger ones may be waiting for their job row."""
        cutoff = time.time() - self.orphan_grace_seconds
        ids = set()
        with reached("listing the videos"):
            async for batch in obstore.list(self._store, chunk_size=1000):
                for meta in batch:
                    job_id = job_of(meta)
                    if job_id is not None and meta["last_modified"].timestamp() < cutoff:
                        ids.add(job_id)
        return sorted(ids)

    async def sweep_temp(self) -> int:
        return await asyncio.to_thread(sweep_temp_dirs, self.temp_root, self.temp)

    def disk_full_count(self) -> int:
        return self._full.count

    def free_bytes(self) -> int | None:
        return None  # a bucket has no free space to tell


@contextlib.contextmanager
def reached(doing: str) -> Iterator[None]:
    """The store failing (down, or refusing the key) is a 503 the client may retry, not a crash."""
    try:
        yield
    except BaseError as exc:
        raise unreachable(doing, exc) from exc


def unreachable(doing: str, exc: BaseError) -> Unavailable:
    log.error("video storage: %s failed: %s", doing, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Unavailable(
        f"The video storage could not be reached ({doing} failed); retry later",
        code="storage_unavailable",
    )


def job_of(meta: ObjectMeta) -> str | None:
    name = meta["path"]
    if name.startswith(f"{SOURCES}/"):
        name = name[len(SOURCES) + 1 :]
    match = FILE_NAME.match(name)
    return match.group(1) if match else None


def sweep_temp_dirs(root: Path, own: Path) -> int:
    """Remove the temp directories of servers that are gone: a live one holds the lock inside its own."""
    removed = 0
    for folder in root.glob(f"{TEMP_DIR_PREFIX}*"):
        if folder == own or not folder.is_dir():
            continue
        lock = FileLock(folder / LOCK_FILE, folder)
        try:
            lock.acquire()
        except DataInUse:
            continue
        except FileNotFoundError:  # another server swept it meanwhile
            continue
        try:
            removed += sum(1 for path in folder.iterdir() if path.name != LOCK_FILE)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            lock.release()
    return removed


async def chunks(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield bytes(chunk)


async def empty() -> AsyncIterator[bytes]:
    return
    yield
