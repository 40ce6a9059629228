"""The job page of a job with an HD file (docs/hd.md): a Download HD link and a switch of the player between the
standard and the HD file, in Debian's Chromium against a real server process."""

from __future__ import annotations

import httpx
from dashboard_tab import Tab
from playwright.sync_api import expect

from grok_imagine_api.demo_clips import make_clip
from support import DEMO_MP4, create_job


def test_the_job_page_offers_the_hd_file_and_plays_either(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A harbour in HD", upscale=True)
    lease = api.get("/extension/poll", params={"client_id": "hd", "features": "upscale"}).json()
    assert lease["job_id"] == job["id"] and lease["upscale"] is True
    hd = make_clip(160, 90, 6, seed="hd")
    files = [("video", ("out.mp4", DEMO_MP4, "video/mp4")), ("video_hd", ("hd.mp4", hd, "video/mp4"))]
    reply = api.post("/extension/complete", data={"job_id": job["id"]}, files=files)
    assert reply.status_code == 200, reply.text

    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.locator(".status-line .badge")).to_have_text("completed")
    link = page.get_by_role("link", name="Download HD")
    expect(link).to_have_attribute("href", api.get(f"/jobs/{job['id']}").json()["hd"]["url"])
    video = page.locator("figure video")
    expect(video).to_have_attribute("src", api.get(f"/jobs/{job['id']}").json()["video_url"])
    page.get_by_role("button", name="Show HD").click()
    expect(video).to_have_attribute("src", link.get_attribute("href") or "")
    expect(page.locator("figure figcaption").first).to_contain_text("Result (HD)")
    page.get_by_role("button", name="Show standard").click()
    expect(page.locator("figure figcaption").first).not_to_contain_text("HD)")


def test_a_job_without_hd_has_no_hd_link(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A plain harbour")
    lease = api.get("/extension/poll", params={"client_id": "plain"}).json()
    files = {"video": ("out.mp4", DEMO_MP4, "video/mp4")}
    assert api.post("/extension/complete", data={"job_id": lease["job_id"]}, files=files).status_code == 200
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.get_by_role("link", name="Download", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Download HD")).to_have_count(0)
    expect(page.get_by_role("button", name="Show HD")).to_have_count(0)
