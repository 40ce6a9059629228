from __future__ import annotations

import base64

import httpx
import pytest

from grok_imagine_api import __version__
from support import PNG_1PX, assert_error, claim, create_job


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
