"""1,000 jobs end through the worker protocol: the receiver gets exactly 1,000 deliveries, counted by webhook-id,
none twice and none missing, though it refuses the first ones for a while (they are retried)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from webhook_receiver import SECRET, Receiver

from support import ThreadServer, claim, create_job, settings_for, upload, wait_until

JOBS = 1000


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_thousand_jobs_make_a_thousand_deliveries(
    tmp_path: Path, receiver: Receiver, store: str, request: pytest.FixtureRequest
) -> None:
    database_url = request.getfixturevalue("database_url") if store == "postgres" else None
    settings = settings_for(
        tmp_path,
        database_url=database_url,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        allow_private_urls=True,
        webhook_timeout_seconds=60,  # a lease of 65 s on the fake clock: moving it on never ends a send's lease
    )
    with ThreadServer(settings) as server, server.client() as client:
        receiver.status = 500  # down while the first hundred end: those are retried later
        ids = set()
        for i in range(JOBS):
            if i == 100:
                receiver.status = 200
            ids.add(create_job(client, f"job {i}")["id"])
            work = claim(client)
            if i % 10 == 0:  # a tenth complete with a video, the others fail (no retry for moderation)
                assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
            else:
                body = {"job_id": work["job_id"], "claim_token": work["claim_token"], "error": "x", "code": "moderated"}
                assert client.post("/extension/error", json=body).status_code == 200

        def all_delivered() -> bool:
            # Brings the refused ones' retries due (15 s after their attempt), a little at a time and only while no
            # send is in flight: a jump past a send's lease would have it sent again, as after a crash.
            if not server.app.state.webhooks._sending:
                server.clock.advance(14)
            return len({r.webhook_id for r in receiver.delivered()}) >= JOBS

        wait_until(all_delivered, timeout=120, interval=0.2)
        delivered = Counter(r.webhook_id for r in receiver.delivered())
        assert len(delivered) == JOBS and set(delivered.values()) == {1}
        assert {r.event["data"]["id"] for r in receiver.delivered()} == ids
        assert Counter(r.event["type"] for r in receiver.delivered()) == {"video.completed": 100, "video.failed": 900}
        wait_until(lambda: client.get("/webhooks/deliveries", params={"limit": 1}).json()["pending"] == 0)
