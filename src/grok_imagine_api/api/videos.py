"""Serving finished videos: Range requests, validators, and honest errors before a video exists."""

from __future__ import annotations

import os
import re
from email.utils import parsedate_to_datetime

from fastapi import APIRouter, Request, Response
from starlette.responses import FileResponse

from ..domain.errors import APIError, Gone, InvalidRequest, NotFound
from ..domain.jobs import Job, JobStatus
from .auth import Forbidden, auth
from .common import log_info, service
from .errors import error_response
from .openapi import answers, files
from .signing import UrlSigner

router = APIRouter()

_RANGE_PART = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(APIError):
    status_code = 416
    code = "range_not_satisfiable"


def check_range(header: str, size: int) -> None:
    """Malformed ranges get 400 and unsatisfiable ones 416, in the error envelope."""
    units, _, spec = header.partition("=")
    if units.strip().lower() != "bytes" or not spec.strip():
        raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
    satisfiable = True
    for part in spec.split(","):
        match = _RANGE_PART.match(part)
        if not match or (not match.group(1) and not match.group(2)):
            raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
        first, last = match.group(1), match.group(2)
        if first and last and int(last) < int(first):
            raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
        if (first and int(first) < size) or (not first and int(last) > 0 and size > 0):
            continue
        satisfiable = False
    if not satisfiable:
        raise RangeNotSatisfiable(
            f"Range {spec!r} is outside the video's {size} bytes",
            param="Range",
            headers={"Content-Range": f"bytes */{size}"},
        )


def video_unavailable(job: Job) -> APIError:
    if job.status is JobStatus.COMPLETED:
        return Gone(f"The video of job {job.id} expired and was deleted", param="job_id", code="video_expired")
    if job.status is JobStatus.FAILED:
        return NotFound(f"Job {job.id} failed, so it has no video: {job.error}", param="job_id", code="job_failed")
    return NotFound(
        f"Job {job.id} is {job.status.value}; its video is not ready yet",
        param="job_id",
        code="video_not_ready",
    )


def not_modified(request: Request, response: FileResponse) -> bool:
    etag = response.headers.get("etag")
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag is not None and (
            if_none_match.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        )
    if_modified_since = request.headers.get("if-modified-since")
    last_modified = response.headers.get("last-modified")
    if if_modified_since and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def serve_file(request: Request, path: str, media_type: str) -> Response:
    """A file with Range (206/416), ETag and Last-Modified (304), so browsers can play and seek."""
    stat = os.stat(path)
    response = FileResponse(
        path, media_type=media_type, stat_result=stat, headers={"cache-control": "private, max-age=3600"}
    )
    if not_modified(request, response):
        headers = {key: response.headers[key] for key in ("etag", "last-modified", "cache-control")}
        return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if range_header is not None:
        if_range = request.headers.get("if-range")
        if if_range is None or if_range in (response.headers.get("etag"), response.headers.get("last-modified")):
            check_range(range_header, stat.st_size)
    return response


async def serve_video(request: Request, job: Job) -> Response:
    svc = service(request)
    path = svc.video_path(job)
    if path is None:
        if job.has_video:
            return error_response(
                404, f"The video file of job {job.id} is missing from storage", param="job_id", code="video_missing"
            )
        raise video_unavailable(job)
    try:
        return serve_file(request, path, "video/mp4")
    except FileNotFoundError:  # expired or deleted between the lookup and now
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
            "This video link has expired or its signature is wrong; fetch the job again for a fresh one",
            code="invalid_signature",
        )
    gate.client(request)  # 401 without a key
    raise NotFound(f"No job with id '{job.id}'", param="job_id", code="job_not_found")


async def download_video(request: Request, job_id: str) -> Response:
    log_info(request, job_id=job_id)
    gate = auth(request)
    if gate.clients_need_keys and not request.query_params.get("signature"):
        gate.client(request)  # 401 before the lookup: without credentials, ids are not even confirmed
    job = await service(request).get(job_id)
    _allowed(request, job)
    log_info(request, status=job.status.value)
    return await serve_video(request, job)


router.add_api_route(
    "/videos/{job_id}.mp4",
    download_video,
    methods=["GET"],
    summary="Download a finished video",
    response_class=Response,
    responses=answers(files("video/mp4"), 206, 304, 400, 401, 403, 404, 410, 416, 503),
)
router.add_api_route("/videos/{job_id}.mp4", download_video, methods=["HEAD"], include_in_schema=False)
