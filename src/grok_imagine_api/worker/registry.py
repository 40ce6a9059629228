"""Workers seen recently, kept in memory: who polled, when, what they are working on, and how it went."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..domain.abilities import DEFAULT_TOKENS, Abilities

PRUNE_AT = 256
RECENT_ERRORS = 5


@dataclass(frozen=True)
class WorkerError:
    job_id: str
    code: str
    message: str
    at: float


@dataclass
class WorkerInfo:
    worker_id: str
    first_seen: float
    last_seen: float
    current_job_id: str | None = None
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
    def __init__(self, forget_after: float) -> None:
        self.forget_after = forget_after
        self._workers: dict[str, WorkerInfo] = {}

    def declare(self, worker_id: str, abilities: Abilities, now: float) -> None:
        info = self.seen(worker_id, now)
        info.abilities = abilities
        info.tokens = abilities.tokens()

    def seen(self, worker_id: str, now: float, *, version: str | None = None) -> WorkerInfo:
        info = self._workers.get(worker_id)
        if info is None:
            if len(self._workers) >= PRUNE_AT:
                self.recent(now)
            info = self._workers[worker_id] = WorkerInfo(worker_id, first_seen=now, last_seen=now)
        info.last_seen = now
        if version:
            info.version = version
        return info

    def claimed(self, worker_id: str, job_id: str, now: float) -> None:
        info = self.seen(worker_id, now)
        info.current_job_id = job_id
        info.jobs_claimed += 1

    def finished(self, worker_id: str | None, job_id: str) -> None:
        info = self._workers.get(worker_id) if worker_id else None
        if info is not None and info.current_job_id == job_id:
            info.current_job_id = None

    def completed(self, worker_id: str | None, job_id: str) -> None:
        self.finished(worker_id, job_id)
        if worker_id and (info := self._workers.get(worker_id)) is not None:
            info.jobs_completed += 1

    def failed(self, worker_id: str | None, job_id: str, error: WorkerError) -> None:
        self.finished(worker_id, job_id)
        if worker_id and (info := self._workers.get(worker_id)) is not None:
            info.jobs_failed += 1
            info.errors.appendleft(error)

    def recent(self, now: float) -> list[WorkerInfo]:
        gone = [w for w, i in self._workers.items() if now - i.last_seen > self.forget_after and not i.polling]
        for worker_id in gone:
            del self._workers[worker_id]
        return sorted(self._workers.values(), key=lambda info: info.last_seen, reverse=True)
