"""A NUL character (U+0000) is text that JSON, forms and URLs can carry and that PostgreSQL's text and jsonb
cannot hold. Both stores answer alike: a 400 `invalid_text` naming where it was, never a 500."""

from __future__ import annotations

import httpx
import pytest

from support import assert_error, claim, create_job


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "a cat\u0000 at the piano"}, "prompt"),
        ({"prompt": "a cat", "model": "grok\u0000"}, "model"),
        ({"prompt": "a cat", "metadata": {"k": ["v\u0000"]}}, "metadata"),
        ({"prompt": "a cat", "user\u0000": "x"}, None),
    ],
)
def test_json_text_with_a_nul_is_refused(client: httpx.Client, body: dict[str, object], param: str | None) -> None:
    reply = client.post("/v1/videos/generations", json=body)
    assert_error(reply, 400, "invalid_text", param=param)
    assert client.get("/jobs").json()["data"] == []


def test_an_escaped_backslash_is_not_a_nul(client: httpx.Client) -> None:
    job = create_job(client, "a path C:\\u0000 typed by hand")
    assert claim(client)["prompt"] == "a path C:\\u0000 typed by hand"
    assert job["status"] == "pending"


def test_form_fields_with_a_nul_are_refused(client: httpx.Client) -> None:
    reply = client.post("/v1/videos", data={"prompt": "a cat\u0000"})
    assert_error(reply, 400, "invalid_text", param="prompt")
    reply = client.post("/v1/videos", files={"prompt": (None, "a cat\u0000")})
    assert_error(reply, 400, "invalid_text", param="prompt")


@pytest.mark.parametrize(
    "url",
    [
        "/extension/poll?client_id=tab%00",
        "/extension/poll?version=1%00",
        "/jobs?q=cat%00",
        "/jobs/job_%00",
        "/v1/videos/video%00",
    ],
)
def test_a_nul_in_the_url_is_refused(client: httpx.Client, url: str) -> None:
    assert_error(client.get(url), 400, "invalid_text")


def test_worker_reports_with_a_nul_are_refused_and_the_job_stays(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client, client_id="tab-1")
    report = {"job_id": work["job_id"], "claim_token": work["claim_token"], "error": "bad\u0000thing"}
    assert_error(client.post("/extension/error", json=report), 400, "invalid_text", param="error")
    assert client.get(f"/jobs/{work['job_id']}").json()["status"] == "processing"
    health = client.get("/health").json()
    assert [w["client_id"] for w in health["workers"]["list"]] == ["tab-1"]
