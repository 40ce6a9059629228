"""The founding document's job shape, plus what every dialect tells about what will be made."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, Field

from ...domain.jobs import Job, JobStatus, Media
from ..common import video_url
from ..views import Adjustments, Hd, Options, OutputMismatch, Requested, Segments, WaitingReason, truth


def seed_error(job: Job) -> str | None:
    if job.status is JobStatus.COMPLETED and job.video_expired_at is not None:
        return "Video expired and was deleted (MAX_VIDEO_AGE_DAYS)"
    return job.error


def seed_video_url(request: Request, job: Job) -> str | None:
    if job.media is Media.IMAGE:
        return None  # its images are in `images` (GET /jobs/{id})
    if job.status is JobStatus.FAILED or job.video_expired_at is not None or job.deleted_at is not None:
        return None
    return video_url(request, job.id)


def seed_job(request: Request, job: Job) -> dict[str, Any]:
    """The founding document's fields, exactly, then `options`, `requested`, `adjustments`, `waiting_reason`
    and `output_mismatch`."""
    return {
        "id": job.id,
        "object": "images.generation" if job.media is Media.IMAGE else "videos.generation",
        "created": int(job.created_at),
        "model": job.model,
        "status": job.status.value,
        "video_url": seed_video_url(request, job),
        "error": seed_error(job),
        **truth(request, job),
    }


class Generation(BaseModel):
    """A job in the founding document's shape (`seed_job`)."""

    id: str
    object: Literal["videos.generation", "images.generation"]
    created: int
    model: str
    status: JobStatus
    video_url: str | None = Field(
        description="The video's link (signed when API keys are on); null once the job failed or the video expired"
    )
    error: str | None = Field(description="Why the job failed, or that its video expired")
    options: Options
    requested: Requested
    adjustments: Adjustments
    waiting_reason: WaitingReason
    output_mismatch: OutputMismatch
    hd: Hd
    segments: Segments


class GenerationCreated(Generation):
    """A create's answer: the job, and its id again as xAI's `request_id`."""

    request_id: str
