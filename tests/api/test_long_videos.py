"""Long videos (docs/long-videos.md) against a real server: a create longer than one generation is made as a
chain of a generation and extends, each step a child job a scripted worker makes through the worker protocol,
and joined into the parent's one MP4."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from grok_imagine_api.chains import Chains
from grok_imagine_api.demo_clips import make_clip
from support import (
    EVERYTHING,
    ThreadServer,
    assert_error,
    demo_worker,
    process_server,
    settings_for,
    upload,
    wait_until,
)

WORKER = {"client_id": "chainer", **EVERYTHING, "durations": "6,10"}
CLIPS: dict[tuple[float, str], bytes] = {}


def clip(seconds: float, seed: str = "x") -> bytes:
    """A real 16:9 H.264 MP4 of `seconds` (a few frames a second)."""
    if (seconds, seed) not in CLIPS:
        CLIPS[(seconds, seed)] = make_clip(64, 36, seconds, seed)
    return CLIPS[(seconds, seed)]


def post_link() -> str:
    return f"https://grok.com/imagine/post/{uuid.uuid4()}"


def connect(client: httpx.Client) -> None:
    """The worker says what it can make before the create: a chain needs a connected worker that extends."""
    assert client.get("/extension/poll", params={**WORKER, "wait": 0}).status_code == 204


def next_step(client: httpx.Client) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        reply = client.get("/extension/poll", params={**WORKER, "wait": 1})
        return reply.json() if reply.status_code == 200 else None

    work: dict[str, Any] = wait_until(poll, timeout=20)
    return work


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    reply = client.get(f"/jobs/{job_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    return wait_until(lambda: (body := job(client, job_id))["status"] in ("completed", "failed") and body, timeout=20)


def seconds_of(data: bytes, tmp: Path) -> float:
    path = tmp / f"{uuid.uuid4().hex}.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        frames = sum(1 for _ in container.decode(stream))
        assert frames > 0
        return float(stream.duration * stream.time_base)


def make(client: httpx.Client, work: dict[str, Any], seconds: float, seed: str) -> None:
    reply = upload(client, work["job_id"], clip(seconds, seed), token=work["claim_token"], grok_post_id=post_link())
    assert reply.status_code == 200, reply.text


@pytest.fixture
def server(tmp_path: Path) -> Any:
    with ThreadServer(settings_for(tmp_path)) as srv:
        yield srv


@pytest.mark.parametrize("cumulative", [False, True], ids=["separate", "cumulative"])
def test_a_30_second_video_is_a_chain_of_three_joined_into_one(
    client: httpx.Client, tmp_path: Path, cumulative: bool
) -> None:
    connect(client)
    created = client.post("/v1/videos/generations", json={"prompt": "A fox runs", "duration": 30})
    assert created.status_code == 200, created.text
    parent = created.json()
    assert parent["status"] == "processing"  # never queued: the steps are
    assert parent["options"]["duration"] == 30
    assert [(s["index"], s["prompt"], s["seconds"]) for s in parent["segments"]] == [
        (0, "A fox runs", 10),
        (1, "A fox runs", 10),
        (2, "A fox runs", 10),
    ]
    [note] = [a for a in parent["adjustments"] if a["param"] == "duration"]
    assert note["made"] == 30 and "chain of 3 segments" in note["message"]

    kinds, sources, made = [], [], 0.0
    for index in range(3):
        work = next_step(client)
        kinds.append(work["kind"])
        sources.append(work["source_job_id"])
        assert work["options"]["duration"] == 10
        assert work["prompt"] == "A fox runs"
        if index == 1:
            assert client.post(
                "/extension/progress",
                json={"job_id": work["job_id"], "claim_token": work["claim_token"], "progress": 50},
            ).is_success
            assert job(client, parent["id"])["progress"] == 50  # 10 s done and 5 of the next 10, of 30
        made = made + 10 if cumulative else 10
        make(client, work, made, f"seg{index}")
        step = job(client, work["job_id"])
        assert step["parent_id"] == parent["id"]
    assert kinds == ["generate", "extend", "extend"]
    assert sources[0] is None and all(sources[1:])

    done = finished(client, parent["id"])
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    segments = done["segments"]
    assert [(s["start"], s["end"]) for s in segments] == [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    assert [s["joined"] for s in segments] == (
        ["first", "cumulative", "cumulative"] if cumulative else ["first", "appended", "appended"]
    )
    assert all(s["status"] == "completed" and s["video_url"] for s in segments)
    video = client.get(f"/videos/{parent['id']}.mp4")
    assert video.status_code == 200
    assert abs(seconds_of(video.content, tmp_path) - 30) < 0.6
    assert abs(done["produced"]["seconds"] - 30) < 0.6
    assert done["output_mismatch"] is None
    assert done["attempts"] == 0 and done["attempt_history"] == []  # no worker ever held the long video itself
    # One job for the client: the steps are on it, not in the lists.
    listed = [item["id"] for item in client.get("/jobs").json()["data"]]
    assert listed == [parent["id"]]
    with_steps = client.get("/jobs", params={"steps": "true"}).json()["data"]
    assert [item["id"] for item in with_steps] == [s["job_id"] for s in reversed(segments)] + [parent["id"]]
    assert [v["id"] for v in client.get("/v1/videos").json()["data"]] == [parent["id"]]
    openai = client.get(f"/v1/videos/{parent['id']}", headers={"X-Stainless-Lang": "python"}).json()
    assert openai["seconds"] == "30" and len(openai["segments"]) == 3


def test_explicit_segments_go_in_order_with_their_prompts_and_seconds(client: httpx.Client, tmp_path: Path) -> None:
    connect(client)
    segments = [{"prompt": "A door opens", "seconds": 6}, {"prompt": "A cat walks in", "seconds": 7}]
    created = client.post("/v1/videos", data={"prompt": "A room", "segments": json.dumps(segments)})
    assert created.status_code == 200, created.text
    video = created.json()
    assert video["seconds"] == "12"
    assert [(s["prompt"], s["seconds"]) for s in video["segments"]] == [("A door opens", 6), ("A cat walks in", 6)]
    assert any(a["param"] == "segments[1].seconds" and a["made"] == 6 for a in video["adjustments"])
    prompts = []
    for index in range(2):
        work = next_step(client)
        prompts.append(work["prompt"])
        make(client, work, 6, f"e{index}")
    assert prompts == ["A door opens", "A cat walks in"]
    done = finished(client, video["id"])
    assert done["status"] == "completed"
    assert abs(seconds_of(client.get(f"/v1/videos/{video['id']}/content").content, tmp_path) - 12) < 0.6


def test_json_segments_on_the_xai_path_and_a_first_image(client: httpx.Client) -> None:
    connect(client)
    body = {"prompt": "x", "segments": [{"prompt": "one"}, {"prompt": "two", "seconds": 10}]}
    created = client.post("/v1/video/generations", json=body).json()
    assert [s["seconds"] for s in created["segments"]] == [6, 10]
    work = next_step(client)
    assert (work["kind"], work["prompt"], work["options"]["duration"]) == ("generate", "one", 6)


@pytest.mark.parametrize(("asked", "made"), [("12", "10"), ("15", "10")])
def test_without_a_worker_that_extends_a_length_a_single_api_asks_for_is_made_single(
    client: httpx.Client, asked: str, made: str
) -> None:
    video = client.post("/v1/videos", json={"prompt": "x", "seconds": asked}).json()
    assert video["status"] == "queued" and video["seconds"] == made and video["segments"] is None
    [note] = [a for a in video["adjustments"] if a["param"] == "seconds"]
    assert "no chain was made" in note["message"]


def test_with_only_workers_that_cannot_extend_a_long_length_is_made_single(client: httpx.Client) -> None:
    assert client.get("/extension/poll", params={"client_id": "plain"}).status_code == 204  # declares nothing
    video = client.post("/v1/videos", json={"prompt": "x", "seconds": "30"}).json()
    assert video["seconds"] == "10" and video["segments"] is None
    [note] = [a for a in video["adjustments"] if a["param"] == "seconds"]
    assert "no chain was made: no connected worker can extend videos from Grok" in note["message"]


def test_a_long_video_chains_before_any_worker_is_connected(client: httpx.Client) -> None:
    """Past what any single generation's API asks for (15 s), only a chain comes near: with no worker connected
    yet to say whether it extends, it is made as one, and the extends wait for a worker that can."""
    video = client.post("/v1/videos", json={"prompt": "A long walk", "seconds": "30"}).json()
    assert video["seconds"] == "30" and [s["seconds"] for s in video["segments"]] == [10, 10, 10]
    [note] = [a for a in video["adjustments"] if a["param"] == "seconds"]
    assert note["message"].startswith("Made as a chain of 3 segments")
    assert "no worker is connected yet: the extends wait for one" in note["message"]
    # A worker that declared nothing (the default table) makes the first segment ...
    first = client.get("/extension/poll", params={"client_id": "plain"}).json()
    assert first["kind"] == "generate"
    make(client, first, 10, "plain")
    second_id = wait_until(lambda: job(client, video["id"])["segments"][1]["job_id"])
    assert "extend" in (job(client, second_id)["waiting_reason"] or "")
    assert client.get("/extension/poll", params={"client_id": "plain"}).status_code == 204
    # ... and the extends go to a worker that can extend from Grok.
    for index in (1, 2):
        work = next_step(client)
        assert work["kind"] == "extend"
        make(client, work, 10, f"ext{index}")
    done = finished(client, video["id"])
    assert done["status"] == "completed" and [s["end"] for s in done["segments"]] == [10.0, 20.0, 30.0]


def test_lengths_and_segments_beyond_the_caps_are_refused(client: httpx.Client) -> None:
    assert_error(
        client.post("/v1/videos", json={"prompt": "x", "seconds": "61"}), 400, "unsupported_seconds", "seconds"
    )
    too_long = [{"prompt": "x", "seconds": 10}] * 7
    assert_error(
        client.post("/v1/videos", json={"prompt": "x", "segments": too_long}), 400, "video_too_long", "segments"
    )
    too_many = [{"prompt": "x"}] * 11
    reply = client.post("/v1/video/generations", json={"prompt": "x", "segments": too_many})
    assert_error(reply, 400, "too_many_segments", "segments")
    assert_error(client.post("/v1/videos", data={"prompt": "x", "segments": "[{"}), 400, param="segments")
    bad = client.post("/v1/videos", json={"prompt": "x", "segments": [{"prompt": "y", "seconds": "a"}]})
    assert_error(bad, 400, "unsupported_seconds", "segments[0].seconds")


def test_a_failed_step_fails_the_long_video_and_keeps_the_segments_made(client: httpx.Client) -> None:
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    first = next_step(client)
    make(client, first, 10, "a")
    second = next_step(client)
    reply = client.post(
        "/extension/error",
        json={"job_id": second["job_id"], "claim_token": second["claim_token"], "code": "moderated", "error": "No"},
    )
    assert reply.status_code == 200, reply.text
    done = finished(client, parent["id"])
    assert done["status"] == "failed" and done["error_code"] == "moderated"
    assert "Segment 2 of 2" in done["error"]
    made, failed = done["segments"]
    assert made["status"] == "completed" and failed["status"] == "failed"
    assert client.get(made["video_url"]).status_code == 200  # what was made stays downloadable
    assert client.get(f"/videos/{made['job_id']}.mp4").status_code == 200
    openai = client.get(f"/v1/videos/{parent['id']}").json()
    assert openai["status"] == "failed" and openai["error"]["code"] == "moderated"


def test_cancelling_the_long_video_cancels_its_running_step(client: httpx.Client) -> None:
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    work = next_step(client)
    assert client.post(f"/jobs/{parent['id']}/cancel").status_code == 200
    wait_until(lambda: job(client, work["job_id"])["error_code"] == "cancelled")
    progress = client.post("/extension/progress", json={"job_id": work["job_id"], "claim_token": work["claim_token"]})
    assert progress.json()["cancelled"] is True
    assert client.get("/extension/poll", params={**WORKER, "wait": 0}).status_code == 204  # the chain stopped


def test_deleting_the_long_video_deletes_its_steps(client: httpx.Client) -> None:
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    work = next_step(client)
    make(client, work, 10, "d")
    second = next_step(client)
    assert client.delete(f"/v1/videos/{parent['id']}").status_code == 200
    for step in (work["job_id"], second["job_id"]):
        wait_until(lambda step=step: client.get(f"/jobs/{step}").status_code == 404)


def test_the_sweep_moves_on_a_chain_whose_step_ended_unheard(client: httpx.Client, server: ThreadServer) -> None:
    """As after a restart: the step finished while nothing listened, and the maintenance sweep moves it on."""
    connect(client)
    assert client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).status_code == 200
    work = next_step(client)
    hooks = list(server.service.on_finished)
    server.service.on_finished.clear()
    make(client, work, 10, "s")
    assert client.get("/extension/poll", params={**WORKER, "wait": 0}).status_code == 204
    server.service.on_finished.extend(hooks)
    assert sum(server.run(sweep()) for sweep in server.service.sweeps) == 1
    second = next_step(client)
    assert second["kind"] == "extend" and second["source_job_id"] == work["job_id"]


def test_a_restart_in_the_middle_of_a_chain_goes_on(tmp_path: Path) -> None:
    with process_server(tmp_path) as first, httpx.Client(base_url=first.url, timeout=30) as client:
        connect(client)
        parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
        make(client, next_step(client), 10, "r1")
        wait_until(lambda: job(client, parent["id"])["segments"][1]["job_id"])
    with process_server(tmp_path) as second, httpx.Client(base_url=second.url, timeout=30) as client:
        work = next_step(client)
        assert work["kind"] == "extend"
        make(client, work, 10, "r2")
        done = finished(client, parent["id"])
        assert done["status"] == "completed"
        assert [(s["start"], s["end"]) for s in done["segments"]] == [(0.0, 10.0), (10.0, 20.0)]


def test_the_demo_worker_makes_a_long_video(client: httpx.Client, server: ThreadServer, tmp_path: Path) -> None:
    with demo_worker(server.url):
        wait_until(lambda: client.get("/workers").json()["data"], timeout=20)
        parent = client.post("/v1/videos/generations", json={"prompt": "A demo", "duration": 20}).json()
        assert [s["seconds"] for s in parent["segments"]] == [10, 10]
        done = finished(client, parent["id"])
    assert done["status"] == "completed", done
    assert [s["joined"] for s in done["segments"]] == ["first", "cumulative"]  # the demo extends as Grok does
    assert abs(seconds_of(client.get(f"/videos/{parent['id']}.mp4").content, tmp_path) - 20) < 0.6


def test_two_replicas_moving_a_chain_on_start_its_next_step_once(client: httpx.Client, server: ThreadServer) -> None:
    """Two Chains with locks of their own stand in for two replicas sweeping at once: one step is kept."""
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    work = next_step(client)
    hooks = list(server.service.on_finished)
    server.service.on_finished.clear()
    make(client, work, 10, "twice")
    server.service.on_finished.extend(hooks)
    svc = server.service
    replicas = [Chains(svc, svc._store, svc._storage) for _ in range(2)]

    async def both() -> None:
        await asyncio.gather(*(replica.sweep() for replica in replicas))

    server.run(both())
    recorded = job(client, parent["id"])["segments"][1]["job_id"]
    steps = [work["job_id"], recorded]
    second = next_step(client)
    assert second["job_id"] == recorded
    assert client.get("/extension/poll", params={**WORKER, "wait": 0}).status_code == 204  # no other step waits
    assert job(client, parent["id"])["segments"][1]["job_id"] in steps


def test_a_progress_write_from_another_replica_does_not_hold_the_chain_up(
    client: httpx.Client, server: ThreadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica writes the parent's segments (a progress report) between this one's read and its write of
    the step's end: the step's end is written again on what is there now, and the next step starts at once,
    not at the next sweep."""
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    store = server.service._store
    real_update = store.update_chain
    raced: list[str] = []

    async def update_chain(job_id: str, *, chain: dict[str, Any], expected: Any = None, **kwargs: Any) -> Any:
        if not raced and chain["segments"][0]["status"] == "completed":
            raced.append(job_id)
            now = await store.get(job_id)
            elsewhere = json.loads(json.dumps(now.chain))
            elsewhere["segments"][0]["progress"] = 99
            assert await real_update(job_id, chain=elsewhere, expected=now.chain, **kwargs) is not None
        return await real_update(job_id, chain=chain, expected=expected, **kwargs)

    monkeypatch.setattr(store, "update_chain", update_chain)
    work = next_step(client)
    make(client, work, 10, "raced")
    second = next_step(client)
    assert raced == [parent["id"]]
    assert second["kind"] == "extend" and second["source_job_id"] == work["job_id"]
    make(client, second, 10, "raced-2")
    done = finished(client, parent["id"])
    assert done["status"] == "completed"
    assert [s["status"] for s in done["segments"]] == ["completed", "completed"]


def test_running_a_long_video_again_makes_the_same_segments(client: httpx.Client) -> None:
    connect(client)
    segments = [{"prompt": "one", "seconds": 6}, {"prompt": "two", "seconds": 10}]
    first = client.post("/v1/videos", json={"prompt": "x", "segments": segments}).json()
    again = client.post(f"/jobs/{first['id']}/rerun")
    assert again.is_success, again.text
    assert [(s["prompt"], s["seconds"]) for s in again.json()["segments"]] == [("one", 6), ("two", 10)]
    assert again.json()["id"] != first["id"]


def test_no_worker_report_lands_on_the_long_video_itself(client: httpx.Client) -> None:
    connect(client)
    parent = client.post("/v1/videos", json={"prompt": "x", "seconds": "20"}).json()
    for path, body in (
        ("/extension/progress", {"job_id": parent["id"], "progress": 10}),
        ("/extension/error", {"job_id": parent["id"], "error": "no"}),
    ):
        reply = client.post(path, json=body)
        assert reply.status_code == 409 and reply.json()["error"]["code"] == "not_a_worker_job", reply.text
    done = client.post("/extension/complete", data={"job_id": parent["id"]}, files={"video": ("a.mp4", clip(3))})
    assert done.status_code == 409 and done.json()["error"]["code"] == "not_a_worker_job", done.text
    assert job(client, parent["id"])["status"] == "processing" and job(client, parent["id"])["lease_expires_at"] is None
