"""HD (docs/hd.md): `resolution` 1080p, `quality` hd or `upscale` true on every create route ask for Grok's HD
upscale; only a worker that declares `upscale` gets such a job; it completes with the file parts `video` and
`video_hd`, and `variant=hd` / `variant=video` serve each. Runs on both backends (the second keeps videos in S3)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_disk_full import FillingDisk

from grok_imagine_api.demo_clips import make_clip
from grok_imagine_api.files.storage import LocalVideoStorage
from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import (
    DEMO_MP4,
    ThreadServer,
    assert_error,
    bearer,
    claim,
    create_job,
    settings_for,
    stored_names,
)

UPSCALER = {"client_id": "hd", "features": "upscale"}
HD_REASON = "waiting for a worker that can upscale videos to HD"


@functools.cache
def hd_clip() -> bytes:
    """A distinct, larger MP4 standing in for Grok's upscale."""
    return make_clip(1920, 1080, 6, seed="hd")


def complete(
    client: httpx.Client, job_id: str, *, hd: bytes | None = None, video: bytes = DEMO_MP4, **fields: str
) -> httpx.Response:
    files = [("video", ("out.mp4", video, "video/mp4"))]
    if hd is not None:
        files.append(("video_hd", ("out_hd.mp4", hd, "video/mp4")))
    return client.post("/extension/complete", data={"job_id": job_id, **fields}, files=files)


def hd_job(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    return create_job(client, upscale=True, **extra)


def finished_hd(client: httpx.Client) -> str:
    job = hd_job(client)
    work = claim(client, **UPSCALER)
    assert work["job_id"] == job["id"] and work["upscale"] is True
    reply = complete(client, job["id"], hd=hd_clip())
    assert reply.status_code == 200, reply.text
    return str(job["id"])


# -- asking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "adjusted"),
    [
        ("/v1/video/generations", {"model": "grok", "upscale": True}, None),
        ("/v1/videos/generations", {"model": "grok", "quality": "hd"}, "quality"),
        ("/v1/video/generations", {"model": "grok", "resolution": "1080p"}, "resolution"),
        ("/v1/videos/generations", {"model": "grok-imagine-video", "resolution": "1080p", "duration": 6}, "resolution"),
        ("/v1/videos/generations", {"model": "grok-imagine-video", "upscale": True}, None),
        ("/v1/videos", {"quality": "hd", "seconds": "6"}, "quality"),
        ("/v1/videos", {"resolution": "1080p", "size": "1280x720"}, "resolution"),
        ("/v1/videos", {"upscale": True}, None),
    ],
)
def test_every_dialect_asks_for_the_upscale_and_says_what_is_made(
    client: httpx.Client, path: str, body: dict[str, Any], adjusted: str | None
) -> None:
    reply = client.post(path, json={"prompt": "a cat", **body})
    assert reply.status_code == 200, reply.text
    job = reply.json()
    detail = client.get(f"/jobs/{job['id']}").json()
    assert "feature:upscale" in detail["needs"]
    assert detail["hd"] == {
        "url": None,
        "size": None,
        "resolution": None,
        "width": None,
        "height": None,
        "seconds": None,
    }
    notes = {note["param"]: note for note in job["adjustments"]}
    if adjusted is None:
        assert notes == {}
        return
    note = notes[adjusted]
    assert note["requested"] == body[adjusted]
    assert "upscaled with Grok's HD upscale" in note["message"] or "HD upscale" in note["message"]
    assert "1080p" not in str(note["made"])  # never promised: Grok chooses the HD frame size
    if adjusted == "resolution":
        assert job["options"]["resolution"] == "720p"
        assert note["made"] == "720p + HD upscale"
        assert "made at 720p and upscaled with Grok's HD upscale" in note["message"]


def test_openai_multipart_takes_upscale_as_a_form_field(client: httpx.Client) -> None:
    reply = client.post("/v1/videos", data={"prompt": "a cat", "upscale": "true"})
    assert reply.status_code == 200, reply.text
    assert "feature:upscale" in client.get(f"/jobs/{reply.json()['id']}").json()["needs"]
    plain = client.post("/v1/videos", data={"prompt": "a cat", "upscale": "false", "quality": "standard"}).json()
    detail = client.get(f"/jobs/{plain['id']}").json()
    assert "feature:upscale" not in detail["needs"] and detail["hd"] is None


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"quality": "ultra"}, "unsupported_quality", "quality"),
        ({"upscale": "maybe"}, "unsupported_upscale", "upscale"),
        ({"upscale": True, "quality": "standard"}, "conflicting_parameters", "quality"),
        ({"resolution": "1080p", "upscale": False}, "conflicting_parameters", "upscale"),
        ({"resolution": "4k"}, "unsupported_resolution", "resolution"),
    ],
)
def test_wrong_hd_values_are_refused(client: httpx.Client, body: dict[str, Any], code: str, param: str) -> None:
    assert_error(client.post("/v1/video/generations", json={"prompt": "x", **body}), 400, code, param)
    assert_error(client.post("/v1/videos", json={"prompt": "x", **body}), 400, code, param)


def test_strict_matching_refuses_1080p_but_takes_upscale(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, option_matching="strict")) as server, server.client() as client:
        reply = client.post("/v1/video/generations", json={"prompt": "x", "resolution": "1080p"})
        assert_error(reply, 400, "no_exact_match", "resolution")
        assert "upscale" in reply.json()["error"]["message"]
        assert client.post("/v1/video/generations", json={"prompt": "x", "upscale": True}).status_code == 200


# -- which worker gets it -------------------------------------------------------------------------


def test_only_a_worker_that_declares_upscale_gets_an_hd_job(client: httpx.Client) -> None:
    job = hd_job(client)
    assert job["waiting_reason"] == HD_REASON  # the default table cannot upscale either
    for _ in range(2):
        assert client.get("/extension/poll", params={"client_id": "plain"}).status_code == 204
        everything = {"kinds": "text_to_video,image_to_video,extend,remix,edit", "sources": "grok,upload"}
        reply = client.post("/extension/poll", json={"client_id": "declared", "abilities": everything})
        assert reply.status_code == 204
    assert client.get(f"/v1/videos/{job['id']}").json()["waiting_reason"] == HD_REASON
    plain = create_job(client, prompt="plain")
    assert claim(client, client_id="plain")["job_id"] == plain["id"]  # jumps the job it cannot make
    reply = client.post("/extension/poll", json={"client_id": "hd", "abilities": {"features": ["upscale"]}})
    assert reply.status_code == 200, reply.text
    assert reply.json()["job_id"] == job["id"] and reply.json()["upscale"] is True
    assert plain["id"] != job["id"]
    workers = {worker["client_id"]: worker for worker in client.get("/workers").json()["data"]}
    assert workers["hd"]["abilities"]["features"] == ["upscale"]


def test_a_plain_job_claimed_by_an_upscaler_does_not_ask_for_hd(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client, **UPSCALER)
    assert work["upscale"] is False
    assert_error(complete(client, work["job_id"], hd=hd_clip()), 400, "hd_not_asked", "video_hd")
    assert client.get(f"/jobs/{work['job_id']}").json()["status"] == "processing"
    assert complete(client, work["job_id"]).status_code == 200


def test_an_unknown_feature_is_refused(client: httpx.Client) -> None:
    reply = client.get("/extension/poll", params={"client_id": "w", "features": "upscale,teleport"})
    assert_error(reply, 400, "invalid_abilities", "abilities.features")


def test_an_hd_job_no_worker_can_upscale_fails_no_capable_worker(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, no_capable_worker_seconds=60)
    with ThreadServer(settings) as server, server.client() as client:
        client.get("/extension/poll", params={"client_id": "plain"})
        job = hd_job(client)
        assert job["waiting_reason"] == HD_REASON
        server.clock.advance(61)
        client.get("/extension/poll", params={"client_id": "plain"})
        server.run(run_cleanup(server.service, server.app.state.request_log))
        failed = client.get(f"/v1/videos/{job['id']}").json()
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "no_capable_worker"
        assert "upscale videos to HD" in failed["error"]["message"]


# -- completing and serving -------------------------------------------------------------------------


def test_an_hd_job_needs_video_hd_and_then_serves_both_files(client: httpx.Client, server: ThreadServer) -> None:
    job = hd_job(client)
    work = claim(client, **UPSCALER)
    reply = complete(client, job["id"])
    assert_error(reply, 400, "missing_parameter", "video_hd")
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "processing"
    assert_error(complete(client, job["id"], hd=b"not a video at all, just text"), 415, "not_mp4", "video_hd")
    reply = complete(client, job["id"], hd=hd_clip(), claim_token=work["claim_token"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["video_hd_size"] == len(hd_clip())
    assert client.get(f"/v1/videos/{job['id']}/content").content == DEMO_MP4
    assert client.get(f"/v1/videos/{job['id']}/content", params={"variant": "video"}).content == DEMO_MP4
    hd = client.get(f"/v1/videos/{job['id']}/content", params={"variant": "hd"})
    assert hd.status_code == 200 and hd.content == hd_clip()
    assert hd.headers["content-type"] == "video/mp4"
    ranged = client.get(f"/v1/videos/{job['id']}/content?variant=hd", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == hd_clip()[10:20]
    for path in (f"/v1/videos/{job['id']}", f"/v1/video/generations/{job['id']}", f"/jobs/{job['id']}"):
        view = client.get(path).json()["hd"]
        assert view["size"] == len(hd_clip()) and view["resolution"] == "1920x1080", (path, view)
        assert (view["width"], view["height"]) == (1920, 1080) and view["seconds"] > 5
        assert client.get(view["url"]).content == hd_clip()
    seed = client.get(f"/videos/{job['id']}.mp4", params={"variant": "hd"}, headers={"Range": "bytes=0-3"})
    assert seed.status_code == 206 and seed.content == hd_clip()[:4]
    assert client.get(f"/videos/{job['id']}.mp4").content == DEMO_MP4
    names = stored_names(server.settings.video_storage_path)
    assert f"{job['id']}.mp4" in names and f"{job['id']}.hd.mp4" in names


def test_variant_hd_of_a_job_without_hd_is_a_404(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    assert complete(client, work["job_id"]).status_code == 200
    for reply in (
        client.get(f"/v1/videos/{work['job_id']}/content", params={"variant": "hd"}),
        client.get(f"/videos/{work['job_id']}.mp4", params={"variant": "hd"}),
    ):
        assert_error(reply, 404, "hd_not_available", "variant")
        assert "did not ask for one" in reply.json()["error"]["message"]
    assert_error(client.get(f"/v1/videos/{work['job_id']}/content", params={"variant": "4k"}), 400, param="variant")
    assert client.get(f"/jobs/{work['job_id']}").json()["hd"] is None


def test_video_hd_must_come_after_job_id(client: httpx.Client) -> None:
    hd_job(client)
    work = claim(client, **UPSCALER)
    files = [
        ("video_hd", ("hd.mp4", hd_clip(), "video/mp4")),
        ("video", ("out.mp4", DEMO_MP4, "video/mp4")),
    ]
    reply = client.post("/extension/complete", data={}, files=files, params={})
    assert_error(reply, 400, "missing_parameter", "job_id")
    reply = client.post("/extension/complete", files=files, params={"job_id": work["job_id"]})
    assert reply.status_code == 200, reply.text


def test_deleting_or_expiring_an_hd_job_removes_both_files(client: httpx.Client, server: ThreadServer) -> None:
    root = server.settings.video_storage_path
    deleted = finished_hd(client)
    expired = finished_hd(client)
    assert client.delete(f"/v1/videos/{deleted}").status_code == 200
    assert not [name for name in stored_names(root) if deleted in name]
    assert [name for name in stored_names(root) if expired in name]
    server.clock.advance(server.settings.max_video_age_seconds + 1)
    server.run(run_cleanup(server.service, server.app.state.request_log))
    assert not [name for name in stored_names(root) if expired in name]
    assert_error(client.get(f"/v1/videos/{expired}/content", params={"variant": "hd"}), 410, "video_expired")


def test_the_sweep_keeps_the_hd_file_of_a_live_job(client: httpx.Client, server: ThreadServer) -> None:
    job_id = finished_hd(client)
    server.run(server.service.sweep_orphans())
    assert f"{job_id}.hd.mp4" in stored_names(server.settings.video_storage_path)  # its job keeps it


def test_with_keys_the_hd_link_is_signed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=["sk-a"])
    with ThreadServer(settings) as server, server.client() as client:
        client.headers.update(bearer("sk-a"))
        job_id = finished_hd(client)
        url = client.get(f"/v1/videos/{job_id}").json()["hd"]["url"]
        assert "variant=hd" in url and "signature=" in url
        with httpx.Client() as anonymous:
            assert anonymous.get(url).content == hd_clip()
            assert anonymous.get(url.replace("variant=hd", "variant=video")).content == DEMO_MP4


@pytest.mark.one_backend
def test_a_full_disk_during_the_hd_part_is_507_and_keeps_nothing(tmp_path: Path) -> None:
    disk = FillingDisk()
    settings = settings_for(tmp_path)
    storage = LocalVideoStorage(settings.video_storage_path, opener=disk)
    with ThreadServer(settings, storage=storage) as server, server.client() as client:
        job = hd_job(client)
        work = claim(client, **UPSCALER)
        disk.room = len(DEMO_MP4) + len(hd_clip()) // 2  # the video fits, the HD file does not
        assert_error(complete(client, job["id"], hd=hd_clip()), 507, "insufficient_storage")
        root = server.settings.video_storage_path
        assert [name for name in stored_names(root) if "job_" in name or name.endswith(".part")] == []
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "processing"
        disk.room = None
        assert complete(client, job["id"], hd=hd_clip(), claim_token=work["claim_token"]).status_code == 200
        assert sorted(stored_names(root)) == sorted([f"{job['id']}.mp4", f"{job['id']}.hd.mp4"])


@pytest.mark.one_backend
def test_an_orphaned_hd_file_without_its_job_is_swept(client: httpx.Client, server: ThreadServer) -> None:
    root = server.settings.video_storage_path
    orphan = root / ("job_" + "ab" * 12 + ".hd.mp4")
    orphan.write_bytes(hd_clip())
    server.run(server.service.sweep_orphans())
    assert not orphan.exists()
