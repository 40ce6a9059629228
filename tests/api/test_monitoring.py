from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api import __version__
from support import (
    PNG_1PX,
    ThreadServer,
    assert_error,
    bearer,
    claim,
    create_job,
    settings_for,
    upload,
    wait_until,
)

ALICE = "sk-alice-monitoring"
BOB = "sk-bob-monitoring"
WORKER = "wt-monitoring"


@pytest.mark.parametrize("path", ["/", "/health"])
def test_health_reports_counts_and_workers(client: httpx.Client, path: str) -> None:
    create_job(client)
    create_job(client)
    claim(client, client_id="chrome-1")
    body = client.get(path).json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["jobs"] == {"pending": 1, "processing": 1, "completed": 0, "failed": 0}
    assert (body["workers"]["online"], body["workers"]["recent"]) == (1, 1)
    worker = body["workers"]["list"][0]
    assert worker["client_id"] == "chrome-1"
    assert worker["state"] == "busy"
    assert worker["jobs_claimed"] == 1
    assert worker["current_job_id"]


def test_list_jobs_pages_with_a_cursor(client: httpx.Client) -> None:
    ids = [create_job(client, f"p{i}")["id"] for i in range(5)]
    first = client.get("/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True
    second = client.get("/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [j["id"] for j in second["data"]] == ids[::-1][2:4]
    create_job(client, "new while paging")
    third = client.get("/jobs", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [j["id"] for j in third["data"]] == ids[:1]
    assert third["has_more"] is False
    assert third["next_cursor"] is None


def test_list_jobs_filters_by_status(client: httpx.Client) -> None:
    pending = create_job(client)
    claim(client)
    create_job(client)
    claimed = client.get("/jobs", params={"status": "processing"}).json()["data"]
    assert [j["id"] for j in claimed] == [pending["id"]]
    assert len(client.get("/jobs", params={"status": "pending"}).json()["data"]) == 1
    assert client.get("/jobs", params={"status": "completed"}).json()["data"] == []


def test_empty_status_means_all(client: httpx.Client) -> None:
    create_job(client)
    assert len(client.get("/jobs?status=&limit=100").json()["data"]) == 1


def test_listings_never_include_images(client: httpx.Client) -> None:
    image = base64.b64encode(PNG_1PX).decode()
    create_job(client, image=image)
    text = client.get("/jobs").text
    assert image not in text
    assert client.get("/jobs").json()["data"][0]["has_image"] is True


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"status": "done"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "c\u00b2"}, "cursor"),
        ({"cursor": "c99999999999999999999999"}, "cursor"),
    ],
)
def test_bad_listing_parameters(client: httpx.Client, params: dict, param: str) -> None:  # type: ignore[type-arg]
    assert_error(client.get("/jobs", params=params), 400, param=param)


def test_openapi_schema_and_docs(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/v1/videos/generations", "/v1/video/generations/{job_id}", "/extension/complete", "/jobs"):
        assert path in schema["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("accept", "redirected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json", False),
        ("*/*", False),
        ("text/html, application/json", False),
        (None, False),
    ],
)
def test_root_sends_browsers_to_the_dashboard(client: httpx.Client, accept: str | None, redirected: bool) -> None:
    headers = {"Accept": accept} if accept else {}
    reply = client.get("/", headers=headers)
    if redirected:
        assert reply.status_code == 307
        assert reply.headers["location"] == "/dashboard"
    else:
        assert reply.status_code == 200
        assert reply.json()["status"] == "ok"


def test_stats_counts_jobs_per_hour_and_median_timings(client: httpx.Client, server: ThreadServer) -> None:
    for wait, generation in ((10, 30), (20, 50)):
        job = create_job(client)
        server.clock.advance(wait)
        lease = claim(client)
        server.clock.advance(generation)
        assert upload(client, job["id"], token=lease["claim_token"]).status_code == 200
    failing = create_job(client)
    lease = claim(client)
    client.post("/extension/error", json={"job_id": failing["id"], "claim_token": lease["claim_token"], "error": "x"})
    create_job(client)
    stats = client.get("/stats").json()
    assert stats["jobs"] == {"pending": 1, "processing": 0, "completed": 2, "failed": 1, "cancelled": 0}
    assert stats["median_queue_wait_seconds"] == 15
    assert stats["median_generation_seconds"] == 40
    assert stats["timing_sample"] == 2
    assert len(stats["per_hour"]) == 24
    hour = stats["per_hour"][-1]
    assert hour["start"] <= server.clock.now() < hour["start"] + 3600
    assert (hour["created"], hour["completed"], hour["failed"]) == (4, 2, 1)
    assert all(b["created"] == 0 for b in stats["per_hour"][:-1])
    # A day later, the old hour has left the chart.
    server.clock.advance(86400)
    later = client.get("/stats").json()
    assert sum(b["created"] for b in later["per_hour"]) == 0


def test_stats_version_moves_with_every_change(client: httpx.Client) -> None:
    versions = [client.get("/stats").json()["version"]]
    job = create_job(client)
    versions.append(client.get("/stats").json()["version"])
    lease = claim(client)
    versions.append(client.get("/stats").json()["version"])
    client.post("/extension/progress", json={"job_id": job["id"], "claim_token": lease["claim_token"], "progress": 5})
    versions.append(client.get("/stats").json()["version"])
    client.post(f"/jobs/{job['id']}/cancel")
    versions.append(client.get("/stats").json()["version"])
    assert versions == sorted(set(versions)), versions
    assert client.get("/stats").json()["version"] == versions[-1]


def test_workers_show_state_version_current_job_and_recent_errors(client: httpx.Client) -> None:
    first = create_job(client)
    lease = claim(client, client_id="chrome-1", version="extension/1.2.3")
    report = {"job_id": first["id"], "claim_token": lease["claim_token"]}
    client.post("/extension/progress", json={**report, "progress": 42})
    worker = client.get("/workers").json()["data"][0]
    assert worker["client_id"] == "chrome-1"
    assert worker["version"] == "extension/1.2.3"
    assert worker["state"] == "busy"
    assert worker["current_job_id"] == first["id"]
    assert worker["current_job_progress"] == 42
    client.post("/extension/error", json={**report, "error": "Content Moderated", "code": "moderated"})
    worker = client.get("/workers").json()["data"][0]
    assert worker["state"] == "idle"
    assert worker["current_job_id"] is None
    assert (worker["jobs_claimed"], worker["jobs_completed"], worker["jobs_failed"]) == (1, 0, 1)
    assert worker["recent_errors"][0]["job_id"] == first["id"]
    assert worker["recent_errors"][0]["code"] == "moderated"
    assert worker["recent_errors"][0]["message"] == "Content Moderated"


def test_a_worker_in_a_long_poll_is_waiting(server: ThreadServer) -> None:
    with server.client() as waiting, server.client() as watcher, ThreadPoolExecutor(1) as pool:
        poll = pool.submit(waiting.get, "/extension/poll", params={"client_id": "patient", "wait": 10})

        def state() -> str | None:
            listed = watcher.get("/workers").json()["data"]
            return listed[0]["state"] if listed else None

        wait_until(lambda: state() == "waiting")
        create_job(watcher)
        assert poll.result(timeout=10).status_code == 200
        assert state() == "busy"


def test_stats_catch_up_with_changes_within_seconds(client: httpx.Client, server: ThreadServer) -> None:
    assert client.get("/stats").json()["per_hour"][-1]["completed"] == 0
    job = create_job(client)
    lease = claim(client)
    upload(client, job["id"], token=lease["claim_token"])
    server.clock.advance(2)
    stats = client.get("/stats").json()
    assert stats["per_hour"][-1]["completed"] == 1
    assert stats["timing_sample"] == 1


def test_a_new_hour_starts_a_new_bar_at_once(client: httpx.Client, server: ThreadServer) -> None:
    to_next_hour = 3600 - server.clock.now() % 3600
    server.clock.advance(to_next_hour - 30)
    create_job(client)
    before = client.get("/stats").json()["per_hour"]
    assert before[-1]["created"] == 1
    server.clock.advance(45)  # into the next hour, with no job changed since
    after = client.get("/stats").json()["per_hour"]
    assert after[-1]["created"] == 0
    assert after[-2] == before[-1]


def test_cancelled_jobs_are_a_state_of_their_own_in_counts_and_listings(client: httpx.Client) -> None:
    failing = create_job(client, "fails")
    lease = claim(client)
    client.post("/extension/error", json={"job_id": failing["id"], "claim_token": lease["claim_token"], "error": "x"})
    stopped = create_job(client, "cancelled")
    assert client.post(f"/jobs/{stopped['id']}/cancel").status_code == 200
    create_job(client, "still queued")
    assert client.get("/stats").json()["jobs"] == {
        "pending": 1,
        "processing": 0,
        "completed": 0,
        "failed": 1,
        "cancelled": 1,
    }
    # /health keeps the job's own `status`: a cancelled job is failed there.
    assert client.get("/health").json()["jobs"]["failed"] == 2

    def listed(status: str) -> list[str]:
        return [job["id"] for job in client.get("/jobs", params={"status": status}).json()["data"]]

    assert listed("failed") == [failing["id"]]
    assert listed("cancelled") == [stopped["id"]]
    assert len(listed("")) == 3
    assert_error(client.get("/jobs", params={"status": "canceled"}), 400, param="status")


# -- online ------------------------------------------------------------------------------------
# Online: inside a long poll, or last contact within MAX_POLL_WAIT_SECONDS + 10 s, or, holding a job, within
# its lease (JOB_TIMEOUT_SECONDS). Listed on /workers until WORKER_SEEN_SECONDS after the last contact.


def online_counts(client: httpx.Client) -> tuple[int, int, int]:
    stats = client.get("/stats").json()["workers"]
    metrics = client.get("/metrics").text
    gauge = next(line for line in metrics.splitlines() if line.startswith("grok_imagine_workers_online "))
    return stats["online"], client.get("/health").json()["workers"]["online"], int(float(gauge.split()[1]))


def test_a_worker_that_stopped_polling_goes_offline_after_the_poll_interval(
    client: httpx.Client, server: ThreadServer
) -> None:
    assert client.get("/extension/poll", params={"client_id": "gone"}).status_code == 204
    assert online_counts(client) == (1, 1, 1)
    window = server.settings.max_poll_wait_seconds + 10
    server.clock.advance(window)
    assert online_counts(client) == (1, 1, 1)
    server.clock.advance(1)
    assert online_counts(client) == (0, 0, 0)
    # Still listed, marked offline, until WORKER_SEEN_SECONDS have passed.
    listing = client.get("/workers").json()
    assert listing["online_within_seconds"] == {"idle": window, "busy": server.settings.job_timeout_seconds}
    [worker] = listing["data"]
    assert (worker["client_id"], worker["state"], worker["online"]) == ("gone", "offline", False)
    stats = client.get("/stats").json()["workers"]
    assert stats == {"online": 0, "busy": 0, "waiting": 0, "offline": 1}
    server.clock.advance(server.settings.worker_seen_seconds)
    assert client.get("/workers").json()["data"] == []
    assert client.get("/stats").json()["workers"]["offline"] == 0


def test_a_worker_holding_a_job_stays_online_within_its_lease(client: httpx.Client, server: ThreadServer) -> None:
    job = create_job(client)
    lease = claim(client, client_id="slow")
    lease_seconds = server.settings.job_timeout_seconds
    server.clock.advance(lease_seconds - 1)  # longer than WORKER_SEEN_SECONDS, too: not forgotten either
    worker = client.get("/workers").json()["data"][0]
    assert (worker["state"], worker["online"], worker["current_job_id"]) == ("busy", True, job["id"])
    progress = {"job_id": job["id"], "claim_token": lease["claim_token"], "progress": 50}
    assert client.post("/extension/progress", json=progress).status_code == 200  # renews the lease
    server.clock.advance(lease_seconds)
    assert online_counts(client) == (1, 1, 1)
    server.clock.advance(1)
    assert online_counts(client) == (0, 0, 0)
    assert client.get("/workers").json()["data"] == []  # offline, and last seen before WORKER_SEEN_SECONDS


def test_a_worker_inside_a_long_poll_is_online_however_long_ago_it_called(server: ThreadServer) -> None:
    with server.client() as waiting, server.client() as watcher, ThreadPoolExecutor(1) as pool:
        poll = pool.submit(waiting.get, "/extension/poll", params={"client_id": "patient", "wait": 10})
        wait_until(lambda: watcher.get("/stats").json()["workers"]["waiting"] == 1)
        server.clock.advance(3600)
        assert online_counts(watcher) == (1, 1, 1)
        create_job(watcher)
        assert poll.result(timeout=10).status_code == 200


# -- each key sees its own jobs ------------------------------------------------------------------


@dataclass
class Keyed:
    server: ThreadServer
    anon: httpx.Client
    alice: httpx.Client
    bob: httpx.Client
    worker: httpx.Client
    alice_job: str
    bob_job: str


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[Keyed]:
    """Alice's job held by worker w-alice at 42 %; Bob's job failed on worker w-bob, with a message."""
    settings = settings_for(tmp_path, api_keys=[ALICE, BOB], worker_token=WORKER)
    with (
        ThreadServer(settings) as server,
        server.client() as anon,
        server.client(headers=bearer(ALICE)) as alice,
        server.client(headers=bearer(BOB)) as bob,
        server.client(headers=bearer(WORKER)) as worker,
    ):
        bob_job = create_job(bob, "Bob's secret project")["id"]
        lease = claim(worker, client_id="w-bob")
        report = {"job_id": bob_job, "claim_token": lease["claim_token"], "code": "moderated"}
        worker.post("/extension/error", json={**report, "error": "Bob's prompt was moderated"})
        alice_job = create_job(alice, "Alice's project")["id"]
        lease = claim(worker, client_id="w-alice")
        report = {"job_id": alice_job, "claim_token": lease["claim_token"], "progress": 42}
        assert worker.post("/extension/progress", json=report).status_code == 200
        yield Keyed(server, anon, alice, bob, worker, alice_job, bob_job)


def by_name(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {worker["client_id"]: worker for worker in listing["data"]}


def test_workers_show_each_key_only_its_own_jobs(keyed: Keyed) -> None:
    seen_by_alice = by_name(keyed.alice.get("/workers").json())
    mine, theirs = seen_by_alice["w-alice"], seen_by_alice["w-bob"]
    assert (mine["state"], mine["current_job_id"], mine["current_job_progress"]) == ("busy", keyed.alice_job, 42)
    assert (theirs["state"], theirs["current_job_id"], theirs["jobs_failed"]) == ("idle", None, 1)
    assert theirs["recent_errors"] == [
        {"job_id": None, "code": "moderated", "message": None, "at": theirs["recent_errors"][0]["at"]}
    ]

    seen_by_bob = by_name(keyed.bob.get("/workers").json())
    busy = seen_by_bob["w-alice"]
    assert (busy["state"], busy["current_job_id"], busy["current_job_progress"]) == ("busy", None, None)
    assert busy["jobs_claimed"] == 1
    [error] = seen_by_bob["w-bob"]["recent_errors"]
    assert (error["job_id"], error["message"]) == (keyed.bob_job, "Bob's prompt was moderated")

    for http, other in ((keyed.alice, keyed.bob_job), (keyed.bob, keyed.alice_job)):
        text = http.get("/workers").text + http.get("/stats").text + http.get("/health").text
        assert other not in text


def test_health_without_a_key_gives_counts_only(keyed: Keyed) -> None:
    refused: list[dict[str, str]] = [{}, bearer("sk-wrong"), bearer(WORKER)]
    for headers in refused:
        reply = keyed.anon.get("/health", headers=headers)
        assert reply.status_code == 200
        body = reply.json()
        assert body["jobs"] == {"pending": 0, "processing": 1, "completed": 0, "failed": 1}
        assert body["workers"] == {"online": 2, "recent": 2, "waiting": 0, "seen_within_seconds": 120.0}
        for secret in ("w-alice", "w-bob", keyed.alice_job, keyed.bob_job):
            assert secret not in reply.text

    listed = {w["client_id"]: w for w in keyed.alice.get("/health").json()["workers"]["list"]}
    assert (listed["w-alice"]["current_job_id"], listed["w-bob"]["current_job_id"]) == (keyed.alice_job, None)
    listed = {w["client_id"]: w for w in keyed.bob.get("/health").json()["workers"]["list"]}
    assert listed["w-alice"]["current_job_id"] is None
    assert listed["w-alice"]["state"] == "busy"


def test_an_open_server_shows_every_job_on_workers(client: httpx.Client) -> None:
    job = create_job(client)
    lease = claim(client, client_id="w-open")
    client.post("/extension/error", json={"job_id": job["id"], "claim_token": lease["claim_token"], "error": "boom"})
    [error] = client.get("/workers").json()["data"][0]["recent_errors"]
    assert (error["job_id"], error["message"]) == (job["id"], "boom")
    assert json.dumps(client.get("/health").json()).count("w-open") == 1
