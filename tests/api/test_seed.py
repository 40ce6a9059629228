from __future__ import annotations

import base64

import httpx
import pytest

from support import PNG_1PX, ThreadServer, assert_error, claim, create_job, settings_for, upload

SEED_KEYS = {"id", "object", "created", "model", "status", "video_url", "error"}
# What every dialect adds: what will be made, what was asked, why it waits, and whether the video kept its promise.
TRUTH_KEYS = {"options", "requested", "adjustments", "waiting_reason", "output_mismatch", "segments", "hd"}


@pytest.mark.parametrize("prefix", ["/v1/videos/generations", "/v1/video/generations"])
def test_create_and_get_under_both_spellings(client: httpx.Client, server: ThreadServer, prefix: str) -> None:
    reply = client.post(prefix, json={"model": "grok", "prompt": "A cat playing piano"})
    assert reply.status_code == 200
    job = reply.json()
    assert set(job) == {*SEED_KEYS, *TRUTH_KEYS, "request_id"}  # request_id: for xAI clients
    assert job.pop("request_id") == job["id"]
    assert job["id"].startswith("job_")
    assert job["object"] == "videos.generation"
    assert job["model"] == "grok"
    assert job["status"] == "pending"
    assert job["error"] is None
    assert job["created"] == int(server.clock.now())
    assert job["video_url"] == f"{server.url}/videos/{job['id']}.mp4"

    for other in ("/v1/videos/generations", "/v1/video/generations"):
        fetched = client.get(f"{other}/{job['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == job


def test_model_defaults_to_grok_and_is_echoed(client: httpx.Client) -> None:
    assert client.post("/v1/videos/generations", json={"prompt": "x"}).json()["model"] == "grok"
    assert client.post("/v1/videos/generations", json={"prompt": "x", "model": "m2"}).json()["model"] == "m2"


def test_status_follows_the_job_through_its_states(client: httpx.Client) -> None:
    job = create_job(client)
    url = f"/v1/video/generations/{job['id']}"
    work = claim(client)
    assert client.get(url).json()["status"] == "processing"
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
    done = client.get(url).json()
    assert done["status"] == "completed"
    assert done["error"] is None

    failing = create_job(client)
    work = claim(client)
    client.post("/extension/error", json={"job_id": failing["id"], "error": "Content Moderated", "code": "moderated"})
    failed = client.get(f"/v1/videos/generations/{failing['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"] == "Content Moderated"
    assert failed["video_url"] is None


def test_video_url_uses_the_host_the_client_called(client: httpx.Client, server: ThreadServer) -> None:
    reply = client.post("/v1/videos/generations", json={"prompt": "x"}, headers={"Host": "videos.example:9000"})
    assert reply.json()["video_url"].startswith("http://videos.example:9000/videos/job_")


def test_video_url_uses_public_base_url_when_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(tmp_path, public_base_url="https://grok.example.org/api/")
    with ThreadServer(settings) as srv, srv.client() as http:
        job = create_job(http)
        assert job["video_url"] == f"https://grok.example.org/api/videos/{job['id']}.mp4"


@pytest.mark.parametrize(
    "image",
    [
        base64.b64encode(PNG_1PX).decode(),
        "data:image/png;base64," + base64.b64encode(PNG_1PX).decode(),
    ],
)
def test_image_as_base64_or_data_url_reaches_the_worker(client: httpx.Client, image: str) -> None:
    create_job(client, image=image)
    work = claim(client)
    assert base64.b64decode(work["image"]) == PNG_1PX
    assert work["image_mime"] == "image/png"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"prompt": ""}, "prompt", "empty_prompt"),
        ({"prompt": "   \n"}, "prompt", "empty_prompt"),
        ({"prompt": "x" * 4001}, "prompt", "prompt_too_long"),
        ({}, "prompt", "missing_parameter"),
        ({"prompt": 5}, "prompt", None),
        ({"prompt": "x", "image": "not base64!!"}, "image", "invalid_base64"),
        (
            {"prompt": "x", "image": base64.b64encode(b"GIF89a....").decode()},
            "image",
            "unsupported_image_type",
        ),
        ({"prompt": "x", "image": "data:image/png,abc"}, "image", None),
        ({"prompt": "x", "aspect_ratio": "21:9"}, "aspect_ratio", "unsupported_aspect_ratio"),
        ({"prompt": "x", "duration": 61}, "duration", "unsupported_duration"),  # up to 60: a long video
        ({"prompt": "x", "resolution": "4k"}, "resolution", "unsupported_resolution"),
        ({"prompt": "x", "mode": "wild"}, "mode", "unsupported_mode"),
        ({"prompt": "x", "model": ""}, "model", None),
    ],
)
def test_bad_create_requests_are_400_with_param(client: httpx.Client, body: dict, param: str, code: str) -> None:  # type: ignore[type-arg]
    assert_error(client.post("/v1/videos/generations", json=body), 400, code, param)
    assert client.get("/health").json()["jobs"]["pending"] == 0


def test_image_over_the_limit_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ThreadServer(settings_for(tmp_path, max_image_bytes=100)) as srv, srv.client() as http:
        big = PNG_1PX + b"\0" * 200
        reply = http.post("/v1/videos/generations", json={"prompt": "x", "image": base64.b64encode(big).decode()})
        assert_error(reply, 400, "image_too_large", "image")


def test_malformed_json_and_non_object_bodies(client: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    lone_surrogate = b'{"prompt": "hi \\ud800"}'
    assert_error(client.post("/v1/videos/generations", content=lone_surrogate, headers=headers), 400, "invalid_json")
    deep = b'{"prompt": "x", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(client.post("/v1/videos/generations", content=deep, headers=headers), 400, "invalid_json")
    accented = b'{"prompt": "caf\\u00e9 \\ud83d\\ude00"}'
    assert client.post("/v1/videos/generations", content=accented, headers=headers).status_code == 200
    assert_error(client.post("/v1/videos/generations", content=b"{bad", headers=headers), 400, "invalid_json")
    assert_error(client.post("/v1/videos/generations", content=b"[1, 2]", headers=headers), 400)
    assert_error(client.post("/v1/videos/generations", content=b"", headers=headers), 400)


def test_unknown_job_is_404(client: httpx.Client) -> None:
    assert_error(client.get("/v1/videos/generations/job_nope"), 404, "job_not_found", "job_id")
    assert_error(client.get("/v1/video/generations/job_nope"), 404, "job_not_found", "job_id")


def test_generation_options_reach_the_worker(client: httpx.Client) -> None:
    create_job(client, aspect_ratio="9:16", resolution="720p", duration=10, mode="fun")
    work = claim(client)
    assert work["options"] == {"aspect_ratio": "9:16", "resolution": "720p", "duration": 10, "mode": "fun"}


def test_unknown_routes_and_methods_use_the_envelope(client: httpx.Client) -> None:
    assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.put("/v1/videos/generations"), 405, "method_not_allowed")


def test_seed_answers_say_what_will_be_made(client: httpx.Client) -> None:
    job = create_job(client, aspect_ratio="4:3", mode="fun")
    assert job["options"] == {"aspect_ratio": "3:2", "resolution": None, "duration": None, "mode": "fun"}
    assert job["requested"] == {"model": "grok", "aspect_ratio": "4:3", "mode": "fun"}
    assert [(a["param"], a["requested"], a["made"]) for a in job["adjustments"]] == [("aspect_ratio", "4:3", "3:2")]
    assert claim(client)["options"]["aspect_ratio"] == "3:2"
    plain = create_job(client)
    assert plain["options"] == {"aspect_ratio": None, "resolution": None, "duration": None, "mode": None}
    assert plain["adjustments"] == [] and plain["waiting_reason"] is None
