"""A rate-limit toast on one worker's Grok page moves the job to a second worker, which completes it, while the
first rests (docs/retries.md). Two Chromiums with the unpacked extension, each on its own Imagine fixture, and a
real server process with the default rate-limit rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from imagine import Imagine, generated_mp4
from playwright.sync_api import sync_playwright

from conftest import WORKER_TOKEN, Browser, job_state, keep_screenshots, launch_in, service_worker, start_worker
from support import ProcessServer, create_job, process_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProcessServer]:
    with process_server(tmp_path, env={"WORKER_TOKEN": WORKER_TOKEN}) as srv:
        yield srv


@pytest.fixture
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Browser, Browser]]:
    playwright = sync_playwright().start()
    contexts = []
    try:
        browsers = []
        for name in ("first", "second"):
            imagine = Imagine()
            context = launch_in(playwright, tmp_path / name, imagine)
            contexts.append(context)
            browser = Browser(context, service_worker(context), imagine)
            browser.wait(lambda b=browser: (b.storage("settings").get("settings") or {}).get("clientId"), timeout=10)
            browsers.append(browser)
        yield browsers[0], browsers[1]
    finally:
        for context in contexts:
            keep_screenshots(context, request.node.name)
            context.close()
        playwright.stop()


def client_id(browser: Browser) -> str:
    return str(browser.storage("settings")["settings"]["clientId"])


def workers(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {worker["client_id"]: worker for worker in api.get("/workers").json()["data"]}


def test_a_rate_limit_toast_hands_the_job_to_another_worker(
    server: ProcessServer, pair: tuple[Browser, Browser]
) -> None:
    first, second = pair
    with httpx.Client(base_url=server.url, timeout=30) as api:
        # The second worker is at work on a slow job of its own when the first meets the rate limit.
        second.imagine.step_ms = 3000  # 10 % every 3 s: 30 s of generating
        start_worker(second, server)
        slow = create_job(api, "a slow one")["id"]
        second.wait(lambda: [s["prompt"] for s in second.imagine.submissions] == ["a slow one"], timeout=30)
        second.imagine.step_ms = 100  # its page runs on at 3 s a step; the next page it loads is quick

        first.imagine.set("rate_limited")
        start_worker(first, server)
        target = create_job(api, "the one")["id"]
        first.wait(lambda: job_state(api, target)["attempts"] >= 1, timeout=30)
        resting = first.wait(lambda: workers(api)[client_id(first)]["cooldown_until"], timeout=60)

        done = second.wait(
            lambda: (job := api.get(f"/jobs/{target}").json())["status"] in ("completed", "failed") and job,
            timeout=120,
        )
        assert done["status"] == "completed", (done["error_code"], done["error"])
        assert job_state(api, slow)["status"] == "completed"
        history = done["attempt_history"]
        assert [(a["worker_id"], a["outcome"], a["code"]) for a in history] == [
            (client_id(first), "retried", "rate_limited"),
            (client_id(second), "completed", None),
        ]
        assert "Rate limit reached" in history[0]["message"]
        assert api.get(f"/v1/videos/{target}/content").content == generated_mp4()
        # The first worker was never handed it again, and still rests.
        assert [s["prompt"] for s in first.imagine.submissions] == ["the one"]
        assert [s["prompt"] for s in second.imagine.submissions] == ["a slow one", "the one"]
        assert workers(api)[client_id(first)]["cooldown_until"] == resting
        assert "grok_imagine_workers_cooling_down 1.0" in api.get("/metrics").text
        # Its popup says so, with the server's end of the rest.
        assert first.storage("state")["state"]["restingUntil"] == pytest.approx(resting * 1000)
        detail = first.popup.locator("#connection-detail")
        detail.filter(has_text="resting after a rate limit until").wait_for(timeout=10000)
        assert "Rate limit reached" in (detail.get_attribute("title") or "")
