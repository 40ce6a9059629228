"""The JobStore and KeyStore contract, every test on both stores: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grok_imagine_api.domain.errors import Conflict, NotFound
from grok_imagine_api.domain.jobs import ErrorCode, GenerationOptions, InputImage, JobStatus, Media, NewJob
from stores import BACKENDS, LEASE, NOW, Harness, new


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a store keeps its rows: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("database_url"))
    return tmp_path / "jobs.db"


@pytest.fixture
def h(where: Path | str) -> Iterator[Harness]:
    harness = Harness(where)
    yield harness
    harness.close()


def test_create_get_and_image_kept_apart(h: Harness) -> None:
    image = InputImage(b"\x89PNG\r\n\x1a\n....", "image/png")
    job = h.call(h.store.create(new("hello", image)))
    assert job.status is JobStatus.PENDING
    assert job.image_size == len(image.data)
    assert h.call(h.store.get(job.id)) == job
    assert h.call(h.store.get_image(job.id)) == image
    assert h.call(h.store.get("job_missing")) is None


def test_claim_is_fifo_and_leases(h: Harness) -> None:
    first = h.call(h.store.create(new("1")))
    h.call(h.store.create(new("2")))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW + 5))
    assert got is not None
    assert got.job.id == first.id
    assert got.job.status is JobStatus.PROCESSING
    assert got.job.claim_token
    assert got.job.lease_expires_at == NOW + 5 + LEASE
    assert got.job.attempts == 1
    assert h.call(h.store.counts())[JobStatus.PROCESSING] == 1


def test_claim_hands_out_the_image(h: Harness) -> None:
    image = InputImage(b"\x89PNG\r\n\x1a\n....", "image/png")
    job = h.call(h.store.create(new("img", image)))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert got is not None and got.job.id == job.id and got.image == image


def test_claim_on_empty_queue(h: Harness) -> None:
    assert h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW)) is None


def test_claim_takes_the_oldest_job_the_worker_can_make(h: Harness) -> None:
    remix = NewJob(
        id="job_" + "a" * 24,
        model="grok",
        prompt="r",
        options=GenerationOptions(),
        image=None,
        created_at=NOW,
        needs=["kind:remix"],
    )
    h.call(h.store.create(remix))
    plain = h.call(h.store.create(new("plain")))
    assert sorted(h.call(h.store.waiting_needs())) == [[], ["kind:remix"]]
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW, abilities=frozenset()))
    assert got is not None and got.job.id == plain.id
    assert h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW, abilities=frozenset())) is None
    able = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW, abilities=frozenset({"kind:remix"})))
    assert able is not None and able.job.id == remix.id


def test_guarded_transitions(h: Harness) -> None:
    job = h.call(h.store.create(new()))
    with pytest.raises(Conflict) as pending:
        h.call(h.store.fail(job.id, claim_token=None, error="e", code=ErrorCode.MODERATED, now=NOW))
    assert pending.value.code == "job_pending"
    claim = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert claim is not None
    with pytest.raises(Conflict) as mismatch:
        h.call(h.store.touch(job.id, claim_token="x", progress=5, lease_seconds=LEASE, now=NOW))
    assert mismatch.value.code == "lease_mismatch"
    done = h.call(h.store.complete(job.id, claim_token=claim.job.claim_token, video_size=10, now=NOW + 1))
    assert done.status is JobStatus.COMPLETED and done.progress == 100 and done.video_size == 10
    with pytest.raises(Conflict):
        h.call(h.store.complete(job.id, claim_token=None, video_size=1, now=NOW))
    with pytest.raises(NotFound):
        h.call(h.store.touch("job_x", claim_token=None, progress=1, lease_seconds=LEASE, now=NOW))


def test_an_old_lease_cannot_report_after_the_job_was_handed_on(h: Harness) -> None:
    job = h.call(h.store.create(new()))
    first = h.call(h.store.claim(worker_id="a", lease_seconds=LEASE, now=NOW))
    assert first is not None and first.job.claim_token
    with pytest.raises(Conflict) as expired:
        h.call(
            h.store.touch(job.id, claim_token=first.job.claim_token, progress=1, lease_seconds=LEASE, now=NOW + LEASE)
        )
    assert expired.value.code == "lease_expired"
    assert h.call(h.store.release(job.id, claim_token=first.job.claim_token, now=NOW))
    second = h.call(h.store.claim(worker_id="b", lease_seconds=LEASE, now=NOW + 1))
    assert second is not None and second.job.claim_token != first.job.claim_token
    with pytest.raises(Conflict) as stale:
        h.call(h.store.complete(job.id, claim_token=first.job.claim_token, video_size=1, now=NOW + 2))
    assert stale.value.code == "lease_mismatch"
    touched = h.call(
        h.store.touch(job.id, claim_token=second.job.claim_token, progress=40, lease_seconds=LEASE, now=NOW + 3)
    )
    assert touched.progress == 40 and touched.lease_expires_at == NOW + 3 + LEASE
    failed = h.call(
        h.store.fail(job.id, claim_token=second.job.claim_token, error="no", code=ErrorCode.MODERATED, now=NOW + 4)
    )
    assert failed.status is JobStatus.FAILED and failed.error_code == "moderated"


def test_reports_racing_on_one_job_apply_once(h: Harness) -> None:
    """A complete and a fail sent at once under the same lease: one applies, the other finds the job finished."""
    job = h.call(h.store.create(new()))
    claim = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert claim is not None
    token = claim.job.claim_token

    async def both() -> list[object]:
        return await asyncio.gather(
            h.store.complete(job.id, claim_token=token, video_size=5, now=NOW + 1),
            h.store.fail(job.id, claim_token=token, error="e", code=ErrorCode.MODERATED, now=NOW + 1),
            return_exceptions=True,
        )

    results = h.call(both())
    assert sum(isinstance(result, Conflict) for result in results) == 1, results
    final = h.call(h.store.get(job.id))
    assert final is not None and final.status in (JobStatus.COMPLETED, JobStatus.FAILED)
    counts = h.call(h.store.counts())
    assert counts[JobStatus.COMPLETED] + counts[JobStatus.FAILED] == 1 and counts[JobStatus.PROCESSING] == 0


def test_a_failed_transaction_leaves_nothing(h: Harness) -> None:
    job = new(image=InputImage(b"\x89PNG\r\n\x1a\n", "image/png"))
    h.call(h.store.create(job))
    with pytest.raises(h.integrity_error):
        h.call(h.store.create(job))
    assert h.call(h.store.counts())[JobStatus.PENDING] == 1


def test_concurrent_creations_fail_alone(h: Harness) -> None:
    existing = h.call(h.store.create(new("first")))
    clash = NewJob(id=existing.id, model="grok", prompt="dup", options=GenerationOptions(), image=None, created_at=NOW)

    async def together() -> list[object]:
        return await asyncio.gather(
            h.store.create(new("a")), h.store.create(clash), h.store.create(new("b")), return_exceptions=True
        )

    a, dup, b = h.call(together())
    assert isinstance(dup, h.integrity_error)
    assert [getattr(a, "prompt", None), getattr(b, "prompt", None)] == ["a", "b"]
    assert h.call(h.store.counts())[JobStatus.PENDING] == 3
    seqs = [j.seq for j in h.call(h.store.list_jobs(status=None, limit=10, before_seq=None))]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 3


def test_release_returns_a_claim_to_the_head_of_the_queue(h: Harness) -> None:
    first = h.call(h.store.create(new("1")))
    h.call(h.store.create(new("2")))
    claim = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert claim is not None and claim.job.claim_token
    assert not h.call(h.store.release(first.id, claim_token="other", now=NOW))
    assert h.call(h.store.release(first.id, claim_token=claim.job.claim_token, now=NOW))
    again = h.call(h.store.claim(worker_id="w2", lease_seconds=LEASE, now=NOW))
    assert again is not None and again.job.id == first.id and again.job.attempts == 1


def test_fail_stale_and_counts(h: Harness) -> None:
    a = h.call(h.store.create(new()))
    h.call(h.store.create(new()))
    h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert h.call(h.store.fail_stale(now=NOW + LEASE - 1, error="late")) == []
    stale = h.call(h.store.fail_stale(now=NOW + LEASE, error="late"))
    assert [j.id for j in stale] == [a.id]
    assert stale[0].error_code == "timeout"
    counts = h.call(h.store.counts())
    assert counts == {
        JobStatus.PENDING: 1,
        JobStatus.PROCESSING: 0,
        JobStatus.COMPLETED: 0,
        JobStatus.FAILED: 1,
    }


def test_unmatched_jobs_fail_after_their_clock_runs_out(h: Harness) -> None:
    needs = ["kind:extend", "source:upload"]
    job = NewJob(
        id="job_" + "b" * 24,
        model="grok",
        prompt="x",
        options=GenerationOptions(),
        image=None,
        created_at=NOW,
        needs=needs,
    )
    h.call(h.store.create(job))
    h.call(h.store.create(new("plain")))
    h.call(h.store.mark_unmatched([needs], now=NOW))
    h.call(h.store.mark_unmatched([needs], now=NOW + 50))  # the clock keeps its start
    assert h.call(h.store.fail_unmatched(needs, before=NOW - 1, now=NOW + 60, error="nobody")) == []
    failed = h.call(h.store.fail_unmatched(needs, before=NOW, now=NOW + 60, error="nobody"))
    assert [j.id for j in failed] == [job.id] and failed[0].error_code == "no_capable_worker"
    assert h.call(h.store.counts())[JobStatus.PENDING] == 1


def test_expire_videos_in_batches(h: Harness) -> None:
    ids = []
    for _ in range(3):
        job = h.call(h.store.create(new()))
        h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
        h.call(h.store.complete(job.id, claim_token=None, video_size=1, now=NOW))
        ids.append(job.id)
    assert h.call(h.store.jobs_keeping_files(ids)) == set(ids)
    assert h.call(h.store.expire_videos(cutoff=NOW, now=NOW + 9, limit=10)) == []
    first = h.call(h.store.expire_videos(cutoff=NOW + 1, now=NOW + 9, limit=2))
    second = h.call(h.store.expire_videos(cutoff=NOW + 1, now=NOW + 9, limit=2))
    assert sorted(first + second) == sorted(ids)
    assert h.call(h.store.jobs_keeping_files(ids)) == set()


def test_listing_pages_backwards(h: Harness) -> None:
    jobs = [h.call(h.store.create(new(str(i)))) for i in range(5)]
    page = h.call(h.store.list_jobs(status=None, limit=3, before_seq=None))
    assert [j.id for j in page] == [j.id for j in jobs[::-1][:3]]
    rest = h.call(h.store.list_jobs(status=None, limit=3, before_seq=page[-1].seq))
    assert [j.id for j in rest] == [j.id for j in jobs[::-1][3:]]
    assert h.call(h.store.list_jobs(status=JobStatus.FAILED, limit=3, before_seq=None)) == []


def test_listing_filters(h: Harness) -> None:
    cat = h.call(h.store.create(new("A Cat_100%")))
    dog = h.call(h.store.create(new("a dog")))
    h.call(h.store.create(new("a bird")))
    assert [j.id for j in h.call(h.store.list_jobs(status=None, limit=9, text="cat_100%"))] == [cat.id]
    assert [j.id for j in h.call(h.store.list_jobs(status=None, limit=9, text=dog.id))] == [dog.id]
    ascending = h.call(h.store.list_jobs(status=None, limit=2, after_seq=cat.seq, ascending=True))
    assert [j.id for j in ascending][:1] == [dog.id]
    cancelled = h.call(h.store.cancel(dog.id, now=NOW))
    assert cancelled is not None and cancelled.cancelled
    assert h.call(h.store.cancel(dog.id, now=NOW)) is None
    assert [j.id for j in h.call(h.store.list_jobs(status=None, limit=9, cancelled=True))] == [dog.id]
    assert dog.id not in [j.id for j in h.call(h.store.list_jobs(status=None, limit=9, cancelled=False))]
    assert h.call(h.store.count_cancelled()) == 1
    deleted = h.call(h.store.delete(cat.id, now=NOW))
    assert deleted.deleted_at == NOW and deleted.cancelled
    assert cat.id not in [j.id for j in h.call(h.store.list_jobs(status=None, limit=9))]
    with pytest.raises(NotFound):
        h.call(h.store.delete(cat.id, now=NOW))


def test_activity_counts_per_hour_and_timings(h: Harness) -> None:
    job = h.call(h.store.create(new(at=NOW)))
    h.call(h.store.create(new(at=NOW + 3600 * 2 + 5)))
    h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW + 10))
    h.call(h.store.complete(job.id, claim_token=None, video_size=1, now=NOW + 70))
    activity = h.call(h.store.activity(since=NOW, recent=10))
    assert activity.created == {0: 1, 2: 1}
    assert activity.completed == {0: 1} and activity.failed == {}
    assert activity.queue_waits == [10.0] and activity.generation_times == [60.0]


def test_idempotency_keys(h: Harness) -> None:
    assert h.call(h.keys.idempotency_begin("s", "k", "f1", NOW)) is None
    running = h.call(h.keys.idempotency_begin("s", "k", "f2", NOW + 1))
    assert running is not None and running.fingerprint == "f1" and running.status_code is None
    h.call(h.keys.idempotency_finish("s", "k", 200, '{"id": 1}'))
    h.call(h.keys.idempotency_abort("s", "k"))  # a finished key is kept
    done = h.call(h.keys.idempotency_begin("s", "k", "f1", NOW + 2))
    assert done is not None and (done.status_code, done.response, done.created_at) == (200, '{"id": 1}', NOW)
    assert h.call(h.keys.idempotency_begin("s", "other", "f", NOW + 5)) is None
    h.call(h.keys.idempotency_abort("s", "other"))
    assert h.call(h.keys.idempotency_begin("s", "other", "f", NOW + 5)) is None
    assert h.call(h.keys.idempotency_purge(before=NOW + 1)) == 1
    assert h.call(h.keys.idempotency_begin("s", "k", "f3", NOW + 6)) is None


def test_meta_values_are_made_once(h: Harness) -> None:
    assert h.call(h.keys.meta_value("secret", lambda: "first")) == "first"
    assert h.call(h.keys.meta_value("secret", lambda: "second")) == "first"


def test_threads_never_claim_the_same_job(where: Path | str) -> None:
    """32 threads, each with a store of its own (its own connections) on one database."""
    seed = Harness(where, exclusive=False)
    created = {seed.call(seed.store.create(new(str(i)))).id for i in range(512)}
    claimed: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        harness = Harness(where, exclusive=False)
        try:
            while got := harness.call(harness.store.claim(worker_id="t", lease_seconds=LEASE, now=NOW)):
                with lock:
                    claimed.append(got.job.id)
        finally:
            harness.close()

    threads = [threading.Thread(target=drain) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seed.call(seed.store.counts())[JobStatus.PENDING] == 0
    seed.close()
    assert len(claimed) == len(created)
    assert set(claimed) == created


def test_image_jobs_keep_their_media_count_and_images(h: Harness) -> None:
    video = h.call(h.store.create(replace(new("a video"), needs=["kind:text_to_video"])))
    job = h.call(h.store.create(replace(new("images"), media=Media.IMAGE, n=4, needs=["kind:text_to_image"])))
    assert (job.media, job.n, job.images) == (Media.IMAGE, 4, [])
    assert (video.media, video.n) == (Media.VIDEO, 1)
    got = h.call(
        h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW, abilities=frozenset({"kind:text_to_image"}))
    )
    assert got is not None and got.job.id == job.id
    images = [{"index": 0, "content_type": "image/png", "ext": "png", "width": 4, "height": 3, "bytes": 99}]
    done = h.call(h.store.complete(job.id, claim_token=got.job.claim_token, video_size=99, now=NOW + 1, images=images))
    assert (done.status, done.images, done.n) == (JobStatus.COMPLETED, images, 4)
    assert h.call(h.store.get(job.id)) == done
    listed = h.call(h.store.list_jobs(status=None, limit=10, media=Media.IMAGE))
    assert [j.id for j in listed] == [job.id]
    assert [j.id for j in h.call(h.store.list_jobs(status=None, limit=10, media=Media.VIDEO))] == [video.id]
    assert len(h.call(h.store.list_jobs(status=None, limit=10))) == 2
