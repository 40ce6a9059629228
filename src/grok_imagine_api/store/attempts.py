"""How a worker's attempt ends in the row, for every store: the attempt log, and a retry's requeue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..domain.jobs import ErrorCode, Job
from ..domain.retries import attempt_record

# Given the failed job as it is in the transaction: until when it waits for another worker than those that failed
# it (it goes back to the queue), or None (it fails now).
Retry = Callable[[Job], float | None]


def completed_log(job: Job, now: float) -> str:
    if not job.attempts:
        return json.dumps(job.attempt_log)  # never claimed (a long video's own job): no attempt to record
    return json.dumps([*job.attempt_log, attempt_record(job, now=now, outcome="completed")])


def failure(job: Job, *, now: float, error: str, code: ErrorCode, retry: Retry | None) -> tuple[str, dict[str, Any]]:
    """The query ending this attempt (`fail_job` or `retry_job`) and its extra parameters."""
    retry_until = retry(job) if retry is not None else None
    outcome = "failed" if retry_until is None else "retried"
    ended = [attempt_record(job, now=now, outcome=outcome, code=code.value, message=error)] if job.attempts else []
    log = json.dumps([*job.attempt_log, *ended])
    if retry_until is None:
        return "fail_job", {"attempt_log": log}
    avoid = [*job.avoid_workers]
    if job.worker_id and job.worker_id not in avoid:
        avoid.append(job.worker_id)
    return "retry_job", {"attempt_log": log, "avoid_workers": json.dumps(avoid), "avoid_until": retry_until}
