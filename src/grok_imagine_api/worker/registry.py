"""Workers seen recently, kept in memory: who polled, when, and what they are working on."""

from __future__ import annotations

from dataclasses import dataclass

PRUNE_AT = 256


@dataclass
class WorkerInfo:
    worker_id: str
    first_seen: float
    last_seen: float
    current_job_id: str | None = None
    jobs_claimed: int = 0


class WorkerRegistry:
    def __init__(self, forget_after: float) -> None:
        self.forget_after = forget_after
        self._workers: dict[str, WorkerInfo] = {}

    def seen(self, worker_id: str, now: float) -> WorkerInfo:
        info = self._workers.get(worker_id)
        if info is None:
            if len(self._workers) >= PRUNE_AT:
                self.recent(now)
            info = self._workers[worker_id] = WorkerInfo(worker_id, first_seen=now, last_seen=now)
        info.last_seen = now
        return info

    def claimed(self, worker_id: str, job_id: str, now: float) -> None:
        info = self.seen(worker_id, now)
        info.current_job_id = job_id
        info.jobs_claimed += 1

    def finished(self, worker_id: str | None, job_id: str) -> None:
        info = self._workers.get(worker_id) if worker_id else None
        if info is not None and info.current_job_id == job_id:
            info.current_job_id = None

    def recent(self, now: float) -> list[WorkerInfo]:
        for worker_id in [w for w, i in self._workers.items() if now - i.last_seen > self.forget_after]:
            del self._workers[worker_id]
        return sorted(self._workers.values(), key=lambda info: info.last_seen, reverse=True)
