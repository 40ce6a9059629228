from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from grok_imagine_api.reqlog import RequestLog, redact
from support import PNG_1PX, ThreadServer, claim, create_job, upload, wait_until


def read_log(server: ThreadServer, requests: int) -> list[dict]:  # type: ignore[type-arg]
    """The log lines, once `requests` requests have been logged (lines are written after the reply)."""
    path = server.settings.log_path / f"requests_{datetime.now(UTC):%Y-%m-%d}.jsonl"

    def lines() -> list[dict] | None:  # type: ignore[type-arg]
        found = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return found if len(found) >= 2 * requests else None

    return wait_until(lines)  # type: ignore[no-any-return]


def test_requests_and_responses_are_logged_as_the_seed_shows(client: httpx.Client, server: ThreadServer) -> None:
    image = base64.b64encode(PNG_1PX * 20).decode()
    job = create_job(client, "A cat playing piano", image=image)
    work = claim(client)
    upload(client, work["job_id"])
    lines = read_log(server, 3)
    create_req, create_resp = lines[0], lines[1]
    assert create_req["type"] == "request"
    assert create_req["method"] == "POST"
    assert create_req["path"] == "/v1/videos/generations"
    assert create_req["job_id"] == job["id"]
    assert create_req["payload"]["prompt"] == "A cat playing piano"
    assert create_req["payload"]["image"] == f"<base64: {len(image)} chars>"
    assert create_req["timestamp"].endswith("Z")
    assert create_resp["type"] == "response"
    assert create_resp["job_id"] == job["id"]
    assert create_resp["status"] == "pending"
    assert create_resp["http_status"] == 200
    assert isinstance(create_resp["duration"], float)

    complete = [line for line in lines if line["type"] == "response" and line.get("video_size")]
    assert complete[0]["status"] == "completed"
    assert complete[0]["job_id"] == job["id"]
    assert complete[0]["video_size"] > 0
    assert "job_duration" in complete[0]
    assert image not in json.dumps(lines)


def test_errors_are_logged_too(client: httpx.Client, server: ThreadServer) -> None:
    client.get("/v1/videos/generations/job_missing")
    lines = read_log(server, 1)
    assert lines[-1]["http_status"] == 404
    assert lines[-2]["job_id"] == "job_missing"


def test_redact_replaces_base64_blobs_only() -> None:
    blob = "A" * 1000
    assert redact({"image": blob, "prompt": "short", "nested": [{"x": "data:image/png;base64," + blob}]}) == {
        "image": "<base64: 1000 chars>",
        "prompt": "short",
        "nested": [{"x": f"<base64: {len(blob) + 22} chars>"}],
    }
    long_prompt = "A cat playing the piano, " * 30
    assert redact(long_prompt) == long_prompt
    plain = "A cat playing the piano in a quiet room at night " * 8
    assert redact(plain) == plain
    assert redact(("QUJD" * 100 + "\n") * 3).startswith("<base64:")


def test_log_files_are_named_by_utc_date(tmp_path: Path) -> None:
    log = RequestLog(tmp_path)
    log.write({"a": 1})
    log.close()
    assert [p.name for p in tmp_path.iterdir()] == [f"requests_{datetime.now(UTC):%Y-%m-%d}.jsonl"]
