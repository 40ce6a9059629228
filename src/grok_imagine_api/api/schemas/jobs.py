"""The answers of the /jobs routes (api/jobs.py): a job with everything known about it, and pages of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ...domain.jobs import Dialect, JobKind, Media
from ..seed.responses import Generation
from ..views import Produced
from .images import ImageEntry


class Attempt(BaseModel):
    """One attempt that ended (docs/retries.md)."""

    attempt: int
    worker_id: str | None
    started_at: float | None
    ended_at: float
    outcome: Literal["completed", "failed", "retried"] = Field(description="retried: it went back to the queue")
    code: str | None = Field(description="Why it failed (docs/errors.md)")
    message: str | None


class JobDetail(Generation):
    """The founding document's fields, then what monitoring wants to see (`job_detail`); never the image."""

    prompt: str
    progress: int
    error_code: str | None = Field(description="Why it failed (see docs/errors.md), or video_expired")
    updated_at: float
    claimed_at: float | None
    completed_at: float | None
    lease_expires_at: float | None
    worker_id: str | None
    attempts: int = Field(description="Attempts so far (claims by a worker)")
    max_attempts: int = Field(description="The most attempts it may have: its own max_attempts, else MAX_ATTEMPTS")
    attempt_history: list[Attempt] = Field(description="Every attempt that ended, oldest first")
    dialect: Dialect = Field(description="The API the job was made through")
    kind: JobKind
    source_job_id: str | None
    source_url: str | None
    grok_post_id: str | None
    needs: list[str] = Field(description="What a worker must be able to make, e.g. kind:text_to_video")
    produced: Produced | None
    has_image: bool
    image_size: int | None
    video_size: int | None
    video_expired: bool
    media: Media = Field(description="What the job makes: video, or image (docs/images.md)")
    n: int = Field(description="How many images were asked (1 for a video)")
    images: list[ImageEntry] = Field(description="An image job's images, once made; empty otherwise")
    parent_id: str | None = Field(description="The long video this job is a segment of (docs/long-videos.md)")


class JobList(BaseModel):
    object: Literal["list"]
    data: list[JobDetail]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class JobDeleted(BaseModel):
    id: str
    object: Literal["job.deleted"]
    deleted: bool
