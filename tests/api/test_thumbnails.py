from __future__ import annotations

import threading

import httpx

from support import ThreadServer, claim, create_job, stored_names, upload

TRIALS = 20
REQUESTS = 16


def finished_video(client: httpx.Client) -> str:
    create_job(client)
    work = claim(client)
    assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
    return str(work["job_id"])


def first_requests_at_once(server: ThreadServer, video_id: str) -> list[httpx.Response]:
    """REQUESTS clients ask for a thumbnail that does not exist yet, released together."""
    start = threading.Barrier(REQUESTS)
    replies: list[httpx.Response] = []

    def ask() -> None:
        with server.client() as http:
            start.wait(timeout=30)
            replies.append(http.get(f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"}))

    threads = [threading.Thread(target=ask) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replies) == REQUESTS
    return replies


def test_concurrent_first_requests_for_a_thumbnail_all_get_it(client: httpx.Client, server: ThreadServer) -> None:
    failures: list[str] = []
    for _ in range(TRIALS):
        video_id = finished_video(client)
        replies = first_requests_at_once(server, video_id)
        failures += [
            f"{video_id}: {reply.status_code} {reply.text[:80]}" for reply in replies if reply.status_code != 200
        ]
        made = {reply.content for reply in replies if reply.status_code == 200}
        failures += [f"{video_id}: not a JPEG: {body[:8]!r}" for body in made if body[:3] != b"\xff\xd8\xff"]
        if len(made) > 1:
            failures.append(f"{video_id}: {len(made)} different thumbnails")
    trials = len({failure.split(":")[0] for failure in failures})
    assert failures == [], f"{len(failures)} failures in {trials} of {TRIALS} trials of {REQUESTS}: {failures[:3]}"
    names = stored_names(server.settings.video_storage_path)
    assert len([name for name in names if name.endswith(".jpg")]) == TRIALS
    assert [name for name in names if name.endswith(".part")] == []
