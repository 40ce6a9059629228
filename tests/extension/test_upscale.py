"""HD (docs/hd.md) through the extension: once a finished post showed Grok's upscale control, the extension
declares `upscale`; a job that asks for HD is generated, upscaled on its post (the fixture's "More options" →
"Upscale video"), and both files reach the server: variant=video and variant=hd serve each, byte for byte."""

from __future__ import annotations

from typing import Any

import httpx
from imagine import generated_hd_mp4, generated_mp4

from conftest import Browser, wait_for_job
from support import create_job


def features(api: httpx.Client) -> list[str]:
    return [
        feature
        for w in api.get("/workers").json()["data"]
        for feature in ((w.get("abilities") or {}).get("features") or [])
    ]


def finished(worker: Browser, api: httpx.Client, prompt: str, **extra: Any) -> dict[str, Any]:
    done = wait_for_job(worker, api, create_job(api, prompt, **extra)["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    return done


def test_a_browser_that_made_nothing_yet_makes_an_hd_job(worker: Browser, api: httpx.Client) -> None:
    """Until it has seen a post of its own, the extension declares Grok's upscale: the first job may ask for HD."""
    done = finished(worker, api, "A first dog on a skateboard", upscale=True)
    hd = api.get(f"/v1/videos/{done['id']}/content", params={"variant": "hd"})
    assert hd.status_code == 200, hd.text
    assert hd.content == generated_hd_mp4()


def test_an_upscale_job_uploads_the_hd_file_too(worker: Browser, api: httpx.Client) -> None:
    plain = finished(worker, api, "A cat playing piano")
    assert plain["hd"] is None
    worker.wait(lambda: "upscale" in features(api), timeout=60)  # read on the finished post
    assert not [event for event in worker.imagine.video_fetches if "_hd.mp4" in event]

    done = finished(worker, api, "A dog on a skateboard", upscale=True)
    hd = api.get(f"/v1/videos/{done['id']}/content", params={"variant": "hd"})
    assert hd.status_code == 200, hd.text
    assert hd.content == generated_hd_mp4()
    video = api.get(f"/v1/videos/{done['id']}/content", params={"variant": "video"})
    assert video.content == generated_mp4() != hd.content
    assert done["hd"]["resolution"] == "128x96" and done["hd"]["size"] == len(generated_hd_mp4())
    assert api.get(done["hd"]["url"]).content == generated_hd_mp4()
    assert any("generated_video_hd.mp4" in url for url in worker.imagine.video_fetches)
    history = worker.storage("history")["history"]
    assert history[0]["jobId"] == done["id"] and history[0]["outcome"] == "completed"


def test_a_page_without_the_upscale_control_stops_declaring_it_once_seen(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.set("no_upscale")
    finished(worker, api, "A cat playing piano")
    worker.wait(lambda: "upscale" not in features(api), timeout=60)  # its post had no upscale control
    job = create_job(api, "A dog on a skateboard", upscale=True)
    plain = finished(worker, api, "The next plain one")  # taken while the HD job waits
    assert plain["status"] == "completed"
    waiting = api.get(f"/v1/videos/{job['id']}").json()
    assert waiting["status"] == "queued"
    assert waiting["waiting_reason"] == "waiting for a worker that can upscale videos to HD"
    assert "upscale" not in features(api)


def test_a_missing_or_stuck_upscale_fails_the_job_with_its_code(worker: Browser, api: httpx.Client) -> None:
    finished(worker, api, "A cat playing piano")
    worker.wait(lambda: "upscale" in features(api), timeout=60)

    worker.imagine.set("no_upscale")  # the control went away after the extension declared it
    failed = wait_for_job(worker, api, create_job(api, "no control", upscale=True)["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "ui_changed"), failed["error"]
    assert "upscale control not found" in failed["error"]
    worker.wait(lambda: "upscale" not in features(api), timeout=60)  # it saw the post without it: no more HD jobs

    worker.imagine.set("upscale_stuck")
    finished(worker, api, "A cat playing the drums")  # a post with the control again
    worker.wait(lambda: "upscale" in features(api), timeout=60)
    worker.set_settings(generationTimeoutSeconds=8)
    failed = wait_for_job(worker, api, create_job(api, "never upscaled", upscale=True)["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "timeout"), failed["error"]
    assert "No HD video" in failed["error"]
