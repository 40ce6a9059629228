"""Every job operation, for every API dialect and the worker protocol. Knows nothing of HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from .clock import Clock
from .config import Settings
from .domain.abilities import (
    DEFAULT_ABILITIES,
    Abilities,
    kind_needs,
    option_needs,
    waiting_reason,
)
from .domain.errors import Conflict, InvalidImage, InvalidRequest, InvalidVideo, NotFound
from .domain.hd import again, check_hd_upload, hd_adjustments, hd_needs
from .domain.images import EXTENSIONS, check_image, decode_image, measure_image
from .domain.jobs import (
    Claim,
    Dialect,
    ErrorCode,
    InputImage,
    Job,
    JobKind,
    JobStatus,
    Media,
    NewJob,
    Produced,
    check_worker_report,
    new_job_id,
    validate_prompt,
)
from .domain.options import Adjustment, Asked, from_options, match
from .domain.output import check_output
from .domain.retries import RetryPolicy, cooldown_seconds, named_wait, requested_attempts
from .domain.segments import Outcome
from .files import media
from .files.remote import fetch_image, fetch_video
from .files.storage import Stored, Upload, VideoStorage
from .metrics import Metrics
from .store.base import ACTIVITY_BUCKET, Activity, IdempotencyRecord, JobStore, KeyStore
from .worker.dispatch import Dispatcher
from .worker.notify import LocalNotifier, Notifier
from .worker.registry import WorkerError, WorkerInfo, WorkerRegistry

log = logging.getLogger("grok_imagine_api")

# While nothing wakes it, a long poll still looks for work this often: a job whose notification from another
# replica was lost (worker/notify.py) waits at most this long.
RECHECK_SECONDS = 2.0
MAX_LIST_LIMIT = 1000
MAX_SEARCH_CHARS = 200
# The dashboard's activity chart: hours shown, timings sampled, and how long one answer is reused.
ACTIVITY_HOURS = 24
TIMING_SAMPLE = 200
# The activity query reads a day of rows (about 20 ms at 50,000 jobs a day): after a change it is redone at
# most every ACTIVITY_REFRESH_SECONDS, and without changes once a minute (the hours move on).
ACTIVITY_REFRESH_SECONDS = 2.0
ACTIVITY_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class JobRequest:
    """A new job as any dialect asks for it, before validation."""

    prompt: str
    model: str
    asked: Asked = field(default_factory=Asked)
    image: str | InputImage | None = None
    dialect: Dialect = Dialect.SEED
    owner: str | None = None
    kind: JobKind = JobKind.GENERATE
    source_job_id: str | None = None
    source_url: str | None = None
    source_upload: Upload | None = None
    requested: dict[str, Any] = field(default_factory=dict)
    image_param: str = "image"
    source_param: str = "video"
    media: Media = Media.VIDEO
    n: int = 1
    notes: list[Adjustment] = field(default_factory=list)  # what the dialect could not honour, said as is
    max_attempts: int | None = None  # the client's own attempt limit (docs/retries.md)
    segments: Any = None  # a long video's explicit segments, as the client sent them (docs/long-videos.md)
    parent_id: str | None = None  # a step of a long video's chain


@dataclass(frozen=True)
class ActivitySnapshot:
    computed_at: float
    version: int
    since: float  # the first hour it counts from: a new hour starts a new chart
    activity: Activity


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    next_cursor: str | None


class JobService:
    def __init__(
        self,
        *,
        store: JobStore,
        keys: KeyStore,
        storage: VideoStorage,
        clock: Clock,
        settings: Settings,
        dispatcher: Dispatcher | None = None,
        workers: WorkerRegistry | None = None,
        metrics: Metrics | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self._store = store
        self._keys = keys
        self._storage = storage
        self.clock = clock
        self.settings = settings
        self.dispatcher = dispatcher or Dispatcher()
        self.notifier = notifier or LocalNotifier()
        self.workers = workers or WorkerRegistry.for_settings(settings)
        self.metrics = metrics or Metrics()
        self._background: set[asyncio.Future[None]] = set()
        self._completions = KeyedLock()
        self._thumbnails = KeyedLock()
        self.metrics.watch_storage(storage)
        # Bumped by every change to a job this process makes; with several replicas, `elsewhere` is the sum of
        # the others' (worker/sharing.py). The dashboard refreshes when `version` moves.
        self.changes = 0
        self.elsewhere = 0
        self._activity: ActivitySnapshot | None = None
        self._news = asyncio.Event()  # set, and replaced, at every change: what waiting requests wake on
        # Long videos (chains.py): whether a create is made as a chain, and what follows a step's events.
        self.planner: Callable[[JobRequest, list[str], list[WorkerInfo]], Outcome] | None = None
        self.on_created: list[Callable[[Job], Awaitable[None]]] = []
        self.on_progress: list[Callable[[Job], Awaitable[None]]] = []
        # Called, in the background, after a job of this process reaches a terminal state (completed or failed);
        # not when a failed attempt goes back to the queue (docs/retries.md).
        self.on_finished: list[Callable[[Job], Awaitable[None]]] = []
        self.sweeps: list[Callable[[], Awaitable[int]]] = []  # run by the maintenance loop
        self.retry_policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            retry_moderated=settings.retry_moderated,
            other_worker_seconds=settings.retry_other_worker_seconds,
        )

    @property
    def version(self) -> int:
        return self.changes + self.elsewhere

    def _changed(self, jobs: int = 1) -> None:
        if jobs:
            self.changes += 1
            self._news.set()
            self._news = asyncio.Event()

    def _job_waiting(self) -> None:
        """A job was queued: wake the long polls of this replica, and of the others."""
        self.dispatcher.notify_all()
        self.notifier.publish()

    @property
    def lease_seconds(self) -> float:
        return self.settings.job_timeout_seconds

    # -- the store: opened and closed here, reached only through these doors ------------------

    async def open_store(self) -> None:
        await self._store.open()

    async def close_store(self) -> None:
        await self._store.close()

    async def find(self, job_id: str) -> Job | None:
        """A job by id, whoever owns it, deleted or not (for the server's own views; clients use get)."""
        return await self._store.get(job_id)

    async def input_image(self, job: Job) -> InputImage | None:
        return await self._store.get_image(job.id) if job.image_mime else None

    async def counts(self) -> dict[JobStatus, int]:
        return await self._store.counts()

    async def server_value(self, name: str, default: Callable[[], str]) -> str:
        """A value every replica shares (such as the URL signing secret), made once with `default`."""
        return await self._keys.meta_value(name, default)

    async def idempotency_begin(self, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
        return await self._keys.idempotency_begin(scope, key, fingerprint, self.clock.now())

    async def idempotency_finish(self, scope: str, key: str, status_code: int, response: str) -> None:
        await self._keys.idempotency_finish(scope, key, status_code, response)

    async def idempotency_abort(self, scope: str, key: str) -> None:
        await self._keys.idempotency_abort(scope, key)

    async def purge_idempotency(self) -> int:
        return await self._keys.idempotency_purge(before=self.clock.now() - self.settings.idempotency_ttl_seconds)

    # -- the video storage: opened and closed here, reached only through these doors -----------

    async def open_storage(self) -> None:
        await self._storage.open()

    async def close_storage(self) -> None:
        await self._storage.close()

    def begin_upload(self, *, hashed: bool = False) -> Upload:
        """A temp file a request streams a video into (blocking but quick: the multipart parser calls it)."""
        return self._storage.begin_upload(hashed=hashed)

    # -- clients ----------------------------------------------------------------------------

    async def create(self, request: JobRequest) -> Job:
        text = validate_prompt(request.prompt, max_chars=self.settings.max_prompt_chars)
        if request.max_attempts is None and "max_attempts" in request.requested:
            request = replace(request, max_attempts=requested_attempts(request.requested["max_attempts"]))
        image = await self._decode(request.image, request.image_param)
        source = await self._source(request)
        kind = kind_needs(
            request.kind,
            has_image=image is not None,
            grok_source=bool(source and source.grok_post_id),
            media=request.media,
        ) + hd_needs(request.asked)
        connected = self.workers.recent(self.clock.now())  # one look at the workers: options and clock agree
        chained = self.planner(request, kind, connected) if self.planner and request.parent_id is None else None
        options, adjustments = match(
            chained.asked if chained else request.asked,
            capable_of(kind, connected),
            strict=self.settings.option_matching == "strict",
            noun="images" if request.media is Media.IMAGE else "videos",
        )
        if chained is not None:
            options, adjustments = chained.apply(options, adjustments)
        adjustments += hd_adjustments(request.asked, options, strict=self.settings.option_matching == "strict")
        adjustments += request.notes
        # Only now that the request is known to be good: an external source is fetched, checked and kept.
        upload = request.source_upload
        if upload is None and request.source_url is not None:
            upload = await self._fetch_source(request.source_url, request.source_param)
        if upload is not None:
            await self._check_source(upload, request.source_param)
        job_id = new_job_id()
        needs = kind + option_needs(options)
        now = self.clock.now()
        # The no-capable-worker clock starts now when no connected worker can make it, not at the next sweep.
        unable = waiting_reason(needs, [info.tokens for info in connected]) is not None
        try:
            if upload is not None:
                await self._storage.promote_source(upload, job_id)
            job = await self._store.create(
                NewJob(
                    id=job_id,
                    model=request.model,
                    prompt=text,
                    options=options,
                    image=image,
                    created_at=now,
                    dialect=request.dialect,
                    owner=request.owner,
                    kind=request.kind,
                    source_job_id=request.source_job_id,
                    source_url=request.source_url,
                    source_size=upload.size if upload else None,
                    requested=request.requested,
                    adjustments=[adjustment.to_dict() for adjustment in adjustments],
                    needs=needs,
                    unmatched_since=now if unable and not (chained and chained.plan) else None,
                    media=request.media,
                    n=request.n,
                    max_attempts=request.max_attempts,
                    parent_id=request.parent_id,
                    chain=chained.plan.to_chain() if chained and chained.plan else None,
                )
            )
        except BaseException:
            if upload is not None:
                await asyncio.to_thread(upload.discard)  # before it moved: the temp file
                await self._storage.delete_source(job_id)  # after: the job's source
            raise
        self._job_waiting()
        self.metrics.created()
        self._changed()
        for hook in self.on_created:
            try:
                await hook(job)
            except Exception:
                # The job exists: answering an error now would make a retrying client create it twice. What the
                # hook did not do (a long video's first step) the maintenance sweep does.
                log.exception("job %s: a hook on its creation failed; the sweep will take it up", job.id)
        if job.chain is not None:
            job = await self._store.get(job.id) or job  # with its first step
        return job

    async def _source(self, request: JobRequest) -> Job | None:
        """The finished job a remix, extension or edit starts from, if it names one."""
        if request.source_job_id is None:
            return None
        source = await self.get(request.source_job_id, viewer=request.owner, param=request.source_param)
        if not source.has_video or await self._storage.video(source.id) is None:
            raise InvalidRequest(
                f"Video {source.id} is {source.status.value} and has no video to start from",
                param=request.source_param,
                code="source_not_ready",
            )
        return source

    async def _check_source(self, upload: Upload, param: str) -> None:
        """A source video is one a worker can start from: an MP4 look-alike is refused now, not on the page."""
        await asyncio.to_thread(upload.finish)
        if await asyncio.to_thread(media.probe, upload.path) is None:
            await asyncio.to_thread(upload.discard)
            raise InvalidVideo(
                "The source cannot be read as a video: no decodable video stream with a length", param=param
            )

    async def _fetch_source(self, url: str, param: str) -> Upload:
        """An external source video, fetched now: a worker is never handed a URL this server has not checked."""
        upload = await asyncio.to_thread(self._storage.begin_upload)
        try:
            await fetch_video(
                url,
                upload,
                param=param,
                max_bytes=self.settings.max_upload_bytes,
                fetch_seconds=self.settings.video_fetch_timeout_seconds,
                allow_private=self.settings.allow_private_urls,
            )
        except BaseException:
            await asyncio.to_thread(upload.discard)
            raise
        return upload

    def waiting_reason(self, job: Job) -> str | None:
        """Why a queued job is not being made: no connected worker can make it."""
        if job.status is not JobStatus.PENDING:
            return None
        return waiting_reason(job.needs, [info.tokens for info in self.workers.recent(self.clock.now())])

    async def check_upload_image(self, data: bytes, *, param: str) -> InputImage:
        """A file part that must be a whole PNG, JPEG or WebP image (its own Content-Type is not trusted)."""
        return await asyncio.to_thread(check_image, data, max_bytes=self.settings.max_image_bytes, param=param)

    async def _decode(self, image: str | InputImage | None, param: str = "image") -> InputImage | None:
        """An image from base64, a data URL, or an http(s) URL (fetched now, so a bad one fails the request)."""
        if image is None or isinstance(image, InputImage):
            return image
        if not image:
            return None
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", image):
            return await fetch_image(
                image,
                param=param,
                max_bytes=self.settings.max_image_bytes,
                fetch_seconds=self.settings.image_fetch_timeout_seconds,
                allow_private=self.settings.allow_private_urls,
            )
        # Off the event loop, always: every pixel is decoded, and a small PNG can hold many.
        return await asyncio.to_thread(decode_image, image, max_bytes=self.settings.max_image_bytes, param=param)

    async def get(
        self, job_id: str, *, viewer: str | None = None, param: str = "job_id", media: Media | None = None
    ) -> Job:
        """The job, if `viewer` may see it (None: anyone) and it was not deleted; of `media` only, if given (the
        video APIs do not know image jobs)."""
        job = await self._store.get(job_id)
        if job is None or job.deleted_at is not None or (viewer is not None and job.owner != viewer):
            raise NotFound(f"No job with id '{job_id}'", param=param, code="job_not_found")
        if media is not None and job.media is not media:
            raise NotFound(f"No {media.value} with id '{job_id}'", param=param, code="job_not_found")
        return job

    async def list_jobs(
        self,
        *,
        status: JobStatus | None,
        limit: int,
        cursor: str | None,
        viewer: str | None = None,
        text: str | None = None,
        cancelled: bool | None = None,
        media: Media | None = None,
        steps: bool = False,
    ) -> Page:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit must be between 1 and {MAX_LIST_LIMIT}", param="limit")
        if text is not None and len(text) > MAX_SEARCH_CHARS:
            raise InvalidRequest(f"q must be at most {MAX_SEARCH_CHARS} characters", param="q")
        before = decode_cursor(cursor) if cursor else None
        jobs = await self._store.list_jobs(
            status=status,
            limit=limit + 1,
            before_seq=before,
            owner=viewer,
            text=text.strip() if text else None,
            cancelled=cancelled,
            media=media,
            steps=steps,
        )
        if len(jobs) > limit:
            jobs = jobs[:limit]
            return Page(jobs, encode_cursor(jobs[-1].seq))
        return Page(jobs, None)

    async def list_after(
        self, *, viewer: str | None, limit: int, after_seq: int | None, ascending: bool
    ) -> tuple[list[Job], bool]:
        """A page in creation order from a job's position (OpenAI's `after`), and whether more follow."""
        jobs = await self._store.list_jobs(
            status=None,
            limit=limit + 1,
            owner=viewer,
            ascending=ascending,
            after_seq=after_seq if ascending else None,
            before_seq=None if ascending else after_seq,
            media=Media.VIDEO,
        )
        return jobs[:limit], len(jobs) > limit

    async def delete(
        self, job_id: str, *, viewer: str | None = None, param: str = "video_id", media: Media | None = None
    ) -> Job:
        """Remove a job's files and hide it; a queued job is never handed out, a running one is cancelled."""
        before = await self.get(job_id, viewer=viewer, param=param, media=media)
        job = await self._store.delete(job_id, now=self.clock.now())
        if job.cancelled and before.status in (JobStatus.PENDING, JobStatus.PROCESSING):
            self.metrics.failed(job)
        await self._storage.delete(job_id)
        self.workers.finished(job.worker_id, job.id, self.clock.now())
        self._changed()
        await self._finished(job)
        return job

    async def cancel(self, job_id: str, *, viewer: str | None = None) -> Job:
        """Stop a queued or running job but keep it listed; cancelling a cancelled job changes nothing."""
        job = await self.get(job_id, viewer=viewer)
        cancelled = await self._store.cancel(job_id, now=self.clock.now())
        if cancelled is None:
            job = await self.get(job_id, viewer=viewer)  # as it is now: it finished since it was read
            if job.cancelled:
                return job
            raise Conflict(
                f"Job {job_id} is {job.status.value}; only a pending or processing job can be cancelled",
                param="job_id",
                code="job_finished",
            )
        self.workers.finished(cancelled.worker_id, cancelled.id, self.clock.now())
        self.metrics.failed(cancelled)
        await self._storage.delete_source(cancelled.id)
        self._changed()
        await self._finished(cancelled)
        return cancelled

    async def run_again(self, job_id: str, *, viewer: str | None = None) -> Job:
        """A new job with the same prompt, options and image."""
        job = await self.get(job_id, viewer=viewer)
        if job.kind is not JobKind.GENERATE and job.media is not Media.IMAGE:
            raise InvalidRequest(
                f"Job {job_id} is a {job.kind.value} job; only generation jobs can be run again",
                param="job_id",
                code="not_rerunnable",
            )
        image = await self._store.get_image(job_id) if job.image_mime else None
        return await self.create(
            JobRequest(
                prompt=job.prompt,
                model=job.model,
                asked=again(from_options(job.options), job.wants_hd),
                image=image,
                dialect=job.dialect,
                owner=job.owner,
                requested=job.requested,
                kind=job.kind if job.media is Media.IMAGE else JobKind.GENERATE,
                media=job.media,
                n=job.n,
                notes=[Adjustment(**note) for note in job.adjustments if note["param"] not in OPTION_PARAMS],
                # A long video runs again as the same segments (docs/long-videos.md).
                segments=[{"prompt": s["prompt"], "seconds": s["seconds"]} for s in job.chain["segments"]]
                if job.chain
                else None,
            )
        )

    async def state_counts(self) -> dict[str, int]:
        """Jobs per state, with the cancelled ones (failed, code `cancelled`) apart from the other failed ones."""
        counts = await self._store.counts()
        cancelled = await self._store.count_cancelled()
        states = {status.value: counts.get(status, 0) for status in JobStatus}
        states[JobStatus.FAILED.value] -= cancelled
        states["cancelled"] = cancelled
        return states

    async def activity(self) -> ActivitySnapshot:
        """Jobs per hour over the last ACTIVITY_HOURS and timings of recent completions, shared by all viewers."""
        now = self.clock.now()
        since = (int(now // ACTIVITY_BUCKET) - ACTIVITY_HOURS + 1) * ACTIVITY_BUCKET
        cached = self._activity
        if cached is not None and cached.since == since:
            age = now - cached.computed_at
            if age < ACTIVITY_MAX_AGE_SECONDS and (cached.version == self.version or age < ACTIVITY_REFRESH_SECONDS):
                return cached
        version = self.version
        activity = await self._store.activity(since=since, recent=TIMING_SAMPLE)
        self._activity = ActivitySnapshot(now, version, since, activity)
        return self._activity

    async def video(self, job: Job) -> Stored | None:
        """Where the job's video is, to serve it; None when it has none (or it went)."""
        return await self._storage.video(job.id) if job.has_video else None

    async def hd_video(self, job: Job) -> Stored | None:
        """The HD (upscaled) file of a job that has one (docs/hd.md)."""
        return await self._storage.hd_video(job.id) if job.has_hd else None

    async def image(self, job: Job, index: int) -> Stored | None:
        """Where one of the job's images is; None when it has no such image (or it went)."""
        if not job.has_images or not 0 <= index < len(job.images):
            return None
        return await self._storage.image(job.id, index, job.images[index]["ext"])

    async def wait_finished(self, job_id: str, seconds: float) -> Job:
        """The job once it completed or failed, or as it is after `seconds`. Woken by this replica's
        changes, and looks again every RECHECK_SECONDS for what another replica did."""
        deadline = time.monotonic() + seconds
        while True:
            news = self._news
            job = await self._store.get(job_id)  # deleted meanwhile: it is failed, `cancelled`
            if job is None:
                raise NotFound(f"No job with id '{job_id}'", param="job_id", code="job_not_found")
            remaining = deadline - time.monotonic()
            if job.status.terminal or remaining <= 0:
                return job
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), min(remaining, RECHECK_SECONDS))

    async def source_video(self, job: Job) -> Stored | None:
        """What a worker starts a remix, extension or edit from: its uploaded or fetched source, or else the
        video of the job it names."""
        stored = await self._storage.source(job.id)
        if stored is None and job.source_job_id is not None:
            source = await self._store.get(job.source_job_id)
            if source is not None and source.has_video:
                stored = await self._storage.video(source.id)
        return stored

    async def thumbnail(self, job: Job) -> Stored | None:
        """The job's JPEG thumbnail, made from its video on first use (by one request: the others asking
        meanwhile wait for it)."""
        if await self.video(job) is None:
            return None
        existing = await self._storage.thumbnail(job.id)
        if existing is not None:
            return existing
        async with self._thumbnails.hold(job.id):
            existing = await self._storage.thumbnail(job.id)
            if existing is not None:
                return existing
            async with self._storage.local_copy(job.id) as video:
                jpeg = await asyncio.to_thread(media.thumbnail, video) if video is not None else None
            if jpeg is None:
                return None
            return await self._storage.save_thumbnail(job.id, jpeg)

    # -- workers ----------------------------------------------------------------------------

    async def poll(
        self,
        *,
        worker_id: str,
        wait: float,
        version: str | None = None,
        abilities: Abilities | None = None,
        modes: frozenset[str] = frozenset({"video"}),
    ) -> Claim | None:
        """Claim the oldest pending job this worker can make, waiting up to `wait` seconds for one to be queued.
        `abilities` replaces what the worker declared before; a worker that never declared gets the default table.
        `modes` are the media it takes now (video, image): its abilities are narrowed to them."""
        info = self.workers.seen(worker_id, self.clock.now(), version=version)
        self.workers.polls_for(worker_id, modes, self.clock.now())
        if abilities is not None:
            self.workers.declare(worker_id, abilities, self.clock.now())
        info.polling += 1
        try:
            return await self._poll(worker_id, wait)
        finally:
            info.polling -= 1
            self.workers.seen(worker_id, self.clock.now())

    async def _poll(self, worker_id: str, wait: float) -> Claim | None:
        deadline = time.monotonic() + min(wait, self.settings.max_poll_wait_seconds)
        while True:
            if self.dispatcher.closing:
                return None  # the server is stopping: no job now, rather than at the end of the wait
            wake = self.dispatcher.register() if wait > 0 else None
            try:
                claim = await self._claim(worker_id)
                if claim is not None:
                    self.workers.claimed(worker_id, claim.job.id, self.clock.now(), owner=claim.job.owner)
                    self.metrics.claimed(claim.job)
                    self._changed()
                    return claim
                remaining = deadline - time.monotonic()
                if wake is None or remaining <= 0:
                    return None
                await asyncio.wait({wake}, timeout=min(remaining, RECHECK_SECONDS))
                if wake.done():
                    wake = None  # woken: the next claim attempt acts on the wake-up
            finally:
                if wake is not None:
                    self.dispatcher.release(wake)

    async def _claim(self, worker_id: str) -> Claim | None:
        if self.workers.cooling_until(worker_id, self.clock.now()) is not None:
            return None  # rate-limited by Grok: it rests (docs/retries.md)
        attempt = asyncio.ensure_future(self._take(worker_id))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # The poll was abandoned while the claim ran: give any job it took back to the queue before the poll
            # counts as gone, so that no one sees a job held by a worker that hung up.
            await self._give_back(attempt)
            raise

    async def _take(self, worker_id: str) -> Claim | None:
        """Claim a job, with the Grok post of the job it starts from; run whole even when its poll is abandoned."""
        abilities = self.workers.seen(worker_id, self.clock.now()).tokens
        claim = await self._store.claim(
            worker_id=worker_id, lease_seconds=self.lease_seconds, now=self.clock.now(), abilities=abilities
        )
        if claim is not None and claim.job.source_job_id is not None:
            try:
                source = await self._store.get(claim.job.source_job_id)
            except Exception:
                await self.release(claim)  # a claim no one can be handed
                raise
            claim = replace(claim, source_grok_post_id=source.grok_post_id if source else None)
        return claim

    async def _give_back(self, attempt: asyncio.Future[Claim | None]) -> None:
        try:
            claim = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            attempt.add_done_callback(self._release_abandoned)  # hurried again: it is given back when it ends
            return
        except Exception:
            return  # it took nothing
        if claim is not None:
            try:
                await asyncio.shield(self._in_background(self.release(claim)))
            except asyncio.CancelledError:
                pass  # the release runs on; the poll ends as it was asked to
            except Exception:
                log.exception("job %s: could not give it back to the queue; its lease ends it", claim.job.id)

    def _release_abandoned(self, attempt: asyncio.Future[Claim | None]) -> None:
        if attempt.cancelled() or attempt.exception() is not None:
            return
        claim = attempt.result()
        if claim is not None:
            self._in_background(self.release(claim))

    async def release(self, claim: Claim) -> None:
        """Put a claimed job back at the head of the queue (its worker never received it)."""
        token = claim.job.claim_token
        if token and await self._store.release(claim.job.id, claim_token=token, now=self.clock.now()):
            self.workers.finished(claim.job.worker_id, claim.job.id, self.clock.now())
            self._job_waiting()
            self._changed()

    async def fence(self, job_id: str, *, claim_token: str | None, reporter: str) -> None:
        """What a report without a claim token may touch (the founding document's workers send none): never a long
        video's own job (its steps are the workers' jobs), and, once a job was tried by another worker before, only
        while the reporter holds it now, so a silent worker's late report never lands on its successor's attempt."""
        if claim_token is not None:
            return  # the store checks the token against the lease
        job = await self._store.get(job_id)
        if job is None:
            return  # the store says 404
        if job.chain is not None:
            raise Conflict(
                f"Job {job_id} is a long video: workers report on its steps, never on it",
                param="job_id",
                code="not_a_worker_job",
            )
        if job.attempt_log and job.status is JobStatus.PROCESSING and job.worker_id != reporter:
            raise Conflict(
                f"Job {job_id} was handed to another worker after an earlier attempt; send its claim_token",
                param="claim_token",
                code="lease_mismatch",
            )

    async def check_report(self, job_id: str, claim_token: str | None) -> Job:
        """Fail fast, before a large upload is read, when the report could not be accepted anyway."""
        job = await self._store.get(job_id)
        if job is None:
            raise NotFound(f"No job with id '{job_id}'", param="job_id", code="job_not_found")
        check_worker_report(job, claim_token, self.clock.now())
        return job

    async def renew_lease(self, job_id: str, *, claim_token: str | None, progress: int | None = None) -> Job:
        job = await self._store.touch(
            job_id, claim_token=claim_token, progress=progress, lease_seconds=self.lease_seconds, now=self.clock.now()
        )
        if job.worker_id:
            self.workers.seen(job.worker_id, self.clock.now())
        self._changed()
        return job

    async def progress(self, job_id: str, *, claim_token: str | None, progress: int | None) -> Job:
        """Renew the lease; a job its client cancelled is returned as it is, so the worker can stop."""
        try:
            job = await self.renew_lease(job_id, claim_token=claim_token, progress=progress)
            if job.parent_id is not None:
                for hook in self.on_progress:
                    await hook(job)
            return job
        except Conflict as exc:
            if exc.code != "job_cancelled":
                raise
            cancelled = await self._store.get(job_id)
            if cancelled is None or (claim_token is not None and cancelled.claim_token != claim_token):
                raise
            return cancelled

    async def complete(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        upload: Upload,
        grok_post_id: str | None = None,
        hd: Upload | None = None,
    ) -> Job:
        """Put the video in place (fsynced file, rename, fsynced directory), then mark the job completed.

        Completions of one job are serialized, so only a report that still holds the lease ever
        replaces `{job_id}.mp4`, and the file is in place before any reader can see `completed`.
        A file that cannot be read as a video is refused (415 `invalid_video`) and a full disk answers 507: either
        way nothing is kept and the job stays as it was, for the worker to upload again under its lease.
        A video that is not what the job promised is marked so; under OPTION_MATCHING=strict it fails the job.
        A job that asked for HD needs `hd`, the upscaled file, checked the same way and put in place (before the
        video) as `{job_id}.hd.mp4`; any other job refuses one (docs/hd.md)."""
        await asyncio.to_thread(upload.finish)
        produced = await asyncio.to_thread(media.probe, upload.path)
        hd_produced = None
        if hd is not None:
            await asyncio.to_thread(hd.finish)
            hd_produced = await asyncio.to_thread(media.probe, hd.path)
        async with self._completions.hold(job_id):
            job = await self.check_report(job_id, claim_token)  # a lost lease says so before the video's faults
            check_hd_upload(job, hd is not None, hd_produced)
            if job.media is Media.IMAGE:
                await asyncio.to_thread(upload.discard)
                raise InvalidRequest(
                    f"Job {job_id} makes images; upload them as file parts named 'image'",
                    param="video",
                    code="not_a_video_job",
                )
            if produced is None:
                await asyncio.to_thread(upload.discard)
                log.warning("job %s: refused an upload of %d bytes that is not a readable video", job_id, upload.size)
                raise InvalidVideo(
                    "The upload cannot be read as a video: no decodable video stream with a length",
                    param="video",
                )
            mismatch = check_output(job, produced) or None
            if mismatch and self.settings.option_matching == "strict":
                if hd is not None:
                    await asyncio.to_thread(hd.discard)
                return await self._refuse_output(job, claim_token, upload, produced, mismatch)
            if hd is not None:
                await self._storage.promote_hd(hd, job_id)
            try:
                await self._storage.promote(upload, job_id)
            except BaseException:
                if hd is not None:
                    await self._storage.delete_hd(job_id)
                raise
            try:
                job = await self._store.complete(
                    job_id,
                    claim_token=claim_token,
                    video_size=upload.size,
                    now=self.clock.now(),
                    produced=produced,
                    grok_post_id=grok_post_id,
                    output_mismatch=mismatch,
                    hd_size=hd.size if hd is not None else None,
                    hd_produced=hd_produced,
                )
            except BaseException:
                # The lease was lost while the file moved (e.g. the stale sweep ran): the file is no one's. Unless
                # the same upload, sent again to another replica, completed the job meanwhile: then it is that one's.
                if not await self._completed(job_id):
                    await self._storage.delete(job_id)
                raise
        self.workers.completed(job.worker_id, job.id, self.clock.now())
        self.metrics.completed(job, upload.size)
        self.metrics.mismatched(mismatch or [])
        if mismatch:
            log.warning("job %s: the video is not what was promised: %s", job.id, mismatch)
        self._in_background(self._after_completion(job))
        self._changed()
        await self._finished(job)
        return job

    async def complete_images(self, job_id: str, *, claim_token: str | None, images: list[bytes]) -> Job:
        """Keep an image job's images and mark it completed. Each must decode whole as PNG, JPEG or WebP (415
        `invalid_image` otherwise); more than the job asked is a 400. Nothing is kept unless all are."""
        job = await self.check_report(job_id, claim_token)
        if job.media is not Media.IMAGE:
            raise InvalidRequest(
                f"Job {job_id} makes a video; upload it as the file part 'video'",
                param="image",
                code="not_an_image_job",
            )
        if not images:
            raise InvalidRequest("Missing file part 'image'", param="image", code="missing_parameter")
        if len(images) > job.n:
            raise InvalidRequest(
                f"Job {job_id} asked for {job.n} image(s); {len(images)} were sent",
                param="image",
                code="too_many_images",
            )
        made: list[dict[str, Any]] = []
        for index, data in enumerate(images):
            try:
                image, width, height = await asyncio.to_thread(
                    measure_image, data, max_bytes=self.settings.max_upload_bytes, param="image"
                )
            except InvalidRequest as exc:
                raise InvalidImage(f"Image {index + 1} of {len(images)}: {exc.message}") from None
            ext = EXTENSIONS[image.mime]
            made.append(
                {
                    "index": index,
                    "content_type": image.mime,
                    "ext": ext,
                    "width": width,
                    "height": height,
                    "bytes": len(data),
                }
            )
        async with self._completions.hold(job_id):
            job = await self.check_report(job_id, claim_token)
            try:
                for item, data in zip(made, images, strict=True):
                    await self._storage.save_image(job_id, item["index"], item["ext"], data)
                job = await self._store.complete(
                    job_id,
                    claim_token=claim_token,
                    video_size=sum(item["bytes"] for item in made),
                    now=self.clock.now(),
                    images=made,
                )
            except BaseException:
                if not await self._completed(job_id):
                    await self._storage.delete(job_id)
                raise
        self.workers.completed(job.worker_id, job.id, self.clock.now())
        self.metrics.completed(job, job.video_size or 0)
        if len(made) < job.n:
            log.info("job %s: the worker made %d of the %d images asked", job.id, len(made), job.n)
        self._changed()
        return job

    async def _completed(self, job_id: str) -> bool:
        """Whether the job is completed now; False when it cannot be read."""
        try:
            job = await self._store.get(job_id)
        except Exception:
            return False
        return job is not None and job.status is JobStatus.COMPLETED

    async def _refuse_output(
        self,
        job: Job,
        claim_token: str | None,
        upload: Upload,
        produced: Produced | None,
        mismatch: list[dict[str, Any]],
    ) -> Job:
        await asyncio.to_thread(upload.discard)
        failed = await self._store.fail(
            job.id,
            claim_token=claim_token,
            error="The video is not what was promised: " + "; ".join(item["message"] for item in mismatch),
            code=ErrorCode.OUTPUT_MISMATCH,
            now=self.clock.now(),
            produced=produced,
            output_mismatch=mismatch,
        )
        self._worker_failed(failed)
        self.metrics.failed(failed)
        self.metrics.mismatched(mismatch)
        self._in_background(self._after_completion(failed))
        self._changed()
        await self._finished(failed)
        return failed

    async def _after_completion(self, job: Job) -> None:
        await self._storage.delete_source(job.id)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def fail(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        error: str,
        code: ErrorCode,
        retriable: bool = True,
        retry_after: float | None = None,
    ) -> Job:
        """End the worker's attempt. The retry policy sends it back to the queue for another worker, or it fails
        (docs/retries.md); `retriable` False (a report without a code) always fails it. A rate limit rests the
        worker: `retry_after` seconds, else what the message names, else exponential from a minute."""
        now = self.clock.now()
        job = await self._store.fail(
            job_id,
            claim_token=claim_token,
            error=error,
            code=code,
            now=now,
            retry=(lambda failed: self._retry_until(failed, code, now)) if retriable else None,
        )
        worker_id = job.attempt_log[-1]["worker_id"] if job.attempt_log else job.worker_id
        if code is ErrorCode.RATE_LIMITED:
            self._rest(worker_id, error, now, retry_after)
        await self._attempt_ended(job, worker_id, code.value, error, now)
        return job

    def _retry_until(self, job: Job, code: ErrorCode, now: float) -> float | None:
        """Until when a failed attempt waits for another worker, if it is retried; None when it fails now: the
        policy says no, or no other worker that could make it is at work (so it never waits for no one)."""
        if not self.retry_policy.retries(job, code):
            return None
        wanted = frozenset(job.needs)
        # A moderation is the prompt's, not the worker's: the same worker may try again at once.
        tried = set() if code is ErrorCode.MODERATED else {job.worker_id, *job.avoid_workers}
        # At work: online as /workers says, i.e. inside a long poll, polling now and then (a worker that polls
        # without waiting, as the founding document's does), or holding a job and heard from within a lease (one
        # whose lease ran out as well, gone with a dead replica say, is not).
        for info in self.workers.online(now):
            if info.worker_id in tried or not wanted <= info.tokens:
                continue
            if info.current_job_id and not info.polling and now - info.last_seen >= self.lease_seconds:
                continue
            if self.workers.cooling_until(info.worker_id, now) is None:
                return now if code is ErrorCode.MODERATED else now + self.retry_policy.other_worker_seconds
        return None

    def rest(self, worker_id: str, message: str, *, retry_after: float | None = None) -> None:
        """Rest a worker Grok rate-limited whose report could not be applied to its job (docs/retries.md)."""
        self.workers.seen(worker_id, self.clock.now())  # the report is contact: known, even if it was forgotten
        self._rest(worker_id, message, self.clock.now(), retry_after)
        self._changed()

    def _rest(self, worker_id: str | None, message: str, now: float, retry_after: float | None) -> None:
        named = retry_after if retry_after is not None else named_wait(message)
        settings = self.settings
        until = self.workers.rate_limited(
            worker_id,
            until=lambda streak: (
                now
                + cooldown_seconds(
                    named=named,
                    streak=streak,
                    base=settings.rate_limit_cooldown_seconds,
                    cap=settings.rate_limit_cooldown_max_seconds,
                )
            ),
            reason=message[:200],
        )
        if until is not None:
            log.warning("worker %s rate-limited: no jobs for it for %.0f s", worker_id, until - now)

    async def _attempt_ended(self, job: Job, worker_id: str | None, code: str, error: str, now: float) -> None:
        """After a failed attempt: the worker's record, metrics, and what follows a retry or a failure."""
        self.workers.failed(worker_id, job.id, WorkerError(job.id, code, error, now, owner=job.owner))
        if job.status is JobStatus.PENDING:
            self.metrics.retried(code)
            log.info("job %s: attempt %d failed (%s); back in the queue", job.id, job.attempts, code)
            self._job_waiting()
            self._changed()
            return
        self.metrics.failed(job)
        await self._storage.delete_source(job.id)
        self._changed()
        await self._finished(job)

    async def _finished(self, job: Job) -> None:
        """Run the on_finished hooks, in the background, for a job that reached a terminal state."""
        if job.status.terminal:
            for hook in self.on_finished:
                self._in_background(_logged(hook, job))

    def _worker_failed(self, job: Job) -> None:
        error = WorkerError(
            job.id, job.error_code or "worker_error", job.error or "", job.completed_at or 0.0, owner=job.owner
        )
        self.workers.failed(job.worker_id, job.id, error)

    # -- maintenance ------------------------------------------------------------------------

    async def fail_stale(self) -> list[Job]:
        """End the attempts whose worker went silent past the lease: retried on another worker at work, or
        failed (`timeout`)."""
        minutes = self.settings.job_timeout_seconds / 60
        now = self.clock.now()
        error = f"Worker stopped responding: no progress report for {minutes:g} minutes"
        jobs = await self._store.fail_stale(
            now=now, error=error, retry=lambda job: self._retry_until(job, ErrorCode.TIMEOUT, now)
        )
        for job in jobs:
            worker_id = job.attempt_log[-1]["worker_id"] if job.attempt_log else job.worker_id
            log.warning("job %s: worker %s went silent (%s)", job.id, worker_id, job.status.value)
            await self._attempt_ended(job, worker_id, ErrorCode.TIMEOUT.value, error, now)
        return jobs

    async def fail_unmatched(self) -> list[Job]:
        """Start the clock of queued jobs no connected worker can make; fail those past NO_CAPABLE_WORKER_SECONDS."""
        now = self.clock.now()
        connected = [info.tokens for info in self.workers.recent(now)]
        reasons: dict[tuple[str, ...], str] = {}
        for waiting in await self._store.waiting_needs():
            reason = waiting_reason(waiting, connected)
            if reason is not None:
                reasons[tuple(waiting)] = reason
        await self._store.mark_unmatched([list(needs) for needs in reasons], now=now)
        limit = self.settings.no_capable_worker_seconds
        failed: list[Job] = []
        for needs, reason in reasons.items():
            error = f"No connected worker could make this job for {limit:g} s: it was {reason}"
            failed += await self._store.fail_unmatched(list(needs), before=now - limit, now=now, error=error)
        for job in failed:
            self.metrics.failed(job)
            await self._storage.delete_source(job.id)
            log.warning("job %s failed: %s", job.id, job.error)
            await self._finished(job)
        self._changed(len(failed))
        return failed

    async def expire_videos(self) -> list[str]:
        now = self.clock.now()
        expired: list[str] = []
        while True:
            batch = await self._store.expire_videos(
                cutoff=now - self.settings.max_video_age_seconds, now=now, limit=500
            )
            for job_id in batch:
                await self._storage.delete(job_id)
            expired.extend(batch)
            self._changed(len(batch))
            if len(batch) < 500:
                return expired

    async def sweep_orphans(self) -> int:
        """Remove temp files (uploads, thumbnails) and files no job needs any more (left by a crash, expiry or
        deletion)."""
        removed = await self._storage.sweep_temp()
        on_disk = await self._storage.file_ids()
        for start in range(0, len(on_disk), 500):
            batch = on_disk[start : start + 500]
            live = await self._store.jobs_keeping_files(batch)
            for job_id in batch:
                if job_id not in live:
                    await self._storage.delete(job_id)
                    removed += 1
        return removed


async def _logged(hook: Callable[[Job], Awaitable[None]], job: Job) -> None:
    try:
        await hook(job)
    except Exception:
        log.exception("after job %s finished: %s failed", job.id, getattr(hook, "__qualname__", hook))


OPTION_PARAMS = ("size", "aspect_ratio", "resolution", "seconds", "duration", "mode", "quality")


def capable_of(kind: list[str], connected: list[WorkerInfo]) -> list[Abilities]:
    """What the connected workers that can make this kind of job declared; options are matched to it."""
    wanted = frozenset(kind)
    return [info.abilities or DEFAULT_ABILITIES for info in connected if wanted <= info.tokens]


class KeyedLock:
    """One asyncio.Lock per key, dropped when no one holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def encode_cursor(seq: int) -> str:
    return f"c{seq}"


def decode_cursor(cursor: str) -> int:
    if re.fullmatch(r"c[0-9]{1,18}", cursor):
        return int(cursor[1:])
    raise InvalidRequest("cursor is not one this server handed out", param="cursor", code="invalid_cursor")
