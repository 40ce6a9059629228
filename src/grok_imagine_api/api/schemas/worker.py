"""The worker protocol's answers (api/extension.py; docs/worker-protocol.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...domain.jobs import JobKind, JobStatus, Media
from ..views import JobOptions, Mismatch
from .images import ImageEntry


class Abilities(BaseModel):
    """What a worker can make (docs/worker-protocol.md#abilities)."""

    kinds: list[str]
    sources: list[str]
    durations: list[int]
    aspect_ratios: list[str]
    resolutions: list[str]
    presets: list[str]
    features: list[str] = Field(description="upscale: Grok's HD upscale (docs/hd.md); never in the default table")


class Hello(BaseModel):
    service: str
    version: str
    queued: int
    lease_seconds: float
    max_poll_wait_seconds: float
    default_abilities: Abilities = Field(description="Assumed of a worker that declares nothing")


class ClaimedJob(BaseModel):
    """A job handed to a worker, under a lease."""

    job_id: str
    prompt: str
    image: str | None = Field(description="The input image, base64")
    image_mime: str | None
    model: str
    options: JobOptions
    claim_token: str | None = Field(description="Names this lease in the worker's reports")
    lease_expires_at: float | None
    lease_seconds: float
    attempt: int
    video_url: str | None = Field(description="Where the video will be served once uploaded; null for images")
    kind: JobKind
    media: Media = Field(description="video, or image: then upload `n` images at most (docs/images.md)")
    n: int = Field(description="How many images to make (1 for a video)")
    source_job_id: str | None
    source_video_url: str | None = Field(
        description="Where to download the video a remix, extension or edit starts from"
    )
    source_grok_post_id: str | None
    source_grok_post_url: str | None
    upscale: bool = Field(description="Upload Grok's HD upscale too, as the file part video_hd (docs/hd.md)")


class ProgressAccepted(BaseModel):
    job_id: str
    status: JobStatus
    progress: int
    lease_expires_at: float | None
    cancelled: bool = Field(description="The client cancelled the job: stop working on it")


class CompletionAccepted(BaseModel):
    job_id: str
    status: JobStatus = Field(description="failed when OPTION_MATCHING=strict refused a mismatched video")
    video_url: str | None
    video_size: int | None
    error_code: str | None = Field(None, description="Only when the video is not what was promised")
    output_mismatch: list[Mismatch] | None = Field(None, description="Only when the video is not what was promised")
    images: list[ImageEntry] | None = Field(None, description="An image job's images, as stored")
    video_hd_url: str | None = Field(None, description="Only for a job that asked for HD: its HD file's link")
    video_hd_size: int | None = Field(None, description="Only for a job that asked for HD: its HD file's bytes")


class FailureRecorded(BaseModel):
    job_id: str
    status: JobStatus = Field(description="`pending` when the retry policy sent the job back to the queue")
    error: str | None
    error_code: str | None
    retried: bool = Field(False, description="The job went back to the queue for another worker (docs/retries.md)")
    attempts: int = Field(0, description="Attempts the job had so far")
    cooldown_until: float | None = Field(
        None, description="A rate limit: this worker gets no job until then (unix seconds)"
    )
