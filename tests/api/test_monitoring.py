from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from grok_imagine_api import __version__
from support import PNG_1PX, ThreadServer, assert_error, claim, create_job, upload, wait_until


@pytest.mark.parametrize("path", ["/", "/health"])
def test_health_reports_counts_and_workers(client: httpx.Client, path: str) -> None:
    create_job(client)
    create_job(client)
    claim(client, client_id="chrome-1")
    body = client.get(path).json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["jobs"] == {"pending": 1, "processing": 1, "completed": 0, "failed": 0}
    assert body["workers"]["recent"] == 1
    worker = body["workers"]["list"][0]
    assert worker["client_id"] == "chrome-1"
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
    assert stats["jobs"] == {"pending": 1, "processing": 0, "completed": 2, "failed": 1}
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
