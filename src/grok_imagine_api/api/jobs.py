"""The job routes the dashboard and the command-line client use: list, search, inspect, cancel, run again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from ..domain.errors import InvalidRequest, NotFound
from ..domain.jobs import Job, JobStatus
from .auth import Viewer
from .common import log_info, service
from .seed.responses import seed_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


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
    }


@router.get("", summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    viewer: Viewer,
    status: str | None = Query(None, description="pending, processing, completed or failed; empty for all"),
    q: str | None = Query(None, description="text in the prompt (any case), or an exact job id"),
    limit: int = Query(100),
    cursor: str | None = None,
) -> dict[str, Any]:
    try:
        wanted = JobStatus(status) if status else None
    except ValueError:
        states = ", ".join(s.value for s in JobStatus)
        raise InvalidRequest(f"Unknown status {status!r}; use one of {states}", param="status") from None
    page = await service(request).list_jobs(status=wanted, limit=limit, cursor=cursor, viewer=viewer, text=q or None)
    return {
        "object": "list",
        "data": [job_detail(request, job) for job in page.jobs],
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }


@router.get("/{job_id}", summary="One job with everything known about it")
async def get_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    return job_detail(request, await service(request).get(job_id, viewer=viewer))


@router.get("/{job_id}/image", summary="The job's input image")
async def get_image(request: Request, job_id: str, viewer: Viewer) -> Response:
    svc = service(request)
    job = await svc.get(job_id, viewer=viewer)
    image = await svc.store.get_image(job.id) if job.image_mime else None
    if image is None:
        raise NotFound(f"Job {job_id} has no input image", param="job_id", code="image_not_found")
    return Response(image.data, media_type=image.mime, headers={"Cache-Control": "private, max-age=86400"})


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job, keeping it listed")
async def cancel_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).cancel(job_id, viewer=viewer)
    log_info(request, status=job.status.value)
    return job_detail(request, job)


@router.post("/{job_id}/rerun", status_code=201, summary="Queue a new job with the same prompt, options and image")
async def rerun_job(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).run_again(job_id, viewer=viewer)
    log_info(request, new_job_id=job.id)
    return job_detail(request, job)
