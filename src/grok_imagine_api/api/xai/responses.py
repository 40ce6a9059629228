"""xAI's GET /v1/videos/{request_id} answer."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, Field

from ...domain.jobs import Job, JobStatus
from ..common import video_url
from ..openai.responses import VideoError, error_object
from ..views import Adjustments, Hd, Options, OutputMismatch, Requested, Segments, WaitingReason, truth


def xai_status(job: Job) -> str:
    if job.status is JobStatus.COMPLETED:
        return "expired" if job.video_expired_at is not None else "done"
    if job.status is JobStatus.FAILED:
        return "failed"
    return "pending"


def xai_video(request: Request, job: Job) -> dict[str, Any]:
    """xAI's fields, then what will be made (`duration`, `aspect_ratio`, `resolution`) and the shared truth."""
    status = xai_status(job)
    body: dict[str, Any] = {"request_id": job.id, "status": status, "model": job.model, "progress": job.progress}
    moderated = job.error_code == "moderated"
    if status == "done":
        duration = job.produced.seconds if job.produced and job.produced.seconds else job.options.duration
        body["video"] = {"url": video_url(request, job.id), "duration": duration, "respect_moderation": True}
    elif status in ("failed", "expired"):
        body["video"] = {"duration": 0, "respect_moderation": not moderated}
        body["error"] = error_object(job)
    options = job.options
    body.update(duration=options.duration, aspect_ratio=options.aspect_ratio, resolution=options.resolution)
    body.update(truth(request, job))
    return body


class XaiVideoFile(BaseModel):
    url: str | None = Field(None, description="Only once done (signed when API keys are on)")
    duration: float | None = Field(description="Seconds; 0 when there is no video")
    respect_moderation: bool


class XaiVideo(BaseModel):
    """xAI's answer (`xai_video`), then what will be made and the fields every dialect adds."""

    request_id: str
    status: Literal["pending", "done", "failed", "expired"]
    model: str
    progress: int
    video: XaiVideoFile | None = Field(None, description="Only once done, failed or expired")
    error: VideoError | None = Field(None, description="Only once failed or expired")
    duration: int | None
    aspect_ratio: str | None
    resolution: str | None
    options: Options
    requested: Requested
    adjustments: Adjustments
    waiting_reason: WaitingReason
    output_mismatch: OutputMismatch
    hd: Hd
    segments: Segments
