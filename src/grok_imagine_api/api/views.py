"""How jobs look on the wire."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..domain.jobs import Job, JobStatus
from .common import video_url


def seed_error(job: Job) -> str | None:
    if job.status is JobStatus.COMPLETED and job.video_expired_at is not None:
        return "Video expired and was deleted (MAX_VIDEO_AGE_DAYS)"
    return job.error


def seed_video_url(request: Request, job: Job) -> str | None:
    if job.status is JobStatus.FAILED or job.video_expired_at is not None:
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
        "has_image": job.image_mime is not None,
        "image_size": job.image_size,
        "video_size": job.video_size,
        "video_expired": job.video_expired_at is not None,
    }
