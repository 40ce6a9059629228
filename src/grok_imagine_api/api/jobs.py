"""The job routes the dashboard and the command-line client use: list, search, inspect, cancel, run again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from ..domain.errors import InvalidRequest, NotFound
from ..domain.jobs import Job, JobStatus, Media
from ..service import MAX_LIST_LIMIT, MAX_SEARCH_CHARS
from .auth import Viewer
from .common import image_list, log_info, service
from .openapi import answers, files
from .schemas.jobs import JobDeleted, JobDetail, JobList
from .seed.responses import seed_job

router = APIRouter(prefix="/jobs", tags=["jobs"])

CURSOR = {"pattern": "^(c[0-9]{1,18})?$"}  # what service.encode_cursor hands out


def job_detail(request: Request, job: Job) -> dict[str, Any]:
    """The founding document's fields plus what monitoring wants to see; never the image itself."""
    return {
        **seed_job(request, job),
        "prompt": job.prompt,
        "progress": job.progress,
        "error_code": "video_expired" if job.video_expired_at is not None else job.error_code,
        "updated_at": job.updated_at,
        "claimed_at": job.claimed_at,
        "completed_at": job.completed_at,
        "lease_expires_at": job.lease_expires_at,
        "worker_id": job.worker_id,
        "attempts": job.attempts,
        "max_attempts": service(request).retry_policy.limit(job),
        "attempt_history": job.attempt_log,
        "dialect": job.dialect.value,
        "kind": job.kind.value,
        "source_job_id": job.source_job_id,
        "source_url": job.source_url,
        "grok_post_id": job.grok_post_id,
        "needs": job.needs,
        "produced": job.produced.to_dict() if job.produced else None,
        "has_image": job.image_mime is not None,
        "image_size": job.image_size,
        "video_size": job.video_size,
        "video_expired": job.video_expired_at is not None,
        "media": job.media.value,
        "n": job.n,
        "images": image_list(request, job),
        "parent_id": job.parent_id,
    }


@router.get("", summary="List jobs, newest first", response_model=None, responses=answers(JobList, 400, 401, 503))
async def list_jobs(
    request: Request,
    viewer: Viewer,
    status: str | None = Query(
        None,
        description="pending, processing, completed, failed (other than cancelled) or cancelled; empty for all",
        json_schema_extra={"enum": ["", *(state.value for state in JobStatus), "cancelled"]},
    ),
    q: str | None = Query(
        None,
        description="text in the prompt (any case), or an exact job id",
        json_schema_extra={"maxLength": MAX_SEARCH_CHARS},
    ),
    # The service checks these; the schema only tells.
    limit: int = Query(100, json_schema_extra={"minimum": 1, "maximum": MAX_LIST_LIMIT}),
    cursor: str | None = Query(None, description="next_cursor of the page before", json_schema_extra=CURSOR),
    media: str | None = Query(
        None, description="video or image; empty for both", json_schema_extra={"enum": ["", "video", "image"]}
    ),
    steps: bool = Query(False, description="true: the steps of long videos too (docs/long-videos.md)"),
) -> dict[str, Any]:
    # Cancelled jobs are failed ones (code `cancelled`) to the API, but a state of their own in a listing.
    cancelled = {"cancelled": True, "failed": False}.get(status or "")
    try:
        wanted = JobStatus("failed" if cancelled else status) if status else None
    except ValueError:
        states = ", ".join([*(s.value for s in JobStatus), "cancelled"])
        raise InvalidRequest(f"Unknown status {status!r}; use one of {states}", param="status") from None
    if media not in (None, "", "video", "image"):
        raise InvalidRequest(f"Unknown media {media!r}; use video or image", param="media")
    page = await service(request).list_jobs(
        status=wanted,
        limit=limit,
        cursor=cursor,
        viewer=viewer,
        text=q or None,
        cancelled=cancelled,
        media=Media(media) if media else None,
        steps=steps,
    )
    return {
        "object": "list",
        "data": [job_detail(request, job) for job in page.jobs],
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/{job_id}",
    summary="One job with everything known about it",
    response_model=None,
    responses=answers(JobDetail, 401, 404, 503),
)
async def get_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    return job_detail(request, await service(request).get(job_id, viewer=viewer))


@router.get(
    "/{job_id}/image",
    summary="The job's input image",
    response_class=Response,
    responses=answers(files("image/png", "image/jpeg", "image/webp"), 401, 404, 503),
)
async def get_image(request: Request, job_id: str, viewer: Viewer) -> Response:
    svc = service(request)
    job = await svc.get(job_id, viewer=viewer)
    image = await svc.input_image(job)
    if image is None:
        raise NotFound(f"Job {job_id} has no input image", param="job_id", code="image_not_found")
    return Response(image.data, media_type=image.mime, headers={"Cache-Control": "private, max-age=86400"})


@router.delete(
    "/{job_id}",
    summary="Delete a job of any kind (video or images) and its files",
    response_model=None,
    responses=answers(JobDeleted, 401, 404, 503),
)
async def delete_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).delete(job_id, viewer=viewer, param="job_id")
    log_info(request, status=job.status.value)
    return {"id": job.id, "object": "job.deleted", "deleted": True}


@router.post(
    "/{job_id}/cancel",
    summary="Cancel a queued or running job, keeping it listed",
    response_model=None,
    responses=answers(JobDetail, 401, 404, 409, 413, 503, notes={409: "The job already completed or failed"}),
)
async def cancel_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).cancel(job_id, viewer=viewer)
    log_info(request, status=job.status.value)
    return job_detail(request, job)


@router.post(
    "/{job_id}/rerun",
    status_code=201,
    summary="Queue a new job with the same prompt, options and image",
    response_model=None,
    responses=answers(JobDetail, 400, 401, 404, 413, 503, status=201),
)
async def rerun_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).run_again(job_id, viewer=viewer)
    log_info(request, new_job_id=job.id)
    return job_detail(request, job)
