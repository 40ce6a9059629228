"""OPTION_MATCHING: nearest (say what will be made) or strict (refuse what cannot be made exactly), and the check
of every uploaded video against what its job promised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.demo_clips import make_clip
from support import ThreadServer, assert_error, claim, settings_for, upload


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[httpx.Client]:
    with ThreadServer(settings_for(tmp_path, option_matching="strict")) as server, server.client() as http:
        yield http


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/videos", {"prompt": "x", "seconds": "8"}, "seconds"),
        ("/v1/videos", {"prompt": "x", "seconds": "4"}, "seconds"),
        ("/v1/videos", {"prompt": "x", "size": "1792x1024"}, "size"),
        ("/v1/videos/generations", {"prompt": "x", "duration": 8}, "duration"),
        ("/v1/videos/generations", {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
        ("/v1/video/generations", {"prompt": "x", "size": "1920x1080"}, "size"),
    ],
)
def test_strict_refuses_what_cannot_be_made_exactly(strict: httpx.Client, path: str, body: dict, param: str) -> None:  # type: ignore[type-arg]
    assert_error(strict.post(path, json=body), 400, "no_exact_match", param)
    assert strict.get("/health").json()["jobs"]["pending"] == 0


def test_strict_accepts_exact_values_and_leaves_defaults_alone(strict: httpx.Client) -> None:
    video = strict.post("/v1/videos", json={"prompt": "x", "seconds": "10", "size": "1280x720"}).json()
    assert (video["seconds"], video["size"], video["adjustments"]) == ("10", "1280x720", [])
    assert strict.post("/v1/videos", json={"prompt": "no options"}).json()["seconds"] == "6"
    assert strict.post("/v1/videos/generations", json={"prompt": "x", "model": "grok-imagine-video"}).status_code == 200


@pytest.mark.parametrize("body", [{"duration": 99}, {"seconds": "abc"}, {"size": "13x7"}])
def test_outside_every_range_is_refused_in_strict_mode_too(strict: httpx.Client, body: dict) -> None:  # type: ignore[type-arg]
    param = next(iter(body))
    path = "/v1/videos/generations" if param == "duration" else "/v1/videos"
    assert_error(strict.post(path, json={"prompt": "x", **body}), 400, f"unsupported_{param}", param)


def test_a_video_that_breaks_its_promise_fails_in_strict_mode(strict: httpx.Client, tmp_path: Path) -> None:
    video = strict.post("/v1/videos", json={"prompt": "x", "seconds": "10", "size": "720x1280"}).json()
    work = claim(strict)
    reply = upload(strict, work["job_id"], make_clip(1280, 720, 6, "wrong"), token=work["claim_token"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "failed" and reply.json()["error_code"] == "output_mismatch"
    failed = strict.get(f"/v1/videos/{video['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "output_mismatch"
    assert {item["param"] for item in failed["output_mismatch"]} == {"aspect_ratio", "duration"}
    assert_error(strict.get(f"/v1/videos/{video['id']}/content"), 404, "job_failed")
    assert not list((tmp_path / "videos").glob("*.mp4"))
    metrics = strict.get("/metrics").text
    assert 'grok_imagine_output_mismatches_total{param="aspect_ratio"} 1.0' in metrics
    assert 'grok_imagine_jobs_failed_total{code="output_mismatch"} 1.0' in metrics


def test_a_mismatch_is_shown_but_kept_in_nearest_mode(client: httpx.Client) -> None:
    video = client.post("/v1/videos", json={"prompt": "x", "seconds": "6", "size": "1280x720"}).json()
    work = claim(client)
    assert upload(client, work["job_id"], make_clip(1280, 720, 10, "long")).json()["status"] == "completed"
    done = client.get(f"/v1/videos/{video['id']}").json()
    assert done["status"] == "completed"
    assert [item["param"] for item in done["output_mismatch"]] == ["duration"]
    assert client.get(f"/jobs/{video['id']}").json()["output_mismatch"] == done["output_mismatch"]
    assert 'grok_imagine_output_mismatches_total{param="duration"} 1.0' in client.get("/metrics").text
    fine = client.post("/v1/videos", json={"prompt": "y", "seconds": "6", "size": "1280x720"}).json()
    upload(client, claim(client)["job_id"], make_clip(1280, 720, 6, "right"))
    assert client.get(f"/v1/videos/{fine['id']}").json()["output_mismatch"] is None
