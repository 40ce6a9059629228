from __future__ import annotations

import base64
from pathlib import Path

import httpx

from support import PNG_1PX, ThreadServer, assert_error, bearer, claim, create_job, settings_for, upload


def ids(reply: httpx.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [job["id"] for job in reply.json()["data"]]


def test_search_matches_prompt_text_in_any_case_or_an_exact_id(client: httpx.Client) -> None:
    cat = create_job(client, "A Cat playing piano")["id"]
    dog = create_job(client, "a dog on a skateboard")["id"]
    organic = create_job(client, "100% organic_ingredients, C:\\tmp\\x")["id"]
    assert ids(client.get("/jobs", params={"q": "cat"})) == [cat]
    assert ids(client.get("/jobs", params={"q": "  PIANO "})) == [cat]
    assert ids(client.get("/jobs", params={"q": dog})) == [dog]
    assert ids(client.get("/jobs", params={"q": dog[:8]})) == []
    assert ids(client.get("/jobs", params={"q": "nothing like this"})) == []
    # LIKE's wildcards and its escape character are plain characters here.
    assert ids(client.get("/jobs", params={"q": "%"})) == [organic]
    assert ids(client.get("/jobs", params={"q": "c_ganic"})) == []  # "_" would match the "r" of "organic"
    assert ids(client.get("/jobs", params={"q": "organic_ing"})) == [organic]
    assert ids(client.get("/jobs", params={"q": "100%_organic"})) == []  # "%_" would match "% o"
    assert ids(client.get("/jobs", params={"q": "C:\\tmp\\x"})) == [organic]
    assert ids(client.get("/jobs", params={"q": "tmp\\"})) == [organic]
    assert len(ids(client.get("/jobs", params={"q": ""}))) == 3


def test_search_never_shows_another_owners_jobs(tmp_path: Path) -> None:
    with (
        ThreadServer(settings_for(tmp_path, api_keys=["key-a", "key-b"])) as server,
        server.client(headers=bearer("key-a")) as alice,
        server.client(headers=bearer("key-b")) as bob,
    ):
        secret = create_job(alice, "alice's secret garden")["id"]
        assert ids(bob.get("/jobs", params={"q": "secret garden"})) == []
        assert ids(bob.get("/jobs", params={"q": secret})) == []
        assert ids(alice.get("/jobs", params={"q": secret})) == [secret]


def test_search_combines_with_status_and_pages(client: httpx.Client) -> None:
    wanted = [create_job(client, f"sunset number {i}")["id"] for i in range(5)]
    create_job(client, "something else")
    claim(client)  # the oldest sunset
    pending = client.get("/jobs", params={"q": "sunset", "status": "pending", "limit": 2}).json()
    assert [j["id"] for j in pending["data"]] == wanted[::-1][:2]
    rest = client.get("/jobs", params={"q": "sunset", "status": "pending", "cursor": pending["next_cursor"]})
    assert ids(rest) == wanted[::-1][2:4]


def test_search_text_is_limited(client: httpx.Client) -> None:
    assert_error(client.get("/jobs", params={"q": "x" * 201}), 400, param="q")


def test_one_job_in_detail(client: httpx.Client) -> None:
    job = create_job(client, "detail", aspect_ratio="9:16", mode="fun")
    body = client.get(f"/jobs/{job['id']}").json()
    assert body["id"] == job["id"]
    assert body["prompt"] == "detail"
    assert body["options"]["aspect_ratio"] == "9:16"
    assert body["status"] == "pending"
    assert_error(client.get("/jobs/nope"), 404, "job_not_found")


def test_the_input_image_is_served_to_its_viewer(client: httpx.Client) -> None:
    job = create_job(client, image=base64.b64encode(PNG_1PX).decode())
    reply = client.get(f"/jobs/{job['id']}/image")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/png"
    assert reply.content == PNG_1PX
    plain = create_job(client)
    assert_error(client.get(f"/jobs/{plain['id']}/image"), 404, "image_not_found")


def test_cancel_a_queued_job_keeps_it_listed_and_never_hands_it_out(client: httpx.Client) -> None:
    job = create_job(client)
    reply = client.post(f"/jobs/{job['id']}/cancel")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "failed"
    assert reply.json()["error_code"] == "cancelled"
    assert client.get("/extension/poll").status_code == 204
    assert ids(client.get("/jobs")) == [job["id"]]
    assert client.get(f"/v1/videos/generations/{job['id']}").json()["error"] == "Cancelled by the client"
    # Cancelling again is harmless.
    assert client.post(f"/jobs/{job['id']}/cancel").json()["error_code"] == "cancelled"


def test_cancel_a_running_job_tells_its_worker_to_stop(client: httpx.Client) -> None:
    job = create_job(client)
    lease = claim(client)
    assert client.post(f"/jobs/{job['id']}/cancel").status_code == 200
    report = client.post("/extension/progress", json={"job_id": job["id"], "claim_token": lease["claim_token"]})
    assert report.json()["cancelled"] is True
    assert_error(upload(client, job["id"], token=lease["claim_token"]), 409, "job_cancelled")


def test_a_finished_job_cannot_be_cancelled(client: httpx.Client) -> None:
    job = create_job(client)
    lease = claim(client)
    assert upload(client, job["id"], token=lease["claim_token"]).status_code == 200
    assert_error(client.post(f"/jobs/{job['id']}/cancel"), 409, "job_finished")
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "completed"
    assert_error(client.post("/jobs/nope/cancel"), 404, "job_not_found")


def test_run_again_copies_prompt_options_and_image(client: httpx.Client) -> None:
    first = create_job(client, "again", aspect_ratio="1:1", resolution="480p", image=base64.b64encode(PNG_1PX).decode())
    client.post(f"/jobs/{first['id']}/cancel")
    reply = client.post(f"/jobs/{first['id']}/rerun")
    assert reply.status_code == 201, reply.text
    again = reply.json()
    assert again["id"] != first["id"]
    assert again["status"] == "pending"
    assert again["prompt"] == "again"
    assert again["options"]["aspect_ratio"] == "1:1"
    assert again["options"]["resolution"] == "480p"
    assert client.get(f"/jobs/{again['id']}/image").content == PNG_1PX
    assert_error(client.post("/jobs/nope/rerun"), 404, "job_not_found")


def test_remixes_cannot_be_run_again(client: httpx.Client) -> None:
    job = create_job(client)
    lease = claim(client)
    upload(client, job["id"], token=lease["claim_token"])
    remix = client.post(f"/v1/videos/{job['id']}/remix", json={"prompt": "again, but blue"}).json()
    assert_error(client.post(f"/jobs/{remix['id']}/rerun"), 400, "not_rerunnable")
