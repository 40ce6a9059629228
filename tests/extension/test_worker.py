"""The extension end to end: a real server process, Debian's Chromium, and the local Imagine fixture."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from imagine import GALLERY_VIDEO, generated_mp4

from conftest import WORKER_TOKEN, Browser, job_state, wait_for_job
from support import PNG_1PX, ProcessServer, create_job, free_port


def download(api: httpx.Client, job: dict[str, Any]) -> bytes:
    reply = api.get(job["video_url"])
    assert reply.status_code == 200, reply.text
    return reply.content


def test_a_job_is_made_on_the_page_and_its_video_served(worker: Browser, api: httpx.Client) -> None:
    job = create_job(api, "A cat playing piano", aspect_ratio="16:9", duration=10, resolution="720p", mode="fun")
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert download(api, done) == generated_mp4()

    [submission] = worker.imagine.submissions
    assert submission["prompt"] == "A cat playing piano"
    assert submission["mode"] == "video"
    assert (submission["aspect_ratio"], submission["resolution"], submission["duration"]) == ("16:9", "720p", "10s")
    assert submission["preset"].lower() == "fun"
    assert submission["file"] is None
    assert all(GALLERY_VIDEO not in url for url in worker.imagine.video_fetches)

    history = worker.wait(lambda: worker.storage("history").get("history"))
    assert history[0]["jobId"] == job["id"] and history[0]["outcome"] == "completed"
    assert worker.storage("counters")["counters"]["completed"] == 1


def test_image_to_video_puts_the_image_into_the_file_input(worker: Browser, api: httpx.Client) -> None:
    image = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    job = create_job(api, "Make it move", image=image)
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = worker.imagine.submissions
    assert submission["file"] == {
        "name": f"{job['id']}.png",
        "type": "image/png",
        "size": len(PNG_1PX),
        "sha256": hashlib.sha256(PNG_1PX).hexdigest(),
    }
    assert submission["prompt"] == "Make it move"


@pytest.mark.parametrize(
    ("variant", "code", "message"),
    [
        ("moderated", "moderated", "Content Moderated"),
        ("silent_moderation", "moderated", "crossed-out eye"),
        ("rate_limited", "rate_limited", "Rate limit"),
        ("no_prompt_box", "ui_changed", "prompt box not found"),
        ("stuck", "timeout", "stalled"),
    ],
)
def test_a_failure_is_reported_with_its_code_and_the_next_job_succeeds(
    worker: Browser, api: httpx.Client, variant: str, code: str, message: str
) -> None:
    worker.set_settings(stallTimeoutSeconds=3)
    worker.imagine.set(variant)
    failed = wait_for_job(worker, api, create_job(api, f"variant {variant}")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", code), failed["error"]
    assert message in failed["error"]

    worker.imagine.set("success")
    done = wait_for_job(worker, api, create_job(api, "the next one")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert download(api, done) == generated_mp4()
    outcomes = [(entry["outcome"], entry["code"]) for entry in worker.storage("history").get("history")]
    assert outcomes[:2] == [("completed", None), ("failed", code)]


def test_a_localized_page_works_through_structure_and_label_variants(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("success", lang="zh")
    job = create_job(api, "一只弹钢琴的猫", aspect_ratio="9:16", duration=6)
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    [submission] = worker.imagine.submissions
    assert (submission["prompt"], submission["mode"], submission["aspect_ratio"]) == ("一只弹钢琴的猫", "video", "9:16")


def test_a_localized_moderation_toast_is_recognized(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("moderated", lang="zh")
    failed = wait_for_job(worker, api, create_job(api, "被审核")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "moderated"), failed


def test_an_out_of_date_page_is_reloaded_once(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.outdated_loads = 1
    done = wait_for_job(worker, api, create_job(api, "after a deploy")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert worker.imagine.page_loads[1:] == ["outdated", "success"]


def test_a_page_that_stays_out_of_date_fails_as_ui_changed(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.outdated_loads = 5
    failed = wait_for_job(worker, api, create_job(api, "deploy loop")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "ui_changed"), failed
    assert "out of date" in failed["error"]


def test_a_job_cancelled_through_the_api_stops_the_page(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("stuck")
    job = create_job(api, "cancel me")
    worker.wait(lambda: job_state(api, job["id"])["progress"] >= 10)
    assert api.delete(f"/v1/videos/{job['id']}").status_code == 200
    history = worker.wait(lambda: worker.storage("history").get("history"))
    assert history[0]["outcome"] == "cancelled"
    worker.imagine.set("success")
    done = wait_for_job(worker, api, create_job(api, "after the cancel")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])


def test_the_worker_backs_off_while_the_server_is_down_and_recovers(
    browser: Browser, api: httpx.Client, server: ProcessServer
) -> None:
    browser.set_settings(serverUrl=f"http://127.0.0.1:{free_port()}", token=WORKER_TOKEN)
    browser.context.pages[0].goto("https://grok.com/imagine")
    browser.popup.click("#toggle")
    down = browser.wait(lambda: (state := browser.state()).get("backoffUntil") and state)
    assert down["connected"] is False and down["lastError"]
    browser.popup.locator('#connection[data-state="disconnected"]').wait_for()

    browser.set_settings(serverUrl=server.url)
    done = wait_for_job(browser, api, create_job(api, "after the outage")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert browser.storage("state")["state"]["connected"] is True
