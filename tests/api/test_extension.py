from __future__ import annotations

import asyncio
import base64
import random
import socket
import threading
from pathlib import Path

import httpx
import pytest

from support import (
    DEMO_MP4,
    PNG_1PX,
    ThreadServer,
    assert_error,
    claim,
    create_job,
    settings_for,
    stored_bytes,
    stored_files,
    stored_names,
    upload,
    wait_until,
)

# -- poll ------------------------------------------------------------------------------------


def test_empty_poll_is_204(client: httpx.Client) -> None:
    reply = client.get("/extension/poll")
    assert reply.status_code == 204
    assert reply.content == b""


def test_hello_checks_the_server_without_claiming(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    reply = client.get("/extension/hello")
    assert reply.status_code == 200
    body = reply.json()
    assert body["service"] == "grok-imagine-api"
    assert body["queued"] == 1
    assert body["lease_seconds"] == server.settings.job_timeout_seconds
    assert claim(client)["prompt"] == "A cat playing piano"


def test_poll_claims_oldest_first_with_a_lease(client: httpx.Client, server: ThreadServer) -> None:
    first = create_job(client, "first")
    create_job(client, "second")
    work = claim(client, client_id="tab-1", mode="video")
    assert work["job_id"] == first["id"]
    assert work["prompt"] == "first"
    assert work["image"] is None
    assert work["claim_token"]
    assert work["lease_seconds"] == server.settings.job_timeout_seconds
    assert work["lease_expires_at"] == server.clock.now() + server.settings.job_timeout_seconds
    assert claim(client)["prompt"] == "second"
    assert client.get("/extension/poll").status_code == 204
    workers = client.get("/health").json()["workers"]
    assert "tab-1" in [w["client_id"] for w in workers["list"]]


def test_bad_poll_parameters(client: httpx.Client) -> None:
    assert_error(client.get("/extension/poll", params={"mode": "audio"}), 400, "invalid_mode", param="mode")
    assert_error(client.get("/extension/poll", params={"wait": "-1"}), 400, param="wait")
    assert_error(client.get("/extension/poll", params={"wait": "soon"}), 400, param="wait")


def test_long_poll_returns_as_soon_as_a_job_arrives(client: httpx.Client, server: ThreadServer) -> None:
    results: list[httpx.Response] = []
    with server.client() as worker:
        thread = threading.Thread(target=lambda: results.append(worker.get("/extension/poll", params={"wait": 25})))
        thread.start()
        wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 1)
        job = create_job(client)
        thread.join(timeout=10)
    assert not thread.is_alive(), "the long poll was not woken by the new job"
    assert results[0].status_code == 200
    assert results[0].json()["job_id"] == job["id"]


def test_long_poll_times_out_with_204(client: httpx.Client) -> None:
    assert client.get("/extension/poll", params={"wait": 0.2}).status_code == 204


def test_each_job_wakes_one_waiter_and_all_jobs_are_delivered(client: httpx.Client, server: ThreadServer) -> None:
    got: list[str] = []
    lock = threading.Lock()

    def wait_for_one() -> None:
        with server.client() as worker:
            reply = worker.get("/extension/poll", params={"wait": 20})
            if reply.status_code == 200:
                with lock:
                    got.append(reply.json()["job_id"])

    threads = [threading.Thread(target=wait_for_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 4)
    created = {create_job(client, f"job {i}")["id"] for i in range(4)}
    for thread in threads:
        thread.join(timeout=15)
    assert sorted(got) == sorted(created)


def test_a_worker_that_hangs_up_while_waiting_takes_no_job(client: httpx.Client, server: ThreadServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET /extension/poll?wait=20 HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 1)
    sock.close()
    wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 0)
    job = create_job(client)
    assert claim(client)["job_id"] == job["id"]


def test_a_job_taken_by_a_poll_that_hung_up_is_back_before_the_poll_is_gone(
    client: httpx.Client, server: ThreadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim of a poll that hangs up may still be running, and take a job: that job is back in the queue
    before /health stops counting the poll, so a worker that polls then gets it (a CI flake, once)."""
    from grok_imagine_api.api import extension

    store = server.service._store
    real_claim, real_release, real_hangup = store.claim, store.release, extension._wait_for_disconnect
    claimed, claim_gate, releasing, release_gate, hung_up = (threading.Event() for _ in range(5))

    async def slow_claim(**kwargs: object) -> object:
        taken = await real_claim(**kwargs)
        if taken is not None:
            claimed.set()
            await asyncio.to_thread(claim_gate.wait, 15)
        return taken

    async def slow_release(job_id: str, **kwargs: object) -> bool:
        releasing.set()
        await asyncio.to_thread(release_gate.wait, 15)
        return await real_release(job_id, **kwargs)

    async def seen_hangup(request: object) -> None:
        await real_hangup(request)
        hung_up.set()

    monkeypatch.setattr(store, "claim", slow_claim)
    monkeypatch.setattr(store, "release", slow_release)
    monkeypatch.setattr(extension, "_wait_for_disconnect", seen_hangup)
    job = create_job(client)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET /extension/poll?wait=20 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert claimed.wait(10)
    sock.close()
    assert hung_up.wait(10)
    claim_gate.set()
    assert releasing.wait(10)
    # The job is not back yet: the poll that took it still counts.
    assert client.get("/health").json()["workers"]["waiting"] == 1
    release_gate.set()
    wait_until(lambda: client.get("/health").json()["workers"]["waiting"] == 0)
    assert claim(client)["job_id"] == job["id"]


# -- progress --------------------------------------------------------------------------------


def test_progress_extends_the_lease(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    server.clock.advance(100)
    reply = client.post(
        "/extension/progress",
        json={"job_id": work["job_id"], "claim_token": work["claim_token"], "progress": 61},
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["progress"] == 61
    assert body["status"] == "processing"
    assert body["cancelled"] is False
    assert body["lease_expires_at"] == server.clock.now() + server.settings.job_timeout_seconds
    listed = client.get("/jobs").json()["data"][0]
    assert listed["progress"] == 61


def test_progress_never_goes_backwards(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    client.post("/extension/progress", json={"job_id": work["job_id"], "progress": 40})
    reply = client.post("/extension/progress", json={"job_id": work["job_id"], "progress": 10})
    assert reply.json()["progress"] == 40


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"job_id": "j", "progress": 101}, "progress"),
        ({"job_id": "j", "progress": -1}, "progress"),
        ({"job_id": "j", "progress": 5.5}, "progress"),
        ({"job_id": "j", "progress": "5"}, "progress"),  # a JSON integer, as the document says
        ({"job_id": "j", "progress": True}, "progress"),
        ({}, "job_id"),
    ],
)
def test_bad_progress_reports(client: httpx.Client, body: dict, param: str) -> None:  # type: ignore[type-arg]
    assert_error(client.post("/extension/progress", json=body), 400, param=param)


def test_a_whole_float_is_a_json_integer(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    reply = client.post("/extension/progress", json={"job_id": work["job_id"], "progress": 40.0})
    assert reply.json()["progress"] == 40


@pytest.mark.parametrize("wait", [False, "5", -1])
def test_bad_waits_in_a_poll_body(client: httpx.Client, wait: object) -> None:
    assert_error(client.post("/extension/poll", json={"wait": wait}), 400, param="wait")


def test_progress_on_unknown_pending_or_foreign_jobs(client: httpx.Client) -> None:
    assert_error(client.post("/extension/progress", json={"job_id": "job_x", "progress": 5}), 404, "job_not_found")
    pending = create_job(client)
    assert_error(client.post("/extension/progress", json={"job_id": pending["id"], "progress": 5}), 409, "job_pending")
    work = claim(client)
    reply = client.post("/extension/progress", json={"job_id": work["job_id"], "claim_token": "stolen"})
    assert_error(reply, 409, "lease_mismatch", "claim_token")


# -- complete --------------------------------------------------------------------------------


def test_complete_stores_the_video(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    reply = upload(client, work["job_id"], token=work["claim_token"])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body == {
        "job_id": work["job_id"],
        "status": "completed",
        "video_url": f"{server.url}/videos/{work['job_id']}.mp4",
        "video_size": len(DEMO_MP4),
    }
    assert stored_bytes(server.settings.video_storage_path, f"{work['job_id']}.mp4") == DEMO_MP4
    assert stored_names(server.settings.video_storage_path) == [f"{work['job_id']}.mp4"]  # no temp file left


def test_complete_without_claim_token_as_the_seed_describes(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"]).status_code == 200


def test_complete_with_job_id_after_the_video_part(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    boundary = "b0und"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + DEMO_MP4
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{work["job_id"]}\r\n'
        f"--{boundary}--\r\n".encode()
    )
    reply = client.post(
        "/extension/complete",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert reply.status_code == 200, reply.text


def no_files_left(server: ThreadServer) -> bool:
    return stored_files(server.settings.video_storage_path) == []


def test_upload_that_is_not_mp4_is_415_and_leaves_nothing(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    reply = upload(client, work["job_id"], video=b"<html>not a video</html>" * 100)
    assert_error(reply, 415, "not_mp4", "video")
    reply = upload(client, work["job_id"], video=b"\x00\x00")
    assert_error(reply, 415, "not_mp4", "video")
    assert no_files_left(server)
    assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "processing"


def test_upload_that_only_looks_like_an_mp4_is_415_and_the_job_waits_for_a_real_one(
    client: httpx.Client, server: ThreadServer
) -> None:
    create_job(client)
    work = claim(client)
    lookalike = DEMO_MP4[:32] + random.Random(8).randbytes(50_000)  # an `ftyp` box, then noise
    reply = upload(client, work["job_id"], video=lookalike, token=work["claim_token"])
    assert_error(reply, 415, "invalid_video", "video")
    assert no_files_left(server)
    assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "processing"
    assert_error(client.get(f"/videos/{work['job_id']}.mp4"), 404, "video_not_ready")
    # The same lease still holds: a real video completes the job, with what was produced.
    assert upload(client, work["job_id"], token=work["claim_token"]).json()["status"] == "completed"
    produced = client.get(f"/jobs/{work['job_id']}").json()["produced"]
    assert produced == {"seconds": 6.0, "width": 320, "height": 180}


def test_bad_upload_forms(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    assert_error(upload(client, work["job_id"], video=b""), 400, "empty_video", "video")
    assert_error(upload(client, None), 400, "missing_parameter", "job_id")
    reply = client.post("/extension/complete", data={"job_id": work["job_id"]}, files={"other": ("x", b"1")})
    assert_error(reply, 400, "missing_parameter", "video")
    reply = client.post("/extension/complete", json={"job_id": work["job_id"]})
    assert_error(reply, 415, "expected_multipart")
    assert_error(upload(client, "job_unknown"), 404, "job_not_found")
    assert no_files_left(server)


def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, max_upload_bytes=50_000)) as srv, srv.client() as http:
        create_job(http)
        work = claim(http)
        # Declared too large: refused from the headers alone.
        assert_error(upload(http, work["job_id"], video=DEMO_MP4 + b"\0" * 2_000_000), 413, "video_too_large")

        # Sent chunked, so only counting the bytes can catch it.
        def body():  # type: ignore[no-untyped-def]
            yield (
                f'--xx\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{work["job_id"]}\r\n'
                '--xx\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n\r\n'
            ).encode()
            yield DEMO_MP4
            yield b"\r\n--xx--\r\n"

        reply = http.post(
            "/extension/complete",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=xx"},
        )
        assert_error(reply, 413, "video_too_large", "video")
        assert stored_files(srv.settings.video_storage_path) == []
        assert http.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "processing"


def test_duplicate_complete_is_409_and_keeps_the_first_video(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
    other = DEMO_MP4[:100] + b"x" * 50
    assert_error(upload(client, work["job_id"], video=other, token=work["claim_token"]), 409, "job_completed")
    assert stored_bytes(server.settings.video_storage_path, f"{work['job_id']}.mp4") == DEMO_MP4
    assert stored_names(server.settings.video_storage_path) == [f"{work['job_id']}.mp4"]


def test_complete_with_a_foreign_token_is_409(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    assert_error(upload(client, work["job_id"], token="someone-else"), 409, "lease_mismatch", "claim_token")
    assert no_files_left(server)


def test_a_worker_whose_lease_expired_cannot_complete(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    server.clock.advance(server.settings.job_timeout_seconds + 1)
    assert_error(upload(client, work["job_id"], token=work["claim_token"]), 409, "lease_expired")
    assert_error(
        client.post("/extension/progress", json={"job_id": work["job_id"], "claim_token": work["claim_token"]}),
        409,
        "lease_expired",
    )
    assert no_files_left(server)
    assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "processing"


# -- error -----------------------------------------------------------------------------------


def test_error_report_fails_the_job_with_its_code(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    reply = client.post(
        "/extension/error",
        json={
            "job_id": work["job_id"],
            "error": "Rate limit reached",
            "code": "rate_limited",
            "claim_token": work["claim_token"],
        },
    )
    assert reply.status_code == 200
    # No other worker is at work: nothing to retry on, so it fails now (docs/retries.md); the worker rests.
    assert reply.json() == {
        "job_id": work["job_id"],
        "status": "failed",
        "error": "Rate limit reached",
        "error_code": "rate_limited",
        "retried": False,
        "attempts": 1,
        "cooldown_until": 1750000060.0,
    }
    listed = client.get("/jobs", params={"status": "failed"}).json()["data"][0]
    assert listed["error_code"] == "rate_limited"


def test_error_report_without_code_uses_worker_error(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    reply = client.post("/extension/error", json={"job_id": work["job_id"], "error": "Error message"})
    assert reply.json()["error_code"] == "worker_error"


def test_late_and_duplicate_error_reports_change_nothing(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"]).status_code == 200
    late = client.post("/extension/error", json={"job_id": work["job_id"], "error": "boom"})
    assert_error(late, 409, "job_completed")
    assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["status"] == "completed"

    create_job(client)
    work = claim(client)
    assert client.post("/extension/error", json={"job_id": work["job_id"], "error": "one"}).status_code == 200
    assert_error(client.post("/extension/error", json={"job_id": work["job_id"], "error": "two"}), 409, "job_failed")
    assert_error(upload(client, work["job_id"]), 409, "job_failed")
    assert client.get(f"/v1/videos/generations/{work['job_id']}").json()["error"] == "one"


@pytest.mark.parametrize(
    ("report", "error", "code"),
    [
        ({"error": "Network down", "code": "network"}, "Network down (worker code: network)", "worker_error"),
        ({"error": "x", "code": None}, "x", "worker_error"),
        ({"error": ""}, "The worker reported a failure without a message", "worker_error"),
        ({}, "The worker reported a failure without a message", "worker_error"),
        ({"error": "y" * 5000, "code": "timeout"}, "y" * 4000, "timeout"),
    ],
)
def test_failure_reports_are_never_lost_for_their_wording(
    client: httpx.Client,
    report: dict,  # type: ignore[type-arg]
    error: str,
    code: str,
) -> None:
    create_job(client)
    work = claim(client)
    reply = client.post("/extension/error", json={"job_id": work["job_id"], **report})
    assert reply.status_code == 200, reply.text
    assert reply.json()["error"] == error
    assert reply.json()["error_code"] == code


def test_error_report_without_job_id_is_400(client: httpx.Client) -> None:
    assert_error(client.post("/extension/error", json={"error": "x"}), 400, param="job_id")


def test_error_on_unknown_job_is_404(client: httpx.Client) -> None:
    assert_error(client.post("/extension/error", json={"job_id": "job_x", "error": "e"}), 404, "job_not_found")


# -- malformed and truncated uploads ------------------------------------------------------------


def raw_upload(client: httpx.Client, body: bytes, boundary: str = "BND") -> httpx.Response:
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    return client.post("/extension/complete", content=body, headers=headers)


def test_truncated_upload_is_refused_and_never_served(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    body = (
        f'--BND\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{work["job_id"]}\r\n'
        '--BND\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n\r\n'
    ).encode() + DEMO_MP4[: len(DEMO_MP4) // 2]
    assert_error(raw_upload(client, body), 400, "incomplete_body")
    assert no_files_left(server)
    assert_error(client.get(f"/videos/{work['job_id']}.mp4"), 404, "video_not_ready")


@pytest.mark.parametrize(
    ("body", "boundary"),
    [
        (b"hello world", "abc"),
        (b"--BND\r\nno colon here\r\n\r\nx\r\n--BND--\r\n", "BND"),
        (b"--BND\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\nx\r\n--BND--\r\n", "BND"),
        (b"--" + b"b" * 100 + b"--\r\n", "b" * 100),
    ],
)
def test_malformed_multipart_is_400(client: httpx.Client, server: ThreadServer, body: bytes, boundary: str) -> None:
    assert_error(raw_upload(client, body, boundary), 400, "invalid_multipart")
    assert no_files_left(server)


def test_other_parts_cannot_stream_without_limit(client: httpx.Client) -> None:
    create_job(client)
    work = claim(client)

    def body():  # type: ignore[no-untyped-def]
        yield f'--BND\r\nContent-Disposition: form-data; name="job_id"\r\n\r\n{work["job_id"]}\r\n'.encode()
        yield b'--BND\r\nContent-Disposition: form-data; name="junk"; filename="j.bin"\r\n\r\n'
        for _ in range(100):
            yield b"x" * 10_000
        yield b"\r\n--BND--\r\n"

    reply = client.post(
        "/extension/complete", content=body(), headers={"content-type": "multipart/form-data; boundary=BND"}
    )
    assert_error(reply, 413, "fields_too_large")


def test_starting_an_upload_renews_the_lease(client: httpx.Client, server: ThreadServer) -> None:
    create_job(client)
    work = claim(client)
    server.clock.advance(server.settings.job_timeout_seconds - 1)
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200


def test_large_images_reach_the_worker_intact(client: httpx.Client) -> None:
    image = PNG_1PX + bytes(range(256)) * 4096  # about 1 MB
    create_job(client, image=base64.b64encode(image).decode())
    work = claim(client)
    assert base64.b64decode(work["image"]) == image
