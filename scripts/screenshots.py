"""Remake the README's dashboard screenshots (docs/screenshots/*.png) from a real server and the demo worker.

.venv/bin/python scripts/screenshots.py      (needs Debian's chromium, as the tests do)
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "dashboard")]

from dashboard_tab import gradient_png  # noqa: E402

from support import free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PROMPTS = [
    ("A red fox trotting through fresh snow at dawn", {"aspect_ratio": "4:3", "mode": "normal"}),
    ("Neon city street in the rain, slow dolly shot", {"aspect_ratio": "9:16", "mode": "fun"}),
    ("An owl turning its head, golden hour, shallow depth of field", {"aspect_ratio": "1:1"}),
    ("Waves rolling onto a black sand beach, drone view", {"aspect_ratio": "16:9", "duration": 10}),
    ("A paper boat drifting down a gutter after a storm", {"aspect_ratio": "3:2"}),
    ("Hot air balloons rising over a desert canyon", {"aspect_ratio": "16:9", "resolution": "480p"}),
]
# Image jobs, made by the demo worker too (it draws each prompt on its images).
IMAGE_PROMPTS = [
    ("A lighthouse on a cliff at dawn, watercolour", {"n": 4, "aspect_ratio": "1:1"}),
    ("Koi fish in a pond seen from above", {"n": 2, "aspect_ratio": "16:9"}),
]


def wait(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(port),
            "DB_PATH": f"{tmp}/jobs.db",
            "VIDEO_STORAGE_PATH": f"{tmp}/videos",
            "LOG_PATH": f"{tmp}/logs",
            "LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([sys.executable, str(ROOT / "server.py")], env=env)
        worker = None
        try:
            with httpx.Client(base_url=url, timeout=30) as api:
                wait(lambda: _up(api))
                image = "data:image/png;base64," + base64.b64encode(gradient_png(640, 360)).decode()
                for prompt, options in PROMPTS:
                    extra = {"image": image} if "fox" in prompt else {}
                    api.post("/v1/videos/generations", json={"model": "grok", "prompt": prompt, **options, **extra})
                for prompt, options in IMAGE_PROMPTS:
                    # Answered at once (202) instead of when the images are made, as the dashboard asks.
                    body = {"prompt": prompt, "response_format": "url", **options}
                    api.post("/v1/images/generations", json=body, headers={"Prefer": "respond-async"})
                made = len(PROMPTS) + len(IMAGE_PROMPTS)
                demo = ["worker", "--demo", "--server", url, "--max-jobs", str(made)]
                worker = subprocess.Popen(
                    [sys.executable, "-m", "grok_imagine_api.cli", *demo],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                wait(lambda: api.get("/stats").json()["jobs"]["completed"] == made)
                # One moderated job and one in progress, held by a hand-driven "extension".
                for prompt in ("A crowded stadium, fireworks", "A lighthouse in a storm, waves crashing"):
                    api.post("/v1/videos/generations", json={"model": "grok", "prompt": prompt})
                moderated = api.get(
                    "/extension/poll", params={"client_id": "chrome-desktop", "version": "extension/0.1.0"}
                )
                lease = moderated.json()
                api.post(
                    "/extension/error",
                    json={**_report(lease), "code": "moderated", "error": "Content Moderated. Try a different idea."},
                )
                running = api.get(
                    "/extension/poll", params={"client_id": "chrome-laptop", "version": "extension/0.1.0"}
                )
                api.post("/extension/progress", json={**_report(running.json()), "progress": 64})
                api.post(
                    "/v1/videos/generations", json={"model": "grok", "prompt": "A cat playing piano in a jazz club"}
                )
                fox = api.get("/jobs", params={"q": "fox"}).json()["data"][0]["id"]
                lighthouse = api.get("/jobs", params={"q": "lighthouse on a cliff"}).json()["data"][0]["id"]
                shoot(url, fox, lighthouse)
        finally:
            if worker is not None:
                worker.terminate()
            server.terminate()
            server.wait(timeout=30)


def _up(api: httpx.Client) -> bool:
    try:
        return api.get("/health").status_code == 200
    except httpx.HTTPError:
        return False


def _report(lease: dict[str, str]) -> dict[str, str]:
    return {"job_id": lease["job_id"], "claim_token": lease["claim_token"]}


def shoot(url: str, job_id: str, image_job_id: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in (
            ("jobs", "/dashboard"),
            ("job", f"/dashboard/jobs/{job_id}"),
            ("new-video", "/dashboard/new"),
            ("workers", "/dashboard/workers"),
            ("image-job", f"/dashboard/jobs/{image_job_id}"),
            ("image-viewer", f"/dashboard/jobs/{image_job_id}"),
        ):
            page.goto(url + path)
            page.wait_for_selector("#live.on")
            if name == "jobs":
                page.wait_for_function(
                    "() => [...document.querySelectorAll('img.thumb')].filter((i) => i.naturalWidth).length == 2"
                )
            if name == "job":
                page.locator("video").evaluate("v => { v.currentTime = 2.5; }")
                page.wait_for_function("() => document.querySelector('img.input-image')?.naturalWidth > 0")
            if name.startswith("image-"):
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.image-grid img')].filter((i) => i.naturalWidth).length == 4"
                )
            if name == "image-viewer":
                page.get_by_role("button", name="Open image 2 of 4").click()
                page.wait_for_function("() => document.querySelector('dialog.lightbox img')?.naturalWidth > 0")
            if name == "new-video":
                page.get_by_label("Prompt").fill("A red fox trotting through fresh snow at dawn")
            page.wait_for_timeout(600)  # let the progress bars finish their CSS transition
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"wrote {OUT / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
