"""A caller without the credentials its route needs is refused before any of its body is read.

Each request declares a body of 10 MB and sends only its first 64 KB: a server that waited for the rest before
answering would never answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.api.auth import Auth
from grok_imagine_api.api.early_auth import EarlyAuthMiddleware
from rawhttp import RawRequest, Reply, assert_envelope
from support import ThreadServer, bearer, settings_for

ALICE = "sk-alice-early"
WORKER = "wt-worker-early"
JOB = "job_0123456789abcdef01234567"
DECLARED = 10 * 1024 * 1024
JSON = {"Content-Type": "application/json"}
MULTIPART = {"Content-Type": "multipart/form-data; boundary=early"}

# Every route that takes a body (the OpenAPI document lists them; a test below checks none is missing).
CLIENT_ROUTES = [
    ("POST", "/v1/videos/generations", JSON),
    ("POST", "/v1/video/generations", JSON),
    ("POST", "/v1/videos", JSON),
    ("POST", "/v1/videos", MULTIPART),
    ("POST", f"/v1/videos/{JOB}/remix", JSON),
    ("POST", "/v1/videos/extensions", JSON),
    ("POST", "/v1/videos/extensions", MULTIPART),
    ("POST", "/v1/videos/edits", JSON),
    ("POST", "/v1/videos/edits", MULTIPART),
    ("DELETE", f"/v1/videos/{JOB}", JSON),
    ("POST", f"/jobs/{JOB}/cancel", JSON),
    ("POST", f"/jobs/{JOB}/rerun", JSON),
    ("DELETE", f"/jobs/{JOB}", JSON),
    ("POST", "/v1/images/generations", JSON),
    ("POST", "/v1/images/edits", JSON),
    ("POST", "/v1/images/edits", MULTIPART),
]
WORKER_ROUTES = [
    ("POST", "/extension/poll", JSON),
    ("POST", "/extension/progress", JSON),
    ("POST", "/extension/error", JSON),
    ("POST", "/extension/complete", MULTIPART),
]
CLIENT_REFUSED = {"no key": ({}, "invalid_api_key"), "worker token": (bearer(WORKER), "worker_token_not_allowed")}
WORKER_REFUSED = {"no token": ({}, "invalid_worker_token"), "client key": (bearer(ALICE), "api_key_not_allowed")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    settings = settings_for(tmp_path_factory.mktemp("early"), api_keys=[ALICE], worker_token=WORKER)
    with ThreadServer(settings) as srv:
        yield srv


def half_sent(server: ThreadServer, method: str, path: str, headers: dict[str, str]) -> Reply:
    with RawRequest(server.port, method, path, headers, declared=DECLARED) as request:
        request.send(b"x" * 65536)
        return request.reply(timeout=5)


def assert_refused_early(reply: Reply, code: str) -> None:
    assert_envelope(reply, 401, code)
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.headers["connection"] == "close"


def route_id(route: tuple[str, str, dict[str, str]]) -> str:
    method, path, headers = route
    return f"{method} {path} ({headers['Content-Type'].split('/')[1].split(';')[0]})"


@pytest.mark.parametrize("caller", list(CLIENT_REFUSED))
@pytest.mark.parametrize("route", CLIENT_ROUTES, ids=route_id)
def test_client_routes_refuse_before_reading_the_body(
    server: ThreadServer, route: tuple[str, str, dict[str, str]], caller: str
) -> None:
    method, path, headers = route
    credentials, code = CLIENT_REFUSED[caller]
    assert_refused_early(half_sent(server, method, path, {**headers, **credentials}), code)


@pytest.mark.parametrize("caller", list(WORKER_REFUSED))
@pytest.mark.parametrize("route", WORKER_ROUTES, ids=route_id)
def test_worker_routes_refuse_before_reading_the_body(
    server: ThreadServer, route: tuple[str, str, dict[str, str]], caller: str
) -> None:
    method, path, headers = route
    credentials, code = WORKER_REFUSED[caller]
    assert_refused_early(half_sent(server, method, path, {**headers, **credentials}), code)


def test_every_route_with_a_body_is_covered(server: ThreadServer) -> None:
    listed = {
        (method.upper(), path) for path, operations in server.app.openapi()["paths"].items() for method in operations
    }
    with_body = {(method, path) for method, path in listed if method not in ("GET", "HEAD")}
    covered = {(method, path.replace(JOB, "{video_id}")) for method, path, _ in CLIENT_ROUTES + WORKER_ROUTES}
    covered |= {(method, path.replace(JOB, "{job_id}")) for method, path, _ in CLIENT_ROUTES}
    assert with_body <= covered, with_body - covered


def test_unknown_routes_and_methods_answer_as_before(server: ThreadServer) -> None:
    with server.client() as anon:
        reply = anon.post("/v1/no-such-route", json={"prompt": "a cat"})
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
        reply = anon.put("/v1/videos/generations", json={"prompt": "a cat"})
        assert reply.status_code == 405 and reply.json()["error"]["code"] == "method_not_allowed"


def test_the_refusal_is_counted_under_its_route(server: ThreadServer) -> None:
    half_sent(server, "POST", "/jobs/job_00000000000000000000dead/cancel", JSON)
    with server.client(headers=bearer(ALICE)) as alice:
        metrics = alice.get("/metrics").text
    assert 'method="POST",route="/jobs/{job_id}/cancel",status="4xx"' in metrics


def test_callers_with_credentials_pass_the_gate(server: ThreadServer) -> None:
    with server.client(headers=bearer(ALICE)) as alice, server.client(headers=bearer(WORKER)) as worker:
        job = alice.post("/v1/videos/generations", json={"prompt": "a cat"})
        assert job.status_code == 200, job.text
        work = worker.post("/extension/poll", json={})
        assert work.status_code == 200, work.text
        ids = {"job_id": work.json()["job_id"], "claim_token": work.json()["claim_token"]}
        progress = worker.post("/extension/progress", json={**ids, "progress": 10})
        assert progress.status_code == 200, progress.text
        assert alice.delete(f"/v1/videos/{job.json()['id']}").status_code == 200


def test_an_open_server_lets_everyone_through(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path)) as srv, httpx.Client(base_url=srv.url) as anon:
        assert anon.post("/v1/videos/generations", json={"prompt": "a cat"}).status_code == 200
        assert anon.post("/extension/poll", json={}).status_code == 200


def test_the_gate_reads_what_each_route_needs_from_its_dependencies(server: ThreadServer) -> None:
    gate = EarlyAuthMiddleware(server.app, auth=server.app.state.auth, routes=server.app.routes)

    def checks(method: str, path: str) -> list[object]:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        return gate.route_for(scope)[1]

    assert checks("POST", "/v1/videos") == [Auth.client]
    assert checks("POST", f"/v1/videos/{JOB}/remix") == [Auth.client]
    assert checks("POST", "/extension/complete") == [Auth.worker]
    assert checks("GET", "/health") == []
    assert checks("POST", "/health") == []  # 405: no route matches fully
    assert checks("POST", "/nowhere") == []
