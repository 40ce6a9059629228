"""A long video on the Imagine fixture (docs/long-videos.md): the extension makes the first segment, then extends
it on Grok's post segment by segment with each segment's prompt, and the server joins one MP4 of the whole
length."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
from imagine import Imagine

from conftest import Browser, wait_for_job
from support import create_job


def extending(worker: Browser, api: httpx.Client, imagine: Imagine) -> None:
    """Videos of their real lengths, and an extension that declares Extend: a first job of its own shows it a post
    page, from then on it declares that it extends from Grok."""
    imagine.real_lengths = True
    warm_up = wait_for_job(worker, api, create_job(api, "A quiet street")["id"])
    assert warm_up["status"] == "completed", (warm_up["error_code"], warm_up["error"])
    worker.wait(
        lambda: any(
            "extend" in ((w.get("abilities") or {}).get("kinds") or []) for w in api.get("/workers").json()["data"]
        ),
        timeout=60,
    )


def seconds_of(data: bytes, path: Path) -> float:
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def test_a_30_second_request_is_made_as_three_extends_joined_into_one_mp4(
    worker: Browser, api: httpx.Client, imagine: Imagine, tmp_path: Path
) -> None:
    extending(worker, api, imagine)
    reply = api.post("/v1/videos", json={"prompt": "A long walk on the beach", "seconds": "30"})
    assert reply.status_code == 200, reply.text
    assert [s["seconds"] for s in reply.json()["segments"]] == [10, 10, 10]
    done = wait_for_job(worker, api, reply.json()["id"], timeout=180)
    assert done["status"] == "completed", (done["error_code"], done["error"])
    made = [s for s in worker.imagine.submissions if s["prompt"] == "A long walk on the beach"]
    assert [(s["kind"], s["duration"] if s["kind"] == "generate" else s["extend_seconds"]) for s in made] == [
        ("generate", "10s"),
        ("extend", "10s"),
        ("extend", "10s"),
    ]
    content = api.get(f"/v1/videos/{done['id']}/content").content
    assert abs(seconds_of(content, tmp_path / "walk.mp4") - 30) < 1


def test_a_30_second_video_is_made_by_extends_with_each_segments_prompt(
    worker: Browser, api: httpx.Client, imagine: Imagine, tmp_path: Path
) -> None:
    extending(worker, api, imagine)
    prompts = ["A fox wakes up", "The fox runs across a field", "The fox jumps into a river"]
    reply = api.post(
        "/v1/videos",
        json={"prompt": "A fox", "segments": [{"prompt": p, "seconds": 10} for p in prompts]},
    )
    assert reply.status_code == 200, reply.text
    video = reply.json()
    assert video["seconds"] == "30"
    done = wait_for_job(worker, api, video["id"], timeout=180)
    assert done["status"] == "completed", (done["error_code"], done["error"])

    made = [s for s in worker.imagine.submissions if s["prompt"] in prompts]
    assert [s["prompt"] for s in made] == prompts  # each segment's prompt reached the page, in order
    assert [s["kind"] for s in made] == ["generate", "extend", "extend"]
    assert [s["extend_seconds"] for s in made[1:]] == ["10s", "10s"]
    assert made[1]["source_post"] == made[0]["post"] and made[2]["source_post"] == made[1]["post"]

    detail = api.get(f"/jobs/{video['id']}").json()
    assert [(s["start"], s["end"]) for s in detail["segments"]] == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    assert [s["joined"] for s in detail["segments"]] == ["first", "cumulative", "cumulative"]
    content = api.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200
    path = tmp_path / "long.mp4"
    path.write_bytes(content.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        assert abs(float(stream.duration * stream.time_base) - 30) < 1


def test_a_browser_that_made_nothing_yet_makes_a_30_second_video(
    worker: Browser, api: httpx.Client, imagine: Imagine, tmp_path: Path
) -> None:
    """No warm-up: the extension has not yet seen a post, so it has not shown it can extend. 30 s is a chain all
    the same; it makes the first segment, learns Extend on that post, and takes the extends."""
    imagine.real_lengths = True
    reply = api.post("/v1/videos", json={"prompt": "A first long walk", "seconds": "30"})
    assert reply.status_code == 200, reply.text
    assert [s["seconds"] for s in reply.json()["segments"]] == [10, 10, 10]
    done = wait_for_job(worker, api, reply.json()["id"], timeout=240)
    assert done["status"] == "completed", (done["error_code"], done["error"])
    made = [s for s in worker.imagine.submissions if s["prompt"] == "A first long walk"]
    assert [s["kind"] for s in made] == ["generate", "extend", "extend"]
    content = api.get(f"/v1/videos/{done['id']}/content").content
    assert abs(seconds_of(content, tmp_path / "first.mp4") - 30) < 1
