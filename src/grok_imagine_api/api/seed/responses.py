"""The founding document's job shape, plus what every dialect tells about what will be made."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ...domain.jobs import Job, JobStatus
from ..common import video_url
from ..views import truth


def seed_error(job: Job) -> str | None:
    if job.status is JobStatus.COMPLETED and job.video_expired_at is not None:
        return "Video expired and was deleted (MAX_VIDEO_AGE_DAYS)"
    return job.error


def seed_video_url(request: Request, job: Job) -> str | None:
    if job.status is JobStatus.FAILED or job.video_expired_at is not None or job.deleted_at is not None:
        return None
    return video_url(request, job.id)


def seed_job(request: Request, job: Job) -> dict[str, Any]:
    """The founding document's fields, exactly, then `options`, `requested`, `adjustments`, `waiting_reason`
    and `output_mismatch`."""
    return {
        "id": job.id,
        "object": "videos.generation",
        "created": int(job.created_at),
        "model": job.model,
        "status": job.status.value,
        "video_url": seed_video_url(request, job),
        "error": seed_error(job),
        **truth(request, job),
    }
