"""The worker protocol: what the browser extension (or any worker) calls."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import ClientDisconnect

from .. import __version__
from ..domain.abilities import (
    ABILITY_FIELDS,
    DEFAULT_ABILITIES,
    VOCABULARY,
    Abilities,
    parse_abilities,
    parse_modes,
)
from ..domain.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from ..domain.jobs import WORKER_CODES, Claim, ErrorCode, Job, JobStatus, Media
from .auth import require_worker
from .common import LARGE_BODY, base_url, image_list, json_body, log_info, read_json, service, video_url
from .openapi import answers, files
from .schemas import bodies
from .schemas.worker import ClaimedJob, CompletionAccepted, FailureRecorded, Hello, ProgressAccepted
from .uploads import VideoForm, multipart_boundary, read_video_form
from .videos import serve_stored

log = logging.getLogger("grok_imagine_api")

router = APIRouter(prefix="/extension", dependencies=[Depends(require_worker)])

# An upload that takes long keeps its lease alive by itself, this often.
UPLOAD_TOUCH_SECONDS = 15.0
WORKER_ERROR_CODES = ", ".join(sorted(WORKER_CODES))
GROK_POST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
GROK_POST_LINK = re.compile(r"https?://[^/?#]+/(?:[^?#]*/)?post/([A-Za-z0-9][A-Za-z0-9_-]{0,99})/?(?:[?#].*)?")
GROK_POST_URL = "https://grok.com/imagine/post/{}"
REPORT_NOTES = {
    404: "Unknown job",
    409: "A report that does not fit the job: not processing, cancelled, or under another or an expired lease",
}
MODE_VALUES = ("video", "image", "video,image", "image,video", "any")
POLL_NOTES = {204: "No job came within `wait` (or the server is shutting down)"}


def claim_body(request: Request, claim: Claim) -> dict[str, Any]:
    job = claim.job
    svc = service(request)
    return {
        "job_id": job.id,
        "prompt": job.prompt,
        "image": base64.b64encode(claim.image.data).decode("ascii") if claim.image else None,
        "image_mime": claim.image.mime if claim.image else None,
        "model": job.model,
        "options": job.options.to_dict(),
        "claim_token": job.claim_token,
        "lease_expires_at": job.lease_expires_at,
        "lease_seconds": svc.lease_seconds,
        "attempt": job.attempts,
        "video_url": video_url(request, job.id) if job.media is Media.VIDEO else None,
        "kind": job.kind.value,
        "media": job.media.value,
        "n": job.n,
        "source_job_id": job.source_job_id,
        "source_video_url": source_video_url(request, job),
        "upscale": job.wants_hd,  # upload Grok's HD upscale too, as the file part video_hd (docs/hd.md)
        "source_grok_post_id": claim.source_grok_post_id,
        "source_grok_post_url": GROK_POST_URL.format(claim.source_grok_post_id) if claim.source_grok_post_id else None,
    }


def source_video_url(request: Request, job: Job) -> str | None:
    """Where a remix, extension or edit's worker downloads the video it starts from: always this server (an
    external URL was fetched and checked when the job was made)."""
    if job.source_job_id is not None or job.source_size is not None:
        return f"{base_url(request)}/extension/jobs/{job.id}/source"
    return None


def render_claim(claim: Claim, request: Request) -> bytes:
    return json.dumps(claim_body(request, claim)).encode()


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.get(
    "/hello",
    summary="Check the server and the worker token without claiming anything",
    response_model=None,
    responses=answers(Hello, 401, 503),
)
async def hello(request: Request) -> dict[str, Any]:
    svc = service(request)
    counts = await svc.counts()
    return {
        "service": "grok-imagine-api",
        "version": __version__,
        "queued": counts.get(JobStatus.PENDING, 0),
        "lease_seconds": svc.lease_seconds,
        "max_poll_wait_seconds": svc.settings.max_poll_wait_seconds,
        "default_abilities": DEFAULT_ABILITIES.to_dict(),
    }


def listing(field: str) -> dict[str, Any]:
    """A comma-separated list of the field's vocabulary, as the schema of a query parameter."""
    return {"json_schema_extra": comma_separated(field)}


def comma_separated(field: str) -> dict[str, Any]:
    word = "(" + "|".join(re.escape(str(value)) for value in VOCABULARY[field]) + ")"
    return {"type": "string", "pattern": f"^{word}?(,{word})*$"}


# parse_abilities checks declarations (400 invalid_abilities); the schema only tells.
ABILITIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        field: {
            "anyOf": [
                {"type": "array", "items": {"enum": list(values)}},
                comma_separated(field),
                {"type": "null"},
            ]
        }
        for field, values in VOCABULARY.items()
    },
}


def declared(values: dict[str, Any]) -> Abilities | None:
    """The abilities a poll declares, or None when it declares none (the last declaration stands)."""
    present = {name: values[name] for name in ABILITY_FIELDS if values.get(name) is not None}
    return parse_abilities(present) if present else None


@router.get(
    "/poll",
    response_model=None,
    summary="Claim the oldest pending job this worker can make (204: none)",
    responses=answers(ClaimedJob, 204, 400, 401, 503, notes=POLL_NOTES),
)
async def poll(
    request: Request,
    client_id: str | None = Query(None, max_length=200),
    version: str | None = Query(None, max_length=100, description="the worker's own version, shown to operators"),
    mode: str = Query("video", json_schema_extra={"enum": list(MODE_VALUES)}),
    wait: float = Query(0, ge=0, description="Long-poll: seconds to wait for a job (capped at 30)"),
    # parse_abilities checks these (400 invalid_abilities); the schema only tells.
    kinds: str | None = Query(None, description="text_to_video,image_to_video,extend,remix,edit", **listing("kinds")),
    sources: str | None = Query(
        None, description="where extends, remixes and edits may start from: grok,upload", **listing("sources")
    ),
    durations: str | None = Query(None, description="seconds, e.g. 6,10", **listing("durations")),
    aspect_ratios: str | None = Query(None, description="e.g. 16:9,9:16,1:1", **listing("aspect_ratios")),
    resolutions: str | None = Query(None, description="480p,720p", **listing("resolutions")),
    presets: str | None = Query(None, description="normal,fun,spicy,custom", **listing("presets")),
    features: str | None = Query(None, description="upscale (Grok's HD upscale)", **listing("features")),
) -> Response | dict[str, Any]:
    abilities = declared(
        {
            "kinds": kinds,
            "sources": sources,
            "durations": durations,
            "aspect_ratios": aspect_ratios,
            "resolutions": resolutions,
            "presets": presets,
            "features": features,
        }
    )
    return await claim_for(request, client_id, version, mode, wait, abilities)


class PollRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    client_id: str | None = Field(None, max_length=200)
    version: str | None = Field(None, max_length=100)
    mode: str = Field("video", json_schema_extra={"enum": list(MODE_VALUES)})  # the media it takes now
    wait: float = Field(0, ge=0, strict=True)  # a JSON number: not "5", not false
    abilities: dict[str, Any] | None = Field(
        None,
        description=f"Lists of what this worker can make: {', '.join(ABILITY_FIELDS)}",
        json_schema_extra={"anyOf": [ABILITIES_SCHEMA, {"type": "null"}]},
    )


@router.post(
    "/poll",
    response_model=None,
    summary="Declare abilities and claim a job (the JSON form of GET /extension/poll)",
    openapi_extra=json_body(PollRequest),
    responses=answers(ClaimedJob, 204, 400, 401, 413, 503, notes=POLL_NOTES),
)
async def poll_with_abilities(request: Request) -> Response | dict[str, Any]:
    body = await read_json(request, PollRequest)
    abilities = parse_abilities(body.abilities) if body.abilities is not None else None
    return await claim_for(request, body.client_id, body.version, body.mode, body.wait, abilities)


async def claim_for(
    request: Request,
    client_id: str | None,
    version: str | None,
    mode: str,
    wait: float,
    abilities: Abilities | None,
) -> Response | dict[str, Any]:
    modes = parse_modes(mode)
    svc = service(request)
    worker_id = reporter(request, client_id)
    polling = asyncio.ensure_future(
        svc.poll(worker_id=worker_id, wait=wait, version=version, abilities=abilities, modes=modes)
    )
    if wait > 0:
        # A worker that hangs up while waiting must not be handed a job it will never see.
        hangup = asyncio.ensure_future(_wait_for_disconnect(request))
        await asyncio.wait({polling, hangup}, return_when=asyncio.FIRST_COMPLETED)
        hung_up = hangup.done()
        hangup.cancel()
        if not polling.done():
            polling.cancel()
            return Response(status_code=204)
        if hung_up and (claim := polling.result()) is not None:
            await svc.release(claim)
            return Response(status_code=204)
    claim = await polling
    if claim is None:
        return Response(status_code=204)
    log_info(request, job_id=claim.job.id, status=claim.job.status.value)
    if claim.image is not None and len(claim.image.data) > LARGE_BODY // 2:
        # Encoding a large image takes milliseconds: do it beside the event loop, not on it.
        body = await asyncio.to_thread(render_claim, claim, request)
        return Response(body, media_type="application/json")
    return claim_body(request, claim)


class ProgressReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=100)
    claim_token: str | None = Field(None, max_length=200)
    client_id: str | None = Field(None, max_length=200, description="As in the poll; checked when no claim_token")
    progress: int | None = Field(None, ge=0, le=100)
    message: str | None = Field(None, max_length=1000)

    @field_validator("progress", mode="before")
    @classmethod
    def _json_integer(cls, value: object) -> object:
        """A JSON integer (17 or 17.0), not "17" or true, which pydantic would otherwise take."""
        if isinstance(value, bool | str):
            raise ValueError("must be a whole number")
        return value


@router.post(
    "/progress",
    summary="Report progress and extend the lease",
    openapi_extra=json_body(ProgressReport),
    response_model=None,
    responses=answers(ProgressAccepted, 400, 401, 404, 409, 413, 503, notes=REPORT_NOTES),
)
async def progress(request: Request) -> dict[str, Any]:
    body = await read_json(request, ProgressReport)
    log_info(request, job_id=body.job_id, payload=body.model_dump(exclude_none=True, exclude={"claim_token"}))
    svc = service(request)
    await svc.fence(body.job_id, claim_token=body.claim_token, reporter=reporter(request, body.client_id))
    job = await svc.progress(body.job_id, claim_token=body.claim_token, progress=body.progress)
    log_info(request, status=job.status.value)
    return {
        "job_id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "lease_expires_at": job.lease_expires_at,
        "cancelled": job.cancelled,
    }


@router.get(
    "/jobs/{job_id}/source",
    summary="Download the source video of a remix, extension or edit job",
    response_class=Response,
    responses=answers(files("video/mp4"), 206, 304, 400, 401, 404, 416, 503, notes={404: "Unknown job, or no source"}),
)
async def job_source(request: Request, job_id: str) -> Response:
    log_info(request, job_id=job_id)
    svc = service(request)
    job = await svc.get(job_id)
    stored = await svc.source_video(job)
    if stored is None:
        raise NotFound(f"Job {job.id} has no source video here", param="job_id", code="source_not_found")
    # Streamed even under S3_DELIVERY=redirect: the extension may fetch from this server's origin only.
    return await serve_stored(request, stored, "video/mp4", redirect=False)


@router.post(
    "/complete",
    summary="Upload the finished MP4 (multipart: job_id, video)",
    response_model=None,
    responses=answers(
        CompletionAccepted,
        400,
        401,
        404,
        409,
        413,
        415,
        503,
        507,
        notes={
            **REPORT_NOTES,
            413: "The video is over MAX_UPLOAD_BYTES, or the form fields beside it over 64 KiB",
            415: "Not a multipart body, or the video is not an MP4 that can be read (not_mp4, invalid_video)",
        },
    ),
    openapi_extra=bodies.worker_upload(),
)
async def complete(request: Request) -> dict[str, Any]:
    svc = service(request)
    limit = svc.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    # Two videos at most: the video and, for a job that asked for HD, `video_hd` (each within the limit).
    if declared is not None and declared.isdigit() and int(declared) > 2 * limit + MAX_FORM_OVERHEAD:
        raise PayloadTooLarge(
            f"Upload is larger than the limit of {limit} bytes (MAX_UPLOAD_BYTES)",
            param="video",
            code="video_too_large",
        )
    form = VideoForm(
        boundary=multipart_boundary(request.headers.get("content-type")),
        file_field="video",
        max_bytes=limit,
        open_upload=svc.begin_upload,
        max_image_bytes=svc.settings.max_image_bytes,
        hd_field="video_hd",
    )
    form.job_id_in_query = bool(request.query_params.get("job_id"))
    checked: str | None = None
    last_touch = time.monotonic()

    def ids() -> tuple[str | None, str | None]:
        # Text fields before the file part arrive first; the query string works for any order.
        job_id = form.fields.get("job_id") or request.query_params.get("job_id")
        token = form.fields.get("claim_token") or request.query_params.get("claim_token")
        return job_id, token

    async def on_chunk(form: VideoForm) -> None:
        nonlocal checked, last_touch
        job_id, token = ids()
        started = form.upload is not None or form.hd_upload is not None or bool(form.images)
        if job_id and checked is None and started:
            # Once a file part began, the text fields before it (claim_token, client_id) are all in.
            log_info(request, job_id=job_id)
            client = form.fields.get("client_id") or request.query_params.get("client_id")
            await svc.fence(job_id, claim_token=token, reporter=reporter(request, client))
            # Starting an upload is worker contact: it checks the lease and renews it.
            await svc.renew_lease(job_id, claim_token=token)
            checked = job_id
            last_touch = time.monotonic()
        if (
            checked
            and (form.upload or form.hd_upload) is not None
            and time.monotonic() - last_touch > UPLOAD_TOUCH_SECONDS
        ):
            await svc.renew_lease(checked, claim_token=token)
            last_touch = time.monotonic()

    try:
        await read_video_form(request.stream(), form, on_chunk)
    except ClientDisconnect:
        raise InvalidRequest("Client disconnected during the upload", code="client_disconnected") from None
    job_id, token = ids()
    try:
        if not job_id:
            raise InvalidRequest("Missing form field 'job_id'", param="job_id", code="missing_parameter")
        log_info(request, job_id=job_id)
        client = form.fields.get("client_id") or request.query_params.get("client_id")
        await svc.fence(job_id, claim_token=token, reporter=reporter(request, client))
        if form.images:
            if form.upload is not None or form.hd_upload is not None:
                raise InvalidRequest("Send a video or images, not both", param="image", code="invalid_upload")
            return await complete_images(request, job_id, token, [bytes(image) for image in form.images])
        if form.upload is None:
            raise InvalidRequest("Missing file part 'video' (or 'image')", param="video", code="missing_parameter")
        post = grok_post_id(form.fields.get("grok_post_id") or request.query_params.get("grok_post_id"))
        job = await svc.complete(job_id, claim_token=token, upload=form.upload, grok_post_id=post, hd=form.hd_upload)
    except BaseException:
        form.discard()
        raise
    log_info(
        request,
        status=job.status.value,
        video_size=job.video_size,
        job_duration=round((job.completed_at or job.updated_at) - job.created_at, 3),
        payload={"job_id": job_id, "video": {"filename": form.filename, "size": job.video_size}},
    )
    answer: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status.value,
        "video_url": video_url(request, job.id) if job.has_video else None,
        "video_size": job.video_size,
    }
    if job.has_hd:
        answer.update(video_hd_url=video_url(request, job.id, hd=True), video_hd_size=job.hd_size)
    if job.output_mismatch:  # the video is not what was promised: said to the worker too
        answer.update(error_code=job.error_code, output_mismatch=job.output_mismatch)
    return answer


MAX_FORM_OVERHEAD = 1024 * 1024


async def complete_images(request: Request, job_id: str, token: str | None, images: list[bytes]) -> dict[str, Any]:
    job = await service(request).complete_images(job_id, claim_token=token, images=images)
    log_info(
        request,
        status=job.status.value,
        job_duration=round((job.completed_at or job.updated_at) - job.created_at, 3),
        payload={"job_id": job_id, "images": [{"size": len(image)} for image in images]},
    )
    return {
        "job_id": job.id,
        "status": job.status.value,
        "video_url": None,
        "video_size": None,
        "images": image_list(request, job),
    }


def grok_post_id(value: str | None) -> str | None:
    """The post a video came from: its id, or a link such as https://grok.com/imagine/post/{id}. Anything else
    is dropped with a warning: a finished video is never refused for an optional field."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if GROK_POST_ID.fullmatch(value):
        return value
    match = GROK_POST_LINK.fullmatch(value)
    if match is None:
        log.warning("ignoring a grok_post_id that is neither a post id nor a link to a post: %r", value[:200])
        return None
    return match.group(1)


def reporter(request: Request, client_id: str | None) -> str:
    """Who a worker is: the client_id it sends, else its address (the founding document's workers send none)."""
    return client_id or f"anonymous@{request.client.host if request.client else 'unknown'}"


def seconds_or_none(value: object) -> float | None:
    """A wait a worker read from the page, kept within a day; anything that is not a number is dropped (a failure
    report is never refused for an optional field)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return min(max(float(value), 0.0), 86400.0)


class ErrorReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=100)
    error: str | None = Field(None, description="What went wrong, for people")
    code: str | None = Field(
        None, max_length=100, description=f"One of: {WORKER_ERROR_CODES}; others count as worker_error"
    )
    claim_token: str | None = Field(None, max_length=200)
    client_id: str | None = Field(None, max_length=200, description="As in the poll; checked when no claim_token")
    retry_after_seconds: Any = Field(
        None,
        description="With code rate_limited: how long Grok said to wait, if the worker read it (docs/retries.md); "
        "taken as 0 to 86400 seconds",
    )

    def message(self) -> str:
        # A failure report is never refused for its wording: losing the reason would be worse.
        text = (self.error or "").strip() or "The worker reported a failure without a message"
        if self.code and self.error_code() is ErrorCode.WORKER_ERROR and self.code != ErrorCode.WORKER_ERROR:
            text = f"{text} (worker code: {self.code})"
        return text[:MAX_ERROR_CHARS]

    def error_code(self) -> ErrorCode:
        """A code workers may send; any other (including the server's own codes) counts as worker_error."""
        if self.code in WORKER_CODES:
            return ErrorCode(self.code)
        return ErrorCode.WORKER_ERROR


MAX_ERROR_CHARS = 4000


@router.post(
    "/error",
    summary="Report that a job failed",
    openapi_extra=json_body(ErrorReport),
    response_model=None,
    responses=answers(FailureRecorded, 400, 401, 404, 409, 413, 503, notes=REPORT_NOTES),
)
async def report_error(request: Request) -> dict[str, Any]:
    body = await read_json(request, ErrorReport)
    log_info(request, job_id=body.job_id, payload=body.model_dump(exclude_none=True, exclude={"claim_token"}))
    svc = service(request)
    try:
        await svc.fence(body.job_id, claim_token=body.claim_token, reporter=reporter(request, body.client_id))
        # A report without a code (the founding document's form) fails the job: whether a retry is safe is unknown.
        job = await svc.fail(
            body.job_id,
            claim_token=body.claim_token,
            error=body.message(),
            code=body.error_code(),
            retriable=body.code is not None,
            retry_after=seconds_or_none(body.retry_after_seconds),
        )
    except Conflict:
        # The job is no longer the worker's (its lease ran out, say), but Grok's rate limit is still on its
        # account: a worker that names itself rests all the same.
        if body.client_id and body.error_code() is ErrorCode.RATE_LIMITED:
            svc.rest(body.client_id, body.message(), retry_after=seconds_or_none(body.retry_after_seconds))
        raise
    retried = job.status is JobStatus.PENDING
    log_info(
        request,
        status=job.status.value,
        error_code=job.error_code,
        retried=retried,
        job_duration=round((job.completed_at or job.updated_at) - job.created_at, 3),
    )
    worker = job.attempt_log[-1]["worker_id"] if job.attempt_log else None
    return {
        "job_id": job.id,
        "status": job.status.value,
        "error": job.error,
        "error_code": job.error_code,
        "retried": retried,
        "attempts": job.attempts,
        "cooldown_until": svc.workers.cooling_until(worker, svc.clock.now()) if worker else None,
    }
