from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Error, Page, Worker, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))

from imagine import Imagine

from support import ROOT, ProcessServer, process_server

EXTENSION = ROOT / "extension"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WORKER_TOKEN = "wt-extension-tests"
ARTIFACTS = ROOT / "tests" / "artifacts"

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/test.sh installs it)", allow_module_level=True)


@dataclass
class Browser:
    """Debian's Chromium with the unpacked extension, grok.com served by the local Imagine fixture."""

    context: BrowserContext
    service_worker: Worker
    imagine: Imagine

    @property
    def extension_id(self) -> str:
        return self.service_worker.url.split("/")[2]

    def page(self, name: str) -> Page:
        page = self.context.new_page()
        page.goto(f"chrome-extension://{self.extension_id}/{name}")
        return page

    def storage(self, *keys: str) -> dict[str, Any]:
        result: dict[str, Any] = self.service_worker.evaluate("keys => chrome.storage.local.get(keys)", list(keys))
        return result

    def state(self) -> dict[str, Any]:
        """The worker's `state` in storage; empty until the service worker first writes it (Start, a poll)."""
        state: dict[str, Any] = self.storage("state").get("state") or {}
        return state

    def set_settings(self, **settings: Any) -> None:
        script = "async s => { const { settings } = await chrome.storage.local.get('settings');"
        script += " await chrome.storage.local.set({ settings: { ...settings, ...s } }); }"
        self.service_worker.evaluate(script, settings)

    def send(self, message: dict[str, Any]) -> Any:
        """Send a message to the service worker the way the popup does."""
        page = self.popup
        return page.evaluate("m => chrome.runtime.sendMessage(m)", message)

    def wait(self, condition: Callable[[], Any], timeout: float = 30) -> Any:
        """Wait for `condition` while letting Playwright serve the fixture's routes (they run only inside its calls)."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if time.monotonic() > deadline:
                state = self.storage("state", "current", "history", "abilities")
                raise AssertionError(
                    f"condition not met within {timeout} s; extension: {state}; page loads: {self.imagine.page_loads}"
                )
            self.popup.wait_for_timeout(50)
        return result

    def stop_service_worker(self) -> None:
        """What Chrome does to an extension service worker that has been idle for 30 s, done now. Returns once the
        running instance is gone; Chrome may start a new one at once (a message from the page wakes it)."""
        self.service_worker.evaluate("globalThis.__beforeStop = true")
        session = self.context.new_cdp_session(self.popup)
        targets = session.send("Target.getTargets")["targetInfos"]
        [target] = [t for t in targets if t["type"] == "service_worker" and t["url"] == self.service_worker.url]
        session.send("Target.closeTarget", {"targetId": target["targetId"]})
        # Playwright's handle follows the worker's URL to a new instance, which lacks the mark.
        self.wait(lambda: not same_instance(self.service_worker), timeout=10)
        session.detach()

    @property
    def popup(self) -> Page:
        for page in self.context.pages:
            if page.url.endswith("/popup.html"):
                return page
        return self.page("popup.html")


def same_instance(service_worker: Worker) -> bool:
    """Whether the instance marked by stop_service_worker is still the one running."""
    try:
        return bool(service_worker.evaluate("globalThis.__beforeStop === true"))
    except Error:
        return False


def launch(profile: Path, imagine: Imagine) -> tuple[Any, BrowserContext]:
    playwright = sync_playwright().start()
    return playwright, launch_in(playwright, profile, imagine)


def launch_in(playwright: Any, profile: Path, imagine: Imagine) -> BrowserContext:
    """One more Chromium with the extension, on a running Playwright (several workers in one test)."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=False,
        args=[
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--disable-extensions-except={EXTENSION}",
            f"--load-extension={EXTENSION}",
        ],
    )
    imagine.install(context)
    return context


def service_worker(context: BrowserContext) -> Worker:
    for worker in context.service_workers:
        if worker.url.endswith("/background.js"):
            return worker
    return context.wait_for_event("serviceworker", timeout=15000)


@pytest.fixture
def imagine() -> Imagine:
    return Imagine()


@pytest.fixture
def browser(tmp_path: Path, imagine: Imagine, request: pytest.FixtureRequest) -> Iterator[Browser]:
    playwright, context = launch(tmp_path / "profile", imagine)
    try:
        browser = Browser(context, service_worker(context), imagine)
        # The extension writes its client id when installed; settings written before that would be overwritten.
        browser.wait(lambda: (browser.storage("settings").get("settings") or {}).get("clientId"), timeout=10)
        yield browser
    finally:
        keep_screenshots(context, request.node.name)
        context.close()
        playwright.stop()


def keep_screenshots(context: BrowserContext, test_name: str) -> None:
    """Leave a picture of every open page for a person to look at (tests/artifacts/, not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for i, page in enumerate(context.pages):
        with contextlib.suppress(Exception):  # a page that cannot be drawn is not a test failure
            page.screenshot(path=str(ARTIFACTS / f"{test_name}-{i}.png"), timeout=5000)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProcessServer]:
    # A rate-limited worker rests a second, not a minute: tests go on to their next job (docs/retries.md).
    env = {"WORKER_TOKEN": WORKER_TOKEN, "RATE_LIMIT_COOLDOWN_SECONDS": "1"}
    with process_server(tmp_path, env=env) as srv:
        yield srv


# The server is set up before the browser so that it stops after it: a server stopping under a waiting long poll
# would wait for it to end.
@pytest.fixture
def worker(server: ProcessServer, browser: Browser) -> Browser:
    """The extension connected to the server and started from its popup, with short timeouts."""
    return start_worker(browser, server)


def start_worker(browser: Browser, server: ProcessServer, *, page_read: bool = False) -> Browser:
    """`page_read`: start once the extension has read the open Imagine page, so that its first poll declares what
    the page offers (else that poll declares nothing and runs its 20 s first)."""
    browser.set_settings(serverUrl=server.url, token=WORKER_TOKEN, generationTimeoutSeconds=60, stallTimeoutSeconds=60)
    # Like a user, keep a Grok tab open: the extension reuses it. (A tab the extension opens itself may make its
    # first request before Playwright's routing reaches it.)
    browser.context.pages[0].goto("https://grok.com/imagine")
    if page_read:
        browser.wait(lambda: (browser.storage("abilities").get("abilities") or {}).get("readAt"), timeout=30)
    popup = browser.popup
    popup.click("#toggle")
    browser.wait(lambda: browser.state().get("running"), timeout=10)
    return browser


def job_state(api: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job as monitoring shows it: status, progress, error and error_code."""
    reply = api.get("/jobs", params={"limit": 100})
    assert reply.status_code == 200, reply.text
    return next(job for job in reply.json()["data"] if job["id"] == job_id)


def wait_for_job(browser: Browser, api: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    return browser.wait(
        lambda: (job := job_state(api, job_id))["status"] in ("completed", "failed") and job, timeout=timeout
    )
