"""The abilities protocol end to end: a real server process and real demo worker processes, narrowed by flags."""

from __future__ import annotations

from pathlib import Path

import httpx

from support import DEMO_MP4, demo_worker, process_server, wait_until


def extension(api: httpx.Client) -> str:
    reply = api.post(
        "/v1/videos/extensions",
        data={"prompt": "and then it rains", "seconds": "6"},
        files={"video": ("in.mp4", DEMO_MP4, "video/mp4")},
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def test_a_narrowed_worker_leaves_what_it_cannot_make_until_it_fails(tmp_path: Path) -> None:
    env = {"NO_CAPABLE_WORKER_SECONDS": "1", "CLEANUP_INTERVAL_SECONDS": "0.2"}
    with (
        process_server(tmp_path, env=env) as server,
        demo_worker(server.url, None, "--client-id", "plain", "--kinds", "text_to_video,image_to_video"),
        httpx.Client(base_url=server.url, timeout=30) as api,
    ):
        wait_until(lambda: any(w["client_id"] == "plain" for w in api.get("/workers").json()["data"]), timeout=20)
        plain = api.get("/workers").json()["data"][0]
        assert plain["abilities"]["kinds"] == ["text_to_video", "image_to_video"]
        job_id = extension(api)
        made = api.post("/v1/video/generations", json={"prompt": "a cat", "aspect_ratio": "9:16"}).json()
        assert api.get(f"/jobs/{job_id}").json()["waiting_reason"] == "waiting for a worker that can extend videos"
        failed = wait_until(lambda: (job := api.get(f"/jobs/{job_id}").json())["status"] == "failed" and job)
        assert failed["error_code"] == "no_capable_worker" and failed["attempts"] == 0
        done = wait_until(lambda: (job := api.get(f"/jobs/{made['id']}").json())["status"] == "completed" and job)
        assert (done["produced"]["width"], done["produced"]["height"]) == (480, 854)
        assert done["output_mismatch"] is None


def test_an_able_worker_joining_later_makes_the_waiting_job(tmp_path: Path) -> None:
    with process_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        job_id = extension(api)
        assert api.get(f"/jobs/{job_id}").json()["waiting_reason"]
        with demo_worker(server.url):  # no flags: everything it can fake
            done = wait_until(lambda: (job := api.get(f"/jobs/{job_id}").json())["status"] == "completed" and job)
        assert done["kind"] == "extend" and done["output_mismatch"] is None
        assert done["produced"]["seconds"] == 12.0  # the 6 s source and 6 s more
        assert api.get(f"/videos/{job_id}.mp4").content != DEMO_MP4
