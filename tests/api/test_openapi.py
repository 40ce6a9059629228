"""The OpenAPI document as FastAPI's, tidied (api/openapi.py): no 422 in FastAPI's validation shape, errors in
the one envelope, every reference resolvable; and the Allow header of a 405 naming the resource's methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import ThreadServer, assert_error, settings_for

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
IDEMPOTENT = {
    ("post", "/v1/videos/generations"),
    ("post", "/v1/video/generations"),
    ("post", "/v1/videos"),
    ("post", "/v1/videos/{video_id}/remix"),
    ("post", "/v1/videos/extensions"),
    ("post", "/v1/videos/edits"),
}


@pytest.fixture
def document(client: httpx.Client) -> dict[str, Any]:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_error_is_declared_in_the_envelope(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {"application/json": {"schema": ERROR}}, (method, path, status)


def test_only_idempotent_creates_declare_422(document: dict[str, Any]) -> None:
    """FastAPI's own 422 is gone: this app answers validation errors with 400. A 422 left is a reused
    Idempotency-Key."""
    declaring = {(method, path) for method, path, op in operations(document) if "422" in op["responses"]}
    assert declaring == IDEMPOTENT
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert '"#/$defs/' not in text
    for name in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert name in document["components"]["schemas"], name
    body = document["paths"]["/v1/videos/generations"]["post"]["requestBody"]["content"]["application/json"]
    assert "$defs" not in body["schema"]


def test_every_route_may_be_busy(document: dict[str, Any]) -> None:
    """Every route reads the database (503 database_busy when another process holds it) or a body (503
    server_busy when too many are being read)."""
    assert [(method, path) for method, path, op in operations(document) if "503" not in op["responses"]] == []


def test_every_refusal_without_credentials_is_declared(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=["sk-1"], worker_token="wt-1")
    with ThreadServer(settings) as server, server.client() as anonymous:
        for method, path, operation in operations(server.app.openapi()):
            reply = anonymous.request(method, path.replace("{job_id}", "job_0").replace("{video_id}", "job_0"))
            assert str(reply.status_code) in operation["responses"], (method, path, reply.status_code)
            if path not in ("/", "/health"):
                assert_error(reply, 401)


def test_success_bodies_have_their_models(document: dict[str, Any]) -> None:
    def schema(path: str, method: str = "get", status: str = "200") -> Any:
        return document["paths"][path][method]["responses"][status]["content"]

    assert schema("/jobs/{job_id}")["application/json"]["schema"] == {"$ref": "#/components/schemas/JobDetail"}
    assert schema("/jobs/{job_id}/rerun", "post", "201")["application/json"]["schema"]["$ref"].endswith("/JobDetail")
    assert set(schema("/v1/videos/{video_id}/content")) == {"video/mp4", "image/jpeg"}
    retrieve = schema("/v1/videos/{video_id}")["application/json"]["schema"]["anyOf"]
    assert retrieve == [{"$ref": "#/components/schemas/Video"}, {"$ref": "#/components/schemas/XaiVideo"}]
    poll = document["paths"]["/extension/poll"]["get"]["responses"]
    assert "content" not in poll["204"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/videos", "GET, POST"),  # two routes of one router
        ("/v1/videos/job_0", "DELETE, GET"),  # routes of two routers
        ("/v1/videos/edits", "POST"),  # not the video "edits": /v1/videos/{video_id} is less specific
        ("/health", "GET"),
    ],
)
def test_a_405_names_every_method_of_the_resource(client: httpx.Client, path: str, allowed: str) -> None:
    reply = client.request("PATCH", path)
    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == allowed
