from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..domain.jobs import Claim, ErrorCode, InputImage, Job, JobStatus, NewJob


class JobStore(Protocol):
    """Every read and write of job rows. Worker reports are checked against the job's lease inside
    the same transaction that applies them, so a late or duplicate report changes nothing."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, new: NewJob) -> Job: ...

    async def get(self, job_id: str) -> Job | None: ...

    async def get_image(self, job_id: str) -> InputImage | None: ...

    async def list_jobs(self, *, status: JobStatus | None, limit: int, before_seq: int | None) -> list[Job]: ...

    async def claim(self, *, worker_id: str, lease_seconds: float, now: float) -> Claim | None: ...

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
        before_commit: Callable[[], None],
    ) -> Job:
        """Mark the job completed; `before_commit` runs inside the transaction once the report is
        known to be valid (it moves the video into place) and its failure rolls everything back."""
        ...

    async def fail(self, job_id: str, *, claim_token: str | None, error: str, code: ErrorCode, now: float) -> Job: ...

    async def fail_stale(self, *, now: float, error: str) -> list[Job]: ...

    async def expire_videos(self, *, cutoff: float, now: float, limit: int) -> list[str]: ...

    async def live_video_ids(self, job_ids: list[str]) -> set[str]: ...

    async def counts(self) -> dict[JobStatus, int]: ...
