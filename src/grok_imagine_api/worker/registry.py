"""Workers seen recently, kept in memory: who polled, when, what they are working on, and how it went.

Online means in contact now: inside a long poll; or, between polls, last contact within the longest long poll
plus a grace (a worker polls again as soon as a poll ends); or, while it holds a job, within the job's lease (each
progress report renews it, and past it the job fails as stale). Offline workers stay listed until forgotten.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..config import Settings
from ..domain.abilities import DEFAULT_TOKENS, Abilities

PRUNE_AT = 256
RECENT_ERRORS = 5
# Between two polls: the answer's trip back, the worker's own work on it, a slow network.
ONLINE_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class WorkerError:
    job_id: str
    code: str
    message: str
    at: float
    owner: str | None = None  # the job's owner: only they see its id and message


@dataclass
class WorkerInfo:
    worker_id: str
    first_seen: float
    last_seen: float
    current_job_id: str | None = None
    current_job_owner: str | None = None
    jobs_claimed: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    version: str | None = None
    polling: int = 0
    errors: deque[WorkerError] = field(default_factory=lambda: deque(maxlen=RECENT_ERRORS))
    abilities: Abilities | None = None  # None: never declared (the founding document's protocol)
    tokens: frozenset[str] = DEFAULT_TOKENS

    @property
    def state(self) -> str:
        if self.current_job_id is not None:
            return "busy"
        return "waiting" if self.polling else "idle"


class WorkerRegistry:
    def __init__(self, forget_after: float, *, poll_seconds: float = 30.0, lease_seconds: float = 300.0) -> None:
        self.forget_after = forget_after
        self.idle_online = poll_seconds + ONLINE_GRACE_SECONDS
        self.busy_online = max(lease_seconds, self.idle_online)
        self._workers: dict[str, WorkerInfo] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> WorkerRegistry:
        return cls(
            settings.worker_seen_seconds,
            poll_seconds=settings.max_poll_wait_seconds,
            lease_seconds=settings.job_timeout_seconds,
        )

    def is_online(self, info: WorkerInfo, now: float) -> bool:
        if info.polling:
            return True
        return now - info.last_seen <= (self.busy_online if info.current_job_id else self.idle_online)

    def state(self, info: WorkerInfo, now: float) -> str:
        """busy, waiting or idle while online, else offline."""
        return info.state if self.is_online(info, now) else "offline"

    def declare(self, worker_id: str, abilities: Abilities, now: float) -> None:
        info = self.seen(worker_id, now)
        info.abilities = abilities
        info.tokens = abilities.tokens()

    def seen(self, worker_id: str, now: float, *, version: str | None = None) -> WorkerInfo:
        info = self._workers.get(worker_id)
        if info is None:
            if len(self._workers) >= PRUNE_AT:
                self.listed(now)
            info = self._workers[worker_id] = WorkerInfo(worker_id, first_seen=now, last_seen=now)
        info.last_seen = now
        if version:
            info.version = version
        return info

    def claimed(self, worker_id: str, job_id: str, now: float, *, owner: str | None = None) -> None:
        info = self.seen(worker_id, now)
        info.current_job_id = job_id
        info.current_job_owner = owner
        info.jobs_claimed += 1

    def finished(self, worker_id: str | None, job_id: str) -> None:
        info = self._workers.get(worker_id) if worker_id else None
        if info is not None and info.current_job_id == job_id:
            info.current_job_id = info.current_job_owner = None

    def completed(self, worker_id: str | None, job_id: str) -> None:
        self.finished(worker_id, job_id)
        if worker_id and (info := self._workers.get(worker_id)) is not None:
            info.jobs_completed += 1

    def failed(self, worker_id: str | None, job_id: str, error: WorkerError) -> None:
        self.finished(worker_id, job_id)
        if worker_id and (info := self._workers.get(worker_id)) is not None:
            info.jobs_failed += 1
            info.errors.appendleft(error)

    def listed(self, now: float) -> list[WorkerInfo]:
        """Workers seen within `forget_after` or online still (a busy one within its lease), latest first."""
        gone = [
            w for w, i in self._workers.items() if now - i.last_seen > self.forget_after and not self.is_online(i, now)
        ]
        for worker_id in gone:
            del self._workers[worker_id]
        return sorted(self._workers.values(), key=lambda info: info.last_seen, reverse=True)

    def recent(self, now: float) -> list[WorkerInfo]:
        """The connected workers, to the job service (options, the no-capable-worker clock): seen within
        `forget_after`, or inside a long poll."""
        return [i for i in self.listed(now) if i.polling or now - i.last_seen <= self.forget_after]

    def online(self, now: float) -> list[WorkerInfo]:
        return [info for info in self.listed(now) if self.is_online(info, now)]
