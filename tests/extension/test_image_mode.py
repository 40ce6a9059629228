"""Image jobs end to end: the extension switches Grok's page to Image mode, submits, takes the newest of this
submit's images (never the feed's) from the asset host and uploads them; an edit adds its image first."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from imagine import GALLERY_IMAGES, generated_jpeg, generated_mp4, image_id
from playwright.sync_api import Route

from conftest import Browser, start_worker, wait_for_job
from support import PNG_1PX, ProcessServer, create_job

ASYNC = {"Prefer": "respond-async"}
IMAGE_KINDS = {"text_to_image", "image_to_image"}


def declared_kinds(worker: Browser, api: httpx.Client) -> set[str]:
    """The kinds this browser's extension declared at its last poll."""
    client_id = worker.storage("settings")["settings"]["clientId"]
    row = next((w for w in api.get("/workers").json()["data"] if w["client_id"] == client_id), None)
    return set(((row or {}).get("abilities") or {}).get("kinds") or [])


@pytest.fixture
def worker(server: ProcessServer, browser: Browser, api: httpx.Client) -> Browser:
    """The extension started once it has read the Imagine page, and polling with the image kinds: image jobs go
    only to a worker that declared them."""
    start_worker(browser, server, page_read=True)
    browser.wait(lambda: IMAGE_KINDS.issubset(declared_kinds(browser, api)), timeout=30)
    return browser


def create_images(api: httpx.Client, prompt: str, **fields: Any) -> dict[str, Any]:
    reply = api.post(
        "/v1/images/generations", json={"model": "grok-imagine-image", "prompt": prompt, **fields}, headers=ASYNC
    )
    assert reply.status_code == 202, reply.text
    job: dict[str, Any] = reply.json()
    return job


def create_edit(api: httpx.Client, prompt: str) -> dict[str, Any]:
    """OpenAI's multipart edit of one image."""
    reply = api.post(
        "/v1/images/edits",
        data={"prompt": prompt, "n": "1", "model": "grok-imagine-image"},
        files={"image": ("source.png", PNG_1PX, "image/png")},
        headers=ASYNC,
    )
    assert reply.status_code == 202, reply.text
    job: dict[str, Any] = reply.json()
    return job


def stored_images(api: httpx.Client, job_id: str) -> list[bytes]:
    """The job's images as the server serves them, in their order."""
    detail = api.get(f"/jobs/{job_id}").json()
    assert detail["media"] == "image", detail
    found = []
    for image in detail["images"]:
        reply = api.get(image["url"])
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == image["content_type"] == "image/jpeg"
        found.append(reply.content)
    return found


def image_submissions(worker: Browser) -> list[dict[str, Any]]:
    return [s for s in worker.imagine.submissions if s["mode"] == "image"]


def test_an_image_job_uploads_exactly_the_newest_images_of_its_submit(worker: Browser, api: httpx.Client) -> None:
    # The feed holds older images of this user, and loads more of them while the job runs.
    worker.imagine.set("feed_grows")
    job = create_images(api, "A lighthouse at dawn", n=2, aspect_ratio="16:9")
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])

    [submission] = worker.imagine.submissions
    assert (submission["mode"], submission["prompt"], submission["aspect_ratio"]) == (
        "image",
        "A lighthouse at dawn",
        "16:9",
    )
    assert submission["file"] is None
    assert len(submission["images"]) == 4  # one submit makes four; the page shows them newest first
    newest = submission["images"][:2]
    assert stored_images(api, job["id"]) == [generated_jpeg(image_id(url), "16:9") for url in newest]
    # Only this submit's two newest images were downloaded: never a feed image, old or newly loaded.
    assert sorted(worker.imagine.image_fetches) == sorted(newest)
    assert not any(gallery in url for url in worker.imagine.image_fetches for gallery in GALLERY_IMAGES)


def test_fewer_images_than_asked_complete_the_job_with_those(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.images_per_submit = 3
    job = create_images(api, "Three kites", n=5)
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = worker.imagine.submissions
    assert submission["aspect_ratio"] == "2:3"  # the page's own choice when the job asks for none
    expected = [generated_jpeg(image_id(url), submission["aspect_ratio"]) for url in submission["images"]]
    assert stored_images(api, job["id"]) == expected


def test_an_image_edit_puts_the_source_image_into_the_file_input(worker: Browser, api: httpx.Client) -> None:
    job = create_edit(api, "Make it night")
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])

    [submission] = worker.imagine.submissions
    assert (submission["mode"], submission["prompt"]) == ("image", "Make it night")
    assert submission["file"]["sha256"] == hashlib.sha256(PNG_1PX).hexdigest()
    assert submission["file"]["type"] == "image/png"
    assert stored_images(api, job["id"]) == [worker.imagine.image_bytes(submission["images"][0])]


def test_an_edit_whose_image_moves_the_page_to_a_video_post_makes_no_video(worker: Browser, api: httpx.Client) -> None:
    # The image's post page has only Make video: pressing it would answer an image job with a video.
    worker.imagine.set("upload_post")
    failed = wait_for_job(worker, api, create_edit(api, "Make it night")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "ui_changed"), failed["error"]
    assert "only Make video" in failed["error"]
    assert worker.imagine.submissions == []


def test_a_moderated_image_job_fails_moderated(worker: Browser, api: httpx.Client) -> None:
    # Grok shows one image before it moderates the rest: nothing may be uploaded.
    worker.imagine.set("moderated")
    failed = wait_for_job(worker, api, create_images(api, "Something it refuses", n=4)["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "moderated"), failed["error"]
    assert "Content Moderated" in failed["error"]
    assert worker.imagine.image_fetches == []


def test_a_rate_limited_image_job_fails_rate_limited(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("rate_limited")
    failed = wait_for_job(worker, api, create_images(api, "One too many")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "rate_limited"), failed["error"]
    [submission] = image_submissions(worker)
    assert submission["images"] is None  # no generation started


def test_a_video_job_after_an_image_job_switches_back_to_video(worker: Browser, api: httpx.Client) -> None:
    image_job = wait_for_job(worker, api, create_images(api, "A red bicycle", n=1, aspect_ratio="1:1")["id"])
    assert image_job["status"] == "completed", (image_job["error_code"], image_job["error"])

    video_job = wait_for_job(worker, api, create_job(api, "The bicycle rides away", aspect_ratio="9:16")["id"])
    assert video_job["status"] == "completed", (video_job["error_code"], video_job["error"])
    assert api.get(video_job["video_url"]).content == generated_mp4()

    assert [(s["mode"], s["aspect_ratio"]) for s in worker.imagine.submissions] == [("image", "1:1"), ("video", "9:16")]
    assert worker.imagine.submissions[1]["images"] is None


def test_the_extension_declares_the_image_kinds_its_page_offers(worker: Browser, api: httpx.Client) -> None:
    assert {"text_to_video", "image_to_video", "text_to_image", "image_to_image"} <= declared_kinds(worker, api)
    assert api.get("/workers").json()["data"][0]["version"].startswith("extension/")


def test_a_server_without_images_still_gets_the_rest_of_the_reading(
    server: ProcessServer, browser: Browser, api: httpx.Client
) -> None:
    # An older server: it refuses the image kinds and any mode but video (400), as before issue 14.
    refused: list[str] = []

    def older_server(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        kinds = (body.get("abilities") or {}).get("kinds") or []
        if body.get("mode") != "video" or IMAGE_KINDS & set(kinds):
            refused.append(body.get("mode"))
            error = {"message": "Unknown kind", "type": "invalid_request_error", "param": "abilities.kinds"}
            route.fulfill(status=400, json={"error": {**error, "code": "invalid_abilities"}})
        else:
            route.continue_()

    browser.context.route(f"{server.url}/extension/poll", older_server)
    worker = start_worker(browser, server, page_read=True)
    found = worker.wait(lambda: declared_kinds(worker, api), timeout=30)
    assert found == {"text_to_video", "image_to_video", "extend"}  # extend: what Grok's posts offer, assumed
    assert refused[0] == "video,image"
    assert worker.storage("abilities")["abilities"]["refused"] is None
    done = wait_for_job(worker, api, create_job(api, "A video as before")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert len(refused) == 1  # the next polls ask for video jobs at once
