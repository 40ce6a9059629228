"""OpenAI's Video object, telling what will be made: `seconds` and `size` are what the worker makes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ...domain.jobs import Dialect, Job, JobKind, JobStatus
from ...domain.options import size_of
from ..common import service
from ..seed.responses import seed_error, seed_video_url
from ..views import truth

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
