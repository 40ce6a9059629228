from __future__ import annotations

import os
from pathlib import Path

import httpx

from grok_imagine_api.files.storage import LOCK_FILE
from grok_imagine_api.maintenance.cleanup import cleanup_interval, run_cleanup
from support import DEMO_MP4, ThreadServer, assert_error, claim, create_job, settings_for, upload, wait_until


def cleanup(server: ThreadServer):  # type: ignore[no-untyped-def]
    return server.run(run_cleanup(server.service, server.app.state.request_log))


def status(client: httpx.Client, job_id: str) -> dict:  # type: ignore[type-arg]
    return client.get("/jobs").json()["data"][[j["id"] for j in client.get("/jobs").json()["data"]].index(job_id)]


def test_stale_is_measured_from_the_last_worker_contact(client: httpx.Client, server: ThreadServer) -> None:
    timeout = server.settings.job_timeout_seconds
    job = create_job(client)
    server.clock.advance(timeout * 3)  # a long wait in the queue does not count
    work = claim(client)
    server.clock.advance(timeout - 10)
    client.post("/extension/progress", json={"job_id": work["job_id"], "progress": 20})
    server.clock.advance(timeout - 10)
    assert cleanup(server).stale_jobs == 0
    assert status(client, job["id"])["status"] == "processing"
    server.clock.advance(11)
    assert cleanup(server).stale_jobs == 1
    failed = status(client, job["id"])
    assert failed["status"] == "failed"
    assert failed["error_code"] == "timeout"
    assert "5 minutes" in failed["error"]
    assert_error(upload(client, job["id"], token=work["claim_token"]), 409, "job_failed")


def test_the_background_loop_fails_stale_jobs(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, job_timeout_seconds=60, cleanup_interval_seconds=0.05)
    with ThreadServer(settings, maintenance=True) as srv, srv.client() as http:
        job = create_job(http)
        claim(http)
        srv.clock.advance(61)
        wait_until(lambda: http.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "failed")


def test_cleanup_interval_follows_the_timeout(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, job_timeout_seconds=10, cleanup_interval_seconds=60)) as srv:
        assert cleanup_interval(srv.service) == 2


def test_old_videos_are_deleted_and_the_job_says_so(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    upload(client, work["job_id"])
    path = server.settings.video_storage_path / f"{work['job_id']}.mp4"
    server.clock.advance(server.settings.max_video_age_seconds - 60)
    assert cleanup(server).expired_videos == 0
    assert path.exists()
    server.clock.advance(120)
    assert cleanup(server).expired_videos == 1
    assert not path.exists()
    job = client.get(f"/v1/videos/generations/{work['job_id']}").json()
    assert job["status"] == "completed"
    assert job["video_url"] is None
    assert "expired" in job["error"]
    assert_error(client.get(f"/videos/{work['job_id']}.mp4"), 410, "video_expired")
    assert status(client, work["job_id"])["video_expired"] is True


def test_startup_recovers_a_server_that_was_down(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with ThreadServer(settings) as srv, srv.client() as http:
        job = create_job(http)
        claim(http)
        finished = create_job(http)
        work = claim(http)
        upload(http, work["job_id"])
        start = srv.clock.now()
    videos = settings.video_storage_path
    (videos / ".upload-deadbeef.part").write_bytes(b"half an upload")
    (videos / "job_0123456789abcdef01234567.mp4").write_bytes(b"nobody's video")
    later = ThreadServer(settings, maintenance=True)
    later.clock.advance(later.clock.now() - start + settings.max_video_age_seconds + 1)
    with later, later.client() as http:
        assert http.get(f"/v1/videos/generations/{job['id']}").json()["status"] == "failed"
        assert http.get(f"/v1/videos/generations/{finished['id']}").json()["video_url"] is None
        assert os.listdir(videos) == [LOCK_FILE]  # the sweep and the cleanup leave the lock alone


def test_old_request_logs_are_pruned(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, log_retention_days=2)
    with ThreadServer(settings) as srv, srv.client() as http:
        http.get("/health")
        logs = settings.log_path
        (logs / "requests_2000-01-01.jsonl").write_text("{}\n")
        (logs / "notes.txt").write_text("keep me")
        cleanup(srv)
        names = sorted(p.name for p in logs.iterdir())
        assert "requests_2000-01-01.jsonl" not in names
        assert "notes.txt" in names
        assert any(name.startswith("requests_2") for name in names)


def test_startup_sweeps_sources_and_thumbnails_nobody_needs(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with ThreadServer(settings) as srv, srv.client() as http:
        reply = http.post(
            "/v1/videos/extensions", data={"prompt": "more"}, files={"video": ("v.mp4", DEMO_MP4, "video/mp4")}
        )
        waiting = reply.json()["id"]
    sources = settings.video_storage_path / "sources"
    (sources / "job_0123456789abcdef01234567.mp4").write_bytes(b"orphan source")
    (settings.video_storage_path / "job_0123456789abcdef01234567.jpg").write_bytes(b"orphan thumbnail")
    with ThreadServer(settings):
        assert sorted(p.name for p in sources.iterdir()) == [f"{waiting}.mp4"]  # its job still needs it
        assert not list(settings.video_storage_path.glob("*.jpg"))
