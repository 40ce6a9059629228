"""What every dialect's answer says about a job beyond its own shape: what will be made, what was asked, why it
waits, and whether the video is what was promised. The builder, and the schemas the answers declare."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, Field

from ..domain.jobs import Job, JobStatus, Media
from .common import service


def truth(request: Request, job: Job) -> dict[str, Any]:
    return {
        "options": job.options.to_dict(),
        "requested": job.requested,
        "adjustments": made_adjustments(job),
        "waiting_reason": service(request).waiting_reason(job),
        "output_mismatch": job.output_mismatch,
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


# The five fields every dialect's answer ends with (`truth` above), written once for the models to use.
Options = Annotated[JobOptions, Field(description="What will be made: the asked options matched onto what can be")]
Requested = Annotated[dict[str, Any], Field(description="What the client asked for, as it was sent")]
Adjustments = Annotated[list[Adjustment], Field(description="Asked values that were changed to ones that can be made")]
WaitingReason = Annotated[
    str | None, Field(description="Why no connected worker can make this queued job; null when one can")
]
OutputMismatch = Annotated[
    list[Mismatch] | None, Field(description="How the video differs from what was promised; null when it does not")
]
