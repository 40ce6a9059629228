"""The extension proves each step on the page it is on: the box it submits holds the job's prompt, an image is
attached only when the page shows it, a stale page is reloaded whenever it says so, and the result is the video
of the post this submit created, never another new video on the page."""

from __future__ import annotations

import base64
import hashlib

import httpx

from conftest import Browser, wait_for_job
from support import PNG_1PX, create_job

DATA_URL = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()


def submissions_of(worker: Browser, kind: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    return [s for s in worker.imagine.submissions if kind is None or s.get("kind") == kind]


def test_an_image_that_moves_to_its_post_page_gets_the_prompt_in_the_post_pages_box(
    worker: Browser, api: httpx.Client
) -> None:
    worker.imagine.set("upload_post")
    job = create_job(api, "The lighthouse blinks at dusk", image=DATA_URL)
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = submissions_of(worker)
    assert submission["kind"] == "make_video"  # the post page's Make video, not the main bar's Submit
    assert submission["prompt"] == "The lighthouse blinks at dusk"  # never an empty box
    assert submission["file"]["sha256"] == hashlib.sha256(PNG_1PX).hexdigest()
    assert done["grok_post_id"] == submission["post"]


def test_a_controlled_textarea_on_the_post_page_gets_the_prompt(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("upload_post+post_textarea")
    job = create_job(api, "Waves over the pier", image=DATA_URL)
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = submissions_of(worker)
    assert (submission["kind"], submission["prompt"]) == ("make_video", "Waves over the pier")


def test_a_stale_page_toast_updated_in_place_is_reloaded_not_failed(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("stale_toast")
    job = create_job(api, "A kite over the dunes", aspect_ratio="16:9")
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = submissions_of(worker)  # the stale page sent nothing; the reloaded one sent the job
    assert submission["prompt"] == "A kite over the dunes" and submission["aspect_ratio"] == "16:9"
    assert len(worker.imagine.page_loads) >= 2


def test_other_new_videos_on_the_post_page_are_never_taken(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("other_videos")
    job = create_job(api, "A red panda eating bamboo")
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = submissions_of(worker)
    # The one video the extension downloaded is this submit's, from the post it created.
    fetched = {url.split("?")[0] for url in worker.imagine.video_fetches}
    assert fetched == {submission["video"].split("?")[0]}
    assert done["grok_post_id"] == submission["post"]


def test_toasts_read_as_sentences(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("video_limit")
    job = create_job(api, "A fox in the snow")
    done = wait_for_job(worker, api, job["id"])
    assert (done["status"], done["error_code"]) == ("failed", "rate_limited")
    assert done["error"] == "Video limit reached. Upgrade to unlock more"


def test_a_15_second_option_on_the_page_is_declared_and_used(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("duration_15s")
    first = wait_for_job(worker, api, create_job(api, "A first look at the new page")["id"])
    assert first["status"] == "completed", (first["error_code"], first["error"])

    def durations() -> list[int]:
        workers = api.get("/workers").json()["data"]
        return next((w["abilities"] or {}).get("durations") or [] for w in workers)

    assert worker.wait(lambda: 15 in durations(), timeout=60)
    job = create_job(api, "Fifteen seconds of rain", duration=15)
    assert job["options"]["duration"] == 15 and job["adjustments"] == []  # no release needed to make 15 s
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert worker.imagine.submissions[-1]["duration"] == "15s"
