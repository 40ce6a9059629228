"""The retry policy (docs/retries.md): a failed attempt goes back to the queue for another worker at work, a
rate-limited worker rests, and every attempt is kept on the job. Real uvicorn, both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import DEMO_MP4, ThreadServer, assert_error, claim, create_job, settings_for, upload

NOW = 1_750_000_000.0
VIDEO = {"video": ("out.mp4", DEMO_MP4, "video/mp4")}


def fail(client: httpx.Client, work: dict[str, Any], code: str | None, error: str = "It broke", **extra: Any) -> Any:
    body = {"job_id": work["job_id"], "error": error, "claim_token": work["claim_token"], **extra}
    if code is not None:
        body["code"] = code
    reply = client.post("/extension/error", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def busy_elsewhere(client: httpx.Client, worker: str = "b") -> dict[str, Any]:
    """Worker `worker` at work on a job of its own: another worker a retry can go to."""
    create_job(client, prompt=f"keeps {worker} busy")
    return claim(client, client_id=worker)


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    reply = client.get(f"/jobs/{job_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_a_rate_limit_moves_the_job_to_another_worker_while_the_first_rests(
    client: httpx.Client, server: ThreadServer
) -> None:
    held = busy_elsewhere(client)
    target = create_job(client, prompt="the one")
    first = claim(client, client_id="a")
    assert first["job_id"] == target["id"]
    answer = fail(client, first, "rate_limited", "Video limit reached. Upgrade to unlock more")
    assert answer["status"] == "pending" and answer["retried"] is True and answer["attempts"] == 1
    assert answer["cooldown_until"] == NOW + 60
    assert job(client, target["id"])["status"] == "pending"
    # The first worker rests: no job, though one waits for it.
    assert client.get("/extension/poll", params={"client_id": "a"}).status_code == 204
    uploaded = upload(client, held["job_id"], token=held["claim_token"])
    assert uploaded.status_code == 200, uploaded.text
    second = claim(client, client_id="b")
    assert second["job_id"] == target["id"] and second["attempt"] == 2
    uploaded = upload(client, second["job_id"], token=second["claim_token"])
    assert uploaded.status_code == 200, uploaded.text
    done = job(client, target["id"])
    assert done["status"] == "completed" and done["worker_id"] == "b" and done["attempts"] == 2
    history = done["attempt_history"]
    assert [(a["attempt"], a["worker_id"], a["outcome"], a["code"]) for a in history] == [
        (1, "a", "retried", "rate_limited"),
        (2, "b", "completed", None),
    ]
    assert history[0]["message"] == "Video limit reached. Upgrade to unlock more"
    assert history[0]["started_at"] == NOW and history[0]["ended_at"] == NOW
    workers = {w["client_id"]: w for w in client.get("/workers").json()["data"]}
    assert workers["a"]["cooldown_until"] == NOW + 60
    assert workers["a"]["cooldown_reason"] == "Video limit reached. Upgrade to unlock more"
    assert workers["b"]["cooldown_until"] is None
    metrics = client.get("/metrics").text
    assert "grok_imagine_workers_cooling_down 1.0" in metrics
    assert 'grok_imagine_worker_cooldown_remaining_seconds{worker="a"} 60.0' in metrics
    assert 'grok_imagine_jobs_retried_total{code="rate_limited"} 1.0' in metrics
    # The rest ends: it takes jobs again.
    server.clock.advance(61)
    again = create_job(client, prompt="later")
    assert claim(client, client_id="a")["job_id"] == again["id"]
    assert "grok_imagine_workers_cooling_down 0.0" in client.get("/metrics").text


@pytest.mark.parametrize(
    ("toast", "seconds"),
    [
        ("Rate limit reached. Try again in 2 hours", 7200),
        ("You've hit your limit. Resets in 1h 30m", 5400),
        ("Too many requests, please wait 45 seconds", 45),
        ("Limit reached. Upgrade to unlock more", 60),
    ],
)
def test_the_rest_is_the_time_the_toast_names(client: httpx.Client, toast: str, seconds: int) -> None:
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), "rate_limited", toast)
    assert answer["cooldown_until"] == NOW + seconds


def test_a_worker_may_say_the_wait_itself(client: httpx.Client) -> None:
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), "rate_limited", "Limit reached", retry_after_seconds=300)
    assert answer["cooldown_until"] == NOW + 300


def test_rate_limits_in_a_row_double_the_rest_and_a_completion_resets_it(
    client: httpx.Client, server: ThreadServer
) -> None:
    rests = []
    for _ in range(3):
        create_job(client)
        rests.append(fail(client, claim(client, client_id="a"), "rate_limited", "Limit reached")["cooldown_until"])
        while server.clock.now() <= rests[-1]:  # it rests, polling (and so staying known) all the while
            assert client.get("/extension/poll", params={"client_id": "a"}).status_code == 204
            server.clock.advance(min(30, rests[-1] - server.clock.now() + 1))
    start = NOW
    assert [round(until - start) for until in rests] == [60, 60 + 1 + 120, 60 + 1 + 120 + 1 + 240]
    create_job(client)
    work = claim(client, client_id="a")
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
    create_job(client)
    now = server.clock.now()
    assert fail(client, claim(client, client_id="a"), "rate_limited", "Limit reached")["cooldown_until"] == now + 60


def test_ui_changed_is_retried_up_to_the_attempt_limit(client: httpx.Client, server: ThreadServer) -> None:
    target = create_job(client, prompt="the one")
    workers = ["a", "c", "d"]
    for index, worker in enumerate(workers):
        work = claim(client, client_id=worker)
        assert work["job_id"] == target["id"], work
        held = busy_elsewhere(client, f"helper{index}")  # another worker at work each time
        answer = fail(client, work, "ui_changed", f"prompt box not found ({worker})")
        upload(client, held["job_id"], token=held["claim_token"])
        server.clock.advance(61)  # past the time it waits for another worker
        if index < 2:
            assert answer["status"] == "pending"
    failed = job(client, target["id"])
    assert failed["status"] == "failed" and failed["error_code"] == "ui_changed"
    assert failed["error"] == "prompt box not found (d)"
    assert failed["attempts"] == 3 and failed["max_attempts"] == 3
    assert [(a["worker_id"], a["outcome"]) for a in failed["attempt_history"]] == [
        ("a", "retried"),
        ("c", "retried"),
        ("d", "failed"),
    ]


def test_a_retried_job_waits_for_another_worker_before_the_same_one_gets_it(
    client: httpx.Client, server: ThreadServer
) -> None:
    busy_elsewhere(client)
    target = create_job(client, prompt="the one")
    fail(client, claim(client, client_id="a"), "worker_error", "The Grok tab was closed")
    assert client.get("/extension/poll", params={"client_id": "a"}).status_code == 204
    server.clock.advance(59)
    assert client.get("/extension/poll", params={"client_id": "a"}).status_code == 204
    server.clock.advance(2)
    assert claim(client, client_id="a")["job_id"] == target["id"]


def test_with_no_other_worker_at_work_a_failure_is_final(client: httpx.Client) -> None:
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), "ui_changed", "submit button not found")
    assert answer["status"] == "failed" and answer["retried"] is False


def test_a_worker_that_polls_without_waiting_is_another_worker_at_work(
    client: httpx.Client, server: ThreadServer
) -> None:
    """The founding document's worker polls now and then, without a long poll: it counts while it is online."""
    assert client.get("/extension/poll", params={"client_id": "b"}).status_code == 204
    target = create_job(client, prompt="the one")
    server.clock.advance(20)
    answer = fail(client, claim(client, client_id="a"), "rate_limited", "Rate limit reached")
    assert answer["status"] == "pending" and answer["retried"] is True
    assert claim(client, client_id="b")["job_id"] == target["id"]


def test_a_worker_gone_quiet_is_not_at_work(client: httpx.Client, server: ThreadServer) -> None:
    assert client.get("/extension/poll", params={"client_id": "b"}).status_code == 204
    create_job(client)
    server.clock.advance(41)  # past the poll wait (30 s) and its grace (10 s): offline on /workers
    answer = fail(client, claim(client, client_id="a"), "worker_error", "The Grok tab was closed")
    assert answer["status"] == "failed" and answer["retried"] is False


def test_a_report_without_a_code_is_final(client: httpx.Client) -> None:
    busy_elsewhere(client)
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), None, "Error message")
    assert answer["status"] == "failed" and answer["error_code"] == "worker_error"


def test_moderation_is_final_by_default(client: httpx.Client) -> None:
    busy_elsewhere(client)
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), "moderated", "Content Moderated")
    assert answer["status"] == "failed" and answer["error_code"] == "moderated"


def test_retry_moderated_allows_that_many_more_attempts(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, retry_moderated=1)) as server, server.client() as client:
        target = create_job(client, prompt="the one")
        for index, worker in enumerate(["a", "c"]):
            work = claim(client, client_id=worker)
            held = busy_elsewhere(client, f"helper{index}")
            answer = fail(client, work, "moderated", "Content Moderated")
            upload(client, held["job_id"], token=held["claim_token"])
            server.clock.advance(61)
        assert answer["status"] == "failed"
        history = job(client, target["id"])["attempt_history"]
        assert [(a["outcome"], a["code"]) for a in history] == [("retried", "moderated"), ("failed", "moderated")]


def test_a_request_may_lower_the_attempt_limit(client: httpx.Client) -> None:
    busy_elsewhere(client)
    target = create_job(client, prompt="once", max_attempts=1)
    assert job(client, target["id"])["max_attempts"] == 1
    answer = fail(client, claim(client, client_id="a"), "worker_error")
    assert answer["status"] == "failed"


@pytest.mark.parametrize("value", [0, 11, "x", 2.5, True])
def test_a_bad_max_attempts_is_refused(client: httpx.Client, value: Any) -> None:
    reply = client.post("/v1/videos/generations", json={"prompt": "p", "max_attempts": value})
    assert_error(reply, 400, "invalid_max_attempts", "max_attempts")


def test_max_attempts_in_every_dialect(client: httpx.Client) -> None:
    openai_form = client.post("/v1/videos", data={"prompt": "p", "max_attempts": "2"})
    openai_json = client.post("/v1/videos", json={"prompt": "p", "max_attempts": 4})
    xai = client.post("/v1/videos/generations", json={"model": "grok-imagine-video", "prompt": "p", "max_attempts": 5})
    for reply, limit in ((openai_form, 2), (openai_json, 4), (xai, 5)):
        assert reply.status_code == 200, reply.text
        job_id = reply.json().get("id") or reply.json()["request_id"]
        assert job(client, job_id)["max_attempts"] == limit


def test_a_silent_worker_s_job_is_retried_on_another(client: httpx.Client, server: ThreadServer) -> None:
    held = busy_elsewhere(client)
    target = create_job(client, prompt="the one")
    claim(client, client_id="a")
    # b keeps its lease; a goes silent past it.
    server.clock.advance(200)
    client.post("/extension/progress", json={"job_id": held["job_id"], "progress": 50})
    server.clock.advance(101)
    server.run(run_cleanup(server.service, server.app.state.request_log))
    again = job(client, target["id"])
    assert again["status"] == "pending"
    assert again["attempt_history"][0]["code"] == "timeout"
    assert again["attempt_history"][0]["outcome"] == "retried"
    upload(client, held["job_id"], token=held["claim_token"])
    assert claim(client, client_id="b")["job_id"] == target["id"]


def test_a_silent_worker_s_job_fails_when_no_other_is_at_work(client: httpx.Client, server: ThreadServer) -> None:
    target = create_job(client)
    claim(client, client_id="a")
    server.clock.advance(301)
    server.run(run_cleanup(server.service, server.app.state.request_log))
    failed = job(client, target["id"])
    assert failed["status"] == "failed" and failed["error_code"] == "timeout"
    assert [a["outcome"] for a in failed["attempt_history"]] == ["failed"]


def test_a_moderation_may_be_retried_on_the_same_worker(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, retry_moderated=1)) as server, server.client() as client:
        target = create_job(client)
        answer = fail(client, claim(client, client_id="a"), "moderated", "Content Moderated")
        assert answer["status"] == "pending"  # the prompt's fault, not the worker's: no other worker needed
        again = claim(client, client_id="a")
        assert again["job_id"] == target["id"] and again["attempt"] == 2


def test_a_late_report_without_a_token_never_lands_on_the_next_attempt(
    client: httpx.Client, server: ThreadServer
) -> None:
    held = busy_elsewhere(client)
    target = create_job(client, prompt="the one")
    claim(client, client_id="a")
    server.clock.advance(200)
    client.post("/extension/progress", json={"job_id": held["job_id"], "claim_token": held["claim_token"]})
    server.clock.advance(101)
    server.run(run_cleanup(server.service, server.app.state.request_log))  # a went silent: retried
    upload(client, held["job_id"], token=held["claim_token"])
    second = claim(client, client_id="b")
    assert second["job_id"] == target["id"]
    # a wakes up and reports the founding document's way, without its (old) claim token.
    late = {"job_id": target["id"], "error": "Gave up", "client_id": "a"}
    assert_error(client.post("/extension/error", json=late), 409, "lease_mismatch", "claim_token")
    assert_error(
        client.post("/extension/progress", json={"job_id": target["id"], "progress": 5, "client_id": "a"}),
        409,
        "lease_mismatch",
    )
    reply = client.post("/extension/complete", data={"job_id": target["id"], "client_id": "a"}, files=VIDEO)
    assert_error(reply, 409, "lease_mismatch")
    assert job(client, target["id"])["status"] == "processing"
    # b, the holder, may still report without its token.
    ok = client.post("/extension/progress", json={"job_id": target["id"], "progress": 5, "client_id": "b"})
    assert ok.status_code == 200, ok.text


def test_a_rate_limit_reported_too_late_still_rests_the_worker(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client, client_id="a")
    server.clock.advance(301)
    server.run(run_cleanup(server.service, server.app.state.request_log))  # its lease ran out: the job failed
    report = {"job_id": work["job_id"], "code": "rate_limited", "error": "Rate limit reached. Try again in 1 hour"}
    late = client.post("/extension/error", json={**report, "claim_token": work["claim_token"], "client_id": "a"})
    assert_error(late, 409, "job_failed")
    workers = {w["client_id"]: w for w in client.get("/workers").json()["data"]}
    assert workers["a"]["cooldown_until"] == server.clock.now() + 3600
    create_job(client)
    assert client.get("/extension/poll", params={"client_id": "a"}).status_code == 204


@pytest.mark.parametrize(
    ("wait", "rest"),
    [("soon", 60), (None, 60), (True, 60), (-5, None), (10**9, 86400)],  # ignored, ignored, ignored, clamped, clamped
)
def test_a_rate_limit_report_is_never_refused_for_its_wait(client: httpx.Client, wait: Any, rest: int | None) -> None:
    create_job(client)
    answer = fail(client, claim(client, client_id="a"), "rate_limited", "Limit reached", retry_after_seconds=wait)
    assert answer["status"] == "failed" and answer["error_code"] == "rate_limited"
    assert answer["cooldown_until"] == (NOW + rest if rest is not None else None)  # a rest of 0 s is none


def test_a_failing_creation_hook_never_fails_the_create(client: httpx.Client, server: ThreadServer) -> None:
    async def broken(job: Any) -> None:
        raise RuntimeError("a hook that breaks")

    server.service.on_created.append(broken)
    created = client.post("/v1/videos/generations", json={"prompt": "still made"})
    assert created.status_code == 200, created.text
    assert job(client, created.json()["id"])["status"] == "pending"
