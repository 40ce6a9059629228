"""How jobs look on the wire."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..domain.jobs import Job, JobKind, JobStatus
from ..domain.sizes import size_of
from .common import service, video_url


def seed_error(job: Job) -> str | None:
    if job.status is JobStatus.COMPLETED and job.video_expired_at is not None:
        return "Video expired and was deleted (MAX_VIDEO_AGE_DAYS)"
    return job.error


def seed_video_url(request: Request, job: Job) -> str | None:
    if job.status is JobStatus.FAILED or job.video_expired_at is not None or job.deleted_at is not None:
        return None
    return video_url(request, job.id)


def seed_job(request: Request, job: Job) -> dict[str, Any]:
    """Exactly the founding document's shape."""
    return {
        "id": job.id,
        "object": "videos.generation",
        "created": int(job.created_at),
        "model": job.model,
        "status": job.status.value,
        "video_url": seed_video_url(request, job),
        "error": seed_error(job),
    }


def job_detail(request: Request, job: Job) -> dict[str, Any]:
    """The seed's fields plus what monitoring wants to see; never the image itself."""
    return {
        **seed_job(request, job),
        "prompt": job.prompt,
        "options": job.options.to_dict(),
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
        "requested": job.requested,
        "produced": job.produced.to_dict() if job.produced else None,
        "has_image": job.image_mime is not None,
        "image_size": job.image_size,
        "video_size": job.video_size,
        "video_expired": job.video_expired_at is not None,
    }


OPENAI_STATUS = {
    JobStatus.PENDING: "queued",
    JobStatus.PROCESSING: "in_progress",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
}


def expires_at(request: Request, job: Job) -> int | None:
    if job.completed_at is None or job.status is not JobStatus.COMPLETED:
        return None
    return int(job.completed_at + service(request).settings.max_video_age_seconds)


def error_object(job: Job) -> dict[str, str] | None:
    if job.status is JobStatus.COMPLETED and job.video_expired_at is not None:
        return {"code": "video_expired", "message": seed_error(job) or ""}
    if job.status is JobStatus.FAILED:
        return {"code": job.error_code or "worker_error", "message": job.error or ""}
    return None


def openai_video(request: Request, job: Job) -> dict[str, Any]:
    """OpenAI's Video object, plus what Grok adds (`options`, `produced`, `video_url`)."""
    seconds = job.requested.get("seconds") or (str(job.options.duration) if job.options.duration else None)
    if seconds is None and job.produced and job.produced.seconds:
        seconds = str(round(job.produced.seconds))
    size = job.requested.get("size") or size_of(job.options) or (job.produced.size if job.produced else None)
    return {
        "id": job.id,
        "object": "video",
        "created_at": int(job.created_at),
        "completed_at": int(job.completed_at) if job.completed_at and job.status is JobStatus.COMPLETED else None,
        "expires_at": expires_at(request, job),
        "status": OPENAI_STATUS[job.status],
        "progress": job.progress,
        "model": job.model,
        "prompt": job.prompt,
        "seconds": seconds or "6",
        "size": size or "auto",
        "remixed_from_video_id": job.source_job_id if job.kind is JobKind.REMIX else None,
        "error": error_object(job),
        "options": job.options.to_dict(),
        "produced": job.produced.to_dict() if job.produced else None,
        "video_url": seed_video_url(request, job) if job.has_video else None,
    }


def xai_status(job: Job) -> str:
    if job.status is JobStatus.COMPLETED:
        return "expired" if job.video_expired_at is not None else "done"
    if job.status is JobStatus.FAILED:
        return "failed"
    return "pending"


def xai_video(request: Request, job: Job) -> dict[str, Any]:
    """xAI's GET /v1/videos/{request_id} answer."""
    status = xai_status(job)
    body: dict[str, Any] = {"request_id": job.id, "status": status, "model": job.model, "progress": job.progress}
    moderated = job.error_code == "moderated"
    if status == "done":
        duration = job.produced.seconds if job.produced and job.produced.seconds else job.options.duration
        body["video"] = {"url": video_url(request, job.id), "duration": duration, "respect_moderation": True}
    elif status in ("failed", "expired"):
        body["video"] = {"duration": 0, "respect_moderation": not moderated}
        body["error"] = error_object(job)
    return body
