"""Webhooks end to end: a real server (a thread, with a fake clock) ends jobs through the worker protocol, a real
receiver gets the events, and the official `openai` SDK and the `standardwebhooks` package verify them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import standardwebhooks
from webhook_receiver import OTHER_SECRET, SECRET, Received, Receiver

from grok_imagine_api.api.auth import owner_of
from support import IMAGE_WORKER, PNG_1PX, ThreadServer, bearer, claim, create_job, settings_for, upload, wait_until


def serve(tmp_path: Path, receiver: Receiver, **overrides: Any) -> ThreadServer:
    values: dict[str, Any] = {"webhook_url": receiver.url, "webhook_secret": SECRET, "allow_private_urls": True}
    return ThreadServer(settings_for(tmp_path, **{**values, **overrides}))


@pytest.fixture
def server(tmp_path: Path, receiver: Receiver) -> Iterator[ThreadServer]:
    with serve(tmp_path, receiver) as running:
        yield running


def verified(received: Received, secret: str = SECRET) -> dict[str, Any]:
    """The event, after both verifiers accept the signature (each raises otherwise)."""
    event = openai.OpenAI(api_key="unused").webhooks.unwrap(received.body, received.headers, secret=secret)
    payload: dict[str, Any] = standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    assert payload == event.to_dict()
    return payload


def attempts_logged(client: httpx.Client) -> int:
    """Attempts the server has recorded of its latest delivery."""
    listed = client.get("/webhooks/deliveries").json()["data"]
    return int(listed[0]["attempts"]) if listed else 0


def complete_video(client: httpx.Client) -> str:
    job = create_job(client)
    work = claim(client)
    assert work["job_id"] == job["id"]
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
    job_id: str = job["id"]
    return job_id


def test_a_completed_video_is_signed_for_openai_and_standard_webhooks(server: ThreadServer, receiver: Receiver) -> None:
    with server.client() as client:
        job_id = complete_video(client)
        [got] = wait_until(receiver.delivered)
        event = verified(got)
        assert set(event) == {"id", "object", "created_at", "type", "data"}
        assert event["object"] == "event" and event["type"] == "video.completed"
        assert event["data"] == {"id": job_id}
        assert event["id"].startswith("evt_") and got.webhook_id == event["id"]
        assert isinstance(event["created_at"], int)
        assert got.headers["content-type"] == "application/json"
        unwrapped = openai.OpenAI(api_key="unused").webhooks.unwrap(got.body, got.headers, secret=SECRET)
        assert unwrapped.type == "video.completed" and unwrapped.data.id == job_id
        with pytest.raises(openai.InvalidWebhookSignatureError):
            openai.OpenAI(api_key="unused").webhooks.unwrap(got.body, got.headers, secret=OTHER_SECRET)
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(SECRET).verify(got.body + b" ", got.headers)


def test_failed_and_cancelled_videos_emit_video_failed(server: ThreadServer, receiver: Receiver) -> None:
    with server.client() as client:
        failed = create_job(client)
        work = claim(client)
        reply = client.post(
            "/extension/error",
            json={"job_id": work["job_id"], "claim_token": work["claim_token"], "error": "no", "code": "moderated"},
        )
        assert reply.status_code == 200 and reply.json()["status"] == "failed"
        cancelled = create_job(client)
        assert client.post(f"/jobs/{cancelled['id']}/cancel").status_code == 200
        got = wait_until(lambda: len(receiver.delivered()) == 2 and receiver.delivered())
        events = {verified(r)["data"]["id"]: verified(r)["type"] for r in got}
        assert events == {failed["id"]: "video.failed", cancelled["id"]: "video.failed"}


def test_image_jobs_emit_image_events(server: ThreadServer, receiver: Receiver) -> None:
    with server.client() as client:
        done = client.post("/v1/images/generations", json={"prompt": "a"}, headers={"Prefer": "respond-async"})
        assert done.status_code in (200, 202), done.text
        work = wait_until(lambda: client.get("/extension/poll", params=IMAGE_WORKER).json() or None)
        files = [("image", ("0.png", PNG_1PX, "image/png"))]
        data = {"job_id": work["job_id"], "claim_token": work["claim_token"]}
        assert client.post("/extension/complete", data=data, files=files).status_code == 200
        client.post("/v1/images/generations", json={"prompt": "b"}, headers={"Prefer": "respond-async"})
        work2 = wait_until(lambda: client.get("/extension/poll", params=IMAGE_WORKER).json() or None)
        body = {"job_id": work2["job_id"], "claim_token": work2["claim_token"], "error": "x", "code": "moderated"}
        assert client.post("/extension/error", json=body).status_code == 200
        got = wait_until(lambda: len(receiver.delivered()) == 2 and receiver.delivered())
        events = {verified(r)["data"]["id"]: verified(r)["type"] for r in got}
        assert events == {work["job_id"]: "image.completed", work2["job_id"]: "image.failed"}


def test_a_receiver_that_is_down_gets_the_event_later_under_the_same_id(
    server: ThreadServer, receiver: Receiver
) -> None:
    receiver.status = 503
    with server.client() as client:
        job_id = complete_video(client)
        # Down for two minutes: tried at once, then 15 s, 30 s and 60 s later (the server's clock).
        for tries, wait in ((1, 15), (2, 30), (3, 60)):
            wait_until(lambda tries=tries: attempts_logged(client) == tries)  # type: ignore[misc]
            server.clock.advance(wait)
        wait_until(lambda: attempts_logged(client) == 4)
        receiver.status = 200
        server.clock.advance(120)
        [got] = wait_until(receiver.delivered)
        verified(got)
        attempts = receiver.all()
        assert len(attempts) == 5
        assert {r.webhook_id for r in attempts} == {got.webhook_id}
        assert {r.body for r in attempts} == {got.body}
        assert got.event["data"]["id"] == job_id
        log = client.get("/webhooks/deliveries").json()
        [delivery] = log["data"]
        assert delivery["status"] == "delivered" and delivery["attempts"] == len(attempts)
        assert [a["status_code"] for a in delivery["log"]] == [503] * (len(attempts) - 1) + [200]
        assert delivery["event_id"] == got.webhook_id and delivery["type"] == "video.completed"
        assert delivery["host"] == "127.0.0.1" and delivery["delivered_at"] is not None


def test_the_delivery_log_and_metrics_show_the_queue(server: ThreadServer, receiver: Receiver) -> None:
    receiver.status = 500
    with server.client() as client:
        job_id = complete_video(client)
        wait_until(lambda: len(receiver.all()) == 1)
        log = wait_until(lambda: (r := client.get("/webhooks/deliveries").json())["data"][0]["attempts"] == 1 and r)
        assert log["pending"] == 1 and log["configured"] is True
        [delivery] = log["data"]
        assert delivery["job_id"] == job_id and delivery["status"] == "pending"
        assert delivery["last_status_code"] == 500 and delivery["last_error"] == "HTTP 500"
        assert delivery["next_attempt_at"] == pytest.approx(delivery["log"][0]["at"] + 15)
        metrics = client.get("/metrics").text
        assert "grok_imagine_webhook_queue_depth 1.0" in metrics
        assert "grok_imagine_webhook_retries_total 1.0" in metrics
        receiver.status = 204
        server.clock.advance(15)
        wait_until(lambda: receiver.delivered())
        wait_until(
            lambda: 'grok_imagine_webhook_deliveries_total{outcome="delivered"} 1.0' in client.get("/metrics").text
        )
        assert "grok_imagine_webhook_queue_depth 0.0" in client.get("/metrics").text


def test_each_key_gets_its_own_endpoint_and_log(tmp_path: Path, receiver: Receiver) -> None:
    with Receiver() as own:
        keys = tmp_path / "keys.txt"
        keys.write_text(f"# clients\nsk-one webhook_url={own.url} webhook_secret={OTHER_SECRET}\nsk-two\n")
        with serve(tmp_path, receiver, api_keys_file=keys) as server, server.client() as worker:
            one = httpx.Client(base_url=server.url, headers=bearer("sk-one"))
            two = httpx.Client(base_url=server.url, headers=bearer("sk-two"))
            with one, two:
                mine = create_job(one)["id"]
                claimed = claim(worker)
                assert upload(worker, claimed["job_id"], token=claimed["claim_token"]).status_code == 200
                theirs = create_job(two)["id"]
                claimed = claim(worker)
                assert upload(worker, claimed["job_id"], token=claimed["claim_token"]).status_code == 200
                wait_until(lambda: len(receiver.delivered()) == 2 and len(own.delivered()) == 1)
                [private] = own.delivered()
                assert verified(private, OTHER_SECRET)["data"]["id"] == mine
                assert {verified(r)["data"]["id"] for r in receiver.delivered()} == {mine, theirs}
                # The server-wide endpoint and the key's share the event id: one event, two endpoints.
                assert private.webhook_id in {r.webhook_id for r in receiver.delivered()}
                # A key sees the deliveries to its own endpoint; where WEBHOOK_URL points is the operator's.
                listed = one.get("/webhooks/deliveries").json()["data"]
                assert {(d["job_id"], d["endpoint"]) for d in listed} == {(mine, "key")}
                assert two.get("/webhooks/deliveries").json()["data"] == []
                assert worker.get("/webhooks/deliveries").status_code == 401
        assert owner_of("sk-one") != owner_of("sk-two")


def test_without_endpoints_nothing_is_sent_and_nothing_piles_up(tmp_path: Path, receiver: Receiver) -> None:
    with ThreadServer(settings_for(tmp_path)) as server, server.client() as client:
        complete_video(client)
        log = client.get("/webhooks/deliveries").json()
        assert log == {"object": "list", "configured": False, "pending": 0, "data": []}
        outbox = server.app.state.webhooks.outbox
        wait_until(lambda: not server.run(outbox.has_events()))
    assert receiver.all() == []


def test_an_endpoint_that_hangs_holds_up_no_other(tmp_path: Path, receiver: Receiver) -> None:
    receiver.hold.clear()  # the server-wide endpoint takes its time answering
    with Receiver() as own:
        keys = tmp_path / "keys.txt"
        keys.write_text(f"sk-one webhook_url={own.url} webhook_secret={OTHER_SECRET}\n")
        settings = {"api_keys_file": keys, "webhook_timeout_seconds": 60}
        with serve(tmp_path, receiver, **settings) as server, server.client() as worker:
            with httpx.Client(base_url=server.url, headers=bearer("sk-one")) as one:
                for _ in range(2):
                    create_job(one)
                    claimed = claim(worker)
                    assert upload(worker, claimed["job_id"], token=claimed["claim_token"]).status_code == 200
                # Both events reach the key's endpoint while the first send to the hanging one still waits.
                wait_until(lambda: len(own.delivered()) == 2, timeout=20)
                assert receiver.all() == []
            receiver.hold.set()
            wait_until(lambda: len(receiver.delivered()) == 2, timeout=20)
