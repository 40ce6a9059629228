from __future__ import annotations

import pytest

from grok_imagine_api.domain.errors import Conflict, InvalidRequest
from grok_imagine_api.domain.jobs import (
    GenerationOptions,
    Job,
    JobStatus,
    check_worker_report,
    new_job_id,
    validate_prompt,
)


def job(**changes: object) -> Job:
    base = dict(
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
        claim_token="tok",
        lease_expires_at=100.0,
    )
    base.update(changes)
    return Job(**base)  # type: ignore[arg-type]


def test_terminal_states() -> None:
    assert [s.value for s in JobStatus if s.terminal] == ["completed", "failed"]


@pytest.mark.parametrize("token", [None, "tok"])
def test_a_live_lease_accepts_reports(token: str | None) -> None:
    check_worker_report(job(), token, now=99.0)


@pytest.mark.parametrize(
    ("changes", "token", "now", "code"),
    [
        ({"status": JobStatus.PENDING}, None, 0.0, "job_pending"),
        ({"status": JobStatus.COMPLETED}, "tok", 0.0, "job_completed"),
        ({"status": JobStatus.FAILED}, "tok", 0.0, "job_failed"),
        ({}, "other", 0.0, "lease_mismatch"),
        ({}, "tok", 100.0, "lease_expired"),
        ({}, None, 101.0, "lease_expired"),
    ],
)
def test_reports_that_do_not_fit_are_conflicts(changes: dict, token: str | None, now: float, code: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(Conflict) as err:
        check_worker_report(job(**changes), token, now)
    assert err.value.code == code
    assert err.value.status_code == 409


def test_prompt_is_trimmed_and_bounded() -> None:
    assert validate_prompt("  hi  ", max_chars=5) == "hi"
    with pytest.raises(InvalidRequest):
        validate_prompt("      ", max_chars=5)
    with pytest.raises(InvalidRequest) as err:
        validate_prompt("toolong", max_chars=5)
    assert err.value.param == "prompt"


def test_job_ids_are_unique_and_well_formed() -> None:
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("job_") and len(i) == 28 for i in ids)
