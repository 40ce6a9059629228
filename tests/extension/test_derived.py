"""Extensions and remixes through Grok's own controls: the extension opens the source's post, uses Extend or the
post's Make video with the new prompt, and uploads the new post's video."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Browser, wait_for_job
from support import create_job


def made_by_the_extension(worker: Browser, api: httpx.Client, prompt: str) -> dict[str, Any]:
    """A finished job of the extension, whose post page it has seen (so it now declares extend and remix)."""
    done = wait_for_job(worker, api, create_job(api, prompt)["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert done["grok_post_id"]

    def declared() -> bool:
        workers = api.get("/workers").json()["data"]
        return any("extend" in ((w.get("abilities") or {}).get("kinds") or []) for w in workers)

    worker.wait(declared, timeout=60)
    return done


def test_an_extension_and_a_remix_make_new_videos_from_the_source_post(worker: Browser, api: httpx.Client) -> None:
    source = made_by_the_extension(worker, api, "A cat on a fence")
    source_bytes = api.get(source["video_url"]).content

    reply = api.post(
        "/v1/videos/extensions", data={"prompt": "It jumps down", "seconds": "6", "video[id]": source["id"]}
    )
    assert reply.status_code == 200, reply.text
    extended = wait_for_job(worker, api, reply.json()["id"])
    assert extended["status"] == "completed", (extended["error_code"], extended["error"])
    [extend] = [s for s in worker.imagine.submissions if s["kind"] == "extend"]
    assert (extend["source_post"], extend["extend_seconds"]) == (source["grok_post_id"], "6s")
    assert extend["prompt"] == "It jumps down"
    assert extended["grok_post_id"] == extend["post"] != source["grok_post_id"]
    assert api.get(extended["video_url"]).content != source_bytes

    reply = api.post(f"/v1/videos/{source['id']}/remix", json={"prompt": "The same cat, in the rain"})
    assert reply.status_code == 200, reply.text
    remixed = wait_for_job(worker, api, reply.json()["id"])
    assert remixed["status"] == "completed", (remixed["error_code"], remixed["error"])
    [remix] = [s for s in worker.imagine.submissions if s["kind"] == "make_video"]
    assert (remix["source_post"], remix["source_kind"]) == (source["grok_post_id"], "video")
    assert remix["prompt"] == "The same cat, in the rain"
    assert api.get(remixed["video_url"]).content not in (source_bytes, api.get(extended["video_url"]).content)


def test_a_source_post_that_does_not_open_fails_source_unavailable(worker: Browser, api: httpx.Client) -> None:
    source = made_by_the_extension(worker, api, "A boat at sea")
    # The post is gone from the site (deleted, say): the fixture forgets the posts it made.
    grok = next(page for page in worker.context.pages if page.url.startswith("https://grok.com/"))
    grok.evaluate("localStorage.removeItem('__fixture_posts__')")
    reply = api.post(f"/v1/videos/{source['id']}/remix", json={"prompt": "At night"})
    assert reply.status_code == 200, reply.text
    failed = wait_for_job(worker, api, reply.json()["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "source_unavailable"), failed["error"]
    assert "did not open" in failed["error"]
    assert not [s for s in worker.imagine.submissions if s["kind"] != "generate"]
