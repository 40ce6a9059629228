"""The Images APIs (docs/images.md) against a real server: creates that wait for a worker, the worker's side
of image jobs, and the images served back."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import (
    DEMO_MP4,
    IMAGE_WORKER,
    ThreadServer,
    assert_error,
    bearer,
    claim,
    create_job,
    png,
    settings_for,
    upload,
    wait_until,
)

RED, GREEN, BLUE = png(32, 18, 10), png(32, 18, 120), png(32, 18, 240)


def finish(client: httpx.Client, work: dict[str, Any], *images: bytes) -> httpx.Response:
    files = [("image", (f"{index}.png", data, "image/png")) for index, data in enumerate(images)]
    return client.post(
        "/extension/complete", data={"job_id": work["job_id"], "claim_token": work["claim_token"]}, files=files
    )


class Waiting:
    """A create that waits for its worker, sent from a thread while the test plays the worker."""

    def __init__(self, server: ThreadServer, send: Callable[[httpx.Client], httpx.Response]) -> None:
        self.reply: httpx.Response | None = None

        def run() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                self.reply = send(client)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self) -> httpx.Response:
        self.thread.join(timeout=30)
        assert self.reply is not None, "the create did not answer"
        return self.reply


def image_claim(client: httpx.Client, **params: Any) -> dict[str, Any]:
    """Claim the next image job, waiting for it to be queued."""
    work: dict[str, Any] = wait_until(
        lambda: (r := client.get("/extension/poll", params={**IMAGE_WORKER, **params})).status_code == 200 and r.json()
    )
    return work


@pytest.fixture
def worker(server: ThreadServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_generate_waits_for_the_worker_and_answers_with_links(
    server: ThreadServer, client: httpx.Client, worker: httpx.Client
) -> None:
    body = {"prompt": "a red fox", "n": 2, "size": "1024x1024", "model": "dall-e-3"}
    waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json=body))
    work = image_claim(worker)
    assert (work["media"], work["kind"], work["n"], work["prompt"]) == ("image", "generate", 2, "a red fox")
    assert work["options"]["aspect_ratio"] == "1:1"
    assert work["image"] is None
    done = finish(worker, work, RED, GREEN)
    assert done.status_code == 200, done.text
    assert [image["content_type"] for image in done.json()["images"]] == ["image/png", "image/png"]
    reply = waiting.result()
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-should-retry"] == "false"
    answer = reply.json()
    assert answer["id"] == work["job_id"]
    assert answer["adjustments"] == []
    assert [(item["width"], item["height"]) for item in answer["data"]] == [(32, 18), (32, 18)]
    fetched = [client.get(item["url"]) for item in answer["data"]]
    assert [r.content for r in fetched] == [RED, GREEN]
    assert {r.headers["content-type"] for r in fetched} == {"image/png"}
    assert "b64_json" not in answer["data"][0]


def test_b64_json_carries_the_images_and_gpt_image_models_default_to_it(
    server: ThreadServer, worker: httpx.Client
) -> None:
    for body in ({"prompt": "a", "response_format": "b64_json"}, {"prompt": "b", "model": "gpt-image-1"}):
        waiting = Waiting(server, lambda c, body=body: c.post("/v1/images/generations", json=body))  # type: ignore[misc]
        assert finish(worker, image_claim(worker), BLUE).status_code == 200
        answer = waiting.result().json()
        assert [base64.b64decode(item["b64_json"]) for item in answer["data"]] == [BLUE]
        assert "url" not in answer["data"][0]


def test_fewer_images_than_asked_complete_the_job_and_the_answer_says_so(
    server: ThreadServer, client: httpx.Client, worker: httpx.Client
) -> None:
    waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json={"prompt": "four cats", "n": 4}))
    work = image_claim(worker)
    assert finish(worker, work, RED, GREEN).status_code == 200
    answer = waiting.result().json()
    assert len(answer["data"]) == 2
    assert answer["adjustments"] == [
        {"param": "n", "requested": 4, "made": 2, "message": "The worker made 2 of the 4 images asked"}
    ]
    job = client.get(f"/jobs/{work['job_id']}").json()
    assert (job["status"], job["media"], job["n"], len(job["images"])) == ("completed", "image", 4, 2)
    assert job["video_url"] is None


@pytest.mark.parametrize(
    ("body", "aspect", "adjusted"),
    [
        ({"size": "1024x1024"}, "1:1", []),
        ({"size": "1536x1024"}, "3:2", []),
        ({"size": "1024x1792"}, "9:16", ["size"]),
        ({"size": "auto"}, None, []),
        ({"aspect_ratio": "16:9"}, "16:9", []),
        ({"aspect_ratio": "4:3"}, "3:2", ["aspect_ratio"]),
        ({"aspect_ratio": "19.5:9"}, "16:9", ["aspect_ratio"]),
        ({"quality": "hd", "style": "vivid"}, None, ["quality", "style"]),
        ({"quality": "standard", "resolution": "2k"}, None, ["resolution"]),
    ],
)
def test_sizes_and_options_map_truthfully(
    client: httpx.Client, body: dict[str, Any], aspect: str | None, adjusted: list[str]
) -> None:
    reply = client.post(
        "/v1/images/generations", json={"prompt": "a lake", **body}, headers={"Prefer": "respond-async"}
    )
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert job["options"]["aspect_ratio"] == aspect
    assert [item["param"] for item in job["adjustments"]] == adjusted
    for item in job["adjustments"]:
        assert item["message"]
    assert job["media"] == "image"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "x", "n": 11}, "n"),
        ({"prompt": "x", "n": 0}, "n"),
        ({"prompt": "x", "n": "two"}, "n"),
        ({"prompt": "x", "response_format": "png"}, "response_format"),
        ({"prompt": "x", "size": "big"}, "size"),
        ({"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio"),
    ],
)
def test_bad_creates_are_400_and_queue_nothing(client: httpx.Client, body: dict[str, Any], param: str) -> None:
    assert_error(client.post("/v1/images/generations", json=body), 400, param=param)
    assert client.get("/jobs").json()["data"] == []


def test_edit_sends_the_source_to_the_worker(server: ThreadServer, worker: httpx.Client) -> None:
    files = [("image[]", ("a.png", RED, "image/png")), ("image[]", ("b.png", GREEN, "image/png"))]
    waiting = Waiting(
        server, lambda c: c.post("/v1/images/edits", data={"prompt": "make it blue", "n": "1"}, files=files)
    )
    work = image_claim(worker)
    assert (work["kind"], work["media"], work["image_mime"]) == ("edit", "image", "image/png")
    assert base64.b64decode(work["image"]) == RED
    assert finish(worker, work, BLUE).status_code == 200
    answer = waiting.result().json()
    assert [item["param"] for item in answer["adjustments"]] == ["image"]
    assert "first of the 2" in answer["adjustments"][0]["message"]


def test_xai_edit_takes_a_data_url(client: httpx.Client, worker: httpx.Client) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(GREEN).decode()
    body = {"prompt": "snow", "image": {"url": data_url}, "model": "grok-imagine-image"}
    reply = client.post("/v1/images/edits", json=body, headers={"Prefer": "respond-async"})
    assert reply.status_code == 202, reply.text
    work = image_claim(worker)
    assert base64.b64decode(work["image"]) == GREEN
    assert work["model"] == "grok-imagine-image"


def test_edit_refuses_what_is_not_an_image(client: httpx.Client) -> None:
    files = {"image": ("a.png", b"not an image", "image/png")}
    assert_error(client.post("/v1/images/edits", data={"prompt": "x"}, files=files), 400, param="image")
    assert_error(client.post("/v1/images/edits", data={"prompt": "x"}), 400, "missing_parameter", "image")
    assert client.get("/jobs").json()["data"] == []


def test_image_jobs_go_only_to_workers_that_declare_images(
    client: httpx.Client, server: ThreadServer, worker: httpx.Client
) -> None:
    reply = client.post("/v1/images/generations", json={"prompt": "x"}, headers={"Prefer": "respond-async"})
    job = reply.json()
    assert job["waiting_reason"] == "waiting for a worker that can make images"
    assert worker.get("/extension/poll", params={"client_id": "plain"}).status_code == 204
    both = {"kinds": "text_to_video,text_to_image", "client_id": "both"}
    assert worker.get("/extension/poll", params=both).status_code == 204  # mode video (the default): not images
    video = create_job(client)
    assert worker.get("/extension/poll", params={**both, "mode": "image"}).json()["job_id"] == job["id"]
    assert worker.get("/extension/poll", params={**both, "mode": "image"}).status_code == 204
    assert worker.get("/extension/poll", params={**both, "mode": "video,image"}).json()["job_id"] == video["id"]
    assert_error(worker.get("/extension/poll", params={"mode": "audio"}), 400, param="mode")


def test_worker_uploads_are_checked(client: httpx.Client, worker: httpx.Client) -> None:
    client.post("/v1/images/generations", json={"prompt": "x", "n": 2}, headers={"Prefer": "respond-async"})
    work = image_claim(worker)
    assert_error(finish(worker, work, RED, b"\x89PNG\r\n\x1a\nbroken"), 415, "invalid_image", "image")
    assert_error(finish(worker, work, RED, GREEN, BLUE), 400, "too_many_images", "image")
    assert_error(upload(worker, work["job_id"], DEMO_MP4, work["claim_token"]), 400, "not_a_video_job")
    assert client.get(f"/jobs/{work['job_id']}").json()["status"] == "processing"  # still the worker's to finish
    assert finish(worker, work, RED).status_code == 200
    video = create_job(client)
    work = claim(worker, client_id="video-worker")
    assert work["job_id"] == video["id"]
    assert (work["media"], work["n"]) == ("video", 1)
    assert_error(finish(worker, work, RED), 400, "not_an_image_job")


@pytest.mark.parametrize(
    ("code", "status"),
    [("moderated", 400), ("rate_limited", 429), ("ui_changed", 502), ("worker_error", 502)],
)
def test_a_failed_job_is_an_error_answer(server: ThreadServer, worker: httpx.Client, code: str, status: int) -> None:
    waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json={"prompt": "x"}))
    work = image_claim(worker)
    report = {"job_id": work["job_id"], "claim_token": work["claim_token"], "code": code, "error": "the page said no"}
    assert worker.post("/extension/error", json=report).status_code == 200
    reply = waiting.result()
    assert_error(reply, status, code)
    assert reply.headers["x-should-retry"] == "false"
    assert "the page said no" in reply.json()["error"]["message"]


def test_a_job_not_done_in_time_is_a_504_and_goes_on(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, image_wait_seconds=0.3)) as server, server.client() as client:
        reply = client.post("/v1/images/generations", json={"prompt": "slow"})
        assert_error(reply, 504, "image_timeout")
        assert reply.headers["x-should-retry"] == "false"
        [job] = client.get("/jobs", params={"media": "image"}).json()["data"]
        assert job["id"] in reply.json()["error"]["message"]
        assert job["status"] == "pending"


def test_no_capable_worker_fails_the_job_and_the_waiting_request(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, no_capable_worker_seconds=60)
    with ThreadServer(settings) as server, server.client() as client:
        client.get("/extension/poll", params={"client_id": "video-only"})
        waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json={"prompt": "x"}))
        [job] = wait_until(lambda: client.get("/jobs").json()["data"])
        assert job["waiting_reason"] == "waiting for a worker that can make images"
        server.clock.advance(61)
        server.run(run_cleanup(server.service, server.app.state.request_log))
        reply = waiting.result()
        assert_error(reply, 503, "no_capable_worker")
        assert "can make images" in reply.json()["error"]["message"]


def test_image_jobs_are_listed_but_are_not_videos(
    server: ThreadServer, client: httpx.Client, worker: httpx.Client
) -> None:
    video = create_job(client)
    waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json={"prompt": "x"}))
    work = image_claim(worker)
    finish(worker, work, RED)
    waiting.result()
    assert [job["media"] for job in client.get("/jobs").json()["data"]] == ["image", "video"]
    assert [job["id"] for job in client.get("/jobs", params={"media": "image"}).json()["data"]] == [work["job_id"]]
    assert [job["id"] for job in client.get("/jobs", params={"media": "video"}).json()["data"]] == [video["id"]]
    assert [item["id"] for item in client.get("/v1/videos").json()["data"]] == [video["id"]]
    assert_error(client.get(f"/videos/{work['job_id']}.mp4"), 404)
    assert_error(client.get(f"/images/{work['job_id']}/1.png"), 404, "image_not_found")
    assert_error(client.get(f"/images/{work['job_id']}/0.jpg"), 404, "image_not_found")
    assert_error(client.get(f"/images/{video['id']}/0.png"), 404, "image_not_found")


def test_retention_deletes_the_images(server: ThreadServer, client: httpx.Client, worker: httpx.Client) -> None:
    client.post("/v1/images/generations", json={"prompt": "x"}, headers={"Prefer": "respond-async"})
    work = image_claim(worker)
    url = finish(worker, work, RED).json()["images"][0]["url"]
    assert client.get(url).content == RED
    server.clock.advance(server.settings.max_video_age_seconds + 1)
    server.run(run_cleanup(server.service, server.app.state.request_log))
    assert_error(client.get(url), 410, "image_expired")
    assert client.get(f"/jobs/{work['job_id']}").json()["images"] == []


def test_with_keys_image_links_are_signed_and_jobs_are_the_owners(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=["sk-a", "sk-b"])
    with ThreadServer(settings) as server, server.client() as a, server.client() as worker:
        a.headers.update(bearer("sk-a"))
        a.post("/v1/images/generations", json={"prompt": "x"}, headers={"Prefer": "respond-async"})
        work = image_claim(worker)
        url = finish(worker, work, RED).json()["images"][0]["url"]
        assert "signature=" in url
        with httpx.Client() as anonymous:
            assert anonymous.get(url).content == RED
            assert_error(anonymous.get(url.split("?")[0]), 401)
            assert_error(anonymous.get(url.replace("signature=", "signature=x")), 403)
        assert_error(a.get(f"/jobs/{work['job_id']}", headers=bearer("sk-b")), 404)
        assert a.get("/jobs", headers=bearer("sk-b")).json()["data"] == []
        assert a.get(f"/jobs/{work['job_id']}").json()["images"][0]["url"].startswith(server.url)


def test_prefer_respond_async_answers_at_once(client: httpx.Client) -> None:
    reply = client.post("/v1/images/generations", json={"prompt": "x", "n": 3}, headers={"Prefer": "respond-async"})
    assert reply.status_code == 202
    assert reply.headers["preference-applied"] == "respond-async"
    job = reply.json()
    assert (job["status"], job["media"], job["n"], job["images"]) == ("pending", "image", 3, [])
    assert client.get(f"/jobs/{job['id']}").json()["prompt"] == "x"


def test_a_client_that_hangs_up_leaves_the_job_going(
    server: ThreadServer, client: httpx.Client, worker: httpx.Client
) -> None:
    with httpx.Client(base_url=server.url, timeout=0.5) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/images/generations", json={"prompt": "a patient heron"})
    work = image_claim(worker)
    assert client.get(f"/jobs/{work['job_id']}").json()["status"] == "processing"
    assert finish(worker, work, GREEN).status_code == 200
    job = client.get(f"/jobs/{work['job_id']}").json()
    assert (job["status"], job["prompt"]) == ("completed", "a patient heron")
    assert client.get(job["images"][0]["url"]).content == GREEN


def test_stream_is_refused_before_anything_is_queued(client: httpx.Client) -> None:
    for body in ({"prompt": "x", "stream": True}, {"prompt": "x", "stream": "true", "partial_images": 2}):
        assert_error(client.post("/v1/images/generations", json=body), 400, "unsupported_parameter", "stream")
    files = {"image": ("a.png", RED, "image/png")}
    reply = client.post("/v1/images/edits", data={"prompt": "x", "stream": "true"}, files=files)
    assert_error(reply, 400, "unsupported_parameter", "stream")
    assert client.get("/jobs").json()["data"] == []


def test_form_fields_carry_numbers_as_text(client: httpx.Client) -> None:
    files = {"image": ("a.png", RED, "image/png")}
    data = {"prompt": "x", "n": "2", "output_compression": "50", "output_format": "webp"}
    reply = client.post("/v1/images/edits", data=data, files=files, headers={"Prefer": "respond-async"})
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert job["n"] == 2
    assert [item["param"] for item in job["adjustments"]] == ["output_format", "output_compression"]


def test_images_sent_before_the_job_id_are_refused_unread(client: httpx.Client, worker: httpx.Client) -> None:
    client.post("/v1/images/generations", json={"prompt": "x"}, headers={"Prefer": "respond-async"})
    work = image_claim(worker)
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="0.png"\r\n\r\n'.encode() + RED,
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{work["job_id"]}'.encode(),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    reply = worker.post("/extension/complete", content=b"".join(parts), headers=headers)
    assert_error(reply, 400, "missing_parameter", "job_id")
    query = {"job_id": work["job_id"], "claim_token": work["claim_token"]}
    reply = worker.post("/extension/complete", params=query, content=b"".join(parts), headers=headers)
    assert reply.status_code == 200, reply.text


def test_a_job_deleted_while_its_request_waits_answers_cancelled(
    server: ThreadServer, client: httpx.Client, worker: httpx.Client
) -> None:
    waiting = Waiting(server, lambda c: c.post("/v1/images/generations", json={"prompt": "x"}))
    work = image_claim(worker)
    assert client.delete(f"/jobs/{work['job_id']}").json() == {
        "id": work["job_id"],
        "object": "job.deleted",
        "deleted": True,
    }
    reply = waiting.result()
    assert_error(reply, 409, "cancelled")
    assert reply.headers["x-should-retry"] == "false"
    assert_error(client.get(f"/jobs/{work['job_id']}"), 404)
