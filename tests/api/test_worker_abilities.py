"""Workers say what they can make; a job goes only to a worker that can make it exactly, and waits, saying why,
while none can."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import DEMO_MP4, EVERYTHING, ThreadServer, assert_error, claim, create_job, settings_for, upload

EXTEND_REASON = "waiting for a worker that can extend videos and can start from an uploaded video"


def extension(client: httpx.Client, **form: str) -> dict[str, Any]:
    reply = client.post(
        "/v1/videos/extensions",
        data={"prompt": "and then", **form},
        files={"video": ("in.mp4", DEMO_MP4, "video/mp4")},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def cleanup(server: ThreadServer) -> None:
    server.run(run_cleanup(server.service, server.app.state.request_log))


def test_a_worker_that_declares_nothing_never_gets_a_remix_extend_or_edit(
    client: httpx.Client, server: ThreadServer
) -> None:
    source = create_job(client)
    upload(client, claim(client, client_id="old")["job_id"])
    derived = [
        extension(client)["id"],
        client.post(f"/v1/videos/{source['id']}/remix", json={"prompt": "at night"}).json()["id"],
        client.post("/v1/videos/edits", data={"prompt": "blue", "video[id]": source["id"]}).json()["id"],
    ]
    plain = create_job(client, prompt="plain")
    assert claim(client, client_id="old")["job_id"] == plain["id"]  # jumps the derived jobs it cannot make
    assert client.get("/extension/poll", params={"client_id": "old"}).status_code == 204
    for job_id in derived:
        for path in (f"/v1/videos/{job_id}", f"/v1/video/generations/{job_id}", f"/jobs/{job_id}"):
            answer = client.get(path).json()
            assert answer["waiting_reason"].startswith("waiting for a worker that can "), (path, answer)
    kinds = {claim(client, client_id="new", **EVERYTHING)["kind"] for _ in derived}
    assert kinds == {"extend", "remix", "edit"}


def test_such_a_job_fails_no_capable_worker_after_the_setting(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, no_capable_worker_seconds=60)
    with ThreadServer(settings) as server, server.client() as client:
        client.get("/extension/poll", params={"client_id": "old"})
        job = extension(client)
        plain = create_job(client)
        assert job["waiting_reason"] == EXTEND_REASON  # and its clock starts now, at creation
        server.clock.advance(59)
        cleanup(server)
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "pending"
        server.clock.advance(2)
        client.get("/extension/poll", params={"client_id": "old", "wait": 0})  # still connected, still unable
        cleanup(server)
        failed = client.get(f"/v1/videos/{job['id']}").json()
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "no_capable_worker"
        assert "can extend videos" in failed["error"]["message"]
        assert client.get(f"/jobs/{plain['id']}").json()["status"] == "processing"  # the old worker took it
        metrics = client.get("/metrics").text
        assert 'grok_imagine_jobs_failed_total{code="no_capable_worker"} 1.0' in metrics


def test_the_clock_stops_while_a_capable_worker_is_connected(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, no_capable_worker_seconds=60, worker_seen_seconds=30)
    with ThreadServer(settings) as server, server.client() as client:
        plain = create_job(client)
        job = extension(client)
        cleanup(server)
        server.clock.advance(50)
        # A capable worker connects and is busy with the older job: the extension can be made, its clock stops.
        able = client.post("/extension/poll", json={"client_id": "able", "abilities": EVERYTHING})
        assert able.json()["job_id"] == plain["id"]
        cleanup(server)
        assert client.get(f"/jobs/{job['id']}").json()["waiting_reason"] is None
        server.clock.advance(40)  # the worker went quiet: the clock starts again, from zero
        cleanup(server)
        server.clock.advance(40)
        cleanup(server)
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "pending"
        server.clock.advance(21)
        cleanup(server)
        assert client.get(f"/jobs/{job['id']}").json()["error_code"] == "no_capable_worker"


def test_abilities_by_query_or_json_and_declared_again_at_any_poll(client: httpx.Client) -> None:
    ten = create_job(client, duration=10)
    assert client.get("/extension/poll", params={"client_id": "w", "durations": "6"}).status_code == 204
    workers = {w["client_id"]: w for w in client.get("/workers").json()["data"]}
    assert workers["w"]["abilities"]["durations"] == [6]
    assert ten["waiting_reason"] is None  # made before the worker declared; no one was connected
    assert client.get(f"/jobs/{ten['id']}").json()["waiting_reason"] == "waiting for a worker that can make 10 s videos"
    declared = {"client_id": "w", "abilities": {"durations": [6, 10]}}
    assert client.post("/extension/poll", json=declared).json()["job_id"] == ten["id"]
    assert client.get("/workers").json()["data"][0]["abilities"]["durations"] == [6, 10]
    never = client.get("/extension/poll", params={"client_id": "old"})
    assert never.status_code == 204
    assert {w["client_id"]: w["abilities"] for w in client.get("/workers").json()["data"]}["old"] is None


def test_a_bad_declaration_is_a_400_naming_the_field(client: httpx.Client) -> None:
    reply = client.get("/extension/poll", params={"kinds": "text_to_video,teleport"})
    assert_error(reply, 400, "invalid_abilities", "abilities.kinds")
    reply = client.post("/extension/poll", json={"abilities": {"durations": ["six"]}})
    assert_error(reply, 400, "invalid_abilities", "abilities.durations")


def test_the_nearest_is_computed_from_what_connected_workers_declared(client: httpx.Client) -> None:
    client.get("/extension/poll", params={"client_id": "short", "durations": "6", "resolutions": "480p"})
    video = client.post("/v1/videos", data={"prompt": "x", "seconds": "12", "size": "1280x720"}).json()
    assert (video["seconds"], video["size"]) == ("6", "848x480")
    assert {a["param"] for a in video["adjustments"]} == {"seconds", "size"}
    assert video["waiting_reason"] is None
    assert claim(client, client_id="short")["options"]["duration"] == 6


def test_a_grok_post_travels_to_the_remix_and_needs_a_worker_that_can_open_it(
    client: httpx.Client, server: ThreadServer
) -> None:
    source = create_job(client)
    work = claim(client)
    post = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    done = upload(client, work["job_id"], grok_post_id=f"https://grok.com/imagine/post/{post}")
    assert done.status_code == 200, done.text
    assert client.get(f"/jobs/{source['id']}").json()["grok_post_id"] == post
    remix = client.post(f"/v1/videos/{source['id']}/remix", json={"prompt": "at dawn"}).json()
    uploads_only = {"kinds": "remix", "sources": "upload"}
    assert client.get("/extension/poll", params={"client_id": "u", **uploads_only}).status_code == 204
    assert client.get(f"/jobs/{remix['id']}").json()["waiting_reason"] == (
        "waiting for a worker that can open a Grok post"
    )
    work = claim(client, client_id="g", kinds="remix", sources="grok")
    assert work["job_id"] == remix["id"]
    assert work["source_grok_post_id"] == post
    assert work["source_grok_post_url"] == f"https://grok.com/imagine/post/{post}"
    create_job(client)
    bad = claim(client)
    # An unreadable post id is dropped, never the finished video it came with.
    kept = upload(client, bad["job_id"], grok_post_id="../../etc")
    assert kept.status_code == 200 and kept.json()["status"] == "completed"
    assert client.get(f"/jobs/{bad['job_id']}").json()["grok_post_id"] is None


def test_source_unavailable_is_a_worker_code(client: httpx.Client) -> None:
    job = extension(client)
    claim(client, **EVERYTHING)
    reply = client.post(
        "/extension/error", json={"job_id": job["id"], "code": "source_unavailable", "error": "Post not found"}
    )
    assert reply.json()["error_code"] == "source_unavailable"
    other = create_job(client)
    claim(client)
    reply = client.post("/extension/error", json={"job_id": other["id"], "code": "no_capable_worker", "error": "x"})
    assert reply.json()["error_code"] == "worker_error"  # the server's own codes are not the worker's to send


def test_a_preset_no_worker_has_waits_but_everything_else_is_matched(client: httpx.Client) -> None:
    client.post("/extension/poll", json={"client_id": "w", "abilities": {"presets": ["normal"]}})
    video = client.post("/v1/videos", json={"prompt": "x", "seconds": "8", "size": "1792x1024", "mode": "spicy"}).json()
    assert (video["seconds"], video["size"], video["options"]["mode"]) == ("10", "1280x720", "spicy")
    assert {a["param"] for a in video["adjustments"]} == {"seconds", "size"}
    assert video["waiting_reason"] == "waiting for a worker that has the spicy preset"
    assert client.get("/extension/poll", params={"client_id": "w"}).status_code == 204
    assert claim(client, client_id="spicy")["job_id"] == video["id"]  # a worker with every preset can make it


def test_weird_numbers_are_400s_not_500s(client: httpx.Client) -> None:
    for value in ("²", "٣", "9" * 5000, "6.5", True, 6.5, [6], {"s": 6}):
        assert_error(client.post("/v1/videos", json={"prompt": "x", "seconds": value}), 400, param="seconds")
        reply = client.post("/v1/videos/generations", json={"prompt": "x", "duration": value})
        assert_error(reply, 400, param="duration")
    for value in ("²", "true", "6.0", "9" * 5000):
        reply = client.get("/extension/poll", params={"durations": value})
        assert_error(reply, 400, "invalid_abilities", "abilities.durations")
    for value in (True, 6.0, None):
        reply = client.post("/extension/poll", json={"abilities": {"durations": [value]}})
        assert_error(reply, 400, "invalid_abilities", "abilities.durations")
    assert client.get("/health").json()["jobs"]["pending"] == 0


def test_a_size_and_its_resolution_agree(client: httpx.Client) -> None:
    video = client.post("/v1/videos", json={"prompt": "x", "size": "1792x1024", "resolution": "480p"}).json()
    assert video["size"] == "848x480"
    assert_error(
        client.post("/v1/videos", json={"prompt": "x", "size": "1792x1024", "aspect_ratio": "9:16"}),
        400,
        "conflicting_parameters",
        "size",
    )


def test_the_founding_documents_bodies_keep_unset_options_unset(client: httpx.Client) -> None:
    """A `duration` alone (the CLI sends one) does not bring xAI's 16:9 480p defaults; xAI's model name does."""
    plain = create_job(client, duration=10)
    assert plain["options"] == {"aspect_ratio": None, "resolution": None, "duration": 10, "mode": None}
    xai = create_job(client, model="grok-imagine-video", duration=10)
    assert xai["options"] == {"aspect_ratio": "16:9", "resolution": "480p", "duration": 10, "mode": None}
