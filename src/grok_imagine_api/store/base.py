from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.abilities import DEFAULT_TOKENS
from ..domain.jobs import Claim, ErrorCode, InputImage, Job, JobStatus, Media, NewJob, Produced
from .attempts import Retry

ACTIVITY_BUCKET = 3600.0


@dataclass(frozen=True)
class Activity:
    """Jobs created, completed and failed per ACTIVITY_BUCKET since a time, and timings of recent completions."""

    created: dict[int, int]
    completed: dict[int, int]
    failed: dict[int, int]
    queue_waits: list[float]
    generation_times: list[float]


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    status_code: int | None  # None while the first request is still running
    response: str | None
    created_at: float


class JobStore(Protocol):
    """Every read and write of job rows. Worker reports are checked against the job's lease inside
    the same transaction that applies them, so a late or duplicate report changes nothing."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, new: NewJob) -> Job: ...

    async def get(self, job_id: str) -> Job | None: ...

    async def get_image(self, job_id: str) -> InputImage | None: ...

    async def list_jobs(
        self,
        *,
        status: JobStatus | None,
        limit: int,
        before_seq: int | None = None,
        after_seq: int | None = None,
        ascending: bool = False,
        owner: str | None = None,
        text: str | None = None,
        cancelled: bool | None = None,
        media: Media | None = None,
        steps: bool = False,  # a long video's steps too (docs/long-videos.md)
    ) -> list[Job]:
        """Jobs not deleted, by creation order; `owner=None` means every owner; `text` matches the prompt
        (a case-insensitive substring) or the exact id; `cancelled` True lists cancelled jobs only (failed, code
        `cancelled`), False none of them."""
        ...

    async def claim(
        self, *, worker_id: str, lease_seconds: float, now: float, abilities: frozenset[str] = DEFAULT_TOKENS
    ) -> Claim | None:
        """Lease the oldest pending job whose needs are all among `abilities`."""
        ...

    async def release(self, job_id: str, *, claim_token: str, now: float) -> bool: ...

    async def touch(
        self, job_id: str, *, claim_token: str | None, progress: int | None, lease_seconds: float, now: float
    ) -> Job: ...

    async def complete(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        video_size: int,
        now: float,
        produced: Produced | None = None,
        grok_post_id: str | None = None,
        output_mismatch: list[dict[str, Any]] | None = None,
        images: list[dict[str, Any]] | None = None,
        hd_size: int | None = None,  # the HD file of a job that asked for one (docs/hd.md)
        hd_produced: Produced | None = None,
    ) -> Job: ...

    async def fail(
        self,
        job_id: str,
        *,
        claim_token: str | None,
        error: str,
        code: ErrorCode,
        now: float,
        produced: Produced | None = None,
        output_mismatch: list[dict[str, Any]] | None = None,
        retry: Retry | None = None,
    ) -> Job:
        """End the worker's attempt: the job fails, or, when `retry` names a time, goes back to the queue."""
        ...

    async def waiting_needs(self) -> list[list[str]]:
        """The distinct needs of the pending jobs."""
        ...

    async def mark_unmatched(self, unmatched: list[list[str]], *, now: float) -> None:
        """Start the no-capable-worker clock of pending jobs with these needs; stop it for all others."""
        ...

    async def fail_unmatched(self, needs: list[str], *, before: float, now: float, error: str) -> list[Job]:
        """Fail pending jobs with these needs whose clock started at or before `before`."""
        ...

    async def fail_stale(self, *, now: float, error: str, retry: Retry | None = None) -> list[Job]:
        """End the attempts whose lease expired (code `timeout`): failed, or back to the queue (see fail)."""
        ...

    async def expire_videos(self, *, cutoff: float, now: float, limit: int) -> list[str]: ...

    async def jobs_keeping_files(self, job_ids: list[str]) -> set[str]: ...

    async def delete(self, job_id: str, *, now: float) -> Job: ...

    async def cancel(self, job_id: str, *, now: float) -> Job | None: ...

    async def activity(self, *, since: float, recent: int) -> Activity: ...

    async def counts(self) -> dict[JobStatus, int]: ...

    async def count_cancelled(self) -> int:
        """Of the failed jobs in counts(), those cancelled (code `cancelled`)."""
        ...

    async def update_chain(
        self, job_id: str, *, chain: dict[str, Any], progress: int, now: float, expected: dict[str, Any] | None = None
    ) -> Job | None:
        """Write a long video's segments and raise its progress; None once it is no longer processing, or when
        `expected` is given and its segments are no longer those."""
        ...

    async def active_chains(self) -> list[Job]:
        """The long videos still being made."""
        ...


class KeyStore(Protocol):
    """Idempotency keys and server-wide values (such as the URL signing secret), shared by every replica.
    Opened and closed with the job store it belongs to."""

    async def idempotency_begin(self, scope: str, key: str, fingerprint: str, now: float) -> IdempotencyRecord | None:
        """Reserve `key`, or return the record already there (finished, or still in flight)."""
        ...

    async def idempotency_finish(self, scope: str, key: str, status_code: int, response: str) -> None: ...

    async def idempotency_abort(self, scope: str, key: str) -> None: ...

    async def idempotency_purge(self, *, before: float) -> int: ...

    async def meta_value(self, name: str, default: Callable[[], str]) -> str:
        """A server-wide value, created once with `default` and kept from then on."""
        ...
