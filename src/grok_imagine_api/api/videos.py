"""Serving finished videos: Range requests, validators, and honest errors before a video exists. A local file goes
out through Starlette's FileResponse; an object in a store is streamed the same way (ranges.py), or redirected to."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Query, Request, Response
from starlette.responses import FileResponse, RedirectResponse

from ..domain.errors import APIError, Gone, InvalidRequest, NotFound
from ..domain.jobs import Job, JobStatus, Media
from ..files.storage import Stored
from .auth import Forbidden, auth
from .common import log_info, service
from .errors import error_response
from .openapi import REDIRECT, answers, files
from .ranges import check_range, not_modified, serve_object
from .signing import UrlSigner

router = APIRouter()


def video_unavailable(job: Job) -> APIError:
    if job.media is Media.IMAGE:
        return NotFound(f"Job {job.id} makes images, not a video", param="job_id", code="not_a_video")
    return files_unavailable(job, "video")


def files_unavailable(job: Job, what: str) -> APIError:
    """Why a job has no `what` (video, images) to serve."""
    noun = what.rstrip("s")
    if job.status is JobStatus.COMPLETED:
        were = "were" if what.endswith("s") else "was"
        return Gone(f"The {what} of job {job.id} expired and {were} deleted", param="job_id", code=f"{noun}_expired")
    if job.status is JobStatus.FAILED:
        return NotFound(f"Job {job.id} failed, so it has no {what}: {job.error}", param="job_id", code="job_failed")
    return NotFound(
        f"Job {job.id} is {job.status.value}; its {what} {'are' if what.endswith('s') else 'is'} not ready yet",
        param="job_id",
        code=f"{noun}_not_ready",
    )


def serve_file(request: Request, path: str, media_type: str) -> Response:
    """A file with Range (206/416), ETag and Last-Modified (304), so browsers can play and seek."""
    stat = os.stat(path)
    response = FileResponse(
        path, media_type=media_type, stat_result=stat, headers={"cache-control": "private, max-age=3600"}
    )
    if not_modified(request, response.headers):
        headers = {key: response.headers[key] for key in ("etag", "last-modified", "cache-control")}
        return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if range_header is not None:
        if_range = request.headers.get("if-range")
        if if_range is None or if_range in (response.headers.get("etag"), response.headers.get("last-modified")):
            check_range(range_header, stat.st_size)
    return response


async def serve_stored(request: Request, stored: Stored, media_type: str, *, redirect: bool = True) -> Response:
    """A local file, or an object streamed or redirected to (S3_DELIVERY; `redirect=False` always streams). May
    raise FileNotFoundError."""
    if isinstance(stored, Path):
        return serve_file(request, str(stored), media_type)
    if redirect and service(request).settings.s3_delivery == "redirect":
        # The link was checked above; what the client gets is a presigned URL that expires in S3_URL_TTL_SECONDS.
        return RedirectResponse(await stored.url(), status_code=307, headers={"cache-control": "no-store"})
    return await serve_object(request, stored, media_type)


async def serve_video(request: Request, job: Job, *, variant: str = "video") -> Response:
    """The job's video, or (`variant` "hd") its HD file: 404 `hd_not_available` for a job without one."""
    if variant == "hd":
        return await serve_hd(request, job)
    if variant != "video":
        raise InvalidRequest(f"Unknown variant {variant!r}; use video or hd", param="variant")
    svc = service(request)
    stored = await svc.video(job)
    if stored is None:
        if job.has_video:
            return error_response(
                404, f"The video file of job {job.id} is missing from storage", param="job_id", code="video_missing"
            )
        raise video_unavailable(job)
    try:
        return await serve_stored(request, stored, "video/mp4")
    except FileNotFoundError:  # expired or deleted between the lookup and now
        raise video_unavailable(await svc.get(job.id)) from None


async def serve_hd(request: Request, job: Job) -> Response:
    if not job.has_video:
        raise video_unavailable(job)
    if not job.has_hd:
        return error_response(
            404,
            f"Job {job.id} has no HD video: "
            + ("it did not ask for one (upscale)" if not job.wants_hd else "its worker did not upload one"),
            param="variant",
            code="hd_not_available",
        )
    svc = service(request)
    stored = await svc.hd_video(job)
    if stored is None:
        return error_response(
            404, f"The HD video file of job {job.id} is missing from storage", param="job_id", code="video_missing"
        )
    try:
        return await serve_stored(request, stored, "video/mp4")
    except FileNotFoundError:
        raise video_unavailable(await svc.get(job.id)) from None


def _allowed(request: Request, job: Job) -> None:
    """With API keys on, a video link needs a valid signature, or the owner's key."""
    gate = auth(request)
    if not gate.clients_need_keys:
        return
    signer: UrlSigner = request.app.state.signer
    params = request.query_params
    if signer.valid(job.id, params.get("expires"), params.get("signature"), service(request).clock.now()):
        return
    if job.owner is not None and gate.owner_if_valid(request) == job.owner:
        return
    if params.get("signature"):
        raise Forbidden(
            "This link has expired or its signature is wrong; fetch the job again for a fresh one",
            code="invalid_signature",
        )
    gate.client(request)  # 401 without a key
    raise NotFound(f"No job with id '{job.id}'", param="job_id", code="job_not_found")


async def allowed_link(request: Request, job_id: str) -> Job:
    """The job a file link names, if the link's signature or the caller's key allows it."""
    gate = auth(request)
    if gate.clients_need_keys and not request.query_params.get("signature"):
        gate.client(request)  # 401 before the lookup: without credentials, ids are not even confirmed
    job = await service(request).get(job_id)
    _allowed(request, job)
    log_info(request, status=job.status.value)
    return job


async def download_video(
    request: Request,
    job_id: str,
    variant: str = Query(
        "video", description="hd: the HD file of a job that asked for HD", json_schema_extra={"enum": ["video", "hd"]}
    ),
) -> Response:
    log_info(request, job_id=job_id)
    job = await allowed_link(request, job_id)
    return await serve_video(request, job, variant=variant)


router.add_api_route(
    "/videos/{job_id}.mp4",
    download_video,
    methods=["GET"],
    summary="Download a finished video",
    response_class=Response,
    responses=answers(files("video/mp4"), 206, 304, 307, 400, 401, 403, 404, 410, 416, 503, notes=REDIRECT),
)
router.add_api_route("/videos/{job_id}.mp4", download_video, methods=["HEAD"], include_in_schema=False)
