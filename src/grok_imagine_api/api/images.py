"""OpenAI's and xAI's Images APIs (docs/images.md): a create that waits for the worker and answers with the
images, as `{created, data: [{url | b64_json}]}`, and the links those images are served from."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..domain.errors import APIError, InvalidRequest, NotFound
from ..domain.image_options import parse_image_request
from ..domain.images import CONTENT_TYPES
from ..domain.jobs import Dialect, ErrorCode, InputImage, Job, JobKind, JobStatus, Media
from ..files.storage import Stored
from ..service import JobRequest
from .auth import Viewer
from .common import image_list, log_info, service
from .forms import model_of, prompt_of, read_parts
from .idempotency import idempotent
from .jobs import job_detail
from .openapi import FETCHES, REDIRECT, answers, files
from .schemas import bodies
from .schemas.images import ImagesResponse
from .schemas.jobs import JobDetail
from .videos import allowed_link, files_unavailable, serve_stored
from .views import made_adjustments

router = APIRouter(tags=["images"])

EDIT_FIELDS = ("image", "image[]", "images", "images[]")
NOT_REQUESTED = (*EDIT_FIELDS, "image_url", "mask", "prompt", "user")  # kept elsewhere, or too large to echo
MAX_EDIT_IMAGES = 16
# Failed jobs as HTTP answers: a status per error code (docs/images.md). Anything else is the worker's fault: 502.
FAILURE_STATUS: dict[str, int] = {
    ErrorCode.MODERATED: 400,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NO_CAPABLE_WORKER: 503,
    ErrorCode.CANCELLED: 409,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.OUTPUT_MISMATCH: 502,
}
# Every answer to a create that queued a job: an SDK retry would only queue another.
NO_RETRY = {"x-should-retry": "false"}
ASYNC_NOTE = "`Prefer: respond-async`: the job at once, as GET /jobs/{id} shows it"
ERROR_NOTES = {
    400: "Bad input (`param` names it), or the job was moderated (`moderated`)",
    409: "The job was cancelled while the request waited (`cancelled`)",
    429: "The worker's Grok account hit its limit (`rate_limited`)",
    502: "The worker could not make the images (`worker_error`, `ui_changed`, `no_output`, `session`)",
    503: "No connected worker could make images (`no_capable_worker`), or the server is busy",
    504: "Not done within IMAGE_WAIT_SECONDS (`image_timeout`); the job goes on: GET /jobs/{id}",
}


def image_answers(notes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    declared = answers(ImagesResponse, 400, 401, 409, 413, 429, 502, 503, 504, notes=notes)
    return {**declared, 202: {"description": ASYNC_NOTE, "model": JobDetail}}


class ImageJobFailed(APIError):
    error_type = "server_error"

    def __init__(self, job: Job) -> None:
        code = job.error_code or ErrorCode.WORKER_ERROR
        super().__init__(f"Job {job.id} failed: {job.error}", code=code, headers=NO_RETRY)
        self.status_code = FAILURE_STATUS.get(code, 502)
        if self.status_code == 400:
            self.error_type = "invalid_request_error"


class StillRunning(APIError):
    status_code = 504
    error_type = "server_error"
    code = "image_timeout"

    def __init__(self, job: Job, seconds: float) -> None:
        super().__init__(
            f"Job {job.id} is still {job.status.value} after {seconds:g} s (IMAGE_WAIT_SECONDS); it goes on: "
            f"GET /jobs/{job.id} shows it, and its images once made",
            headers=NO_RETRY,
        )


@router.post(
    "/v1/images/generations",
    summary="Create images (OpenAI or xAI JSON); waits for the worker",
    response_model=None,
    responses=image_answers(notes=ERROR_NOTES),
    openapi_extra=bodies.image_generation(),
)
async def create_images(request: Request, viewer: Viewer) -> Response:
    fields, _ = await read_parts(request)
    log_info(request, payload=fields)
    return await make(request, viewer, fields, image=None, kind=JobKind.GENERATE, sources=0, mask=False)


@router.post(
    "/v1/images/edits",
    summary="Edit an image (OpenAI multipart or xAI JSON); waits for the worker",
    response_model=None,
    responses=image_answers(notes={**ERROR_NOTES, **FETCHES}),
    openapi_extra=bodies.image_edit(),
)
async def edit_images(request: Request, viewer: Viewer) -> Response:
    fields, parts = await read_parts(request)
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    if multipart and (text := next((name for name in EDIT_FIELDS if name in fields), None)) is not None:
        raise InvalidRequest(f"'{text}' must be a file part (an image), not text", param=text)
    uploaded = [data for name, data in parts if name in EDIT_FIELDS]
    sources: list[bytes] | list[str] = uploaded or json_sources(fields)
    log_info(request, payload={**fields, "images": len(sources)})
    if not sources:
        raise InvalidRequest("Missing required parameter 'image'", param="image", code="missing_parameter")
    if len(sources) > MAX_EDIT_IMAGES:
        raise InvalidRequest(f"At most {MAX_EDIT_IMAGES} images", param="image")
    first = sources[0]
    # A file part is checked like any image (the part's own type is not trusted); a URL when the job is made.
    image = await service(request).check_upload_image(first, param="image") if isinstance(first, bytes) else first
    mask = any(name == "mask" for name, _ in parts) or fields.get("mask") not in (None, "")
    return await make(request, viewer, fields, image=image, kind=JobKind.EDIT, sources=len(sources), mask=mask)


def json_sources(fields: dict[str, Any]) -> list[str]:
    """xAI's JSON sources: `image` (or `images`) as URL or data-URL strings, or `{"url"}` / `{"image_url": {"url"}}`
    objects."""
    found: list[str] = []
    for name in ("image", "images", "image_url"):
        value = fields.get(name)
        for item in value if isinstance(value, list) else [value]:
            if item is None or item == "":
                continue
            url = _url_of(item)
            if not url:
                raise InvalidRequest(
                    f"'{name}' must be an image URL or data URL, or an object with one in 'url'", param=name
                )
            found.append(url)
    return found


def _url_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        inner = item.get("image_url")
        if isinstance(inner, dict):
            inner = inner.get("url")
        url = item.get("url", inner)
        return url if isinstance(url, str) else None
    return None


async def make(
    request: Request,
    viewer: str | None,
    fields: dict[str, Any],
    *,
    image: str | InputImage | None,
    kind: JobKind,
    sources: int,
    mask: bool,
) -> Response:
    ask = parse_image_request(fields, edit_images=sources, mask=mask)
    job_request = JobRequest(
        prompt=prompt_of(fields),
        model=model_of(fields, default="grok-imagine-image"),
        asked=ask.asked,
        image=image,
        dialect=Dialect.XAI if "aspect_ratio" in fields or "resolution" in fields else Dialect.OPENAI,
        owner=viewer,
        kind=kind,
        requested={name: value for name, value in fields.items() if name not in NOT_REQUESTED},
        media=Media.IMAGE,
        n=ask.n,
        notes=ask.notes,
    )
    svc = service(request)
    if "respond-async" in request.headers.get("prefer", "").lower():
        digest = hashlib.sha256(image.data).hexdigest() if isinstance(image, InputImage) else image

        async def run() -> Response:
            job = await svc.create(job_request)
            log_info(request, job_id=job.id, status=job.status.value)
            return JSONResponse(
                job_detail(request, job), status_code=202, headers={"Preference-Applied": "respond-async"}
            )

        return await idempotent(request, viewer, {"fields": fields, "image": digest}, run)
    job = await svc.create(job_request)
    log_info(request, job_id=job.id)
    seconds = svc.settings.image_wait_seconds
    job = await svc.wait_finished(job.id, seconds)
    log_info(request, status=job.status.value)
    if job.status is JobStatus.FAILED:
        raise ImageJobFailed(job)
    if job.status is not JobStatus.COMPLETED:
        raise StillRunning(job, seconds)
    return JSONResponse(await images_answer(request, job, ask.response_format), headers=NO_RETRY)


async def images_answer(request: Request, job: Job, response_format: str) -> dict[str, Any]:
    svc = service(request)
    data = []
    for image in image_list(request, job):
        item: dict[str, Any] = {"revised_prompt": job.prompt}
        if response_format == "b64_json":
            stored = await svc.image(job, image["index"])
            if stored is None:
                raise NotFound(f"Image {image['index']} of job {job.id} is missing from storage", code="image_missing")
            item["b64_json"] = base64.b64encode(await read_stored(stored)).decode("ascii")
        else:
            item["url"] = image["url"]
        item.update(content_type=image["content_type"], width=image["width"], height=image["height"])
        data.append(item)
    return {
        "created": int(job.created_at),
        "data": data,
        "id": job.id,
        "model": job.model,
        "n": job.n,
        "options": job.options.to_dict(),
        "requested": job.requested,
        "adjustments": made_adjustments(job),
    }


async def read_stored(stored: Stored) -> bytes:
    if isinstance(stored, Path):
        return await asyncio.to_thread(stored.read_bytes)
    chunks = [chunk async for chunk in await stored.open_range(0, stored.size)]
    return b"".join(chunks)


async def download_image(request: Request, job_id: str, name: str) -> Response:
    log_info(request, job_id=job_id)
    job = await allowed_link(request, job_id)
    missing = NotFound(f"Job {job.id} has no image '{name}'", param="name", code="image_not_found")
    index_text, _, ext = name.partition(".")
    if not index_text.isdigit() or len(index_text) > 2 or ext not in CONTENT_TYPES or job.media is not Media.IMAGE:
        raise missing
    if not job.has_images:
        raise files_unavailable(job, "images")
    index = int(index_text)
    if index >= len(job.images) or job.images[index]["ext"] != ext:
        raise missing
    stored = await service(request).image(job, index)
    if stored is None:
        raise NotFound(f"Image {index} of job {job.id} is missing from storage", param="name", code="image_missing")
    try:
        return await serve_stored(request, stored, CONTENT_TYPES[ext])
    except FileNotFoundError:
        raise NotFound(f"Job {job.id} has no image '{name}'", param="name", code="image_not_found") from None


router.add_api_route(
    "/images/{job_id}/{name}",
    download_image,
    methods=["GET"],
    summary="Download one of an image job's images",
    response_class=Response,
    responses=answers(files(*CONTENT_TYPES.values()), 304, 307, 400, 401, 403, 404, 410, 503, notes=REDIRECT),
)
router.add_api_route("/images/{job_id}/{name}", download_image, methods=["HEAD"], include_in_schema=False)
