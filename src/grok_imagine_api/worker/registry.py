"""Workers seen recently, kept in memory: who polled, when, what they are working on, and how it went.

With several replicas on one database, each keeps what it saw and shares it (worker/sharing.py): `listed` and
`recent` combine this replica's view with the others'.

Online means in contact now: inside a long poll; or, between polls, last contact within the longest long poll
plus a grace (a worker polls again as soon as a poll ends); or, while it holds a job, within the job's lease (each
progress report renews it, and past it the job fails as stale). Offline workers stay listed until forgotten.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..config import Settings
from ..domain.abilities import DEFAULT_ABILITIES, DEFAULT_TOKENS, Abilities, for_modes

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
    tokens: frozenset[str] = DEFAULT_TOKENS  # what it can make now: its abilities narrowed to its modes
    modes: frozenset[str] = frozenset({"video"})  # the media its latest poll asked for
    # When this view last saw the worker take or end a job, and declare: with views of several replicas
    # combined, the latest says what it holds and can make.
    job_at: float = 0.0
    declared_at: float = 0.0
    # Grok rate-limited it: it takes no job until then (docs/retries.md); `streak` counts rate limits in a row.
    cooldown_until: float | None = None
    cooldown_reason: str | None = None
    rate_limit_streak: int = 0

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
        self._others: dict[str, WorkerInfo] = {}  # what the other replicas saw, one entry a worker

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
        info.tokens = can_make(abilities, info.modes)
        info.declared_at = now

    def polls_for(self, worker_id: str, modes: frozenset[str], now: float) -> None:
        """The media the worker asks for in this poll (video, image): what it is offered is narrowed to them."""
        info = self.seen(worker_id, now)
        info.modes = modes
        info.tokens = can_make(info.abilities, modes)

    def seen(self, worker_id: str, now: float, *, version: str | None = None) -> WorkerInfo:
        info = self._workers.get(worker_id) or self._begin(worker_id, now)
        info.last_seen = now
        if version:
            info.version = version
        return info

    def _begin(self, worker_id: str, now: float) -> WorkerInfo:
        """This replica's entry for a worker: a new one, or one that goes on from what the other replicas saw
        (what it declared there holds here)."""
        if len(self._workers) >= PRUNE_AT:
            self.listed(now)
        other = self._others.get(worker_id)
        if other is None:
            info = WorkerInfo(worker_id, first_seen=now, last_seen=now)
        else:
            info = WorkerInfo(worker_id, first_seen=other.first_seen, last_seen=other.last_seen, version=other.version)
            info.abilities, info.tokens, info.declared_at = other.abilities, other.tokens, other.declared_at
            info.modes = other.modes
            info.cooldown_until, info.cooldown_reason = other.cooldown_until, other.cooldown_reason
            info.rate_limit_streak = other.rate_limit_streak
            info.current_job_id, info.current_job_owner, info.job_at = (
                other.current_job_id,
                other.current_job_owner,
                other.job_at,
            )
        self._workers[worker_id] = info
        return info

    def _known(self, worker_id: str | None) -> WorkerInfo | None:
        """The entry a job's end is recorded on: this replica's, begun if only another replica saw the worker."""
        if not worker_id:
            return None
        info = self._workers.get(worker_id)
        if info is None and worker_id in self._others:
            other = self._others[worker_id]
            info = self._begin(worker_id, other.last_seen)
        return info

    def claimed(self, worker_id: str, job_id: str, now: float, *, owner: str | None = None) -> None:
        info = self.seen(worker_id, now)
        info.current_job_id = job_id
        info.current_job_owner = owner
        info.job_at = now
        info.jobs_claimed += 1

    def finished(self, worker_id: str | None, job_id: str, now: float | None = None) -> None:
        info = self._known(worker_id)
        if info is not None and info.current_job_id == job_id:
            info.current_job_id = info.current_job_owner = None
            info.job_at = max(info.job_at, now if now is not None else info.last_seen)

    def completed(self, worker_id: str | None, job_id: str, now: float | None = None) -> None:
        self.finished(worker_id, job_id, now)
        if (info := self._known(worker_id)) is not None:
            info.jobs_completed += 1
            info.rate_limit_streak = 0

    def rate_limited(self, worker_id: str | None, *, until: Callable[[int], float], reason: str) -> float | None:
        """Rest the worker: `until` gets its rate limits in a row (this one counted) and names the end."""
        info = self._known(worker_id)
        if info is None:
            return None
        info.rate_limit_streak += 1
        info.cooldown_until = max(until(info.rate_limit_streak), info.cooldown_until or 0.0)
        info.cooldown_reason = reason
        return info.cooldown_until

    def cooling_until(self, worker_id: str, now: float) -> float | None:
        """When the worker's rest ends, as any replica set it; None when it is not resting."""
        ends = [
            info.cooldown_until
            for info in (self._workers.get(worker_id), self._others.get(worker_id))
            if info is not None and info.cooldown_until is not None and info.cooldown_until > now
        ]
        return max(ends) if ends else None

    def cooling(self, now: float) -> list[WorkerInfo]:
        """Listed workers resting now."""
        return [info for info in self.listed(now) if info.cooldown_until is not None and info.cooldown_until > now]

    def failed(self, worker_id: str | None, job_id: str, error: WorkerError) -> None:
        self.finished(worker_id, job_id, error.at or None)
        if (info := self._known(worker_id)) is not None:
            info.jobs_failed += 1
            info.errors.appendleft(error)

    def share(self, others: list[WorkerInfo]) -> None:
        """What the other replicas saw, one entry a worker (combined), replacing what they said before."""
        self._others = {info.worker_id: info for info in others}

    def own(self) -> list[WorkerInfo]:
        """This replica's own entries, to share."""
        return list(self._workers.values())

    def listed(self, now: float) -> list[WorkerInfo]:
        """Workers seen within `forget_after` or online still (a busy one within its lease), latest first."""
        gone = [
            w for w, i in self._workers.items() if now - i.last_seen > self.forget_after and not self.is_online(i, now)
        ]
        for worker_id in gone:
            del self._workers[worker_id]
        if self._others:
            views = dict(self._others)
            for worker_id, info in self._workers.items():
                views[worker_id] = combine(info, views[worker_id]) if worker_id in views else info
            shown = [
                info
                for info in views.values()
                if now - info.last_seen <= self.forget_after or self.is_online(info, now)
            ]
        else:
            shown = list(self._workers.values())
        return sorted(shown, key=lambda info: info.last_seen, reverse=True)

    def recent(self, now: float) -> list[WorkerInfo]:
        """The connected workers, to the job service (options, the no-capable-worker clock): seen within
        `forget_after`, or inside a long poll."""
        return [i for i in self.listed(now) if i.polling or now - i.last_seen <= self.forget_after]

    def online(self, now: float) -> list[WorkerInfo]:
        return [info for info in self.listed(now) if self.is_online(info, now)]


def combine(a: WorkerInfo, b: WorkerInfo) -> WorkerInfo:
    """One worker as two replicas saw it: counts add up, the latest contact, job and declaration win."""
    holder = a if a.job_at >= b.job_at else b
    declarer = a if a.declared_at >= b.declared_at else b
    latest = a if a.last_seen >= b.last_seen else b
    errors = sorted([*a.errors, *b.errors], key=lambda error: error.at, reverse=True)
    return replace(
        latest,
        first_seen=min(a.first_seen, b.first_seen),
        last_seen=latest.last_seen,
        current_job_id=holder.current_job_id,
        current_job_owner=holder.current_job_owner,
        job_at=holder.job_at,
        jobs_claimed=a.jobs_claimed + b.jobs_claimed,
        jobs_completed=a.jobs_completed + b.jobs_completed,
        jobs_failed=a.jobs_failed + b.jobs_failed,
        version=latest.version or a.version or b.version,
        polling=a.polling + b.polling,
        errors=deque(errors[:RECENT_ERRORS], maxlen=RECENT_ERRORS),
        abilities=declarer.abilities,
        tokens=can_make(declarer.abilities, latest.modes),
        declared_at=declarer.declared_at,
        modes=latest.modes,
        cooldown_until=max(a.cooldown_until or 0.0, b.cooldown_until or 0.0) or None,
        cooldown_reason=(a if (a.cooldown_until or 0.0) >= (b.cooldown_until or 0.0) else b).cooldown_reason,
        rate_limit_streak=holder.rate_limit_streak,  # as of the latest job's end: a completion ends the streak
    )


def can_make(abilities: Abilities | None, modes: frozenset[str]) -> frozenset[str]:
    """A worker's tokens: what it declared (or the default table), narrowed to the media it polls for."""
    return for_modes((abilities or DEFAULT_ABILITIES).tokens(), modes)
