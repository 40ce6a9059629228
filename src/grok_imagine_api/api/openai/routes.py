"""OpenAI's Videos API routes: create, list, delete, download, remix. Retrieve, extensions and edits share
their paths with xAI and live in api/shared.py."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from ...domain.errors import InvalidRequest, NotFound
from ...domain.jobs import Dialect, InputImage, JobKind, Media
from ...domain.options import from_options
from ...service import JobRequest
from ..auth import Viewer
from ..common import log_info, read_json_object, service
from ..forms import asked_from, model_of, prompt_of, read_fields, requested, segments_of
from ..idempotency import idempotent
from ..openapi import FETCHES, REDIRECT, answers, files
from ..schemas import bodies
from ..videos import serve_stored, serve_video, video_unavailable
from .requests import create_asked, reference_image
from .responses import Video, VideoDeleted, VideoList, openai_video, video_response

router = APIRouter(prefix="/v1/videos")

VARIANTS = ("video", "hd", "thumbnail", "spritesheet")  # hd: the upscaled file of a job that asked for HD
MAX_LIST = 100


@router.post(
    "",
    summary="Create a video (OpenAI: multipart or JSON)",
    responses=answers(Video, 400, 401, 409, 413, 422, 503, notes=FETCHES),
    openapi_extra=bodies.openai_create(),
)
async def create_video(request: Request, viewer: Viewer) -> Response:
    fields, files = await read_fields(request)
    image = await reference_image(request, fields, files)
    log_info(request, payload={**fields, "input_reference_file": bool(files.get("input_reference"))})
    job_request = JobRequest(
        prompt=prompt_of(fields),
        model=model_of(fields),
        asked=create_asked(fields),
        image=image,
        dialect=Dialect.OPENAI,
        owner=viewer,
        requested=requested(fields),
        image_param="input_reference",
        segments=segments_of(fields),
    )
    digest = hashlib.sha256(image.data).hexdigest() if isinstance(image, InputImage) else image

    async def run() -> Response:
        job = await service(request).create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return video_response(request, job)

    return await idempotent(request, viewer, {"fields": fields, "image": digest}, run)


@router.get("", summary="List videos", response_model=None, responses=answers(VideoList, 400, 401, 503))
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
            cursor = (await svc.get(after, viewer=viewer, media=Media.VIDEO)).seq
        except NotFound:
            raise InvalidRequest(
                f"No video with id '{after}' to list after", param="after", code="invalid_cursor"
            ) from None
    jobs, more = await svc.list_after(viewer=viewer, limit=limit, after_seq=cursor, ascending=order == "asc")
    return {
        "object": "list",
        "data": [openai_video(request, job) for job in jobs],
        "first_id": jobs[0].id if jobs else None,
        "last_id": jobs[-1].id if jobs else None,
        "has_more": more,
    }


@router.delete(
    "/{video_id}",
    summary="Delete a video (cancels it if it is not finished)",
    response_model=None,
    responses=answers(VideoDeleted, 401, 404, 413, 503),
)
async def delete_video(request: Request, video_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=video_id)
    job = await service(request).delete(video_id, viewer=viewer, media=Media.VIDEO)
    log_info(request, status=job.status.value)
    return {"id": job.id, "object": "video.deleted", "deleted": True}


@router.get(
    "/{video_id}/content",
    summary="Download the video or its thumbnail",
    response_class=Response,
    responses=answers(
        files("video/mp4", "image/jpeg"), 206, 304, 307, 400, 401, 404, 410, 416, 503, 507, notes=REDIRECT
    ),
)
async def video_content(
    request: Request,
    video_id: str,
    viewer: Viewer,
    variant: str = Query("video", json_schema_extra={"enum": list(VARIANTS)}),
) -> Response:
    if variant not in VARIANTS:
        raise InvalidRequest(f"Unknown variant {variant!r}; use one of {', '.join(VARIANTS)}", param="variant")
    log_info(request, job_id=video_id)
    svc = service(request)
    job = await svc.get(video_id, viewer=viewer, param="video_id", media=Media.VIDEO)
    log_info(request, status=job.status.value)
    if not job.has_video:
        raise video_unavailable(job)
    if variant in ("video", "hd"):
        return await serve_video(request, job, variant=variant)
    if variant == "thumbnail":
        stored = await svc.thumbnail(job)
        if stored is not None:
            return await serve_stored(request, stored, "image/jpeg")
        raise NotFound(
            f"No thumbnail could be made from the video of {job.id}", param="variant", code="variant_not_available"
        )
    raise NotFound(
        "This server does not make spritesheets; use variant=thumbnail or variant=video",
        param="variant",
        code="variant_not_available",
    )


@router.post(
    "/{video_id}/remix",
    summary="Remix a finished video with a new prompt",
    responses=answers(Video, 400, 401, 404, 409, 413, 422, 503),
    openapi_extra=bodies.openai_remix(),
)
async def remix_video(request: Request, video_id: str, viewer: Viewer) -> Response:
    fields = await read_json_object(request)
    svc = service(request)
    source = await svc.get(video_id, viewer=viewer, param="video_id", media=Media.VIDEO)
    asked = asked_from(fields).over(from_options(source.options))
    job_request = JobRequest(
        prompt=prompt_of(fields),
        model=model_of(fields, default=source.model),
        asked=asked,
        dialect=Dialect.OPENAI,
        owner=viewer,
        kind=JobKind.REMIX,
        source_job_id=source.id,
        requested=requested(fields),
        source_param="video_id",
    )

    async def run() -> Response:
        job = await svc.create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return video_response(request, job)

    return await idempotent(request, viewer, {"fields": fields, "source": video_id}, run)
