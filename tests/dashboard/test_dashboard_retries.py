"""The dashboard shows a job's attempts and a rate-limited worker's rest (docs/retries.md), in Debian's Chromium
against a real server process."""

from __future__ import annotations

from typing import Any

import httpx
from dashboard_tab import Tab
from playwright.sync_api import expect

from support import create_job, upload


def claim(api: httpx.Client, worker: str) -> dict[str, Any]:
    reply = api.get("/extension/poll", params={"client_id": worker})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_the_job_page_lists_every_attempt_and_the_workers_page_a_rest(tab: Tab, api: httpx.Client) -> None:
    target = create_job(api, "the one")["id"]
    first = claim(api, "grok-a")
    create_job(api, "keeps b at work")
    held = claim(api, "grok-b")  # another worker at work: the rate-limited job goes back to the queue for it
    toast = "Rate limit reached. Try again in 2 hours"
    answer = api.post(
        "/extension/error",
        json={"job_id": target, "code": "rate_limited", "error": toast, "claim_token": first["claim_token"]},
    ).json()
    assert answer["retried"] is True
    assert upload(api, held["job_id"], token=held["claim_token"]).status_code == 200
    second = claim(api, "grok-b")
    assert second["job_id"] == target
    assert upload(api, target, token=second["claim_token"]).status_code == 200

    page = tab.open(f"/dashboard/jobs/{target}")
    rows = page.locator("table.attempts tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("grok-a")
    expect(rows.nth(0)).to_contain_text("failed, retried")
    expect(rows.nth(0)).to_contain_text("rate_limited")
    expect(rows.nth(0)).to_contain_text(toast)
    expect(rows.nth(1)).to_contain_text("grok-b")
    expect(rows.nth(1)).to_contain_text("completed")
    expect(page.locator(".facts dd").filter(has_text="of at most")).to_have_text("2 of at most 3")
    tab.shot("job-attempts")

    page = tab.open("/dashboard/workers")
    expect(page.locator('[data-worker="grok-a"] .cooldown')).to_contain_text("Resting after a rate limit until")
    expect(page.locator('[data-worker="grok-a"] .cooldown')).to_contain_text(toast)
    expect(page.locator('[data-worker="grok-b"] .cooldown')).to_have_count(0)
    tab.shot("workers-cooldown")
