"""OpenAI's Videos API (`client.videos` of the official SDK) under /v1/videos, plus xAI's
GET /v1/videos/{request_id}, /v1/videos/extensions and /v1/videos/edits, which share these paths."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from ..domain.errors import InvalidRequest, NotFound
from ..domain.images import sniff_image_type
from ..domain.jobs import Dialect, GenerationOptions, InputImage, Job, JobKind
from ..domain.sizes import with_size_and_seconds
from ..service import JobRequest
from .auth import Viewer
from .common import log_info, parse_json_object, read_body, read_json_object, service
from .idempotency import idempotent
from .uploads import VideoForm, multipart_boundary, read_video_form
from .videos import serve_file, serve_video, video_unavailable
from .views import openai_video, xai_video

router = APIRouter(prefix="/v1/videos")

OPTION_FIELDS = ("aspect_ratio", "resolution", "duration", "mode")
VARIANTS = ("video", "thumbnail", "spritesheet")
MAX_LIST = 100
_OWN_VIDEO = re.compile(r"/videos/(job_[0-9a-f]{24})\.mp4(\?.*)?$")


def poll_headers(request: Request, job: Job) -> dict[str, str]:
    if job.status.terminal:
        return {}
    return {"openai-poll-after-ms": str(service(request).settings.poll_after_ms)}


def video_response(request: Request, job: Job) -> JSONResponse:
    body = openai_video(request, job)
    if job.dialect is Dialect.XAI:
        body["request_id"] = job.id
    return JSONResponse(body, headers=poll_headers(request, job))


def wants_openai(request: Request, job: Job) -> bool:
    """The OpenAI SDK always gets OpenAI's shape; otherwise a job answers in the dialect that made it."""
    if any(name.startswith("x-stainless-") for name in request.headers):
        return True
    return job.dialect is not Dialect.XAI


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise InvalidRequest(f"'{name}' must be a string", param=name)


def options_from(fields: dict[str, Any], base: GenerationOptions | None = None) -> GenerationOptions:
    base = base or GenerationOptions()
    duration = fields.get("duration")
    if duration is not None and not isinstance(duration, int):
        text = str(duration).strip()
        if not text.isdigit():
            raise InvalidRequest(f"duration must be a whole number of seconds, not {duration!r}", param="duration")
        duration = int(text)
    options = GenerationOptions(
        aspect_ratio=_text(fields, "aspect_ratio") or base.aspect_ratio,
        resolution=_text(fields, "resolution") or base.resolution,
        duration=duration if duration is not None else base.duration,
        mode=_text(fields, "mode") or base.mode,
    )
    return with_size_and_seconds(options, size=_text(fields, "size"), seconds=fields.get("seconds"))


def requested(fields: dict[str, Any]) -> dict[str, Any]:
    names = ("model", "seconds", "size", *OPTION_FIELDS)
    return {name: fields[name] for name in names if fields.get(name) not in (None, "")}


def prompt_of(fields: dict[str, Any]) -> str:
    prompt = fields.get("prompt")
    if prompt is None:
        raise InvalidRequest("Missing required parameter 'prompt'", param="prompt", code="missing_parameter")
    if not isinstance(prompt, str):
        raise InvalidRequest("'prompt' must be a string", param="prompt")
    return prompt


def nested(fields: dict[str, Any], name: str, key: str) -> Any:
    """`name[key]` as a form field, or {"name": {"key": ...}} in JSON."""
    if f"{name}[{key}]" in fields:
        return fields[f"{name}[{key}]"]
    value = fields.get(name)
    return value.get(key) if isinstance(value, dict) else None


async def read_fields(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fields and files of a multipart or url-encoded form, or the members of a JSON object body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw = await read_body(request, service(request).settings.max_request_bytes)
        if raw.lstrip().startswith(b"{"):  # curl -d '{...}' without a Content-Type is still JSON
            return await parse_json_object(raw), {}
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), {}
    if not content_type.startswith("multipart/form-data"):
        return await read_json_object(request), {}
    limit = service(request).settings.max_image_bytes
    try:
        form = await request.form(max_files=4, max_fields=100)
    except MultiPartException as exc:
        raise InvalidRequest(f"Malformed multipart body: {exc.message}", code="invalid_multipart") from None
    fields: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[name] = await value.read(limit + 1)
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, files


async def reference_image(request: Request, fields: dict[str, Any], files: dict[str, bytes]) -> str | InputImage | None:
    data = files.get("input_reference")
    if data is not None:
        limit = service(request).settings.max_image_bytes
        if len(data) > limit:
            raise InvalidRequest(
                f"Image is larger than the limit of {limit} bytes", param="input_reference", code="image_too_large"
            )
        mime = sniff_image_type(data)
        if mime is None:
            raise InvalidRequest(
                "input_reference must be a PNG, JPEG or WebP image",
                param="input_reference",
                code="unsupported_image_type",
            )
        return InputImage(data=data, mime=mime)
    if nested(fields, "input_reference", "file_id"):
        raise InvalidRequest(
            "input_reference.file_id is not supported (this server has no Files API); send the image as a file "
            "or as input_reference[image_url]",
            param="input_reference",
            code="unsupported_parameter",
        )
    url = nested(fields, "input_reference", "image_url")
    if url is None and isinstance(fields.get("input_reference"), str):
        url = fields["input_reference"]
    if url is not None and not isinstance(url, str):
        raise InvalidRequest("input_reference.image_url must be a string", param="input_reference")
    return url


@router.post("", summary="Create a video (OpenAI: multipart or JSON)")
async def create_video(request: Request, viewer: Viewer) -> Response:
    fields, files = await read_fields(request)
    image = await reference_image(request, fields, files)
    log_info(request, payload={**fields, "input_reference_file": bool(files.get("input_reference"))})
    job_request = JobRequest(
        prompt=prompt_of(fields),
        model=_text(fields, "model") or "grok",
        options=options_from(fields),
        image=image,
        dialect=Dialect.OPENAI,
        owner=viewer,
        requested=requested(fields),
        image_param="input_reference",
    )
    digest = hashlib.sha256(image.data).hexdigest() if isinstance(image, InputImage) else image

    async def run() -> Response:
        job = await service(request).create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return video_response(request, job)

    return await idempotent(request, viewer, {"fields": fields, "image": digest}, run)


@router.get("", summary="List videos")
async def list_videos(
    request: Request,
    viewer: Viewer,
    after: str | None = None,
    limit: int = Query(20, ge=1, le=MAX_LIST),
    order: str = Query("desc", pattern="^(asc|desc)$"),
) -> dict[str, Any]:
    svc = service(request)
    cursor = None
    if after:
        try:
            cursor = (await svc.get(after, viewer=viewer)).seq
        except NotFound:
            raise InvalidRequest(
                f"No video with id '{after}' to list after", param="after", code="invalid_cursor"
            ) from None
    ascending = order == "asc"
    jobs = await svc.store.list_jobs(
        status=None,
        limit=limit + 1,
        owner=viewer,
        ascending=ascending,
        after_seq=cursor if ascending else None,
        before_seq=None if ascending else cursor,
    )
    page = jobs[:limit]
    return {
        "object": "list",
        "data": [openai_video(request, job) for job in page],
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
        "has_more": len(jobs) > limit,
    }


@router.get("/{video_id}", summary="Retrieve a video (OpenAI's Video object, or xAI's answer for xAI jobs)")
async def retrieve_video(request: Request, video_id: str, viewer: Viewer) -> Response:
    log_info(request, job_id=video_id)
    job = await service(request).get(video_id, viewer=viewer, param="video_id")
    log_info(request, status=job.status.value)
    if wants_openai(request, job):
        return JSONResponse(openai_video(request, job), headers=poll_headers(request, job))
    return JSONResponse(xai_video(request, job))


@router.delete("/{video_id}", summary="Delete a video (cancels it if it is not finished)")
async def delete_video(request: Request, video_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=video_id)
    job = await service(request).delete(video_id, viewer=viewer)
    log_info(request, status=job.status.value)
    return {"id": job.id, "object": "video.deleted", "deleted": True}


@router.get("/{video_id}/content", summary="Download the video or its thumbnail")
async def video_content(request: Request, video_id: str, viewer: Viewer, variant: str = Query("video")) -> Response:
    if variant not in VARIANTS:
        raise InvalidRequest(f"Unknown variant {variant!r}; use one of {', '.join(VARIANTS)}", param="variant")
    log_info(request, job_id=video_id)
    svc = service(request)
    job = await svc.get(video_id, viewer=viewer, param="video_id")
    log_info(request, status=job.status.value)
    if not job.has_video:
        raise video_unavailable(job)
    if variant == "video":
        return await serve_video(request, job)
    if variant == "thumbnail":
        path = await svc.thumbnail(job)
        if path is not None:
            return serve_file(request, path, "image/jpeg")
        raise NotFound(
            f"No thumbnail could be made from the video of {job.id}", param="variant", code="variant_not_available"
        )
    raise NotFound(
        "This server does not make spritesheets; use variant=thumbnail or variant=video",
        param="variant",
        code="variant_not_available",
    )


@router.post("/{video_id}/remix", summary="Remix a finished video with a new prompt")
async def remix_video(request: Request, video_id: str, viewer: Viewer) -> Response:
    fields = await read_json_object(request)
    svc = service(request)
    source = await svc.get(video_id, viewer=viewer, param="video_id")
    job_request = JobRequest(
        prompt=prompt_of(fields),
        model=_text(fields, "model") or source.model,
        options=options_from(fields, base=source.options),
        dialect=Dialect.OPENAI,
        owner=viewer,
        kind=JobKind.REMIX,
        source_job_id=source.id,
        requested=requested(fields),
    )

    async def run() -> Response:
        job = await svc.create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return video_response(request, job)

    return await idempotent(request, viewer, {"fields": fields, "source": video_id}, run)


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
            open_upload=lambda: svc.storage.begin_upload(hashed=True),
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
        if isinstance(source_url, str) and (own := _OWN_VIDEO.search(source_url)):
            source_id, source_url = own.group(1), None
        if source_url is not None and not (
            isinstance(source_url, str) and source_url.startswith(("http://", "https://"))
        ):
            raise InvalidRequest("video.url must be an http(s) URL", param="video.url")
        upload = form.upload if form is not None else None
        if sum(x is not None for x in (upload, source_id, source_url)) != 1:
            raise InvalidRequest(
                "Give exactly one source video: a 'video' file part, video[id], or video.url",
                param="video",
                code="missing_parameter",
            )
        log_info(request, payload={**fields, "video_file": upload.size if upload else None})
        job_request = JobRequest(
            prompt=prompt_of(fields),
            model=_text(fields, "model") or "grok",
            options=options_from(fields),
            dialect=dialect,
            owner=viewer,
            kind=kind,
            source_job_id=source_id,
            source_url=source_url,
            source_upload=upload,
            requested=requested(fields),
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


@router.post("/extensions", summary="Extend a video")
async def extend_video(request: Request, viewer: Viewer) -> Response:
    return await _derived(request, viewer, JobKind.EXTEND)


@router.post("/edits", summary="Edit a video")
async def edit_video(request: Request, viewer: Viewer) -> Response:
    return await _derived(request, viewer, JobKind.EDIT)
