from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import ThreadServer, assert_error, settings_for


@pytest.fixture
def small(tmp_path: Path) -> Iterator[httpx.Client]:
    with ThreadServer(settings_for(tmp_path, max_request_bytes=1000)) as srv, srv.client() as http:
        yield http


def test_declared_oversized_body_is_413(small: httpx.Client) -> None:
    reply = small.post("/v1/videos/generations", json={"prompt": "x" * 2000})
    assert_error(reply, 413, "payload_too_large")
    assert small.get("/health").json()["jobs"]["pending"] == 0


def test_chunked_oversized_body_is_413(small: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(50):
            yield b"x" * 100
        yield b'"}'

    reply = small.post("/v1/videos/generations", content=body(), headers={"content-type": "application/json"})
    assert_error(reply, 413, "payload_too_large")


def test_bodies_under_the_limit_pass(small: httpx.Client) -> None:
    reply = small.post("/v1/videos/generations", content=json.dumps({"prompt": "x" * 500}))
    assert reply.status_code == 200


def test_cors_preflight_and_simple_requests(client: httpx.Client) -> None:
    preflight = client.options(
        "/v1/videos/generations",
        headers={
            "Origin": "http://dash.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    reply = client.get("/health", headers={"Origin": "http://dash.example"})
    assert reply.headers["access-control-allow-origin"] == "*"


def test_cors_origins_are_configurable(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, cors_origins=["http://allowed.example"])
    with ThreadServer(settings) as srv, srv.client() as http:
        ok = http.get("/health", headers={"Origin": "http://allowed.example"})
        assert ok.headers["access-control-allow-origin"] == "http://allowed.example"
        other = http.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
