"""Getting the video from Grok to the server: an upload the server refuses for a moment, a result from elsewhere."""

from __future__ import annotations

import httpx
from imagine import generated_mp4
from playwright.sync_api import Route

from conftest import Browser, wait_for_job
from support import ProcessServer, create_job


def test_an_upload_the_server_answers_with_503_is_retried(
    worker: Browser, api: httpx.Client, server: ProcessServer
) -> None:
    refused: list[str] = []

    def complete(route: Route) -> None:
        if not refused:
            refused.append(route.request.method)
            route.fulfill(status=503, json={"error": {"message": "busy", "type": "server_error", "code": None}})
        else:
            route.continue_()

    worker.context.route(f"{server.url}/extension/complete", complete)
    job = wait_for_job(worker, api, create_job(api, "a retried upload")["id"])
    assert job["status"] == "completed", (job["error_code"], job["error"])
    assert refused == ["POST"]
    assert api.get(job["video_url"]).content == generated_mp4()


def test_a_result_that_is_not_on_grok_asset_hosts_is_refused(worker: Browser, api: httpx.Client) -> None:
    # The page shows a generated video from some other host (it plays there); the worker must not fetch it.
    worker.context.route("https://cdn.example.net/**", lambda route: route.fulfill(body=generated_mp4()))
    worker.imagine.asset_host = "https://cdn.example.net"
    failed = wait_for_job(worker, api, create_job(api, "a foreign result")["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "ui_changed")
    assert "not on Grok's asset host" in failed["error"]
    assert worker.imagine.video_fetches == []

    worker.imagine.asset_host = "https://assets.grok.com"
    done = wait_for_job(worker, api, create_job(api, "back to normal")["id"])
    assert done["status"] == "completed", (done["error_code"], done["error"])


def test_an_upload_cut_off_by_chrome_stopping_the_service_worker_is_resumed(
    worker: Browser, api: httpx.Client, server: ProcessServer
) -> None:
    held: list[Route] = []
    sent_again: list[str] = []

    def complete(route: Route) -> None:
        if not held:
            held.append(route)  # in flight when the worker stops; never answered
        else:
            sent_again.append(route.request.method)
            route.continue_()

    worker.context.route(f"{server.url}/extension/complete", complete)
    job = create_job(api, "an upload interrupted")
    worker.wait(lambda: held, timeout=60)
    assert (worker.storage("current").get("current") or {}).get("phase") == "uploading"
    worker.stop_service_worker()
    held[0].abort()
    # The next instance finds the job mid-transfer in storage and fetches and sends the video again.
    done = wait_for_job(worker, api, job["id"], timeout=90)
    assert done["status"] == "completed", (done["error_code"], done["error"])
    assert api.get(done["video_url"]).content == generated_mp4()
    assert sent_again == ["POST"]
