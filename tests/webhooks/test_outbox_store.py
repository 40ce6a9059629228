"""The webhook outbox on both stores (SQLite and a real PostgreSQL): the trigger that queues a job's end, the
fan-out into deliveries, leases, the attempt log, and what survives closing the database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from grok_imagine_api.domain.jobs import ErrorCode
from grok_imagine_api.store.outbox import Attempt, JobEvent, NewDelivery, OutboxStore, outbox_for
from grok_imagine_api.webhooks.endpoints import Endpoint, Endpoints
from grok_imagine_api.webhooks.events import planner
from stores import BACKENDS, LEASE, NOW, Harness, new

SERVER = Endpoints(Endpoint("server", "https://hooks.example/in", b"key"))


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "postgres":
        return str(request.getfixturevalue("database_url"))
    return tmp_path / "jobs.db"


@pytest.fixture
def h(where: Path | str) -> Iterator[Harness]:
    harness = Harness(where)
    yield harness
    harness.close()


def outbox(h: Harness) -> OutboxStore:
    found = outbox_for(h.store)
    assert found is not None
    return found


def finish(h: Harness, *, fail: ErrorCode | None = None, at: float = NOW) -> str:
    job = h.call(h.store.create(new(at=at)))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=at))
    assert got is not None and got.job.id == job.id
    if fail is None:
        h.call(h.store.complete(job.id, claim_token=got.job.claim_token, video_size=1, now=at + 1))
    else:
        h.call(h.store.fail(job.id, claim_token=got.job.claim_token, error="x", code=fail, now=at + 1))
    return job.id


def events(h: Harness) -> list[JobEvent]:
    seen: list[JobEvent] = []

    def keep(event: JobEvent) -> list[NewDelivery]:
        seen.append(event)
        return []

    h.call(outbox(h).fan_out(keep, limit=10_000))
    return seen


def test_only_a_move_into_an_end_queues_an_event(h: Harness) -> None:
    job = h.call(h.store.create(new()))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert got is not None
    # Sent back to the queue (as a retry does): not an end.
    assert h.call(h.store.release(job.id, claim_token=got.job.claim_token, now=NOW + 1))
    assert events(h) == []
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW + 2))
    assert got is not None
    h.call(h.store.complete(job.id, claim_token=got.job.claim_token, video_size=1, now=NOW + 3))
    h.call(h.store.delete(job.id, now=NOW + 4))  # hidden, still completed: no second end
    [event] = events(h)
    assert (event.job_id, event.status, event.media, event.at, event.step) == (
        job.id,
        "completed",
        "video",
        NOW + 3,
        False,
    )
    failed = finish(h, fail=ErrorCode.MODERATED)
    cancelled = h.call(h.store.create(new()))
    h.call(h.store.cancel(cancelled.id, now=NOW + 5))
    assert [(e.job_id, e.status, e.error_code) for e in events(h)] == [
        (failed, "failed", "moderated"),
        (cancelled.id, "failed", "cancelled"),
    ]
    assert events(h) == []  # fanned out once, then gone


def test_fan_out_makes_one_delivery_per_endpoint_with_one_event_id(h: Harness) -> None:
    endpoints = Endpoints(SERVER.server, {"key_a": Endpoint("key_a", "https://a.example/hook", b"a")})
    job = h.call(h.store.create(new()))
    h.call(h.store.cancel(job.id, now=NOW))
    made = h.call(outbox(h).fan_out(planner(endpoints, NOW), limit=100))
    assert [d.endpoint for d in made] == ["server"]  # the job has no owner: the server-wide endpoint only
    assert made[0].event_type == "video.failed" and made[0].next_attempt_at == NOW
    assert h.call(outbox(h).pending_count()) == 1
    assert h.call(outbox(h).fan_out(planner(Endpoints(), NOW), limit=100)) == []


def test_a_delivery_is_leased_to_one_sender_and_every_attempt_is_logged(h: Harness) -> None:
    box = outbox(h)
    job_id = finish(h)
    [made] = h.call(box.fan_out(planner(SERVER, NOW), limit=100))
    [taken] = h.call(box.claim_due(now=NOW, lease_seconds=40, limit=10))
    assert taken.id == made.id and taken.attempts == 0 and taken.job_id == job_id
    assert h.call(box.claim_due(now=NOW + 39, lease_seconds=40, limit=10)) == []  # leased
    assert h.call(box.next_due()) == NOW + 40
    # The lease ran out (its sender died): another takes it; the first one's report no longer counts.
    [again] = h.call(box.claim_due(now=NOW + 40, lease_seconds=40, limit=10))
    first = Attempt(1, NOW + 41, 503, "HTTP 503", 12)
    assert not h.call(box.record(taken, first, status="pending", next_attempt_at=NOW + 60))
    assert h.call(box.record(again, first, status="pending", next_attempt_at=NOW + 60))
    assert h.call(box.claim_due(now=NOW + 59, lease_seconds=40, limit=10)) == []
    [third] = h.call(box.claim_due(now=NOW + 60, lease_seconds=40, limit=10))
    assert third.attempts == 1 and third.last_status_code == 503
    assert h.call(box.record(third, Attempt(2, NOW + 61, 200, None, 7), status="delivered", next_attempt_at=None))
    [shown] = h.call(box.recent(owner=None, limit=10))
    assert (shown.status, shown.attempts, shown.finished_at, shown.last_latency_ms) == ("delivered", 2, NOW + 61, 7)
    assert h.call(box.attempts([shown.id])) == {shown.id: [first, Attempt(2, NOW + 61, 200, None, 7)]}
    assert h.call(box.pending_count()) == 0 and h.call(box.next_due()) is None
    assert h.call(box.recent(owner="key_someone", limit=10)) == []
    # Finished ones are forgotten after a while, with their attempts; pending ones never are.
    assert h.call(box.purge(before=NOW + 61)) == 0
    assert h.call(box.purge(before=NOW + 62)) == 1
    assert h.call(box.recent(owner=None, limit=10)) == [] and h.call(box.attempts([shown.id])) == {shown.id: []}


def test_events_and_deliveries_survive_closing_the_database(where: Path | str) -> None:
    first = Harness(where)
    job_id = finish(first)
    first.close()  # the server stopped (or died) before its delivery loop ran
    second = Harness(where)
    try:
        [made] = second.call(outbox(second).fan_out(planner(SERVER, NOW), limit=100))
        assert made.job_id == job_id
    finally:
        second.close()
    third = Harness(where)
    try:
        [due] = third.call(outbox(third).claim_due(now=NOW, lease_seconds=40, limit=10))
        assert due.id == made.id and due.payload == made.payload
    finally:
        third.close()


def test_a_thousand_ends_make_a_thousand_deliveries_with_concurrent_senders(where: Path | str) -> None:
    h = Harness(where)
    others = [Harness(where, exclusive=False) for _ in range(2)] if isinstance(where, str) else []
    try:
        ids = {finish(h, fail=ErrorCode.MODERATED if i % 10 == 0 else None, at=NOW + i) for i in range(1000)}

        async def drain(box: OutboxStore) -> list[str]:
            sent = []
            while True:
                made = await box.fan_out(planner(SERVER, NOW), limit=97)
                due = await box.claim_due(now=NOW, lease_seconds=40, limit=33)
                for delivery in due:
                    attempt = Attempt(1, NOW, 200, None, 1)
                    assert await box.record(delivery, attempt, status="delivered", next_attempt_at=None)
                    sent.append(delivery.event_id)
                if not made and not due and not await box.has_events():
                    return sent

        if others:  # PostgreSQL: three replicas at once, each on a pool of its own
            results = []
            for harness in (h, *others):
                results.append(harness.loop.create_task(drain(outbox(harness))))
            # Each harness has its own loop; run them in turns until all are done.
            while not all(task.done() for task in results):
                for harness in (h, *others):
                    harness.loop.run_until_complete(asyncio.sleep(0.001))
            sent = [event for task in results for event in task.result()]
        else:
            sent = h.call(drain(outbox(h)))
        assert len(sent) == 1000 and len(set(sent)) == 1000
        listed = h.call(outbox(h).recent(owner=None, limit=2000))
        assert {d.job_id for d in listed} == ids
        assert all(d.status == "delivered" and d.attempts == 1 for d in listed)
    finally:
        for harness in others:
            harness.close()
        h.close()
