from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_tab import Tab, open_tab

from support import ProcessServer, process_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Assertions wait for the page up to this long: a demo worker finishing a job on a loaded 2-core machine can take
# longer than Playwright's default 5 s (the wait ends as soon as the page is right).
expect.set_options(timeout=30_000)

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/test.sh installs it)", allow_module_level=True)


# Module scope: sync Playwright keeps an asyncio loop running in this thread, which later tests' asyncio.run refuses.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProcessServer]:
    with process_server(tmp_path) as srv:
        yield srv


@pytest.fixture
def tab(chromium: Browser, server: ProcessServer) -> Iterator[Tab]:
    yield from open_tab(chromium, server.url)
