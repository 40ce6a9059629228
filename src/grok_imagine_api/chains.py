"""Long videos (docs/long-videos.md): a video longer than one generation is made as a chain of child jobs, a
generation and then extends of it on Grok, and joined into the parent's one MP4. The parent is never claimed:
it is `processing`, without a lease, from its creation until its last step is joined or a step fails."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import av

from .domain.abilities import DEFAULT_ABILITIES, Abilities
from .domain.errors import InvalidRequest
from .domain.jobs import UPSCALE_NEED, ErrorCode, Job, JobKind, JobStatus, Media, validate_prompt
from .domain.options import from_options
from .domain.output import check_output
from .domain.segments import (
    APPENDED,
    Outcome,
    join_step,
    overall_progress,
    parse_segments,
    pieces,
    plan_explicit,
    plan_total,
)
from .files import media
from .files.storage import VideoStorage
from .service import JobRequest, JobService, KeyedLock, capable_of
from .store.base import JobStore
from .worker.registry import WorkerInfo

log = logging.getLogger("grok_imagine_api")

EXTEND_FROM_GROK = frozenset({"kind:extend", "source:grok"})
COPY_CHUNK = 1 << 20
FIRST = "first"
CONFLICT_TRIES = 5
# The longest a single generation's API lets a client ask for (xAI's `duration` is 1-15 s, the OpenAI SDK's
# `seconds` at most "12"): up to it, a chain is made only with a connected worker that extends; past it, also
# while no worker is connected at all.
SINGLE_ASK_SECONDS = 15


class Chains:
    """Plans long videos at create, and moves each chain on as its steps progress and finish."""

    def __init__(self, service: JobService, store: JobStore, storage: VideoStorage) -> None:
        self._svc = service
        self._store = store
        self._storage = storage
        self._locks = KeyedLock()  # one step of a chain at a time, in this process

    def install(self) -> None:
        self._svc.planner = self.plan
        self._svc.on_created.append(self.created)
        self._svc.on_progress.append(self.progressed)
        self._svc.on_finished.append(self.finished)
        self._svc.sweeps.append(self.sweep)

    # -- create -----------------------------------------------------------------------------

    def plan(self, request: JobRequest, kind: list[str], connected: list[WorkerInfo]) -> Outcome:
        """Whether a create is made as a chain: explicit `segments` always are; a length beyond the longest a
        capable connected worker makes is, when a connected worker can extend from Grok, or, past what a single
        generation's API asks for, when no worker is connected yet to say."""
        if request.kind is not JobKind.GENERATE or request.media is not Media.VIDEO:
            if request.segments is not None:
                raise InvalidRequest("segments are for new videos only", param="segments")
            return Outcome(request.asked)
        capable = capable_of(kind, connected) or [DEFAULT_ABILITIES]
        extenders = [
            info.abilities or DEFAULT_ABILITIES
            for info in connected
            if EXTEND_FROM_GROK | frozenset(kind) <= info.tokens
        ]
        prompt = request.prompt.strip()
        if request.segments is not None:
            asks = parse_segments(request.segments, prompt)
            for index, segment in enumerate(asks):
                validate_prompt(
                    segment.prompt or "",
                    max_chars=self._svc.settings.max_prompt_chars,
                    param=f"segments[{index}].prompt",
                )
            refuse_hd(kind, "segments")
            return Outcome(replace(request.asked, duration=None), plan_explicit(asks, _durations(extenders or capable)))
        ask = request.asked.duration
        if ask is None or not ask.explicit or int(ask.value) <= max(_durations(capable)):
            return Outcome(request.asked)
        if not extenders and (connected or int(ask.value) <= SINGLE_ASK_SECONDS):
            reason = "no chain was made: no connected worker can extend videos from Grok"
            return Outcome(request.asked, reason=reason, param=ask.param)
        refuse_hd(kind, ask.param)
        plan = plan_total(prompt, ask, _durations(extenders or capable))
        if not extenders:
            # No worker connected yet, and longer than any single generation's API asks for: only a chain comes
            # near it (the extension declares Extend from its start); the extends wait for a worker that can.
            wait = "; no worker is connected yet: the extends wait for one that can extend videos from Grok"
            plan = replace(plan, adjustments=[replace(a, message=a.message + wait) for a in plan.adjustments])
        return Outcome(replace(request.asked, duration=None), plan)

    async def created(self, job: Job) -> None:
        if job.chain is not None:
            async with self._locks.hold(job.id):
                await self._advance(job, None)

    # -- steps ------------------------------------------------------------------------------

    async def progressed(self, child: Job) -> None:
        assert child.parent_id is not None
        async with self._locks.hold(child.parent_id):
            parent = await self._store.get(child.parent_id)
            if parent is None or parent.status is not JobStatus.PROCESSING or parent.chain is None:
                return
            chain = copy.deepcopy(parent.chain)
            for segment in chain["segments"]:
                if segment["job_id"] == child.id and segment["status"] not in ("completed", "failed"):
                    segment["status"] = child.status.value
                    segment["progress"] = max(segment["progress"] or 0, child.progress)
            await self._save(parent, chain)

    async def finished(self, job: Job) -> None:
        if job.chain is not None:
            await self._stop_children(job)
        elif job.parent_id is not None:
            async with self._locks.hold(job.parent_id):
                # The parent's segments may change under us (another replica's progress write): read them again
                # and go on, rather than leave the chain to the next sweep.
                for _ in range(CONFLICT_TRIES):
                    parent = await self._store.get(job.parent_id)
                    if parent is None or _recorded(parent, job) or await self._advance(parent, job):
                        return  # gone, moved on by whoever recorded the step's end, or moved on now
                log.info("long video %s: its segments kept changing; the sweep moves it on", job.parent_id)

    async def sweep(self) -> int:
        """Move on the chains whose last step ended while no one was listening (a restart): each is advanced as
        if its step had just finished. Returns how many were moved on."""
        moved = 0
        for parent in await self._store.active_chains():
            assert parent.chain is not None
            started = [segment for segment in parent.chain["segments"] if segment["job_id"]]
            child = await self._store.get(started[-1]["job_id"]) if started else None
            if child is None or child.status.terminal:
                try:
                    async with self._locks.hold(parent.id):
                        fresh = await self._store.get(parent.id)
                        if fresh is not None:
                            await self._advance(fresh, child)
                except Exception:
                    log.exception("long video %s: could not move it on; trying again next round", parent.id)
                    continue
                moved += 1
        return moved

    async def _advance(self, parent: Job, child: Job | None) -> bool:
        """Record `child`'s end on the parent, then start the next step, join the video, or fail the parent.
        False when the parent's segments changed since it was read, and nothing was done."""
        if parent.status is not JobStatus.PROCESSING or parent.chain is None:
            return True
        chain = copy.deepcopy(parent.chain)
        segments: list[dict[str, Any]] = chain["segments"]
        if child is None:
            if segments[0]["job_id"] is None:
                await self._start(parent, chain, 0, None)
            return True
        index = next((i for i, segment in enumerate(segments) if segment["job_id"] == child.id), None)
        if index is None or not child.status.terminal:
            return True
        segment = segments[index]
        segment["status"] = child.status.value
        if child.status is JobStatus.FAILED:
            if await self._save(parent, chain) is None:
                return False
            await self._fail(parent, index, child)
            return True
        segment["progress"] = 100
        if segment["end"] is None:
            produced = child.produced.seconds if child.produced and child.produced.seconds else segment["seconds"]
            if index == 0:
                segment["joined"], segment["start"], segment["end"] = FIRST, 0.0, produced
            else:
                so_far = segments[index - 1]["end"] or 0.0
                segment["joined"], segment["start"], segment["end"] = join_step(so_far, segment["seconds"], produced)
        saved = await self._save(parent, chain)
        if saved is None:
            return False
        parent = saved
        if index + 1 < len(segments):
            if segments[index + 1]["job_id"] is None:
                await self._start(parent, chain, index + 1, child)
        else:
            await self._join(parent, chain, child)
        return True

    async def _start(self, parent: Job, chain: dict[str, Any], index: int, previous: Job | None) -> None:
        segment = chain["segments"][index]
        try:
            child = await self._svc.create(
                JobRequest(
                    prompt=segment["prompt"],
                    model=parent.model,
                    asked=from_options(replace(parent.options, duration=segment["seconds"])),
                    image=await self._svc.input_image(parent) if index == 0 else None,
                    dialect=parent.dialect,
                    owner=parent.owner,
                    kind=JobKind.GENERATE if previous is None else JobKind.EXTEND,
                    source_job_id=previous.id if previous else None,
                    requested={"parent_id": parent.id, "segment": index},
                    parent_id=parent.id,
                    max_attempts=parent.max_attempts,  # each step may be retried as the long video allows
                )
            )
        except InvalidRequest as exc:
            await self._end(parent, ErrorCode.SOURCE_UNAVAILABLE, f"Segment {index + 1} could not start: {exc.message}")
            return
        segment["job_id"], segment["status"] = child.id, child.status.value
        if await self._save(parent, chain) is None:
            # Another replica moved the chain on meanwhile (or it ended): this step is not needed.
            log.info("long video %s: segment %d was started elsewhere; cancelling %s", parent.id, index + 1, child.id)
            with contextlib.suppress(Exception):
                await self._svc.cancel(child.id)

    async def _save(self, parent: Job, chain: dict[str, Any]) -> Job | None:
        """Write the segments, unless they changed since `parent` was read (another replica moved the chain on, or
        reported progress): then None, and the caller leaves the chain to what changed it."""
        saved = await self._store.update_chain(
            parent.id,
            chain=chain,
            progress=overall_progress(chain["segments"]),
            now=self._svc.clock.now(),
            expected=parent.chain,
        )
        self._svc._changed()
        return saved

    async def _fail(self, parent: Job, index: int, child: Job) -> None:
        count = len(parent.chain["segments"]) if parent.chain else 0
        try:
            code = ErrorCode(child.error_code or ErrorCode.WORKER_ERROR)
        except ValueError:
            code = ErrorCode.WORKER_ERROR
        message = f"Segment {index + 1} of {count} ({child.id}) failed: {child.error or code.value}"
        await self._end(parent, code, message)

    async def _end(self, parent: Job, code: ErrorCode, message: str) -> None:
        failed = await self._store.fail(
            parent.id, claim_token=None, error=message, code=code, now=self._svc.clock.now()
        )
        self._svc.metrics.failed(failed)
        self._svc._changed()
        log.warning("long video %s failed: %s", parent.id, message)
        await self._svc._finished(failed)

    async def _join(self, parent: Job, chain: dict[str, Any], last: Job) -> None:
        """The whole video from its steps' videos: remuxed one after another, from the last step that already
        held the whole video so far; then stored as the parent's video and the parent completed."""
        ids = pieces(chain["segments"])
        upload = self._storage.begin_upload()
        try:
            async with contextlib.AsyncExitStack() as stack:
                paths = [await stack.enter_async_context(self._storage.local_copy(job_id)) for job_id in ids]
                if any(path is None for path in paths):
                    await asyncio.to_thread(upload.discard)
                    await self._end(parent, ErrorCode.NO_OUTPUT, "A segment's video went before it was joined")
                    return
                try:
                    await asyncio.to_thread(_joined_into, [path for path in paths if path is not None], upload.write)
                except (av.FFmpegError, ValueError, IndexError) as exc:
                    await asyncio.to_thread(upload.discard)
                    await self._end(parent, ErrorCode.NO_OUTPUT, f"The segments could not be joined: {exc}")
                    return
            await asyncio.to_thread(upload.finish)
            produced = await asyncio.to_thread(media.probe, upload.path)
            await self._storage.promote(upload, parent.id)
        except BaseException:
            await asyncio.to_thread(upload.discard)
            raise
        mismatch = check_output(parent, produced) if produced else None
        job = await self._store.complete(
            parent.id,
            claim_token=None,
            video_size=upload.size,
            now=self._svc.clock.now(),
            produced=produced,
            grok_post_id=last.grok_post_id,
            output_mismatch=mismatch or None,
        )
        self._svc.metrics.completed(job, 0)  # nothing was uploaded: the steps' uploads were counted
        self._svc._changed()
        appended = sum(1 for segment in chain["segments"] if segment["joined"] == APPENDED)
        log.info("long video %s: %d segments joined (%d appended)", job.id, len(chain["segments"]), appended)
        await self._svc._finished(job)

    async def _stop_children(self, parent: Job) -> None:
        """A cancelled parent cancels its running step; a deleted one deletes every step."""
        if parent.chain is None or (parent.status is JobStatus.COMPLETED and parent.deleted_at is None):
            return
        for segment in parent.chain["segments"]:
            if not segment["job_id"]:
                continue
            child = await self._store.get(segment["job_id"])
            if child is None or child.deleted_at is not None:
                continue
            if parent.deleted_at is not None:
                await self._svc.delete(child.id)
            elif not child.status.terminal:
                with contextlib.suppress(Exception):
                    await self._svc.cancel(child.id)


def refuse_hd(kind: list[str], param: str) -> None:
    """Grok upscales one post's video; a joined long video has none to upscale (docs/long-videos.md)."""
    if UPSCALE_NEED in kind:
        raise InvalidRequest(
            "HD upscale is not available for long videos (made as a chain of segments)",
            param=param,
            code="hd_not_available",
        )


def _recorded(parent: Job, child: Job) -> bool:
    """Whether the parent already has `child`'s end: whoever recorded it moves the chain on."""
    segments = parent.chain["segments"] if parent.chain else []
    return any(s["job_id"] == child.id and s["status"] in ("completed", "failed") for s in segments)


def _durations(workers: list[Abilities]) -> tuple[int, ...]:
    return tuple(sorted({duration for worker in workers for duration in worker.durations})) or (6, 10)


def _joined_into(paths: list[Path], write: Any) -> None:
    """Write the joined video through `write` (an upload's): one part is copied as it is, several remuxed."""
    with tempfile.TemporaryDirectory() as folder:
        source = paths[0]
        if len(paths) > 1:
            source = Path(folder) / "joined.mp4"
            media.concat(paths, source)
        with source.open("rb") as file:
            while chunk := file.read(COPY_CHUNK):
                write(chunk)
