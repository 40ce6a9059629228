"""When a failed attempt is tried again, and how long a rate-limited worker rests. Pure: no I/O (docs/retries.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequest
from .jobs import ErrorCode, Job

# Failures where Grok made nothing the job could use and another worker may well succeed. A moderation is retried
# only when RETRY_MODERATED allows it; the others (no output, an unavailable source, output mismatch) are final.
RETRIED_ON_ANOTHER_WORKER = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.TIMEOUT, ErrorCode.UI_CHANGED, ErrorCode.WORKER_ERROR, ErrorCode.SESSION}
)
MAX_REQUEST_ATTEMPTS = 10  # the most a client may ask for with `max_attempts`
LONGEST_NAMED_COOLDOWN = 24 * 3600.0  # a toast naming a longer wait is taken as a day

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
# "try again in 2 hours", "resets in 1h 30m", "available again after 45 minutes", "wait 30 seconds"
_LEAD = re.compile(r"\b(?:in|after|wait|within)\s+(?:about\s+|around\s+|~\s*)?(?=\d)", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    retry_moderated: int = 0
    other_worker_seconds: float = 60.0  # how long a retried job waits for another worker than the one that failed

    def limit(self, job: Job) -> int:
        return job.max_attempts or self.max_attempts

    def retries(self, job: Job, code: ErrorCode) -> bool:
        """Whether this failed attempt of `job` (its attempts counted with it) goes back to the queue."""
        if job.cancelled:
            return False
        if code is ErrorCode.MODERATED:
            moderated = sum(1 for attempt in job.attempt_log if attempt.get("code") == ErrorCode.MODERATED.value)
            return moderated < self.retry_moderated
        return code in RETRIED_ON_ANOTHER_WORKER and job.attempts < self.limit(job)


def attempt_record(
    job: Job, *, now: float, outcome: str, code: str | None = None, message: str | None = None
) -> dict[str, Any]:
    """One line of a job's attempt log: the attempt that just ended."""
    return {
        "attempt": job.attempts,
        "worker_id": job.worker_id,
        "started_at": job.claimed_at,
        "ended_at": now,
        "outcome": outcome,
        "code": code,
        "message": message,
    }


def named_wait(message: str) -> float | None:
    """The wait a rate-limit toast names ("try again in 2 hours", "resets in 1h 30m"), in seconds; None if none."""
    lead = _LEAD.search(message)
    if lead is None:
        return None
    total = 0.0
    position = lead.end()
    while match := _AMOUNT.match(message, position):
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        position = match.end()
        gap = re.match(r"\s*(?:and|,)?\s*", message[position:])
        position += gap.end() if gap else 0
    return min(total, LONGEST_NAMED_COOLDOWN) if total > 0 else None


def cooldown_seconds(*, named: float | None, streak: int, base: float, cap: float) -> float:
    """How long a rate-limited worker rests: what the toast names, else `base` doubled for each rate limit in a row
    (`streak` counts this one), up to `cap`."""
    if named is not None:
        return named
    return min(base * 2.0 ** max(streak - 1, 0), cap)


def requested_attempts(value: object, *, param: str = "max_attempts") -> int | None:
    """A client's `max_attempts`: a whole number from 1 to MAX_REQUEST_ATTEMPTS (a form field's text too)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REQUEST_ATTEMPTS:
        raise InvalidRequest(
            f"max_attempts must be a whole number from 1 to {MAX_REQUEST_ATTEMPTS}",
            param=param,
            code="invalid_max_attempts",
        )
    return value
