"""What every dialect's answer says about a job beyond its own shape: what will be made, what was asked, why it
waits, and whether the video is what was promised. The builder, and the schemas the answers declare."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, Field

from ..domain.jobs import Job, JobStatus, Media
from .common import service, video_url


def truth(request: Request, job: Job) -> dict[str, Any]:
    return {
        "options": job.options.to_dict(),
        "requested": job.requested,
        "adjustments": made_adjustments(job),
        "waiting_reason": service(request).waiting_reason(job),
        "output_mismatch": job.output_mismatch,
        "hd": hd_view(request, job),
        "segments": segments_view(request, job),
    }


def segments_view(request: Request, job: Job) -> list[dict[str, Any]] | None:
    """A long video's steps (docs/long-videos.md): each one's prompt, seconds, job and state, where it lies in the
    joined video, and its own video's link once made (kept when a later step fails)."""
    if job.chain is None:
        return None
    return [
        {
            "index": segment["index"],
            "prompt": segment["prompt"],
            "seconds": segment["seconds"],
            "job_id": segment["job_id"],
            "status": segment["status"] or "pending",
            "progress": segment["progress"] or 0,
            "start": segment["start"],
            "end": segment["end"],
            "joined": segment["joined"],
            "video_url": video_url(request, segment["job_id"]) if segment["status"] == "completed" else None,
        }
        for segment in job.chain["segments"]
    ]


def hd_view(request: Request, job: Job) -> dict[str, Any] | None:
    """A job that asked for HD (docs/hd.md): its HD file once made (link, bytes, frame size, length)."""
    if not job.wants_hd:
        return None
    produced = job.hd_produced
    return {
        "url": video_url(request, job.id, hd=True) if job.has_hd else None,
        "size": job.hd_size if job.has_hd else None,
        "resolution": produced.size if produced and job.has_hd else None,
        "width": produced.width if produced and job.has_hd else None,
        "height": produced.height if produced and job.has_hd else None,
        "seconds": produced.seconds if produced and job.has_hd else None,
    }


def made_adjustments(job: Job) -> list[dict[str, Any]]:
    """The job's adjustments, and for an image job that made fewer images than asked, that too."""
    if job.media is not Media.IMAGE or job.status is not JobStatus.COMPLETED or len(job.images) >= job.n:
        return job.adjustments
    made = len(job.images)
    message = f"The worker made {made} of the {job.n} images asked"
    return [*job.adjustments, {"param": "n", "requested": job.n, "made": made, "message": message}]


class JobOptions(BaseModel):
    """What the worker is asked to make; null leaves the choice to Grok's page."""

    aspect_ratio: str | None
    resolution: str | None
    duration: int | None
    mode: str | None


class Adjustment(BaseModel):
    """An asked value that was mapped onto one that can be made."""

    param: str
    requested: Any
    made: Any
    message: str


class Mismatch(BaseModel):
    """How the video differs from what was promised."""

    param: str
    promised: Any
    produced: Any
    message: str


class Produced(BaseModel):
    """What the uploaded video turned out to be."""

    seconds: float | None
    width: int | None
    height: int | None


class HdFile(BaseModel):
    """The HD (upscaled) file of a job that asked for HD; each field null until it is made (docs/hd.md)."""

    url: str | None = Field(description="Its link (the video link with variant=hd; signed when API keys are on)")
    size: int | None = Field(description="Bytes")
    resolution: str | None = Field(description="WxH, as probed: the size Grok's upscale chose")
    width: int | None
    height: int | None
    seconds: float | None


class Segment(BaseModel):
    """One step of a long video (docs/long-videos.md)."""

    index: int
    prompt: str
    seconds: int = Field(description="The seconds this step makes (added, for the extends after the first)")
    job_id: str | None = Field(description="The step's own job, once started")
    status: str = Field(description="pending, processing, completed or failed")
    progress: int
    start: float | None = Field(description="Where the segment starts in the joined video, in seconds, once made")
    end: float | None
    joined: str | None = Field(
        description="first; cumulative (the step's video held the whole video so far); appended (only its part)"
    )
    video_url: str | None = Field(description="The step's own video, once made")


Segments = Annotated[
    list[Segment] | None, Field(description="A long video's segments, made as a chain of steps; null otherwise")
]


# The five fields every dialect's answer ends with (`truth` above), written once for the models to use.
Options = Annotated[JobOptions, Field(description="What will be made: the asked options matched onto what can be")]
Requested = Annotated[dict[str, Any], Field(description="What the client asked for, as it was sent")]
Adjustments = Annotated[list[Adjustment], Field(description="Asked values that were changed to ones that can be made")]
WaitingReason = Annotated[
    str | None, Field(description="Why no connected worker can make this queued job; null when one can")
]
Hd = Annotated[HdFile | None, Field(description="The HD file, for a job that asked for HD (upscale); null otherwise")]
OutputMismatch = Annotated[
    list[Mismatch] | None, Field(description="How the video differs from what was promised; null when it does not")
]
