"""xAI's GET /v1/videos/{request_id} answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ...domain.jobs import Job, JobStatus
from ..common import video_url
from ..openai.responses import error_object
from ..views import truth


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
