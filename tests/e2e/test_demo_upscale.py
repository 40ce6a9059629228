"""The demo worker and HD (docs/hd.md): by default it declares `upscale` and uploads its clip again as the HD
file (a demo: no real upscale); `--features none` takes no HD job."""

from __future__ import annotations

from pathlib import Path

import httpx

from support import demo_worker, process_server, wait_until


def test_the_demo_worker_makes_hd_jobs_unless_told_not_to(tmp_path: Path) -> None:
    with process_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        job_id = api.post("/v1/video/generations", json={"prompt": "a cat", "upscale": True}).json()["id"]
        with demo_worker(server.url, None, "--client-id", "plain", "--features", "none"):
            wait_until(lambda: api.get("/workers").json()["data"], timeout=20)
            plain = api.post("/v1/video/generations", json={"prompt": "a plain cat"}).json()["id"]
            wait_until(lambda: api.get(f"/jobs/{plain}").json()["status"] == "completed", timeout=20)
            assert api.get(f"/jobs/{job_id}").json()["status"] == "pending"
        with demo_worker(server.url):
            done = wait_until(lambda: (job := api.get(f"/jobs/{job_id}").json())["status"] == "completed" and job)
        hd = api.get(f"/v1/videos/{job_id}/content", params={"variant": "hd"})
        assert hd.status_code == 200 and hd.content == api.get(f"/videos/{job_id}.mp4").content
        assert done["hd"]["size"] == len(hd.content)
