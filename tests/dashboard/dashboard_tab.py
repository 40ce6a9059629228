"""The dashboard tab the tests drive, a test image and the helpers the dashboard tests share; scripts/screenshots.py
uses the image too."""

from __future__ import annotations

import base64
import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
EVIL = "<img src=x onerror=alert(1)><script>alert(2)</script> & a cat"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: everything after it, to the end of its paragraph, is laid out backwards


def gradient_png(width: int = 320, height: int = 180) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class Tab:
    """A dashboard tab, recording what the page did that a person would not see: script errors, dialogs."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_dialogs: bool = False

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"dashboard-{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def on_console(self, message: ConsoleMessage) -> None:
        # Refused requests (401 before a key is given, 404 of a deleted job) are logged by Chromium itself.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if self.accept_dialogs and dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()


def open_tab(chromium: Browser, base: str) -> Iterator[Tab]:
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    tab = Tab(page, base)
    page.on("console", tab.on_console)
    page.on("pageerror", lambda error: tab.errors.append(f"uncaught: {error}"))
    page.on("dialog", tab.on_dialog)
    try:
        yield tab
    finally:
        context.close()
    assert tab.errors == [], f"the page logged errors: {tab.errors}"


def wait(page: Page, condition: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        page.wait_for_timeout(50)
    return result


def job_id_of(page: Page, leaving: str | None = None) -> str:
    """The id of the job page the browser lands on (a different one than `leaving`)."""

    def landed(url: str) -> bool:
        found = re.search(r"/dashboard/jobs/(job_\w+)$", url)
        return found is not None and found.group(1) != leaving

    page.wait_for_url(landed, wait_until="commit")
    return page.url.rsplit("/", 1)[1]


def drop_file(page: Page, selector: str, data: bytes, name: str, mime: str) -> None:
    """Drop a file on an element the way a person dragging it from their desktop does."""
    transfer = page.evaluate_handle(
        """([b64, name, mime]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})
