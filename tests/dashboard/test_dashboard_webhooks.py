"""The dashboard's Webhooks page lists the delivery log (docs/webhooks.md), in Debian's Chromium against a real
server process that sends to a real receiver."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dashboard_tab import Tab
from playwright.sync_api import expect

from support import ProcessServer, claim, create_job, process_server, upload

SECRET = "whsec_" + base64.b64encode(b"dashboard webhook key").decode()


class Receiver:
    def __init__(self) -> None:
        self.status = 204
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def server(tmp_path: Path, receiver: Receiver) -> Iterator[ProcessServer]:
    env = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET, "ALLOW_PRIVATE_URLS": "true"}
    with process_server(tmp_path, env=env) as srv:
        yield srv


def finish(api: httpx.Client) -> str:
    job = create_job(api)
    work = claim(api)
    assert upload(api, work["job_id"], token=work["claim_token"]).status_code == 200
    return str(job["id"])


def test_the_webhooks_page_lists_deliveries_with_their_attempts(
    tab: Tab, api: httpx.Client, receiver: Receiver
) -> None:
    delivered = finish(api)
    page = tab.open("/dashboard/webhooks")
    row = page.locator(f'tr:has(a[href="/dashboard/jobs/{delivered}"])')
    expect(row).to_contain_text("video.completed")
    expect(row).to_contain_text("127.0.0.1")
    expect(row.locator(".badge")).to_have_text("delivered")
    expect(row).to_contain_text("HTTP 204")
    receiver.status = 503
    waiting = finish(api)
    row = page.locator(f'tr:has(a[href="/dashboard/jobs/{waiting}"])')
    expect(row.locator(".badge")).to_have_text("pending")  # redrawn by the live updates
    expect(row).to_contain_text("HTTP 503")
    expect(row).to_contain_text("next try")
    expect(page.locator("main p.muted")).to_contain_text("1 waiting to be sent")
    expect(page.locator('nav a[data-page="webhooks"]')).to_have_class("active")
    tab.shot("webhooks")
    row.locator("a").click()
    expect(page).to_have_url(f"{tab.base}/dashboard/jobs/{waiting}")
    assert tab.errors == []
