"""The retry policy and the rate-limit rest, pure (domain/retries.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.jobs import ErrorCode, GenerationOptions, Job, JobStatus
from grok_imagine_api.domain.retries import (
    RetryPolicy,
    attempt_record,
    cooldown_seconds,
    named_wait,
    requested_attempts,
)

JOB = Job(
    id="job_1",
    seq=1,
    model="grok",
    prompt="p",
    status=JobStatus.PROCESSING,
    options=GenerationOptions(),
    image_mime=None,
    image_size=None,
    created_at=0.0,
    updated_at=0.0,
    claimed_at=10.0,
    worker_id="w",
    attempts=1,
)


@pytest.mark.parametrize(
    "code", [ErrorCode.RATE_LIMITED, ErrorCode.TIMEOUT, ErrorCode.UI_CHANGED, ErrorCode.WORKER_ERROR]
)
def test_safe_failures_are_retried_until_the_limit(code: ErrorCode) -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.retries(replace(JOB, attempts=2), code)
    assert not policy.retries(replace(JOB, attempts=3), code)


@pytest.mark.parametrize("code", [ErrorCode.NO_OUTPUT, ErrorCode.SOURCE_UNAVAILABLE, ErrorCode.OUTPUT_MISMATCH])
def test_other_failures_are_final(code: ErrorCode) -> None:
    assert not RetryPolicy(max_attempts=10).retries(JOB, code)


def test_a_job_s_own_limit_wins() -> None:
    assert not RetryPolicy(max_attempts=5).retries(replace(JOB, attempts=2, max_attempts=2), ErrorCode.TIMEOUT)
    assert RetryPolicy(max_attempts=1).retries(replace(JOB, attempts=1, max_attempts=2), ErrorCode.TIMEOUT)


def test_moderation_is_retried_only_as_often_as_allowed() -> None:
    moderated: dict[str, Any] = {"code": "moderated"}
    assert not RetryPolicy(retry_moderated=0).retries(JOB, ErrorCode.MODERATED)
    assert RetryPolicy(retry_moderated=1).retries(JOB, ErrorCode.MODERATED)
    assert not RetryPolicy(retry_moderated=1).retries(replace(JOB, attempt_log=[moderated]), ErrorCode.MODERATED)
    # Not bound by the attempt limit: RETRY_MODERATED says how many more.
    assert RetryPolicy(max_attempts=1, retry_moderated=2).retries(
        replace(JOB, attempts=2, attempt_log=[moderated]), ErrorCode.MODERATED
    )


def test_a_cancelled_job_is_never_retried() -> None:
    assert not RetryPolicy().retries(replace(JOB, error_code="cancelled"), ErrorCode.TIMEOUT)


def test_an_attempt_record() -> None:
    assert attempt_record(JOB, now=20.0, outcome="retried", code="timeout", message="m") == {
        "attempt": 1,
        "worker_id": "w",
        "started_at": 10.0,
        "ended_at": 20.0,
        "outcome": "retried",
        "code": "timeout",
        "message": "m",
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Rate limit reached. Try again in 2 hours", 7200),
        ("Resets in 1h 30m", 5400),
        ("resets in 1 hour and 20 minutes", 4800),
        ("please wait 45 seconds", 45),
        ("Available again after 10 mins", 600),
        ("Try again in about 3 hours.", 10800),
        ("try again in 1.5 hours", 5400),
        ("Limit reached. Upgrade to unlock more", None),
        ("Video limit reached", None),
        ("in a while", None),
        ("Try again in 3 days", 86400),  # taken as a day at most
    ],
)
def test_the_wait_a_toast_names(text: str, seconds: float | None) -> None:
    assert named_wait(text) == seconds


def test_the_rest_doubles_from_the_base_up_to_the_cap() -> None:
    rests = [cooldown_seconds(named=None, streak=streak, base=60, cap=3600) for streak in range(1, 9)]
    assert rests == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert cooldown_seconds(named=900, streak=5, base=60, cap=3600) == 900


@pytest.mark.parametrize("value", [1, 10, "3", " 4 "])
def test_a_request_s_max_attempts(value: object) -> None:
    assert requested_attempts(value) == int(str(value))


@pytest.mark.parametrize("value", [0, 11, -1, 2.0, True, "two", "1.5", [], {}])
def test_a_bad_request_max_attempts(value: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        requested_attempts(value)
    assert caught.value.param == "max_attempts"
