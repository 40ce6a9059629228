"""Image jobs in the dashboard (docs/images.md): the form, the grid and its viewer, the mark in the job table."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_tab import EVIL, RLO, Tab, drop_file, gradient_png, job_id_of, open_tab
from PIL import Image
from playwright.sync_api import Browser, Locator, expect

from support import ProcessServer, bearer, create_job, process_server

PNG = gradient_png(320, 180)


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=85)
    return out.getvalue()


JPEG = jpeg(180, 240, (200, 90, 40))


def create_images(api: httpx.Client, prompt: str, **fields: Any) -> dict[str, Any]:
    """An image job, answered at once as the dashboard asks for it (the Images API would wait for the worker)."""
    body = {"prompt": prompt, "response_format": "url", **fields}
    reply = api.post("/v1/images/generations", json=body, headers={"Prefer": "respond-async"})
    assert reply.status_code == 202, reply.text
    job: dict[str, Any] = reply.json()
    return job


def make_images(api: httpx.Client, job_id: str, *images: bytes) -> dict[str, Any]:
    """Do as a worker in Grok's image mode does: claim the job, then upload one `image` part per image."""
    claim = {"client_id": "image-hand", "mode": "image", "abilities": {"kinds": ["text_to_image", "image_to_image"]}}
    reply = api.post("/extension/poll", json=claim)
    assert reply.status_code == 200, reply.text
    lease = reply.json()
    assert (lease["job_id"], lease["media"]) == (job_id, "image")
    files = [("image", (f"{i}.img", data, "application/octet-stream")) for i, data in enumerate(images)]
    done = api.post("/extension/complete", data={"job_id": job_id, "claim_token": lease["claim_token"]}, files=files)
    assert done.status_code == 200, done.text
    answer: dict[str, Any] = done.json()
    return answer


# What has focus: a control of the viewer by its name, or else the tag of whatever has it.
FOCUSED = """() => {
    const e = document.activeElement;
    return e.closest("dialog.lightbox") ? e.getAttribute("aria-label") || e.textContent : e.tagName;
}"""


def natural_width(image: Locator) -> int:
    """The width of the image as decoded, once it has loaded (0 while it has not, or if it cannot be)."""
    expect(image).to_have_js_property("complete", True)
    width: int = image.evaluate("img => img.naturalWidth")
    return width


def test_images_made_through_the_form_show_in_a_grid_with_a_viewer(
    tab: Tab, server: ProcessServer, api: httpx.Client
) -> None:
    page = tab.open("/dashboard/new")
    page.get_by_role("radio", name="Image").check()
    expect(page).to_have_url(re.compile(r"/dashboard/new\?media=image$"))
    expect(page.locator("h1")).to_have_text("New images")
    expect(page.get_by_label("Duration")).to_have_count(0)
    page.get_by_label("Prompt").fill("A lighthouse at dawn, four ways")
    page.get_by_label("Count").select_option("4")
    page.get_by_label("Aspect ratio").select_option("16:9")
    tab.shot("new-images")
    with page.expect_response("**/v1/images/generations") as created:
        page.get_by_role("button", name="Create images").click()
    reply = created.value
    assert reply.status == 202  # the form does not wait for the images
    assert reply.request.headers["prefer"] == "respond-async"
    assert reply.request.post_data_json == {
        "prompt": "A lighthouse at dawn, four ways",
        "n": 4,
        "aspect_ratio": "16:9",
        "response_format": "url",
    }
    job_id = job_id_of(page)
    expect(page.locator(".status-line .badge")).to_have_text("pending")
    job = api.get(f"/jobs/{job_id}").json()
    assert (job["media"], job["n"], job["images"], job["options"]["aspect_ratio"]) == ("image", 4, [], "16:9")

    made = make_images(api, job_id, PNG, JPEG)  # two of the four asked for
    assert [image["content_type"] for image in made["images"]] == ["image/png", "image/jpeg"]

    expect(page.locator(".status-line .badge")).to_have_text("completed")
    grid = page.locator(".image-grid li")
    expect(grid).to_have_count(2)
    expect(page.locator(".images h2")).to_have_text("2 imagesmade 2 of 4")
    expect(page.locator(".images .made")).to_have_text("made 2 of 4")
    thumbnails = page.locator(".image-grid img")
    assert [natural_width(thumbnails.nth(i)) for i in range(2)] == [320, 180]
    expect(grid.nth(0).locator("figcaption")).to_contain_text("320\N{MULTIPLICATION SIGN}180")
    expect(page.locator("video")).to_have_count(0)
    n = page.locator('table.asked-made tr[data-param="n"]')
    expect(n.locator("td")).to_have_text(["4", "2"])
    expect(n).to_have_class("adjusted")
    expect(page.locator(".adjustments li")).to_have_text(["The worker made 2 of the 4 images asked"])
    expect(page.get_by_role("link", name="Download", exact=True)).to_have_count(0)  # a video's download
    tab.shot("image-job")

    # Each image has its download link, which saves the very bytes the worker uploaded.
    for i, sent in enumerate((PNG, JPEG)):
        with page.expect_download() as download:
            page.get_by_role("link", name=f"Download image {i + 1}").click()
        assert download.value.suggested_filename == f"{job_id}-{i}.{('png', 'jpg')[i]}"
        saved = download.value.path()
        assert saved is not None and Path(saved).read_bytes() == sent

    # The viewer: opened by a thumbnail, focus inside it, arrows move, Escape closes, focus comes back.
    viewer = page.get_by_role("dialog", name="Image viewer")
    expect(viewer).to_be_hidden()
    page.get_by_role("button", name="Open image 1 of 2").click()
    expect(viewer).to_be_visible()
    expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    large = viewer.locator("figure img")
    counter = viewer.locator(".counter")
    expect(counter).to_have_text("1 of 2")
    expect(large).to_have_attribute("alt", "Image 1 of 2")
    assert natural_width(large) == 320
    tab.shot("image-viewer")
    # The page behind is inert: Tab goes round the viewer's own controls (and the browser's), never behind it.
    reached = set()
    for _ in range(6):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(FOCUSED))
    assert reached == {"Previous image", "Next image", "Download", "Close", "BODY"}, reached
    viewer.get_by_role("button", name="Close").focus()
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text("2 of 2")
    expect(large).to_have_attribute("src", made["images"][1]["url"])
    assert natural_width(large) == 180
    expect(viewer.get_by_role("link", name="Download")).to_have_attribute("download", f"{job_id}-1.jpg")
    page.keyboard.press("ArrowRight")  # past the last: back to the first
    expect(counter).to_have_text("1 of 2")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text("2 of 2")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # Focus returns to the thumbnail of the image last shown.
    expect(page.get_by_role("button", name="Open image 2 of 2")).to_be_focused()

    page.keyboard.press("Enter")  # the focused thumbnail opens it again
    expect(viewer).to_be_visible()
    expect(counter).to_have_text("2 of 2")
    viewer.get_by_role("button", name="Previous image").click()
    expect(counter).to_have_text("1 of 2")
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()
    expect(page.get_by_role("button", name="Open image 1 of 2")).to_be_focused()
    page.get_by_role("button", name="Open image 1 of 2").click()
    expect(viewer).to_be_visible()
    large.click()  # the image itself keeps it open
    expect(viewer).to_be_visible()
    viewer.locator(".stage").click(position={"x": 3, "y": 3})  # beside it closes it
    expect(viewer).to_be_hidden()

    # The job table marks it as an image job, with its first image as a thumbnail.
    video = create_job(api, "A video among the images")
    page.get_by_role("link", name="← All jobs").click()
    row = page.locator(f'tr[data-job="{job_id}"]')
    expect(row).to_have_attribute("data-media", "image")
    expect(row.locator(".media-tag")).to_have_text("4 images")
    expect(row.locator(".progress")).to_have_text("made 2 of 4")
    thumb = row.locator("img.thumb")
    expect(thumb).to_have_attribute("src", made["images"][0]["url"])
    assert natural_width(thumb) == 320
    expect(row.get_by_role("link")).to_have_accessible_name("A lighthouse at dawn, four ways")
    other = page.locator(f'tr[data-job="{video["id"]}"]')
    expect(other).to_have_attribute("data-media", "video")
    expect(other.locator(".media-tag, img")).to_have_count(0)
    tab.shot("jobs-with-images")


def test_an_image_job_is_pending_without_a_grid_until_its_images_come(tab: Tab, api: httpx.Client) -> None:
    job = create_images(api, "Three paper cranes", n=3, aspect_ratio="1:1")
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.locator(".status-line .badge")).to_have_text("pending")
    expect(page.locator(".image-grid")).to_have_count(0)
    expect(page.locator(".facts")).to_contain_text("image · 3 asked")
    page.get_by_role("link", name="← All jobs").click()
    row = page.locator(f'tr[data-job="{job["id"]}"]')
    expect(row.locator(".media-tag")).to_have_text("3 images")
    expect(row.locator("img.thumb")).to_have_count(0)

    make_images(api, job["id"], PNG, PNG, JPEG)
    expect(row.locator(".progress")).to_have_text("done")  # all three made
    assert natural_width(row.locator("img.thumb")) == 320
    row.get_by_role("link").click()
    expect(page.locator(".image-grid li")).to_have_count(3)
    expect(page.locator(".images h2")).to_have_text("3 images")
    expect(page.locator(".images .made")).to_have_count(0)


def test_an_image_job_runs_again_and_is_deleted_from_its_page(tab: Tab, api: httpx.Client) -> None:
    job = create_images(api, "Two moons over a quiet sea", n=2, aspect_ratio="9:16")
    made = make_images(api, job["id"], PNG, JPEG)
    page = tab.open(f"/dashboard/jobs/{job['id']}")
    expect(page.locator(".image-grid li")).to_have_count(2)
    page.get_by_role("button", name="Run again").click()
    again = job_id_of(page, leaving=job["id"])
    expect(page.locator("h1")).to_have_text("Two moons over a quiet sea")
    rerun = api.get(f"/jobs/{again}").json()
    assert (rerun["media"], rerun["n"], rerun["options"]["aspect_ratio"]) == ("image", 2, "9:16")

    page.goto(f"{tab.base}/dashboard/jobs/{job['id']}")
    expect(page.locator(".image-grid li")).to_have_count(2)
    tab.accept_dialogs = True
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/dashboard$"), wait_until="commit")
    assert any(f"Delete job {job['id']} and its images?" in d for d in tab.dialogs)
    assert api.get(f"/jobs/{job['id']}").status_code == 404
    assert api.get(made["images"][0]["url"]).status_code in (404, 410)
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)


def test_an_image_chosen_in_the_form_makes_an_edit(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new?media=image")
    expect(page.get_by_role("radio", name="Image")).to_be_checked()
    page.get_by_label("Prompt").fill("The same fox, in watercolour")
    page.get_by_label("Count").select_option("2")
    drop_file(page, ".drop", PNG, "fox.png", "image/png")
    expect(page.locator(".preview")).to_contain_text("fox.png")
    with page.expect_response("**/v1/images/edits") as created:
        page.get_by_role("button", name="Create images").click()
    assert created.value.status == 202
    assert created.value.request.headers["prefer"] == "respond-async"
    job_id = job_id_of(page)
    job = api.get(f"/jobs/{job_id}").json()
    assert (job["media"], job["kind"], job["n"], job["has_image"]) == ("image", "edit", 2, True)
    assert api.get(f"/jobs/{job_id}/image").content == PNG

    make_images(api, job_id, JPEG)
    expect(page.locator(".image-grid li")).to_have_count(1)
    expect(page.locator(".images .made")).to_have_text("made 1 of 2")
    expect(page.locator("img.input-image")).to_be_visible()
    expect(page.locator(".media figcaption").first).to_have_text("Source image")


def test_the_form_offers_images_and_videos_with_their_own_options(tab: Tab) -> None:
    page = tab.open("/dashboard/new")
    expect(page.get_by_role("radio", name="Video")).to_be_checked()
    expect(page.get_by_role("button", name="Create video")).to_be_visible()
    page.get_by_role("radio", name="Image").check()
    counts = page.get_by_label("Count").locator("option")
    assert counts.evaluate_all("options => options.map((o) => o.value)") == [str(n) for n in range(1, 11)]
    ratios = page.get_by_label("Aspect ratio").locator("option")
    assert ratios.evaluate_all("options => options.map((o) => o.value)") == ["1:1", "16:9", "9:16", "3:2", "2:3"]
    expect(page.get_by_label("Resolution")).to_have_count(0)
    page.get_by_role("radio", name="Video").check()
    expect(page).to_have_url(re.compile(r"/dashboard/new$"))
    expect(page.get_by_label("Count")).to_have_count(0)
    expect(page.get_by_label("Duration")).to_be_visible()
    expect(page.get_by_role("button", name="Create video")).to_be_visible()


def test_an_empty_image_prompt_is_explained(tab: Tab, api: httpx.Client) -> None:
    page = tab.open("/dashboard/new?media=image")
    page.get_by_label("Prompt").fill("   ")
    page.get_by_role("button", name="Create images").click()
    expect(page.locator(".error")).to_contain_text("must not be empty")
    expect(page.get_by_role("button", name="Create images")).to_be_enabled()
    assert api.get("/jobs").json()["data"] == []


def test_an_image_jobs_text_is_shown_as_text_and_isolated(tab: Tab, api: httpx.Client) -> None:
    job = create_images(api, f"{RLO}{EVIL}", n=2)
    make_images(api, job["id"], PNG, JPEG)
    page = tab.open("/dashboard")
    prompt = page.locator(f'tr[data-job="{job["id"]}"] td.prompt')
    expect(prompt).to_have_text(f"{RLO}{EVIL}")
    expect(prompt.locator("bdi")).to_have_css("unicode-bidi", "isolate")
    expect(page.locator("main img")).to_have_count(1)  # the thumbnail, and nothing the prompt smuggled in

    page.goto(f"{tab.base}/dashboard/jobs/{job['id']}")
    expect(page.locator("h1")).to_have_text(f"{RLO}{EVIL}")
    expect(page.locator("h1 bdi")).to_have_css("unicode-bidi", "isolate")
    expect(page.locator(".image-grid li")).to_have_count(2)
    expect(page.locator("main img")).to_have_count(2)
    assert page.locator("main script, main b").count() == 0
    assert tab.dialogs == []


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[ProcessServer]:
    with process_server(tmp_path, env={"API_KEYS": "sk-images"}) as srv:
        yield srv


def test_with_api_keys_the_images_show_through_their_signed_links(chromium: Browser, keyed: ProcessServer) -> None:
    with httpx.Client(base_url=keyed.url, headers=bearer("sk-images"), timeout=30) as api:
        for tab in open_tab(chromium, keyed.url):
            tab.page.add_init_script("localStorage.setItem('grok-imagine-api.key', 'sk-images')")
            page = tab.open("/dashboard/new?media=image")
            page.get_by_label("Prompt").fill("A kite over the dunes")
            page.get_by_label("Count").select_option("1")
            page.get_by_role("button", name="Create images").click()
            job_id = job_id_of(page)
            made = make_images(api, job_id, JPEG)
            assert "signature=" in made["images"][0]["url"]
            image = page.locator(".image-grid img")
            assert natural_width(image) == 180  # an <img> sends no key: the link is signed
            page.get_by_role("link", name="← All jobs").click()
            assert natural_width(page.locator(f'tr[data-job="{job_id}"] img.thumb')) == 180


def test_images_show_when_their_links_name_the_public_base_url(chromium: Browser, tmp_path: Path) -> None:
    server = ProcessServer(tmp_path)
    # The same server under another name: the page is at 127.0.0.1, the links it is given at localhost.
    server.env["PUBLIC_BASE_URL"] = f"http://localhost:{server.port}"
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            job = create_images(api, "A harbour seen from its public name")
            made = make_images(api, job["id"], PNG)
            assert made["images"][0]["url"].startswith(f"http://localhost:{server.port}/images/")
            for tab in open_tab(chromium, server.url):
                page = tab.open(f"/dashboard/jobs/{job['id']}")
                assert natural_width(page.locator(".image-grid img")) == 320
    finally:
        server.stop()
