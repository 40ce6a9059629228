"""What operators and the dashboard watch (api/monitoring.py): health, the queue overview and the workers. With
API keys on, a key sees ids, progress and error messages of its own jobs only (null for others')."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .worker import Abilities

WorkerState = Literal["busy", "waiting", "idle", "offline"]


class JobCounts(BaseModel):
    """Jobs per state."""

    pending: int
    processing: int
    completed: int
    failed: int


class StateCounts(JobCounts):
    """Jobs per state, the cancelled ones apart from the other failed ones."""

    cancelled: int


class HealthWorker(BaseModel):
    client_id: str
    state: WorkerState
    last_seen: int
    current_job_id: str | None = Field(description="Null when idle, or for another key's job")
    jobs_claimed: int


class HealthWorkers(BaseModel):
    online: int
    recent: int
    waiting: int
    seen_within_seconds: float
    listed: list[HealthWorker] | None = Field(
        None, alias="list", description="Left out for callers without a key when API keys are on"
    )


class Health(BaseModel):
    status: Literal["ok"]
    service: str
    version: str
    time: int
    jobs: JobCounts
    workers: HealthWorkers


class HourCount(BaseModel):
    start: int
    created: int
    completed: int
    failed: int


class StatsWorkers(BaseModel):
    online: int
    busy: int
    waiting: int
    offline: int


class Stats(BaseModel):
    object: Literal["stats"]
    version: int = Field(description="Changes whenever a job does: a dashboard redraws only then")
    time: float
    jobs: StateCounts
    per_hour: list[HourCount]
    median_queue_wait_seconds: float | None
    median_generation_seconds: float | None
    timing_sample: int
    workers: StatsWorkers


class RecentError(BaseModel):
    job_id: str | None = Field(description="Null for another key's job")
    code: str
    message: str | None = Field(description="Null for another key's job")
    at: float


class Worker(BaseModel):
    client_id: str
    state: WorkerState
    online: bool
    version: str | None
    first_seen: float
    last_seen: float
    current_job_id: str | None = Field(description="Null when idle, or for another key's job")
    current_job_progress: int | None
    jobs_claimed: int
    jobs_completed: int
    jobs_failed: int
    abilities: Abilities | None = Field(description="Null: never declared, so plain generation only")
    recent_errors: list[RecentError]
    cooldown_until: float | None = Field(
        description="Rate-limited by Grok: it gets no job until this time (unix seconds); null otherwise"
    )
    cooldown_reason: str | None = Field(description="The rate-limit message that started the cool-down")


class OnlineWithin(BaseModel):
    """How recent the last contact of an online worker is, idle or busy."""

    idle: float
    busy: float


class WorkerList(BaseModel):
    object: Literal["list"]
    seen_within_seconds: float
    online_within_seconds: OnlineWithin
    data: list[Worker]
