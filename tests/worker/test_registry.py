from __future__ import annotations

from pathlib import Path

from grok_imagine_api.worker.registry import WorkerError, WorkerRegistry
from support import settings_for

# Long polls of up to 30 s, leases of 300 s, forgotten 120 s after the last contact.
IDLE, BUSY, SEEN = 40.0, 300.0, 120.0


def registry() -> WorkerRegistry:
    return WorkerRegistry(SEEN, poll_seconds=30, lease_seconds=BUSY)


def test_an_idle_worker_is_online_for_one_poll_interval_and_a_grace() -> None:
    workers = registry()
    info = workers.seen("w", 1000)
    assert (workers.is_online(info, 1000 + IDLE), workers.state(info, 1000 + IDLE)) == (True, "idle")
    assert (workers.is_online(info, 1000 + IDLE + 1), workers.state(info, 1000 + IDLE + 1)) == (False, "offline")
    assert workers.listed(1000 + SEEN) == workers.recent(1000 + SEEN) == [info]  # offline, still listed
    assert workers.online(1000 + SEEN) == []
    assert workers.listed(1000 + SEEN + 1) == []


def test_a_worker_in_a_long_poll_is_online_and_never_forgotten() -> None:
    workers = registry()
    info = workers.seen("w", 1000)
    info.polling += 1
    assert workers.state(info, 1000 + 10 * SEEN) == "waiting"
    assert workers.online(1000 + 10 * SEEN) == [info]


def test_a_busy_worker_is_online_and_kept_within_its_lease() -> None:
    workers = registry()
    workers.claimed("w", "job_1", 1000, owner="key_a")
    [info] = workers.online(1000 + BUSY)
    assert workers.listed(1000 + BUSY) == [info]
    assert workers.recent(1000 + BUSY) == []  # to the job service, connected means seen within SEEN
    assert (info.current_job_id, info.current_job_owner) == ("job_1", "key_a")
    assert workers.state(info, 1000 + BUSY) == "busy"
    assert workers.state(info, 1000 + BUSY + 1) == "offline"
    workers.finished("w", "job_1")
    assert (info.current_job_id, info.current_job_owner) == (None, None)
    assert workers.listed(1000 + BUSY) == []  # idle now, and last seen before SEEN: forgotten


def test_the_online_windows_follow_the_settings(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, max_poll_wait_seconds=5, job_timeout_seconds=60, worker_seen_seconds=90)
    workers = WorkerRegistry.for_settings(settings)
    assert (workers.idle_online, workers.busy_online, workers.forget_after) == (15, 60, 90)


def test_the_other_replicas_view_is_combined_with_this_ones() -> None:
    here, there = registry(), registry()
    there.claimed("w", "job-1", 1000)
    here.share(there.own())
    [info] = here.listed(1001)
    assert (info.state, info.current_job_id, info.jobs_claimed) == ("busy", "job-1", 1)
    # The job ends here, though only the other replica saw the claim: this view records it, and it wins.
    here.completed("w", "job-1", 1005)
    [info] = here.listed(1006)
    assert (info.current_job_id, info.jobs_claimed, info.jobs_completed, info.last_seen) == (None, 1, 1, 1000)


def test_a_worker_only_the_other_replicas_saw_is_forgotten_like_any_other() -> None:
    here, there = registry(), registry()
    there.seen("w", 1000)
    here.share(there.own())
    assert [info.worker_id for info in here.listed(1000 + SEEN)] == ["w"]
    assert here.listed(1000 + SEEN + IDLE + 1) == []


def test_a_rest_set_on_one_replica_holds_on_another() -> None:
    here, there = registry(), registry()
    there.seen("w", 1000)
    assert there.rate_limited("w", until=lambda streak: 1000 + 60 * streak, reason="Limit reached") == 1060
    assert there.cooling_until("w", 1000) == 1060
    here.share(there.own())
    here.seen("w", 1010)  # the worker's next poll arrives here
    assert here.cooling_until("w", 1010) == 1060
    assert here.cooling_until("w", 1060) is None
    [shown] = here.listed(1010)
    assert (shown.cooldown_until, shown.cooldown_reason, shown.rate_limit_streak) == (1060, "Limit reached", 1)
    assert [info.worker_id for info in here.cooling(1010)] == ["w"]
    # The next rate limit, wherever it lands, counts on from the streak.
    assert here.rate_limited("w", until=lambda streak: 1010 + 60 * streak, reason="again") == 1130


def test_a_completion_ends_the_streak() -> None:
    workers = registry()
    workers.claimed("w", "job_1", 1000)
    workers.rate_limited("w", until=lambda streak: 1000 + streak, reason="r")
    workers.completed("w", "job_1", 1001)
    assert workers.rate_limited("w", until=lambda streak: 2000 + streak, reason="r") == 2001


def test_a_completion_on_one_replica_ends_the_streak_on_all() -> None:
    here, there = registry(), registry()
    there.claimed("w", "job_1", 1000)
    there.rate_limited("w", until=lambda streak: 1000 + 60 * streak, reason="r")  # streak 1, there
    there.failed("w", "job_1", WorkerError("job_1", "rate_limited", "r", 1000))
    here.share(there.own())
    here.claimed("w", "job_2", 1100)
    here.completed("w", "job_2", 1200)  # here, later
    there.share(here.own())
    [seen] = there.listed(1200)
    assert seen.rate_limit_streak == 0
