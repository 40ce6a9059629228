"""What the Imagine page offers: kept by the service worker, declared at every poll, shown in the popup."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from imagine import USER, generated_mp4

from conftest import WORKER_TOKEN, Browser, job_state, wait_for_job
from support import ProcessServer, create_job

READ = {
    "kinds": ["text_to_video", "image_to_video"],
    "durations": [6, 10],
    "aspect_ratios": ["16:9", "9:16"],
    "resolutions": ["480p", "720p"],
    "presets": ["normal", "fun"],
}


def declared(browser: Browser, api: httpx.Client) -> dict[str, Any]:
    """This browser's row on GET /workers, once it has polled."""
    client_id = browser.storage("settings")["settings"]["clientId"]

    def row() -> dict[str, Any] | None:
        return next((w for w in api.get("/workers").json()["data"] if w["client_id"] == client_id), None)

    found: dict[str, Any] = browser.wait(row)
    return found


def start(browser: Browser, server: ProcessServer) -> None:
    browser.set_settings(serverUrl=server.url, token=WORKER_TOKEN)
    browser.popup.click("#toggle")


# What Grok's finished-video post offers, assumed until the extension has seen a post of its own.
ASSUMED_POST = {"kinds": ["extend"], "sources": ["grok"], "features": ["upscale"]}


def test_a_worker_that_read_no_page_declares_what_grok_s_posts_offer(
    browser: Browser, api: httpx.Client, server: ProcessServer
) -> None:
    """Nothing read yet: the server's default table, plus Extend and the HD upscale, so that a browser that has
    made nothing yet is offered long videos and HD."""
    start(browser, server)
    row = declared(browser, api)
    assert row["abilities"]["kinds"] == ["text_to_video", "image_to_video", "extend"]
    assert (row["abilities"]["sources"], row["abilities"]["features"]) == (["grok"], ["upscale"])
    assert row["abilities"]["durations"] == [6, 10]  # the rest: the default table
    assert row["version"].startswith("extension/")


def test_what_the_page_offers_is_kept_and_declared(browser: Browser, api: httpx.Client, server: ProcessServer) -> None:
    reply = browser.send({"type": "abilities", "abilities": {**READ, "sources": [], "colours": ["red"]}})
    assert reply == {"ok": True}
    kept = browser.storage("abilities")["abilities"]
    assert kept["abilities"] == {**READ, "sources": []}  # only the server's lists
    assert kept["readAt"] > 0 and kept["refused"] is None

    start(browser, server)
    row = declared(browser, api)
    # With what Grok's posts offer, until a post of its own is read.
    assert row["abilities"] == {
        **READ,
        "kinds": [*READ["kinds"], "extend"],
        "sources": ["grok"],
        "features": ["upscale"],
    }
    assert row["version"].startswith("extension/")

    # A post seen without Extend or the upscale: from then on they are not declared.
    browser.send({"type": "abilities", "scope": "post", "abilities": {"kinds": [], "sources": [], "features": []}})
    browser.wait(lambda: declared(browser, api)["abilities"] == {**READ, "sources": [], "features": []}, timeout=60)


def test_a_declaration_the_server_refuses_falls_back_to_the_plain_poll(
    browser: Browser, api: httpx.Client, server: ProcessServer
) -> None:
    browser.send({"type": "abilities", "abilities": {**READ, "aspect_ratios": ["5:4"]}})
    start(browser, server)
    # The refused POST registers nothing: the row is the plain GET poll that followed it at once.
    row = declared(browser, api)
    assert row["abilities"] is None
    refused = browser.storage("abilities")["abilities"]["refused"]
    assert "5:4" in refused
    assert browser.state().get("backoffUntil") is None


def test_the_post_a_video_came_from_goes_with_its_upload(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("stuck")
    job = create_job(api, "a video in a post")
    worker.wait(lambda: job_state(api, job["id"])["progress"] >= 10)
    current = worker.storage("current")["current"]
    assert (current["kind"], current["sourceGrokPostId"], current["sourceVideoUrl"]) == ("generate", None, None)

    video_url = f"https://assets.grok.com/users/{USER}/generated/{uuid.uuid4()}/generated_video.mp4?cache=1"
    worker.send({"type": "job-result", "jobId": job["id"], "videoUrl": video_url, "postId": "1a2b3c4d"})
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert api.get(done["video_url"]).content == generated_mp4()
    assert api.get(f"/jobs/{job['id']}").json()["grok_post_id"] == "1a2b3c4d"


def test_the_popup_lists_what_the_page_offers_as_text(browser: Browser) -> None:
    browser.context.pages[0].goto("https://grok.com/imagine")
    popup = browser.popup
    popup.click("#diagnose")
    durations = popup.locator('#diagnostics li[data-ability="durations"]')
    durations.wait_for()
    text = durations.inner_text()
    assert "6 s" in text and "10 s" in text
    for ability in ("kinds", "aspect_ratios", "resolutions", "presets"):
        assert popup.locator(f'#diagnostics li[data-ability="{ability}"]').count() == 1, ability
    assert "16:9" in popup.inner_text('#diagnostics li[data-ability="aspect_ratios"]')
