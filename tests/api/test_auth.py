"""Access control: API keys for clients, the worker token for workers, signed video links.

The matrix tests run every client route and every worker route against a real server with two API keys (Alice's
and Bob's) and a worker token, and check each kind of caller: nobody, a wrong key, the wrong kind of credential,
another client's key, and the right one.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from grok_imagine_api.api.auth import Auth
from support import (
    DEMO_MP4,
    PNG_1PX,
    ROOT,
    ThreadServer,
    assert_error,
    bearer,
    claim,
    create_job,
    settings_for,
    upload,
)

ALICE = "sk-alice-3f9a0c5e"
BOB = "sk-bob-71d2e4aa"
WORKER = "wt-worker-c0ffee42"
WRONG_KEY = "sk-not-a-key-0000"


@dataclass
class World:
    """A server with API keys and a worker token, and a client for each kind of caller."""

    server: ThreadServer
    anon: httpx.Client
    alice: httpx.Client
    bob: httpx.Client
    worker: httpx.Client

    def pending_job(self, prompt: str = "A cat playing piano") -> str:
        return str(create_job(self.alice, prompt)["id"])

    def completed_job(self) -> str:
        job_id = self.pending_job("a source video")
        work = claim(self.worker)
        assert work["job_id"] == job_id
        reply = upload(self.worker, job_id, token=work["claim_token"])
        assert reply.status_code == 200, reply.text
        return job_id

    def health(self) -> dict[str, Any]:
        reply = self.anon.get("/health")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def snapshot(self, job_id: str | None) -> tuple[Any, ...]:
        """Everything a refused request must leave as it was."""
        job = self.alice.get(f"/v1/videos/{job_id}").json() if job_id else None
        return self.health(), self.alice.get("/jobs").json(), job


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = settings_for(tmp_path, api_keys=[ALICE, BOB], worker_token=WORKER)
    with (
        ThreadServer(settings) as server,
        server.client() as anon,
        server.client(headers=bearer(ALICE)) as alice,
        server.client(headers=bearer(BOB)) as bob,
        server.client(headers=bearer(WORKER)) as worker,
    ):
        yield World(server, anon, alice, bob, worker)


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def send(self, http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        return http.request(self.method, self.url, json=self.json, data=self.data, files=self.files, headers=headers)


def assert_unauthorized(reply: httpx.Response, code: str | None = None) -> None:
    assert_error(reply, 401, code)
    assert reply.headers["www-authenticate"] == "Bearer"


# -- client routes -----------------------------------------------------------------------------
#
# kind "create": the call makes a new job for the caller.
# kind "job":    the call acts on (or starts from) one of Alice's jobs, whose id `prepare` returns.
# kind "list":   the call lists the caller's jobs; `prepare` returns the id of one of Alice's.


@dataclass(frozen=True)
class ClientRoute:
    name: str
    kind: str
    prepare: Callable[[World], tuple[Call, str | None]]

    def __str__(self) -> str:
        return self.name


def _create(call: Call) -> Callable[[World], tuple[Call, str | None]]:
    return lambda w: (call, None)


def _on_pending(method: str, template: str, **kwargs: Any) -> Callable[[World], tuple[Call, str | None]]:
    def prepare(w: World) -> tuple[Call, str | None]:
        job_id = w.pending_job()
        return Call(method, template.format(id=job_id), **kwargs), job_id

    return prepare


def _on_completed(method: str, template: str, **kwargs: Any) -> Callable[[World], tuple[Call, str | None]]:
    def prepare(w: World) -> tuple[Call, str | None]:
        job_id = w.completed_job()
        json = kwargs.get("json")
        if isinstance(json, dict) and "video" in json:
            json = {**json, "video": {"id": job_id}}
        return Call(method, template.format(id=job_id), json=json), job_id

    return prepare


CLIENT_ROUTES = [
    ClientRoute(
        "POST /v1/videos/generations",
        "create",
        _create(Call("POST", "/v1/videos/generations", json={"model": "grok", "prompt": "A cat"})),
    ),
    ClientRoute(
        "POST /v1/video/generations",
        "create",
        _create(Call("POST", "/v1/video/generations", json={"model": "grok", "prompt": "A cat"})),
    ),
    ClientRoute("POST /v1/videos (JSON)", "create", _create(Call("POST", "/v1/videos", json={"prompt": "A cat"}))),
    ClientRoute(
        "POST /v1/videos (multipart)",
        "create",
        _create(
            Call(
                "POST",
                "/v1/videos",
                data={"prompt": "A cat"},
                files={"input_reference": ("ref.png", PNG_1PX, "image/png")},
            )
        ),
    ),
    ClientRoute(
        "POST /v1/videos/extensions (upload)",
        "create",
        _create(
            Call(
                "POST",
                "/v1/videos/extensions",
                data={"prompt": "and then it rains"},
                files={"video": ("in.mp4", DEMO_MP4, "video/mp4")},
            )
        ),
    ),
    ClientRoute(
        "POST /v1/videos/edits (upload)",
        "create",
        _create(
            Call(
                "POST",
                "/v1/videos/edits",
                data={"prompt": "make it night"},
                files={"video": ("in.mp4", DEMO_MP4, "video/mp4")},
            )
        ),
    ),
    ClientRoute("GET /v1/videos/generations/{id}", "job", _on_pending("GET", "/v1/videos/generations/{id}")),
    ClientRoute("GET /v1/video/generations/{id}", "job", _on_pending("GET", "/v1/video/generations/{id}")),
    ClientRoute("GET /v1/videos/{id}", "job", _on_pending("GET", "/v1/videos/{id}")),
    ClientRoute("DELETE /v1/videos/{id}", "job", _on_pending("DELETE", "/v1/videos/{id}")),
    ClientRoute("GET /v1/videos/{id}/content", "job", _on_completed("GET", "/v1/videos/{id}/content")),
    ClientRoute(
        "POST /v1/videos/{id}/remix",
        "job",
        _on_completed("POST", "/v1/videos/{id}/remix", json={"prompt": "now in space"}),
    ),
    ClientRoute(
        "POST /v1/videos/extensions (by id)",
        "job",
        _on_completed("POST", "/v1/videos/extensions", json={"prompt": "and then it rains", "video": {}}),
    ),
    ClientRoute(
        "POST /v1/videos/edits (by id)",
        "job",
        _on_completed("POST", "/v1/videos/edits", json={"prompt": "make it night", "video": {}}),
    ),
    ClientRoute("GET /v1/videos", "list", _on_pending("GET", "/v1/videos")),
    ClientRoute("GET /jobs", "list", _on_pending("GET", "/jobs")),
    ClientRoute("GET /jobs/{id}", "job", _on_pending("GET", "/jobs/{id}")),
]

CLIENT_REFUSED = {
    "no key": ({}, "invalid_api_key"),
    "wrong key": (bearer(WRONG_KEY), "invalid_api_key"),
    "worker token": (bearer(WORKER), "worker_token_not_allowed"),
}


@pytest.mark.parametrize("caller", list(CLIENT_REFUSED))
@pytest.mark.parametrize("route", CLIENT_ROUTES, ids=str)
def test_client_route_refuses_callers_without_a_client_key(world: World, route: ClientRoute, caller: str) -> None:
    call, job_id = route.prepare(world)
    headers, code = CLIENT_REFUSED[caller]
    before = world.snapshot(job_id)
    assert_unauthorized(call.send(world.anon, headers), code)
    assert world.snapshot(job_id) == before, "a refused request changed something"


@pytest.mark.parametrize("route", CLIENT_ROUTES, ids=str)
def test_client_route_hides_another_keys_jobs(world: World, route: ClientRoute) -> None:
    call, job_id = route.prepare(world)
    before = world.snapshot(job_id)
    reply = call.send(world.anon, bearer(BOB))
    if route.kind == "create":
        # Bob may create jobs of his own; they are his, and invisible to Alice.
        assert reply.status_code == 200, reply.text
        new_id = reply.json()["id"]
        assert world.bob.get(f"/v1/videos/{new_id}").status_code == 200
        assert_error(world.alice.get(f"/v1/videos/{new_id}"), 404, "job_not_found")
        assert new_id not in [job["id"] for job in world.alice.get("/jobs").json()["data"]]
    elif route.kind == "job":
        assert_error(reply, 404, "job_not_found")
        assert world.snapshot(job_id) == before, "a refused request changed something"
    else:
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"] == []
        assert world.snapshot(job_id) == before


@pytest.mark.parametrize("route", CLIENT_ROUTES, ids=str)
def test_client_route_serves_the_owner(world: World, route: ClientRoute) -> None:
    call, job_id = route.prepare(world)
    reply = call.send(world.anon, bearer(ALICE))
    assert reply.status_code == 200, reply.text
    if route.kind == "list":
        assert job_id in [job["id"] for job in reply.json()["data"]]
        return
    if call.method == "DELETE":
        assert reply.json() == {"id": job_id, "object": "video.deleted", "deleted": True}
        assert_error(world.alice.get(f"/v1/videos/{job_id}"), 404, "job_not_found")
        return
    if call.url.endswith("/content"):
        assert reply.headers["content-type"] == "video/mp4"
        assert reply.content == DEMO_MP4
        return
    body = reply.json()
    if call.method == "GET":
        assert body["id"] == job_id
        return
    # A creation: a new job of Alice's, which Bob cannot see.
    assert body["id"] != job_id
    assert body["status"] in ("pending", "queued")
    assert world.alice.get(f"/v1/videos/{body['id']}").status_code == 200
    assert_error(world.bob.get(f"/v1/videos/{body['id']}"), 404, "job_not_found")


def test_keys_are_compared_exactly(world: World) -> None:
    for near_miss in (ALICE.upper(), ALICE[:-1], ALICE + "x", f"{ALICE},{BOB}"):
        assert_unauthorized(world.anon.get("/jobs", headers=bearer(near_miss)), "invalid_api_key")
    for not_bearer in (f"Basic {ALICE}", ALICE, f"Token {ALICE}", "Bearer"):
        assert_unauthorized(world.anon.get("/jobs", headers={"Authorization": not_bearer}), "invalid_api_key")
    assert_unauthorized(world.anon.get("/extension/poll", headers={"Authorization": f"Basic {WORKER}"}))
    assert_unauthorized(world.anon.get("/extension/poll", headers={"Authorization": f"Basic {BOB}"}))
    # The scheme is case-insensitive (RFC 7235) and extra blanks before the key are ignored.
    assert world.anon.get("/jobs", headers={"Authorization": f"bearer   {ALICE}"}).status_code == 200


def test_listings_hold_only_the_callers_jobs(world: World) -> None:
    alices = {world.pending_job(f"alice {i}") for i in range(3)}
    bobs = {str(create_job(world.bob, f"bob {i}")["id"]) for i in range(2)}
    for http, mine in ((world.alice, alices), (world.bob, bobs)):
        assert {job["id"] for job in http.get("/jobs").json()["data"]} == mine
        assert {job["id"] for job in http.get("/v1/videos").json()["data"]} == mine
    # A cursor from someone else's job does not open their listing either.
    other = next(iter(alices))
    assert_error(world.bob.get("/v1/videos", params={"after": other}), 400, "invalid_cursor")


@pytest.mark.parametrize("action", ["cancel", "rerun", "image"])
def test_job_actions_belong_to_the_jobs_owner(world: World, action: str) -> None:
    image = base64.b64encode(PNG_1PX).decode()
    job_id = str(create_job(world.alice, "mine", image=image)["id"])
    call = Call("GET", f"/jobs/{job_id}/image") if action == "image" else Call("POST", f"/jobs/{job_id}/{action}")
    before = world.snapshot(job_id)
    for headers, code in CLIENT_REFUSED.values():
        assert_unauthorized(call.send(world.anon, headers), code)
    assert_error(call.send(world.anon, bearer(BOB)), 404, "job_not_found")
    assert world.snapshot(job_id) == before, "a refused request changed something"
    assert call.send(world.anon, bearer(ALICE)).status_code in (200, 201)


@pytest.mark.parametrize("path", ["/stats", "/workers"])
def test_operator_views_need_a_client_key(world: World, path: str) -> None:
    for headers, code in CLIENT_REFUSED.values():
        assert_unauthorized(world.anon.get(path, headers=headers), code)
    assert world.alice.get(path).status_code == 200


def test_health_and_root_stay_open(world: World) -> None:
    world.pending_job()
    for path in ("/", "/health"):
        for headers in ({}, bearer(WRONG_KEY), bearer(WORKER), bearer(ALICE)):
            reply = world.anon.get(path, headers=headers)
            assert reply.status_code == 200, reply.text
            assert reply.json()["status"] == "ok"
            assert reply.json()["jobs"]["pending"] == 1


def test_cors_preflight_needs_no_key(world: World) -> None:
    reply = world.anon.options(
        "/v1/videos/generations",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert reply.status_code == 200, reply.text
    assert "authorization" in reply.headers["access-control-allow-headers"].lower()


# -- worker routes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerRoute:
    name: str
    prepare: Callable[[World], tuple[Call, str]]
    check: Callable[[World, httpx.Response, str], None]

    def __str__(self) -> str:
        return self.name


def _poll(w: World) -> tuple[Call, str]:
    return Call("GET", "/extension/poll?client_id=tab-1&mode=video"), w.pending_job()


def _poll_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.json()["job_id"] == job_id
    assert reply.json()["claim_token"]


def _claimed(w: World) -> tuple[str, str]:
    job_id = w.pending_job()
    work = claim(w.worker)
    assert work["job_id"] == job_id
    return job_id, str(work["claim_token"])


def _progress(w: World) -> tuple[Call, str]:
    job_id, token = _claimed(w)
    return Call("POST", "/extension/progress", json={"job_id": job_id, "claim_token": token, "progress": 40}), job_id


def _progress_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.json()["progress"] == 40
    assert w.alice.get("/jobs?status=processing").json()["data"][0]["progress"] == 40


def _complete(w: World) -> tuple[Call, str]:
    job_id, token = _claimed(w)
    files = {"video": ("out.mp4", DEMO_MP4, "video/mp4")}
    return Call("POST", "/extension/complete", data={"job_id": job_id, "claim_token": token}, files=files), job_id


def _complete_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.json()["status"] == "completed"
    assert reply.json()["video_size"] == len(DEMO_MP4)
    assert w.alice.get(f"/v1/videos/{job_id}/content").content == DEMO_MP4


def _error(w: World) -> tuple[Call, str]:
    job_id, token = _claimed(w)
    body = {"job_id": job_id, "claim_token": token, "error": "Content Moderated.", "code": "moderated"}
    return Call("POST", "/extension/error", json=body), job_id


def _error_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.json()["status"] == "failed"
    assert w.alice.get(f"/v1/video/generations/{job_id}").json()["status"] == "failed"


def _source(w: World) -> tuple[Call, str]:
    source = w.completed_job()
    remix = w.alice.post(f"/v1/videos/{source}/remix", json={"prompt": "now in space"})
    assert remix.status_code == 200, remix.text
    return Call("GET", f"/extension/jobs/{remix.json()['id']}/source"), remix.json()["id"]


def _source_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.headers["content-type"] == "video/mp4"
    assert reply.content == DEMO_MP4


def _hello(w: World) -> tuple[Call, str]:
    return Call("GET", "/extension/hello"), w.pending_job()


def _hello_ok(w: World, reply: httpx.Response, job_id: str) -> None:
    assert reply.json()["queued"] == 1


WORKER_ROUTES = [
    WorkerRoute("GET /extension/hello", _hello, _hello_ok),
    WorkerRoute("GET /extension/poll", _poll, _poll_ok),
    WorkerRoute("POST /extension/progress", _progress, _progress_ok),
    WorkerRoute("POST /extension/complete", _complete, _complete_ok),
    WorkerRoute("POST /extension/error", _error, _error_ok),
    WorkerRoute("GET /extension/jobs/{id}/source", _source, _source_ok),
]

WORKER_REFUSED = {
    "no token": ({}, "invalid_worker_token"),
    "wrong token": (bearer("wt-guessed"), "invalid_worker_token"),
    "wrong X-Worker-Token": ({"X-Worker-Token": "wt-guessed"}, "invalid_worker_token"),
    "client key": (bearer(ALICE), "api_key_not_allowed"),
}


@pytest.mark.parametrize("caller", list(WORKER_REFUSED))
@pytest.mark.parametrize("route", WORKER_ROUTES, ids=str)
def test_worker_route_refuses_callers_without_the_worker_token(world: World, route: WorkerRoute, caller: str) -> None:
    call, job_id = route.prepare(world)
    headers, code = WORKER_REFUSED[caller]
    before = world.snapshot(job_id)
    assert_unauthorized(call.send(world.anon, headers), code)
    assert world.snapshot(job_id) == before, "a refused request changed something"


@pytest.mark.parametrize("headers", [bearer(WORKER), {"X-Worker-Token": WORKER}], ids=["bearer", "X-Worker-Token"])
@pytest.mark.parametrize("route", WORKER_ROUTES, ids=str)
def test_worker_route_serves_the_worker(world: World, route: WorkerRoute, headers: dict[str, str]) -> None:
    call, job_id = route.prepare(world)
    reply = call.send(world.anon, headers)
    assert reply.status_code == 200, reply.text
    route.check(world, reply, job_id)


def test_empty_poll_with_the_worker_token_is_204(world: World) -> None:
    assert world.worker.get("/extension/poll").status_code == 204
    assert_unauthorized(world.anon.get("/extension/poll"))


# -- partly or wholly open servers -------------------------------------------------------------


def test_open_server_needs_no_credentials(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path)) as server, server.client() as http:
        job = create_job(http)
        assert "?" not in job["video_url"], "an open server's links are not signed"
        work = claim(http)
        assert work["job_id"] == job["id"]
        assert http.post("/extension/progress", json={"job_id": job["id"], "progress": 10}).status_code == 200
        assert upload(http, job["id"], token=work["claim_token"]).status_code == 200
        assert http.get(job["video_url"]).content == DEMO_MP4
        assert http.get(f"/v1/videos/{job['id']}/content").content == DEMO_MP4
        assert [j["id"] for j in http.get("/jobs").json()["data"]] == [job["id"]]
        assert [j["id"] for j in http.get("/v1/videos").json()["data"]] == [job["id"]]
        # Clients that always send a key (the OpenAI SDK does) are not refused for it.
        for headers in (bearer("sk-anything"), bearer(WORKER)):
            assert http.get(f"/v1/videos/{job['id']}", headers=headers).status_code == 200
            assert http.get("/extension/poll", headers=headers).status_code == 204


def test_keys_without_a_worker_token_leave_worker_routes_open(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, api_keys=[ALICE])) as server, server.client() as http:
        assert_unauthorized(http.post("/v1/videos/generations", json={"prompt": "A cat"}), "invalid_api_key")
        job = http.post("/v1/videos/generations", json={"prompt": "A cat"}, headers=bearer(ALICE)).json()
        assert http.get("/extension/poll").json()["job_id"] == job["id"]


def test_a_worker_token_without_keys_leaves_client_routes_open(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path, worker_token=WORKER)) as server, server.client() as http:
        job = create_job(http)
        assert "?" not in job["video_url"]
        assert http.get(f"/v1/video/generations/{job['id']}").status_code == 200
        assert_unauthorized(http.get("/extension/poll"))
        assert http.get("/extension/poll", headers=bearer(WORKER)).json()["job_id"] == job["id"]


def test_jobs_made_before_keys_were_turned_on_belong_to_nobody(tmp_path: Path) -> None:
    """A job created on an open server has no owner: once keys are required no key sees it, though its
    (now signed) link still works for whoever is given one."""
    with ThreadServer(settings_for(tmp_path)) as server, server.client() as http:
        job = create_job(http)
        assert upload(http, claim(http)["job_id"]).status_code == 200
    settings = settings_for(tmp_path, api_keys=[ALICE, BOB], worker_token=WORKER)
    with ThreadServer(settings) as server, server.client(headers=bearer(ALICE)) as alice:
        assert_error(alice.get(f"/v1/videos/{job['id']}"), 404, "job_not_found")
        assert alice.get("/jobs").json()["data"] == []
        assert_error(alice.get(f"/videos/{job['id']}.mp4"), 404, "job_not_found")
        signed = f"/videos/{job['id']}.mp4?" + server.app.state.signer.query(job["id"], server.clock.now())
        with server.client() as anon:
            assert anon.get(signed).content == DEMO_MP4


# -- signed video links ------------------------------------------------------------------------


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def bare(url: str) -> str:
    return urlsplit(url)._replace(query="").geturl()


def local(url: str) -> str:
    """The path and query of a link, to ask another server (a restarted one listens on another port)."""
    return urlsplit(url)._replace(scheme="", netloc="").geturl()


def video_url_of(w: World, job_id: str) -> str:
    url = w.alice.get(f"/v1/video/generations/{job_id}").json()["video_url"]
    assert isinstance(url, str)
    return url


def test_signed_link_plays_without_credentials(world: World) -> None:
    job_id = world.completed_job()
    url = video_url_of(world, job_id)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"expires", "signature"}
    assert int(query["expires"][0]) == int(world.server.clock.now() + world.server.settings.video_url_ttl_seconds)
    with httpx.Client(timeout=30) as browser:  # a plain <video> tag: no headers at all
        reply = browser.get(url)
        assert reply.status_code == 200, reply.text
        assert reply.content == DEMO_MP4
        assert browser.head(url).status_code == 200
        ranged = browser.get(url, headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206
        assert ranged.content == DEMO_MP4[:10]


def test_every_video_url_the_api_returns_is_signed(world: World) -> None:
    job = create_job(world.alice)
    work = claim(world.worker)
    assert world.anon.get(job["video_url"]).status_code == 404  # signed, but not ready yet
    assert_error(world.anon.get(work["video_url"]), 404, "video_not_ready")
    done = upload(world.worker, job["id"], token=work["claim_token"]).json()
    urls = [
        job["video_url"],
        work["video_url"],
        done["video_url"],
        world.alice.get(f"/v1/videos/{job['id']}").json()["video_url"],
        world.alice.get("/jobs").json()["data"][0]["video_url"],
    ]
    for url in urls:
        assert "signature=" in url, url
        assert world.anon.get(url).content == DEMO_MP4


def test_tampered_links_are_403(world: World) -> None:
    job_id = world.completed_job()
    other_id = world.completed_job()
    url = video_url_of(world, job_id)
    query = parse_qs(urlsplit(url).query)
    signature, expires = query["signature"][0], int(query["expires"][0])
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_url = video_url_of(world, other_id)
    tampered = [
        with_query(url, signature=flipped),
        with_query(url, signature=signature[:-1]),
        with_query(url, expires=str(expires + 3600)),
        with_query(url, expires="never"),
        bare(url) + "?" + urlsplit(other_url).query,  # another job's valid signature
        bare(other_url) + "?" + urlsplit(url).query,
    ]
    for link in tampered:
        assert_error(world.anon.get(link), 403, "invalid_signature")
        # A valid key of someone who does not own the job does not help a bad link.
        assert_error(world.bob.get(link), 403, "invalid_signature")
    assert world.anon.get(url).status_code == 200


def test_links_expire_after_the_ttl(world: World) -> None:
    job_id = world.completed_job()
    url = video_url_of(world, job_id)
    ttl = world.server.settings.video_url_ttl_seconds
    world.server.clock.advance(ttl - 1)
    assert world.anon.get(url).status_code == 200
    world.server.clock.advance(1)
    assert_error(world.anon.get(url), 403, "invalid_signature")
    assert world.anon.head(url).status_code == 403
    # The owner's key still opens it; asking for the job again gives a fresh link.
    assert world.alice.get(url).content == DEMO_MP4
    fresh = video_url_of(world, job_id)
    assert fresh != url
    assert world.anon.get(fresh).content == DEMO_MP4


def test_bare_link_needs_the_owners_key(world: World) -> None:
    job_id = world.completed_job()
    link = bare(video_url_of(world, job_id))
    assert_unauthorized(world.anon.get(link), "invalid_api_key")
    assert world.anon.head(link).status_code == 401
    assert_unauthorized(world.anon.get(link, headers=bearer(WRONG_KEY)), "invalid_api_key")
    assert_unauthorized(world.anon.get(link, headers=bearer(WORKER)), "worker_token_not_allowed")
    assert_error(world.bob.get(link), 404, "job_not_found")
    reply = world.alice.get(link)
    assert reply.status_code == 200
    assert reply.content == DEMO_MP4
    assert world.alice.head(link).status_code == 200


def test_bare_link_to_an_unfinished_job(world: World) -> None:
    job_id = world.pending_job()
    link = f"/videos/{job_id}.mp4"
    assert_unauthorized(world.anon.get(link))
    assert_error(world.bob.get(link), 404, "job_not_found")
    assert_error(world.alice.get(link), 404, "video_not_ready")


def test_links_survive_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[ALICE], worker_token=WORKER)
    with ThreadServer(settings) as server, server.client(headers=bearer(ALICE)) as alice:
        job = create_job(alice)
        with server.client(headers=bearer(WORKER)) as worker:
            work = claim(worker)
            assert upload(worker, job["id"], token=work["claim_token"]).status_code == 200
        url = alice.get(f"/v1/videos/{job['id']}").json()["video_url"]
    with ThreadServer(settings) as server, server.client() as anon:
        assert anon.get(local(url)).content == DEMO_MP4


def test_configured_signing_secret_is_used(tmp_path: Path) -> None:
    """URL_SIGNING_SECRET, when set, signs the links: a link made under one secret fails under another."""
    settings = settings_for(tmp_path, api_keys=[ALICE], worker_token=WORKER, url_signing_secret="secret-one")
    with ThreadServer(settings) as server, server.client(headers=bearer(ALICE)) as alice:
        job = create_job(alice)
        with server.client(headers=bearer(WORKER)) as worker:
            work = claim(worker)
            assert upload(worker, job["id"], token=work["claim_token"]).status_code == 200
        url = alice.get(f"/v1/videos/{job['id']}").json()["video_url"]
    other_secret = settings.model_copy(update={"url_signing_secret": "secret-two"})
    with ThreadServer(other_secret) as server, server.client() as anon:
        assert_error(anon.get(local(url)), 403, "invalid_signature")
    with ThreadServer(settings) as server, server.client() as anon:
        assert anon.get(local(url)).content == DEMO_MP4


# -- configuration -----------------------------------------------------------------------------


def test_api_keys_file_ignores_comments_and_blank_lines(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_bytes(
        b"# team keys, one a line\r\n\r\n  sk-file-one  \r\nsk-file-two\n   \n# sk-retired\n\t# indented comment\n"
    )
    settings = settings_for(tmp_path, api_keys=["sk-env"], api_keys_file=keys_file)
    assert settings.client_keys() == ["sk-env", "sk-file-one", "sk-file-two"]
    with ThreadServer(settings) as server, server.client() as http:
        for key in ("sk-env", "sk-file-one", "sk-file-two"):
            assert http.get("/jobs", headers=bearer(key)).status_code == 200, key
        for not_a_key in ("sk-retired", "# sk-retired", "#", "# team keys, one a line"):
            assert_unauthorized(http.get("/jobs", headers=bearer(not_a_key)), "invalid_api_key")
        assert_unauthorized(http.get("/jobs"))


def test_api_keys_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("sk-first\nsk-second\n", encoding="utf-8-sig")
    assert settings_for(tmp_path, api_keys_file=keys_file).client_keys() == ["sk-first", "sk-second"]


def run_server_py(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SERVER_HOST": "127.0.0.1", "SERVER_PORT": "9", "LOG_LEVEL": "warning", **env},
        timeout=60,
    )


def test_a_missing_api_keys_file_stops_the_server(tmp_path: Path) -> None:
    """Never start open when the keys cannot be read."""
    result = run_server_py(tmp_path, API_KEYS_FILE=str(tmp_path / "missing.txt"))
    assert result.returncode != 0
    assert "missing.txt" in result.stderr


def test_a_missing_api_keys_file_is_reported_like_other_bad_settings(tmp_path: Path) -> None:
    result = run_server_py(tmp_path, API_KEYS_FILE=str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "API_KEYS_FILE" in result.stderr


def test_api_keys_file_alone_turns_keys_on(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("sk-only\n", encoding="utf-8")
    with ThreadServer(settings_for(tmp_path, api_keys_file=keys_file)) as server, server.client() as http:
        assert_unauthorized(http.post("/v1/videos/generations", json={"prompt": "A cat"}))
        job = http.post("/v1/videos/generations", json={"prompt": "A cat"}, headers=bearer("sk-only")).json()
        assert "signature=" in job["video_url"]


def test_api_keys_file_of_only_comments_leaves_the_server_open(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# nobody yet\n\n", encoding="utf-8")
    settings = settings_for(tmp_path, api_keys_file=keys_file)
    assert settings.client_keys() == []
    assert not Auth(settings).clients_need_keys


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("sk-a", ["sk-a"]),
        ("sk-a, sk-b,,", ["sk-a", "sk-b"]),
        ("", []),
        ('["sk-a", "sk-b"]', ["sk-a", "sk-b"]),
    ],
)
def test_api_keys_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, keys: list[str]
) -> None:
    monkeypatch.setenv("API_KEYS", value)
    monkeypatch.setenv("WORKER_TOKEN", "")
    settings = settings_for(tmp_path)
    assert settings.client_keys() == keys
    assert settings.worker_token is None


@pytest.mark.parametrize(
    ("addresses", "shown"),
    [
        ([("0.0.0.0", 8000)], "0.0.0.0:8000"),
        ([("::", 8000)], "[::]:8000"),
        ([("192.168.1.20", 8000)], "192.168.1.20:8000"),
        ([("127.0.0.1", 8000), ("0.0.0.0", 9000), ("0.0.0.0", 9000)], "0.0.0.0:9000"),
    ],
)
def test_exposed_server_without_credentials_warns(tmp_path: Path, addresses: list[tuple[str, int]], shown: str) -> None:
    found = Auth(settings_for(tmp_path)).warnings(addresses)
    assert len(found) == 2
    assert found[0].startswith(f"NO API KEYS: listening on {shown}, ") and "API_KEYS" in found[0]
    assert found[1].startswith(f"NO WORKER TOKEN: listening on {shown}, ") and "WORKER_TOKEN" in found[1]
    assert Auth(settings_for(tmp_path, api_keys=[ALICE])).warnings(addresses) == [found[1]]
    assert Auth(settings_for(tmp_path, worker_token=WORKER)).warnings(addresses) == [found[0]]
    assert Auth(settings_for(tmp_path, api_keys=[ALICE], worker_token=WORKER)).warnings(addresses) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "localhost", "::1"])
def test_loopback_server_does_not_warn(tmp_path: Path, host: str) -> None:
    assert Auth(settings_for(tmp_path)).warnings([(host, 8000)]) == []


def test_an_address_that_cannot_be_read_is_not_named(tmp_path: Path) -> None:
    found = Auth(settings_for(tmp_path)).warnings(None)
    assert [w.split(":")[0] for w in found] == ["NO API KEYS", "NO WORKER TOKEN"]
    assert all("listening on an address this process cannot read" in w for w in found)


def test_video_links_do_not_confirm_ids_to_strangers(world: World) -> None:
    unknown = "/videos/job_0123456789abcdef01234567.mp4"
    assert_unauthorized(world.anon.get(unknown), "invalid_api_key")
    assert world.alice.get(unknown).status_code == 404
