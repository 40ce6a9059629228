"""Paths two dialects share: GET /v1/videos/{id} (OpenAI's retrieve, xAI's status), and POST
/v1/videos/extensions and /v1/videos/edits (OpenAI's multipart with a video file or `video[id]`, xAI's JSON
with `video.url`). Each job answers in the dialect that made it; the OpenAI SDK always gets OpenAI's shape."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..domain.errors import InvalidRequest
from ..domain.jobs import Dialect, Job, JobKind, Media
from ..domain.options import EXTENSION_DEFAULTS, EXTENSION_SECONDS, GENERATION_SECONDS, Asked, from_options
from ..service import JobRequest
from .auth import Viewer
from .common import base_url, log_info, service
from .forms import asked_from, model_of, nested, prompt_of, read_fields, requested
from .idempotency import idempotent
from .openai.responses import Video, openai_video, poll_headers, video_response
from .openapi import FETCHES, answers
from .schemas import bodies
from .uploads import VideoForm, multipart_boundary, read_video_form
from .xai.responses import XaiVideo, xai_video

router = APIRouter(prefix="/v1/videos")

_OWN_VIDEO = re.compile(r"/videos/(job_[0-9a-f]{24})\.mp4(\?.*)?")
DERIVED_ERRORS = (400, 401, 404, 409, 413, 415, 422, 503, 507)
DERIVED_NOTES = {
    **FETCHES,
    413: "An uploaded video over MAX_UPLOAD_BYTES, form fields beside it over 64 KiB, or a JSON body over "
    "MAX_REQUEST_BYTES",
    415: "A multipart body without a boundary, or a source video (uploaded or fetched) that is not an MP4 "
    "(not_mp4) or cannot be read as a video (invalid_video)",
}


def wants_openai(request: Request, job: Job) -> bool:
    """The OpenAI SDK always gets OpenAI's shape; otherwise a job answers in the dialect that made it."""
    if any(name.startswith("x-stainless-") for name in request.headers):
        return True
    return job.dialect is not Dialect.XAI


@router.get(
    "/{video_id}",
    summary="Retrieve a video (OpenAI's Video object, or xAI's answer for xAI jobs)",
    responses=answers(Video | XaiVideo, 401, 404, 503),
)
async def retrieve_video(request: Request, video_id: str, viewer: Viewer) -> Response:
    log_info(request, job_id=video_id)
    job = await service(request).get(video_id, viewer=viewer, param="video_id", media=Media.VIDEO)
    log_info(request, status=job.status.value)
    if wants_openai(request, job):
        return JSONResponse(openai_video(request, job), headers=poll_headers(request, job))
    return JSONResponse(xai_video(request, job))


def own_video(request: Request, url: str) -> str | None:
    """The job id of a video link this server handed out (its own host, or PUBLIC_BASE_URL); None for others."""
    base = base_url(request)
    if not url.startswith(base + "/"):
        return None
    match = _OWN_VIDEO.fullmatch(url[len(base) :])
    return match.group(1) if match else None


def derived_asked(fields: dict[str, Any], kind: JobKind, source: Job | None) -> Asked:
    """An extension adds `seconds` (OpenAI, 1..20) or `duration` (xAI, 2..10), 6 by default, in its source's
    shape; an edit keeps its source's options unless it names others."""
    extending = kind is JobKind.EXTEND
    asked = asked_from(fields, EXTENSION_SECONDS if extending else GENERATION_SECONDS)
    if extending:
        asked = asked.fill(**EXTENSION_DEFAULTS)
    if source is not None:
        base = from_options(source.options)
        asked = asked.over(replace(base, duration=None) if extending else base)
    return asked


async def _derived(request: Request, viewer: str | None, kind: JobKind) -> Response:
    """Extensions and edits: a prompt plus a source video, uploaded or named by id or URL."""
    svc = service(request)
    fields: dict[str, Any]
    form: VideoForm | None = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = VideoForm(
            boundary=multipart_boundary(request.headers.get("content-type")),
            file_field="video",
            max_bytes=svc.settings.max_upload_bytes,
            open_upload=lambda: svc.begin_upload(hashed=True),
        )

        async def nothing(_: VideoForm) -> None:
            return None

        await read_video_form(request.stream(), form, nothing)
        fields = dict(form.fields)
    else:
        fields, _ = await read_fields(request)
    try:
        source_id = nested(fields, "video", "id")
        source_url = nested(fields, "video", "url")
        dialect = Dialect.XAI if source_url is not None or "duration" in fields else Dialect.OPENAI
        if isinstance(source_url, str) and (own := own_video(request, source_url)):
            source_id, source_url = own, None
        if source_url is not None and not (
            isinstance(source_url, str) and source_url.startswith(("http://", "https://"))
        ):
            raise InvalidRequest("video.url must be an http(s) URL", param="video.url", code="invalid_video_url")
        if source_id is not None and not isinstance(source_id, str):
            raise InvalidRequest("video.id must be a string", param="video.id")
        upload = form.upload if form is not None else None
        if sum(x is not None for x in (upload, source_id, source_url)) != 1:
            raise InvalidRequest(
                "Give exactly one source video: a 'video' file part, video[id], or video.url",
                param="video",
                code="missing_parameter",
            )
        log_info(request, payload={**fields, "video_file": upload.size if upload else None})
        source_param = "video.url" if source_url is not None else "video"
        source = await svc.get(source_id, viewer=viewer, param=source_param, media=Media.VIDEO) if source_id else None
        job_request = JobRequest(
            prompt=prompt_of(fields),
            model=model_of(fields),
            asked=derived_asked(fields, kind, source),
            dialect=dialect,
            owner=viewer,
            kind=kind,
            source_job_id=source_id,
            source_url=source_url,
            source_upload=upload,
            requested=requested(fields),
            source_param=source_param,
        )

        async def run() -> Response:
            job = await svc.create(job_request)
            log_info(request, job_id=job.id, status=job.status.value)
            return video_response(request, job)

        parts = {"fields": fields, "video": upload.digest() if upload else None}
        return await idempotent(request, viewer, parts, run)
    finally:
        if form is not None:
            form.discard()  # a no-op once the upload became the job's source


@router.post(
    "/extensions",
    summary="Extend a video (OpenAI: multipart; xAI: JSON with video.url)",
    responses=answers(Video, *DERIVED_ERRORS, notes=DERIVED_NOTES),
    openapi_extra=bodies.derived(),
)
async def extend_video(request: Request, viewer: Viewer) -> Response:
    return await _derived(request, viewer, JobKind.EXTEND)


@router.post(
    "/edits",
    summary="Edit a video (OpenAI: multipart; xAI: JSON with video.url)",
    responses=answers(Video, *DERIVED_ERRORS, notes=DERIVED_NOTES),
    openapi_extra=bodies.derived(),
)
async def edit_video(request: Request, viewer: Viewer) -> Response:
    return await _derived(request, viewer, JobKind.EDIT)
