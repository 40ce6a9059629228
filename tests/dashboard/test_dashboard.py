"""The dashboard in Debian's Chromium against a real server process and the demo worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_tab import EVIL, RLO, Tab, drop_file, gradient_png, job_id_of, open_tab, wait
from playwright.sync_api import Browser, Page, Route, expect

from support import DEMO_MP4, ProcessServer, bearer, create_job, demo_worker, process_server, upload


def play(page: Page) -> None:
    video = page.locator("video")
    expect(video).to_be_visible()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    wait(page, lambda: video.evaluate("v => v.currentTime > 0.3 && !v.paused"))
    # Seekable: the server answers range requests.
    video.evaluate("v => { v.pause(); v.currentTime = 4; }")
    wait(page, lambda: video.evaluate("v => !v.seeking && Math.abs(v.currentTime - 4) < 0.5"))


def test_a_video_made_through_the_form_completes_and_plays(tab: Tab, server: ProcessServer, api: httpx.Client) -> None:
    image = gradient_png()
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("A red fox trotting through fresh snow")
    drop_file(page, ".drop", image, "fox.png", "image/png")
    expect(page.locator(".preview")).to_contain_text("fox.png")
    page.get_by_label("Aspect ratio").select_option("9:16")
    page.get_by_label("Duration").select_option("10")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_label("Preset").select_option("fun")
    tab.shot("new-video")
    page.get_by_role("button", name="Create video").click()
    job_id = job_id_of(page)
    expect(page.locator(".status-line .badge")).to_have_text("pending")

    job = api.get(f"/jobs/{job_id}").json()
    assert job["prompt"] == "A red fox trotting through fresh snow"
    assert job["options"] == {"aspect_ratio": "9:16", "duration": 10, "resolution": "480p", "mode": "fun"}
    assert api.get(f"/jobs/{job_id}/image").content == image

    with demo_worker(server.url):
        expect(page.locator(".status-line .badge")).to_have_text("completed", timeout=30_000)
    expect(page.locator("img.input-image")).to_be_visible()
    assert page.locator("img.input-image").evaluate("img => img.naturalWidth") == 320
    play(page)
    tab.shot("job")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    saved = download.value.path()
    assert saved is not None
    assert Path(saved).read_bytes() == api.get(f"/videos/{job_id}.mp4").content


def test_a_dropped_file_that_is_not_an_image_is_refused(tab: Tab) -> None:
    page = tab.open("/dashboard/new")
    drop_file(page, ".drop", b"%PDF-1.4", "notes.pdf", "application/pdf")
    expect(page.locator(".error")).to_have_text("notes.pdf is not a PNG, JPEG or WebP image")
    expect(page.locator(".preview img")).to_have_count(0)


def test_an_empty_prompt_is_explained(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("   ")
    page.get_by_role("button", name="Create video").click()
    expect(page.locator(".error")).to_contain_text("Prompt must not be empty")
    assert api.get("/jobs").json()["data"] == []


def test_the_job_table_pages_filters_searches_and_updates_live(
    tab: Tab, server: ProcessServer, api: httpx.Client
) -> None:
    for i in range(60):
        create_job(api, f"scene {i}")
    create_job(api, "A lighthouse at dusk")
    page = tab.open("/dashboard")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("A lighthouse at dusk")
    expect(page.locator('[data-count="pending"]')).to_have_text("61")

    page.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(11)
    expect(rows.last).to_contain_text("scene 0")
    page.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(50)

    page.get_by_label("Search").fill("LIGHTHOUSE")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"\?q=LIGHTHOUSE$"))
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name=re.compile("^failed")).click()
    expect(rows).to_have_text(["No jobs match."])
    page.get_by_role("button", name=re.compile("^all")).click()
    expect(rows).to_have_count(50)

    # A worker claims a job and reports progress: the table follows without a reload.
    lease = api.get("/extension/poll", params={"client_id": "by-hand"}).json()
    page.get_by_role("button", name=re.compile("^processing")).click()
    progress = page.locator(f'tr[data-job="{lease["job_id"]}"] .progress')
    expect(progress).to_contain_text("0%")
    api.post(
        "/extension/progress", json={"job_id": lease["job_id"], "claim_token": lease["claim_token"], "progress": 37}
    )
    expect(progress).to_contain_text("37%")
    page.get_by_role("button", name=re.compile("^all")).click()
    tab.shot("jobs")
    api.post(f"/jobs/{lease['job_id']}/cancel")

    with demo_worker(server.url):
        expect(page.locator('[data-count="completed"]')).to_have_text("60", timeout=60_000)
    expect(rows.first.locator(".badge")).to_have_text("completed")


def test_cancel_run_again_and_delete_from_the_job_page(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A paper boat in the rain", aspect_ratio="1:1")
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    badge = page.locator(".status-line .badge")
    expect(badge).to_have_text("pending")
    page.get_by_role("button", name="Cancel").click()
    expect(badge).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    cancelled = api.get(f"/jobs/{job['id']}").json()
    assert (cancelled["status"], cancelled["error_code"]) == ("failed", "cancelled")
    expect(page.locator(".facts")).to_contain_text("Cancelled by the client")
    tab.shot("job-cancelled")

    page.get_by_role("button", name="Run again").click()
    again = job_id_of(page, leaving=job["id"])
    assert again != job["id"]
    expect(page.locator("h1")).to_have_text("A paper boat in the rain")
    assert api.get(f"/jobs/{again}").json()["options"]["aspect_ratio"] == "1:1"

    tab.accept_dialogs = True
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/dashboard$"), wait_until="commit")
    assert any("Delete job" in d for d in tab.dialogs)
    assert api.get(f"/jobs/{again}").status_code == 404
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)


def test_user_text_is_shown_as_text_never_run_as_html(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, EVIL)
    create_job(api, "second, so the worker fails the first")
    lease = api.get("/extension/poll", params={"client_id": "<b>evil-worker</b>"}).json()
    report = {"job_id": lease["job_id"], "claim_token": lease["claim_token"], "code": "moderated"}
    api.post("/extension/error", json={**report, "error": "<img src=y onerror=alert(3)>"})

    page = tab.open("/dashboard")
    expect(page.locator(f'tr[data-job="{job["id"]}"] td.prompt')).to_have_text(EVIL)
    assert page.locator("main img, main script, main b").count() == 0
    tab.shot("xss-table")

    page.goto(f"{tab.base}/dashboard/jobs/{job['id']}")
    expect(page.locator("h1")).to_have_text(EVIL)
    expect(page.locator(".facts")).to_contain_text("<img src=y onerror=alert(3)>")
    assert page.locator("main img, main script, main b").count() == 0

    page.goto(f"{tab.base}/dashboard/workers")
    expect(page.locator(".worker h2")).to_have_text("<b>evil-worker</b>")
    expect(page.locator(".errors")).to_contain_text("<img src=y onerror=alert(3)>")
    assert page.locator("main img, main script, main b").count() == 0
    assert tab.dialogs == []


def test_workers_page_shows_each_worker_its_version_job_and_errors(
    tab: Tab, server: ProcessServer, api: httpx.Client
) -> None:
    lease_job = create_job(api, "held by hand")
    lease = api.get("/extension/poll", params={"client_id": "chrome-laptop", "version": "extension/0.1.0"}).json()
    api.post(
        "/extension/progress", json={"job_id": lease_job["id"], "claim_token": lease["claim_token"], "progress": 64}
    )
    failed = create_job(api, "will be moderated")
    second = api.get("/extension/poll", params={"client_id": "chrome-desktop", "version": "extension/0.1.0"}).json()
    report = {"job_id": failed["id"], "claim_token": second["claim_token"], "code": "moderated"}
    api.post("/extension/error", json={**report, "error": "Content Moderated. Try a different idea."})
    with demo_worker(server.url):
        page = tab.open("/dashboard/workers")
        demo = page.locator('[data-worker="demo-worker"]')
        expect(demo).to_contain_text("demo-worker/")
        expect(demo.locator(".badge")).to_have_text("waiting")
        laptop = page.locator('[data-worker="chrome-laptop"]')
        expect(laptop.locator(".badge")).to_have_text("busy")
        expect(laptop).to_contain_text(lease_job["id"])
        expect(laptop.locator(".progress")).to_contain_text("64%")
        desktop = page.locator('[data-worker="chrome-desktop"]')
        expect(desktop.locator(".errors")).to_contain_text("moderated Content Moderated. Try a different idea.")
        expect(desktop).to_contain_text("1 claimed · 0 completed · 1 failed")
        tab.shot("workers")


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[ProcessServer]:
    with process_server(tmp_path, env={"API_KEYS": "sk-dashboard"}) as srv:
        yield srv


def test_with_api_keys_the_dashboard_asks_for_one_and_keeps_it(chromium: Browser, keyed: ProcessServer) -> None:
    with httpx.Client(base_url=keyed.url, headers=bearer("sk-dashboard"), timeout=30) as api:
        job = create_job(api, "A kite over the dunes")
        with demo_worker(keyed.url):
            for tab in open_tab(chromium, keyed.url):
                page = tab.open("/dashboard")
                dialog = page.locator("#key-dialog")
                expect(dialog).to_be_visible()
                tab.shot("api-key")
                page.get_by_label("Key", exact=True).fill("sk-wrong")
                page.get_by_role("button", name="Use key").click()
                expect(page.locator("#key-reason")).to_contain_text("refused: Invalid API key")
                page.get_by_label("Key", exact=True).fill("sk-dashboard")
                page.get_by_role("button", name="Use key").click()
                expect(dialog).to_be_hidden()
                expect(page.locator(f'tr[data-job="{job["id"]}"] .badge')).to_have_text("completed")

                page.reload()
                expect(page.locator(f'tr[data-job="{job["id"]}"]')).to_be_visible()
                expect(dialog).to_be_hidden()
                page.get_by_role("link", name="A kite over the dunes").click()
                play(page)  # through the signed video URL: a <video> cannot send the key

                page.get_by_role("button", name="API key").click()
                page.get_by_role("button", name="Forget saved key").click()
                assert page.evaluate("() => localStorage.length") == 0


def test_the_job_page_says_when_a_refresh_fails_and_recovers(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A kettle coming to the boil")
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    badge = page.locator(".status-line .badge")
    expect(badge).to_have_text("pending")
    refused: list[str] = []

    def once(route: Route) -> None:
        if refused:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.fulfill(status=502, json={"error": {"message": "Bad gateway", "type": "server_error"}})

    page.route(f"**/jobs/{job['id']}", once)
    api.get("/extension/poll", params={"client_id": "by-hand"})  # the job changes: the page reloads it
    expect(page.locator(".error")).to_contain_text("Could not refresh this job: Bad gateway")
    expect(badge).to_have_text("processing")  # the next tick tries again, and the notice goes
    expect(page.locator(".error")).to_have_count(0)
    assert len(refused) == 1


def test_a_slow_answer_never_overwrites_a_newer_search(tab: Tab, api: httpx.Client) -> None:
    create_job(api, "a cat on a windowsill")
    create_job(api, "a dog in the snow")
    page = tab.open("/dashboard")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(2)
    held: list[Route] = []

    def hold_cat(route: Route) -> None:
        if "q=cat" in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/jobs?*", hold_cat)
    page.get_by_label("Search").fill("cat")
    wait(page, lambda: held)
    page.get_by_label("Search").fill("dog")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("a dog in the snow")
    with page.expect_response(lambda reply: "q=cat" in reply.url):
        held[0].continue_()
    page.evaluate("() => new Promise((done) => setTimeout(done, 0))")  # let the late answer's handler run
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("a dog in the snow")


def test_a_double_click_on_run_again_makes_one_job(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A single sparrow")
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.locator(".status-line .badge")).to_have_text("pending")
    page.get_by_role("button", name="Run again").dblclick()
    job_id_of(page, leaving=job["id"])
    assert len(api.get("/jobs").json()["data"]) == 2


def test_a_job_address_that_is_not_one_says_so(tab: Tab) -> None:
    for bad in ("job_nothing_here", "%E0%A4%A"):  # the second is not even a valid %-escape
        page = tab.open(f"/dashboard/jobs/{bad}")
        expect(page.locator(".error")).to_contain_text("No job with id")
        expect(page.get_by_role("link", name="← All jobs")).to_be_visible()


def test_the_job_page_shows_what_was_asked_and_what_will_be_made(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_label("Prompt").fill("An eight second lighthouse")
    page.get_by_label("Aspect ratio").select_option("4:3")
    page.get_by_label("Duration").select_option("8")
    page.get_by_role("button", name="Create video").click()
    job_id = job_id_of(page)
    job = api.get(f"/jobs/{job_id}").json()
    assert {a["param"]: (a["requested"], a["made"]) for a in job["adjustments"]} == {
        "aspect_ratio": ("4:3", "3:2"),
        "duration": (8, 10),
    }

    table = page.locator("table.asked-made")
    duration = table.locator('tr[data-param="duration"]')
    expect(duration.locator("td")).to_have_text(["8", "10"])
    expect(duration).to_have_class("adjusted")
    expect(table.locator('tr[data-param="aspect_ratio"] td')).to_have_text(["4:3", "3:2"])
    expect(table.locator('tr[data-param="resolution"] td')).to_have_text(["720p", "720p"])
    expect(table.locator('tr[data-param="resolution"]')).not_to_have_class("adjusted")
    expect(page.locator(".adjustments li")).to_have_text([a["message"] for a in job["adjustments"]])
    tab.shot("job-asked-made")


def extend_job(api: httpx.Client, prompt: str) -> dict[str, Any]:
    files = {"video": ("source.mp4", DEMO_MP4, "video/mp4")}
    reply = api.post("/v1/videos/extensions", data={"prompt": prompt}, files=files)
    assert reply.is_success, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_a_job_no_connected_worker_can_make_says_why_it_waits(tab: Tab, api: httpx.Client) -> None:
    # A worker of the founding document's protocol: it never declares abilities, so it makes plain generations.
    assert api.get("/extension/poll", params={"client_id": "old"}).status_code == 204  # nothing to claim
    job = extend_job(api, "The same wave, longer")
    reason = api.get(f"/jobs/{job['id']}").json()["waiting_reason"]
    assert reason.startswith("waiting for a worker that can extend videos"), reason

    page = tab.open("/dashboard")
    waiting = page.locator(f'tr[data-job="{job["id"]}"] .waiting')
    expect(waiting).to_contain_text(reason)
    expect(waiting).to_have_attribute("title", reason)

    page.get_by_role("link", name="The same wave, longer").click()
    expect(page.locator(".status-line .badge")).to_have_text("pending")
    expect(page.locator(".waiting-reason")).to_have_text(f"Not started: {reason}")
    tab.shot("job-waiting")


def test_the_job_page_warns_of_a_video_that_is_not_what_was_promised(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, "A ten second harbour", duration=10, aspect_ratio="16:9")
    lease = api.get("/extension/poll", params={"client_id": "by-hand"}).json()
    assert lease["job_id"] == job["id"]
    done = upload(api, job["id"], DEMO_MP4, lease["claim_token"], grok_post_id="post-5678")  # a 6 s clip
    assert done.status_code == 200, done.text
    mismatch = api.get(f"/jobs/{job['id']}").json()["output_mismatch"]
    assert mismatch

    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.locator(".status-line .badge")).to_have_text("completed")
    expect(page.locator(".output-mismatch li")).to_have_text([m["message"] for m in mismatch])
    expect(page.locator(".facts .grok-post")).to_have_text("post-5678")
    expect(page.locator(".waiting-reason")).to_have_count(0)


def test_the_workers_page_shows_what_each_worker_can_make(tab: Tab, api: httpx.Client) -> None:
    assert api.get("/extension/poll", params={"client_id": "old"}).status_code == 204  # nothing to claim
    declared = {
        "client_id": "able",
        "kinds": "text_to_video,extend",
        "sources": "upload",
        "durations": "6,10",
        "aspect_ratios": "16:9,9:16",
        "resolutions": "720p",
        "presets": "normal,fun",
    }
    assert api.get("/extension/poll", params=declared).status_code == 204

    page = tab.open("/dashboard/workers")
    expect(page.locator('[data-worker="old"] .abilities')).to_have_text("not declared (plain generation only)")
    able = page.locator('[data-worker="able"] .abilities')
    expect(able.locator("dd")).to_have_text(
        ["text_to_video, extend", "upload", "6 s, 10 s", "16:9, 9:16", "720p", "normal, fun", "none"]
    )
    expect(able.locator("dt")).to_have_text(
        ["Kinds", "Sources", "Durations", "Aspect ratios", "Resolutions", "Presets", "Features"]
    )
    tab.shot("workers-abilities")


def test_the_form_offers_every_accepted_length_and_ratio(tab: Tab) -> None:
    page = tab.open("/dashboard/new")
    durations = page.get_by_label("Duration").locator("option")
    expect(durations).to_have_count(20)
    lengths = [*range(1, 16), 20, 30, 40, 50, 60]  # past 10 s: a long video (docs/long-videos.md)
    assert durations.evaluate_all("options => options.map((o) => o.value)") == [str(n) for n in lengths]
    ratios = page.get_by_label("Aspect ratio").locator("option")
    assert sorted(ratios.evaluate_all("options => options.map((o) => o.value)")) == sorted(
        ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"]
    )


def test_a_killed_worker_goes_offline_and_the_overview_says_so(chromium: Browser, tmp_path: Path) -> None:
    # Long polls of at most 1 s: a worker is online within 1 s + 10 s of its last contact when not in a poll.
    with process_server(tmp_path, env={"MAX_POLL_WAIT_SECONDS": "1"}) as srv:
        for tab in open_tab(chromium, srv.url):
            with demo_worker(srv.url):
                page = tab.open("/dashboard")
                workers = page.locator('[data-card="workers"]')
                expect(workers.locator(".value")).to_have_text("1")
                expect(workers.locator(".label")).to_have_text("worker online")
            expect(workers.locator(".value")).to_have_text("0", timeout=30_000)
            expect(workers.locator(".label")).to_have_text("workers online")
            expect(workers.locator(".detail")).to_have_text("0 busy · 0 waiting · 1 offline")

            page.get_by_role("link", name="Workers").click()
            demo = page.locator('[data-worker="demo-worker"]')
            expect(demo.locator(".badge")).to_have_text("offline")
            expect(demo.locator(".current")).to_contain_text("Offline: last contact")
            expect(page.locator("main > p.muted")).to_contain_text("in contact within the last 11 s (300 s while")
            tab.shot("workers-offline")


def test_completed_jobs_show_done_and_cancelled_jobs_are_a_state_of_their_own(tab: Tab, api: httpx.Client) -> None:
    done = create_job(api, "finished")
    lease = api.get("/extension/poll", params={"client_id": "by-hand"}).json()
    assert upload(api, done["id"], DEMO_MP4, lease["claim_token"]).status_code == 200
    failed = create_job(api, "moderated")
    lease = api.get("/extension/poll", params={"client_id": "by-hand"}).json()
    api.post("/extension/error", json={"job_id": failed["id"], "claim_token": lease["claim_token"], "error": "No"})
    cancelled = create_job(api, "changed my mind")
    assert api.post(f"/jobs/{cancelled['id']}/cancel").status_code == 200
    create_job(api, "still queued")

    page = tab.open("/dashboard")
    finished = page.locator(f'tr[data-job="{done["id"]}"] td').nth(2)
    expect(finished.locator(".progress")).to_have_text("done")  # not the video's length, "6.0 s"
    expect(finished.locator(".progress")).to_have_attribute("aria-valuenow", "100")
    for state, count in (("all", "4"), ("pending", "1"), ("completed", "1"), ("failed", "1"), ("cancelled", "1")):
        expect(page.locator(f'[data-count="{state}"]')).to_have_text(count)
    expect(page.locator('[data-card="cancelled"] .value')).to_have_text("1")
    expect(page.locator('[data-card="failed"] .value')).to_have_text("1")
    hour = page.locator('[data-card="hour"]')
    expect(hour.locator(".label")).to_have_text(re.compile(r"^completed since \d{1,2}:00$"))
    expect(hour.locator(".detail")).to_have_text(
        re.compile(r"^\d+ created · \d+ failed or cancelled since \d{1,2}:00$")
    )
    tab.shot("jobs-states")

    rows = page.locator("table.jobs tbody tr")
    page.get_by_role("button", name=re.compile("^cancelled")).click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("cancelled")
    expect(page).to_have_url(re.compile(r"\?status=cancelled$"))
    page.get_by_role("button", name=re.compile("^failed")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-job", failed["id"])


def test_right_to_left_overrides_in_user_text_stay_inside_it(tab: Tab, api: httpx.Client) -> None:
    job = create_job(api, f"{RLO}a prompt written backwards")
    lease = api.get("/extension/poll", params={"client_id": f"{RLO}worker"}).json()
    report = {"job_id": job["id"], "claim_token": lease["claim_token"], "code": "moderated"}
    api.post("/extension/error", json={**report, "error": f"{RLO}bad news"})

    def isolated(locator: Any) -> None:
        expect(locator).to_have_count(1)
        # Retried, not read once: the page re-renders as it refreshes, and a detached element has no style.
        expect(locator).to_have_css("unicode-bidi", "isolate")

    def left_of(first: Any, then: Any) -> None:
        """`then` is laid out after `first`, left to right, as it was written."""
        a, b = first.bounding_box(), then.bounding_box()
        assert a is not None and b is not None
        assert a["x"] + a["width"] <= b["x"] + 1, (a, b)

    page = tab.open("/dashboard")
    row = page.locator(f'tr[data-job="{job["id"]}"]')
    isolated(row.locator("td.prompt bdi"))
    isolated(row.locator("td").nth(5).locator("bdi"))

    page.get_by_role("link", name="a prompt written backwards").click()
    isolated(page.locator("h1 bdi"))
    error = page.locator(".facts dd").filter(has_text="bad news")
    isolated(error.locator("bdi"))

    page.get_by_role("link", name="Workers").click()
    worker = page.locator(".worker")
    isolated(worker.locator("h2 bdi"))
    item = worker.locator(".errors li")
    isolated(item.locator("bdi"))
    # What follows the message (when, and the link to the job) stays after it, in order.
    left_of(item.locator("code"), item.locator("bdi"))
    left_of(item.locator("bdi"), item.get_by_role("link", name="job"))
    tab.shot("bidi")


def test_each_key_sees_its_own_jobs_on_the_workers_page(chromium: Browser, tmp_path: Path) -> None:
    with process_server(tmp_path, env={"API_KEYS": "sk-alice,sk-bob"}) as srv:
        with httpx.Client(base_url=srv.url, headers=bearer("sk-alice"), timeout=30) as alice:
            held = create_job(alice, "Alice's held job")
            lease = alice.get("/extension/poll", params={"client_id": "w-held"}).json()
            report = {"job_id": held["id"], "claim_token": lease["claim_token"], "progress": 30}
            assert alice.post("/extension/progress", json=report).status_code == 200
            failed = create_job(alice, "Alice's failed job")
            lease = alice.get("/extension/poll", params={"client_id": "w-failed"}).json()
            report = {"job_id": failed["id"], "claim_token": lease["claim_token"], "code": "moderated"}
            alice.post("/extension/error", json={**report, "error": "Alice's secret was moderated"})

        def workers_page(key: str) -> Iterator[Page]:
            for tab in open_tab(chromium, srv.url):
                tab.page.add_init_script(f"localStorage.setItem('grok-imagine-api.key', '{key}')")
                yield tab.open("/dashboard/workers")
                tab.shot(f"workers-seen-by-{key}")

        for page in workers_page("sk-bob"):
            busy = page.locator('[data-worker="w-held"]')
            expect(busy.locator(".badge")).to_have_text("busy")
            expect(busy.locator(".current")).to_have_text("Working on another key's job")
            expect(busy.locator(".progress")).to_have_count(0)
            errors = page.locator('[data-worker="w-failed"] .errors li')
            expect(errors).to_have_text(re.compile(r"^moderated on another key's job · "))
            expect(page.locator("main")).not_to_contain_text(held["id"])
            expect(page.locator("main")).not_to_contain_text(failed["id"])
            expect(page.locator("main")).not_to_contain_text("secret")

        for page in workers_page("sk-alice"):
            busy = page.locator('[data-worker="w-held"]')
            expect(busy.locator(".current")).to_contain_text(f"Working on {held['id']}")
            expect(busy.locator(".progress")).to_contain_text("30%")
            errors = page.locator('[data-worker="w-failed"] .errors li')
            expect(errors).to_contain_text("moderated Alice's secret was moderated")
            expect(errors.get_by_role("link", name="job")).to_have_attribute("href", f"/dashboard/jobs/{failed['id']}")
