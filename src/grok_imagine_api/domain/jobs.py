"""The job domain: states, options and the rules for moving between states. Pure: no I/O."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import Conflict, InvalidRequest


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class ErrorCode(StrEnum):
    """Machine-readable reasons a job failed; workers send those in WORKER_CODES, the server sets the rest."""

    MODERATED = "moderated"
    RATE_LIMITED = "rate_limited"
    SESSION = "session"
    TIMEOUT = "timeout"
    NO_OUTPUT = "no_output"
    UI_CHANGED = "ui_changed"
    WORKER_ERROR = "worker_error"
    SOURCE_UNAVAILABLE = "source_unavailable"
    CANCELLED = "cancelled"
    NO_CAPABLE_WORKER = "no_capable_worker"
    OUTPUT_MISMATCH = "output_mismatch"


WORKER_CODES = frozenset(
    {
        ErrorCode.MODERATED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.SESSION,
        ErrorCode.TIMEOUT,
        ErrorCode.NO_OUTPUT,
        ErrorCode.UI_CHANGED,
        ErrorCode.WORKER_ERROR,
        ErrorCode.SOURCE_UNAVAILABLE,
    }
)


class Dialect(StrEnum):
    """The API a job was created through; it decides the vocabulary of GET /v1/videos/{id}."""

    SEED = "seed"
    OPENAI = "openai"
    XAI = "xai"


class Media(StrEnum):
    """What a job makes: one video, or images (docs/images.md)."""

    VIDEO = "video"
    IMAGE = "image"


MAX_IMAGES = 10  # the most images one job may ask for (OpenAI's and xAI's limit)


# The need (and ability token) of a job that asks for Grok's HD upscale besides the standard video (docs/hd.md).
UPSCALE_NEED = "feature:upscale"


class JobKind(StrEnum):
    GENERATE = "generate"
    REMIX = "remix"
    EXTEND = "extend"
    EDIT = "edit"


@dataclass(frozen=True)
class GenerationOptions:
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: int | None = None
    mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
            "duration": self.duration,
            "mode": self.mode,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationOptions:
        return cls(
            aspect_ratio=data.get("aspect_ratio"),
            resolution=data.get("resolution"),
            duration=data.get("duration"),
            mode=data.get("mode"),
        )


@dataclass(frozen=True)
class InputImage:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Produced:
    """What a finished video really is, read from the file."""

    seconds: float | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "width": self.width, "height": self.height}

    @property
    def size(self) -> str | None:
        return f"{self.width}x{self.height}" if self.width and self.height else None


@dataclass(frozen=True)
class NewJob:
    id: str
    model: str
    prompt: str
    options: GenerationOptions
    image: InputImage | None
    created_at: float
    dialect: Dialect = Dialect.SEED
    owner: str | None = None
    kind: JobKind = JobKind.GENERATE
    source_job_id: str | None = None
    source_url: str | None = None
    source_size: int | None = None
    requested: dict[str, Any] = field(default_factory=dict)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    unmatched_since: float | None = None  # no connected worker could make it when it was created
    media: Media = Media.VIDEO
    n: int = 1
    max_attempts: int | None = None  # the client's own limit; None: the server's MAX_ATTEMPTS
    parent_id: str | None = None  # a step of a long video's chain (docs/long-videos.md)
    chain: dict[str, Any] | None = None  # a long video: its segments; it is never claimed


@dataclass(frozen=True)
class Job:
    id: str
    seq: int
    model: str
    prompt: str
    status: JobStatus
    options: GenerationOptions
    image_mime: str | None
    image_size: int | None
    created_at: float
    updated_at: float
    claimed_at: float | None = None
    completed_at: float | None = None
    progress: int = 0
    claim_token: str | None = None
    lease_expires_at: float | None = None
    last_contact_at: float | None = None
    worker_id: str | None = None
    attempts: int = 0
    error: str | None = None
    error_code: str | None = None
    video_size: int | None = None
    video_expired_at: float | None = None
    dialect: Dialect = Dialect.SEED
    owner: str | None = None
    kind: JobKind = JobKind.GENERATE
    source_job_id: str | None = None
    source_url: str | None = None
    source_size: int | None = None
    requested: dict[str, Any] = field(default_factory=dict)
    produced: Produced | None = None
    deleted_at: float | None = None
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    grok_post_id: str | None = None
    output_mismatch: list[dict[str, Any]] | None = None
    media: Media = Media.VIDEO
    n: int = 1
    # The images an image job made: {index, content_type, ext, width, height, bytes} each, in the page's order.
    images: list[dict[str, Any]] = field(default_factory=list)
    # Every attempt that ended: {attempt, worker_id, started_at, ended_at, outcome, code, message} (docs/retries.md).
    attempt_log: list[dict[str, Any]] = field(default_factory=list)
    max_attempts: int | None = None
    avoid_workers: list[str] = field(default_factory=list)  # whose attempts failed: another worker goes first
    avoid_until: float | None = None
    hd_size: int | None = None  # the HD (upscaled) file of a job that asked for one, and what it is
    hd_produced: Produced | None = None
    parent_id: str | None = None  # the long video this job is a segment of (docs/long-videos.md)
    chain: dict[str, Any] | None = None  # a long video: {"segments": [...]}; made by its children

    @property
    def has_files(self) -> bool:
        """Completed, and its files not expired or deleted."""
        return self.status is JobStatus.COMPLETED and self.video_expired_at is None and self.deleted_at is None

    @property
    def has_video(self) -> bool:
        return self.media is Media.VIDEO and self.has_files

    @property
    def wants_hd(self) -> bool:
        return UPSCALE_NEED in self.needs

    @property
    def has_hd(self) -> bool:
        return self.has_video and self.hd_size is not None

    @property
    def has_images(self) -> bool:
        return self.media is Media.IMAGE and self.has_files

    @property
    def cancelled(self) -> bool:
        return self.error_code == ErrorCode.CANCELLED


@dataclass(frozen=True)
class Claim:
    """What a worker receives when it claims a job."""

    job: Job
    image: InputImage | None = field(default=None)
    source_grok_post_id: str | None = None  # the Grok post a remix, extension or edit starts from


def new_job_id() -> str:
    return "job_" + secrets.token_hex(12)


def new_claim_token() -> str:
    return secrets.token_urlsafe(18)


def check_worker_report(job: Job, claim_token: str | None, now: float) -> None:
    """Raise unless a worker may report on `job` now: it must be processing, under a live lease,
    and, when the worker names its claim token, under that very lease."""
    if job.cancelled:
        raise Conflict(f"Job {job.id} was cancelled by its client", param="job_id", code="job_cancelled")
    if job.status is not JobStatus.PROCESSING:
        raise Conflict(
            f"Job {job.id} is {job.status.value}; only a processing job accepts worker reports",
            param="job_id",
            code=f"job_{job.status.value}",
        )
    if claim_token is not None and claim_token != job.claim_token:
        raise Conflict(
            f"Claim token does not match the current lease of job {job.id}; it was handed to another worker",
            param="claim_token",
            code="lease_mismatch",
        )
    if job.lease_expires_at is not None and job.lease_expires_at <= now:
        raise Conflict(
            f"The lease on job {job.id} expired; the job is no longer yours",
            param="claim_token",
            code="lease_expired",
        )


def validate_prompt(prompt: str, *, max_chars: int, param: str = "prompt") -> str:
    text = prompt.strip()
    if not text:
        raise InvalidRequest("Prompt must not be empty", param=param, code="empty_prompt")
    if len(text) > max_chars:
        raise InvalidRequest(
            f"Prompt is {len(text)} characters long; the limit is {max_chars}",
            param=param,
            code="prompt_too_long",
        )
    return text
