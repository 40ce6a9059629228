"""A long video on the dashboard (docs/long-videos.md): one row in the list, and its segments on its page."""

from __future__ import annotations

import httpx
from dashboard_tab import Tab, wait
from playwright.sync_api import expect

from support import ProcessServer, demo_worker


def test_the_job_page_lists_the_segments_of_a_long_video(tab: Tab, server: ProcessServer, api: httpx.Client) -> None:
    with demo_worker(server.url):
        wait(tab.page, lambda: api.get("/workers").json()["data"])
        segments = [{"prompt": "A lighthouse at dusk", "seconds": 6}, {"prompt": "The lamp turns on", "seconds": 10}]
        job = api.post("/v1/videos/generations", json={"prompt": "A lighthouse", "segments": segments}).json()
        wait(tab.page, lambda: api.get(f"/jobs/{job['id']}").json()["status"] == "completed", timeout=60)
    done = api.get(f"/jobs/{job['id']}").json()

    page = tab.open("/dashboard")
    expect(page.locator(f'tr[data-job="{job["id"]}"]')).to_have_count(1)
    for segment in done["segments"]:
        expect(page.locator(f'tr[data-job="{segment["job_id"]}"]')).to_have_count(0)  # steps are on the parent

    page = tab.open(f"/dashboard/jobs/{job['id']}")
    rows = page.locator("table.segments tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td")).to_have_text(
        ["1", "A lighthouse at dusk", "6", "completed", "0.0\u20136.0 s", f"{done['segments'][0]['job_id']} · video"]
    )
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("The lamp turns on")
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("6.0\u201316.0 s")
    expect(rows.nth(1).get_by_role("link", name="video")).to_have_attribute("href", done["segments"][1]["video_url"])
    rows.nth(0).get_by_role("link", name=done["segments"][0]["job_id"]).click()
    expect(page.locator(".facts")).to_contain_text(job["id"])  # the step's page links back to its long video
    tab.shot("job-long-video")
