"""The extension's own pages in Chromium: settings, the popup, and the diagnostics of the Imagine page."""

from __future__ import annotations

from pathlib import Path

import httpx
from imagine import Imagine

from conftest import WORKER_TOKEN, Browser, launch, service_worker, wait_for_job
from support import ProcessServer, create_job


def test_settings_are_tested_saved_and_kept_across_a_browser_restart(
    server: ProcessServer, tmp_path: Path, imagine: Imagine
) -> None:
    profile = tmp_path / "profile"
    playwright, context = launch(profile, imagine)
    try:
        browser = Browser(context, service_worker(context), imagine)
        page = browser.page("options.html")
        assert page.input_value("#server-url") == "http://localhost:8000"
        assert page.input_value("#client-id").startswith("grok-ext-")
        page.fill("#server-url", server.url + "/")
        page.fill("#token", "wrong-token")
        page.click("#test")
        page.locator('#status[data-ok="false"]', has_text="401").wait_for()

        page.fill("#token", WORKER_TOKEN)
        page.click("#test")
        page.locator('#status[data-ok="true"]', has_text="Connected to grok-imagine-api").wait_for()

        page.fill("#generation-timeout", "240")
        page.click("#save")
        browser.wait(lambda: browser.storage("settings")["settings"].get("serverUrl") == server.url)
        saved = browser.storage("settings")["settings"]
        assert (saved["token"], saved["generationTimeoutSeconds"]) == (WORKER_TOKEN, 240)
    finally:
        context.close()
        playwright.stop()

    playwright, context = launch(profile, imagine)
    try:
        browser = Browser(context, service_worker(context), imagine)
        page = browser.page("options.html")
        browser.wait(lambda: page.input_value("#server-url") == server.url)
        assert page.input_value("#token") == WORKER_TOKEN
        assert page.input_value("#generation-timeout") == "240"
    finally:
        context.close()
        playwright.stop()


def test_a_bad_server_url_is_refused_and_an_unreachable_one_explained(browser: Browser) -> None:
    page = browser.page("options.html")
    page.fill("#server-url", "ftp://example")
    page.click("#save")
    page.locator('#status[data-ok="false"]').wait_for()
    assert browser.storage("settings")["settings"]["serverUrl"] == "http://localhost:8000"

    page.fill("#server-url", "http://127.0.0.1:9")
    page.click("#test")
    page.locator('#status[data-ok="false"]', has_text="Cannot reach http://127.0.0.1:9").wait_for()


def test_diagnostics_list_what_the_page_has_and_name_what_is_missing(browser: Browser) -> None:
    popup = browser.popup
    popup.click("#diagnose")
    popup.locator("#diagnostics").get_by_text("No grok.com/imagine tab is open").wait_for()

    grok = browser.context.pages[0]
    grok.goto("https://grok.com/imagine")
    popup.click("#diagnose")
    found = popup.locator('#diagnostics li[data-found="true"]')
    found.first.wait_for()
    names = found.all_text_contents()
    for element in ("prompt box", "submit button", "generation mode switch", "image upload input"):
        assert any(element in name for name in names), names

    browser.imagine.set("no_prompt_box")
    grok.goto("https://grok.com/imagine")
    popup.click("#diagnose")
    popup.locator("#diagnostics").get_by_text("Missing: prompt box").wait_for()
    missing = popup.locator('#diagnostics li[data-found="false"]').all_text_contents()
    assert any("prompt box" in item for item in missing), missing


def test_the_popup_shows_progress_history_and_counters_as_text(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.step_ms = 400
    prompt = "<img src=x onerror=alert(1)> a fox"
    job = create_job(api, prompt)
    popup = worker.popup
    popup.locator("#current:not([hidden])").wait_for()
    worker.wait(lambda: popup.locator("#progress").evaluate("e => e.value") > 0)
    assert popup.text_content("#current-prompt") == prompt
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed"
    popup.locator('#history li[data-outcome="completed"]').wait_for()
    assert popup.text_content("#count-completed") == "1"
    assert prompt in popup.text_content("#history")
    assert popup.locator("#history img").count() == 0
    assert popup.locator("#connection").get_attribute("data-state") == "connected"


def test_a_job_survives_chrome_stopping_the_service_worker(worker: Browser, api: httpx.Client) -> None:
    worker.imagine.step_ms = 300
    job = create_job(api, "keep going")
    worker.wait(lambda: (worker.storage("current").get("current") or {}).get("phase") == "generating")
    worker.stop_service_worker()
    done = wait_for_job(worker, api, job["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])
