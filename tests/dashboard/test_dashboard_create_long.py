"""The create form's long videos (docs/long-videos.md) and HD (docs/hd.md): durations up to 60 s, segments and the
HD upscale box, in Debian's Chromium against a real server process."""

from __future__ import annotations

from pathlib import Path

import httpx
from dashboard_tab import Tab, job_id_of, open_tab, wait
from playwright.sync_api import Browser, Page, expect

from support import ProcessServer, demo_worker, process_server


def add_segments(page: Page, *rows: tuple[str, int]) -> None:
    for prompt, seconds in rows:
        page.get_by_role("button", name="Add segment").click()
        number = page.locator(".segment").count()
        page.get_by_label(f"Segment {number} prompt").fill(prompt)
        page.get_by_label(f"Segment {number} seconds").fill(str(seconds))


def test_a_long_duration_is_sent_as_asked_and_chains_when_a_worker_can_extend(
    tab: Tab, server: ProcessServer, api: httpx.Client
) -> None:
    page = tab.open("/dashboard/new")
    durations = page.get_by_label("Duration").locator("option")
    assert durations.evaluate_all("options => options.map((o) => Number(o.value))") == [
        *range(1, 16),
        20,
        30,
        40,
        50,
        60,
    ]
    expect(page.locator(".hint").first).to_contain_text("Longer than 10 s is made as a chain of Grok extends")

    # No connected worker can extend: up to 15 s, one video of the nearest single length, and the job page says why.
    page.get_by_label("Prompt").fill("A fox crossing a frozen lake")
    page.get_by_label("Duration").select_option("15")
    page.get_by_role("button", name="Create video").click()
    single = api.get(f"/jobs/{job_id_of(page)}").json()
    assert single["requested"]["duration"] == 15 and single["segments"] is None
    [adjustment] = single["adjustments"]
    assert (adjustment["param"], adjustment["requested"], adjustment["made"]) == ("duration", 15, 10)
    expect(page.locator(".adjustments li")).to_have_text([adjustment["message"]])
    expect(page.locator(".adjustments li")).to_contain_text("no chain was made")

    # The demo worker extends from Grok: the same 30 s is a chain of three segments.
    with demo_worker(server.url):
        wait(
            page,
            lambda: any(
                "extend" in (w["abilities"] or {}).get("kinds", []) for w in api.get("/workers").json()["data"]
            ),
        )
        page = tab.open("/dashboard/new")
        page.get_by_label("Prompt").fill("A fox crossing a frozen lake")
        page.get_by_label("Duration").select_option("30")
        page.get_by_role("button", name="Create video").click()
        chained = api.get(f"/jobs/{job_id_of(page)}").json()
        assert chained["requested"]["duration"] == 30 and chained["options"]["duration"] == 30
        assert [segment["seconds"] for segment in chained["segments"]] == [10, 10, 10]
        expect(page.locator("table.segments tbody tr")).to_have_count(3)
        expect(page.locator(".adjustments li")).to_contain_text(["Made as a chain of 3 segments (10 + 10 + 10 s)"])


def test_segment_rows_are_sent_in_order_instead_of_the_duration(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("A lighthouse")
    add_segments(page, ("The lighthouse at dusk", 6), ("A ship passes", 10), ("The lamp turns on", 10))
    total = page.locator(".segment-total")
    expect(total).to_have_text("3 of at most 10 segments · 26 s of at most 60 s in all")
    expect(page.get_by_label("Duration")).to_be_disabled()
    page.get_by_role("button", name="Remove segment 2").click()
    expect(page.get_by_label("Segment 2 prompt")).to_have_value("The lamp turns on")
    expect(total).to_have_text("2 of at most 10 segments · 16 s of at most 60 s in all")
    tab.shot("new-video-segments")
    page.get_by_role("button", name="Create video").click()

    job = api.get(f"/jobs/{job_id_of(page)}").json()
    assert job["prompt"] == "A lighthouse"
    assert job["requested"]["segments"] == [
        {"prompt": "The lighthouse at dusk", "seconds": 6},
        {"prompt": "The lamp turns on", "seconds": 10},
    ]
    assert "duration" not in job["requested"]
    assert [(s["prompt"], s["seconds"]) for s in job["segments"]] == [
        ("The lighthouse at dusk", 6),
        ("The lamp turns on", 10),
    ]
    expect(page.locator("table.segments tbody tr")).to_have_count(2)


def test_the_editor_takes_at_most_ten_rows_and_sixty_seconds(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("A long walk")
    add_segments(page, *[(f"Step {n}", 6) for n in range(1, 11)])
    expect(page.get_by_role("button", name="Add segment")).to_be_disabled()
    expect(page.locator(".segment-total")).to_have_text("10 of at most 10 segments · 60 s of at most 60 s in all")
    page.get_by_label("Segment 10 seconds").fill("7")
    expect(page.locator(".segment-total")).to_have_class("segment-total over")
    page.get_by_role("button", name="Create video").click()
    expect(page.locator(".error")).to_have_text("The segments add up to 61 s; a long video is at most 60 s")
    assert api.get("/jobs").json()["data"] == []
    page.get_by_role("button", name="Remove segment 10").click()
    expect(page.get_by_role("button", name="Add segment")).to_be_enabled()
    expect(page.locator(".segment-total")).not_to_have_class("segment-total over")


def test_the_hd_box_sends_upscale(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("A harbour at night")
    page.get_by_label("Duration").select_option("10")
    page.get_by_label("HD upscale").check()
    page.get_by_role("button", name="Create video").click()

    job = api.get(f"/jobs/{job_id_of(page)}").json()
    assert job["requested"]["upscale"] is True and job["requested"]["duration"] == 10
    assert job["hd"] is not None and "feature:upscale" in job["needs"]
    expect(page.locator(".waiting-reason")).to_contain_text(job["waiting_reason"])  # no worker can upscale: it waits


def test_hd_is_not_offered_for_a_long_video(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    hd = page.get_by_label("HD upscale")
    page.get_by_label("Duration").select_option("10")
    hd.check()
    page.get_by_label("Duration").select_option("30")
    expect(hd).to_be_disabled()
    expect(hd).not_to_be_checked()
    expect(page.locator(".upscale")).to_contain_text("Not for a long video")
    page.get_by_label("Duration").select_option("6")
    expect(hd).to_be_enabled()
    add_segments(page, ("A wave breaks", 6))
    expect(hd).to_be_disabled()
    page.get_by_role("button", name="Remove segment 1").click()
    expect(hd).to_be_enabled()

    # Should a long video go out with HD anyway, the server's refusal is shown.
    page.get_by_label("Prompt").fill("A wave")
    add_segments(page, ("A wave breaks", 6))
    hd.evaluate("box => { box.disabled = false; box.checked = true; }")
    page.get_by_role("button", name="Create video").click()
    body = {"prompt": "A wave", "segments": [{"prompt": "A wave breaks", "seconds": 6}], "upscale": True}
    refusal = api.post("/v1/videos/generations", json=body).json()["error"]
    assert refusal["code"] == "hd_not_available"
    expect(page.locator(".error")).to_have_text(refusal["message"])
    assert api.get("/jobs").json()["data"] == []


def test_an_invalid_segment_shows_the_servers_message(chromium: Browser, tmp_path: Path) -> None:
    with process_server(tmp_path, env={"MAX_PROMPT_CHARS": "40"}) as srv, httpx.Client(base_url=srv.url) as api:
        for tab in open_tab(chromium, srv.url):
            page = tab.open("/dashboard/new")
            page.get_by_label("Prompt").fill("A garden")
            long = "A very slow pan across every flower in the garden"
            add_segments(page, ("Morning light", 6), (long, 6))
            page.get_by_role("button", name="Create video").click()
            body = {
                "prompt": "A garden",
                "segments": [{"prompt": "Morning light", "seconds": 6}, {"prompt": long, "seconds": 6}],
            }
            refusal = api.post("/v1/videos/generations", json=body).json()["error"]
            assert (refusal["param"], refusal["code"]) == ("segments[1].prompt", "prompt_too_long")
            expect(page.locator(".error")).to_have_text(f"Segment 2: {refusal['message']}")
            expect(page.locator(".segment").nth(1)).to_have_attribute("aria-invalid", "true")
            expect(page.locator(".segment").nth(0)).not_to_have_attribute("aria-invalid", "true")

            # 6 + 6 x 8 = 54 s asked, but each 8 s segment is made as 10 s: 66 s, more than the server makes.
            page.get_by_role("button", name="Remove segment 2").click()
            add_segments(page, *[(f"Bed {n}", 8) for n in range(2, 8)])
            page.get_by_role("button", name="Create video").click()
            expect(page.locator(".segment-total")).to_contain_text("54 s of at most 60 s")
            expect(page.locator(".error")).to_have_text("The segments add up to 66 s; a chain makes at most 60 s")
            expect(page.locator(".segment[aria-invalid]")).to_have_count(0)
            assert api.get("/jobs").json()["data"] == []


def test_image_mode_has_no_long_video_fields(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    add_segments(page, ("A first part", 6))
    page.get_by_role("radio", name="Image").check()
    expect(page.get_by_label("HD upscale")).to_have_count(0)
    expect(page.get_by_role("button", name="Add segment")).to_have_count(0)
    page.get_by_label("Prompt").fill("A lemon on a table")
    page.get_by_role("button", name="Create images").click()
    job = api.get(f"/jobs/{job_id_of(page)}").json()
    assert job["media"] == "image" and job["segments"] is None and job["hd"] is None

    page = tab.open("/dashboard/new")
    page.get_by_role("radio", name="Image").check()
    page.get_by_role("radio", name="Video").check()
    expect(page.get_by_label("HD upscale")).to_be_enabled()
    expect(page.get_by_role("button", name="Add segment")).to_be_visible()
