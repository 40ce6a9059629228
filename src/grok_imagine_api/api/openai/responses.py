"""OpenAI's Video object, telling what will be made: `seconds` and `size` are what the worker makes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ...domain.jobs import Dialect, Job, JobKind, JobStatus
from ...domain.options import size_of
from ..common import service
from ..seed.responses import seed_error, seed_video_url
from ..views import Adjustments, Hd, Options, OutputMismatch, Produced, Requested, Segments, WaitingReason, truth

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


def seconds_of(job: Job) -> str:
    if job.options.duration is not None:
        return str(job.options.duration)
    if job.produced and job.produced.seconds:
        return str(round(job.produced.seconds))
    return "6"  # the founding document's jobs leave the length to the page, whose default is 6 s


def openai_video(request: Request, job: Job) -> dict[str, Any]:
    """OpenAI's Video object, plus what Grok adds (`options`, `requested`, `adjustments`, ...)."""
    size = size_of(job.options) or (job.produced.size if job.produced else None)
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
        "seconds": seconds_of(job),
        "size": size or "auto",
        "remixed_from_video_id": job.source_job_id if job.kind is JobKind.REMIX else None,
        "error": error_object(job),
        **truth(request, job),
        "produced": job.produced.to_dict() if job.produced else None,
        "video_url": seed_video_url(request, job) if job.has_video else None,
    }


def poll_headers(request: Request, job: Job) -> dict[str, str]:
    if job.status.terminal:
        return {}
    return {"openai-poll-after-ms": str(service(request).settings.poll_after_ms)}


def video_response(request: Request, job: Job) -> JSONResponse:
    """A create's answer: the Video object (with xAI's `request_id` too when xAI's body made it)."""
    body = openai_video(request, job)
    if job.dialect is Dialect.XAI:
        body["request_id"] = job.id
    return JSONResponse(body, headers=poll_headers(request, job))


class VideoError(BaseModel):
    code: str = Field(description="The failed job's code (see docs/errors.md), or video_expired")
    message: str


class Video(BaseModel):
    """OpenAI's Video object (`openai_video`), plus what Grok adds."""

    id: str
    object: Literal["video"]
    created_at: int
    completed_at: int | None
    expires_at: int | None = Field(description="When the video will be deleted (MAX_VIDEO_AGE_DAYS)")
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int
    model: str
    prompt: str
    seconds: str = Field(description="The length that will be made")
    size: str = Field(description="The frame size that will be made, or auto")
    remixed_from_video_id: str | None
    error: VideoError | None
    options: Options
    requested: Requested
    adjustments: Adjustments
    waiting_reason: WaitingReason
    output_mismatch: OutputMismatch
    hd: Hd
    segments: Segments
    produced: Produced | None
    video_url: str | None = Field(description="The video's link once it is completed (signed when API keys are on)")
    request_id: str | None = Field(None, description="Only in a create's answer to xAI's body: the id again")


class VideoList(BaseModel):
    object: Literal["list"]
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"]
    deleted: bool
