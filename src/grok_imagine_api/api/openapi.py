"""The OpenAPI document: what each route declares it answers, and the fixes that make FastAPI's document say
what the app does. Answers are declared, never filtered: routes build their bodies, the document describes
them, and tests/api/test_openapi_contract.py holds the two together."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .schemas.errors import ErrorResponse

# What each status means on this server (docs/errors.md); a route adds its own words with `notes`.
MEANINGS = {
    200: "OK",
    201: "Created",
    204: "No content",
    206: "Part of the file, for a Range request",
    304: "Not modified since the ETag or date the request names",
    307: "A browser is sent to the dashboard",
    400: "Bad input: malformed JSON or multipart, a missing or invalid parameter (`param` names it), or a NUL "
    "character (U+0000) in the URL or in any text (invalid_text)",
    401: "Missing or wrong credentials: an API key on client routes when API_KEYS is set, the worker token on "
    "worker routes when WORKER_TOKEN is set",
    403: "A video link with a wrong or expired signature",
    404: "Unknown job, or another key's job",
    409: "An Idempotency-Key whose first request is still running",
    410: "The video expired and was deleted",
    413: "The body is over MAX_REQUEST_BYTES",
    415: "Not a multipart body, or the video is not an MP4",
    408: "The request body did not arrive within 60 s (body_timeout); nothing was done",
    416: "A Range outside the file",
    202: "Accepted: the job, to follow with GET /jobs/{id}",
    429: "Rate limited",
    502: "The worker could not make it",
    504: "Not done in time; the job goes on",
    422: "An Idempotency-Key reused with a different body",
    503: "Busy: the database stayed locked (database_busy), too many large bodies are being read at once "
    "(server_busy), or the video storage's bucket could not be reached (storage_unavailable); nothing was done, retry",
    507: "The video storage is full (insufficient_storage); nothing was kept, retry later",
}
NUL_REFUSED = "A NUL character (%00) in the URL (invalid_text)"
# Creates that fetch an image or video by URL say so.
FETCHES = {
    400: "Bad input (`param` names it), or an image or video URL that could not be fetched or is not public "
    "(image_fetch_failed, video_fetch_failed, invalid_image_url, invalid_video_url)"
}
# Videos in an object store with S3_DELIVERY=redirect are sent to the store.
REDIRECT = {307: "S3_DELIVERY=redirect: a short-lived presigned URL of the object store"}
NO_BODY = {204, 304, 307}
BINARY = {"type": "string", "format": "binary"}
REF_PREFIX = "#/components/schemas/"


def files(*media_types: str) -> dict[str, Any]:
    """The content of a file answer, in any of `media_types`."""
    return {media: {"schema": BINARY} for media in media_types}


def answers(
    body: Any, *others: int, status: int = 200, notes: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses` for a route: its success `body` (a model, a union of models, or `files(...)`) and
    the `others` statuses it may send, errors in the one error envelope."""
    notes = notes or {}

    def answer(code: int, content: Any) -> dict[str, Any]:
        described = {"description": notes.get(code, MEANINGS[code])}
        if content is None:
            return described
        return {**described, "content": content} if isinstance(content, dict) else {**described, "model": content}

    declared: dict[int | str, dict[str, Any]] = {status: answer(status, body)}
    for code in others:
        # 204, 304 and 307 carry no body; a 206 is a part of the same file; the rest are errors.
        declared[code] = answer(code, None if code in NO_BODY else body if code < 400 else ErrorResponse)
    return declared


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, then tidy it: see `tidy`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def tidy(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI declares a 422 in its own validation shape on every route with parameters; this app answers
    validation errors with 400 in its envelope (api/errors.py), so those go. And request bodies described by
    `json_body` carry their nested models as `$defs`, which resolve only once moved to the components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            if _is_fastapis_422(responses.get("422")):
                del responses["422"]
            # Any request with a NUL character in its URL or text is refused (api/nul.py): every route.
            responses.setdefault("400", _error(NUL_REFUSED))
            if method not in ("get", "head") and not _streams_its_body(operation):
                # A body read into memory that does not arrive in time (api/limits.py): any such route.
                responses.setdefault("408", _error(MEANINGS[408]))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for name, schema in media.get("schema", {}).pop("$defs", {}).items():
                    if schemas.setdefault(name, schema) != schema:
                        raise ValueError(f"two different schemas named {name} in the OpenAPI document")
    _move_refs(document)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"{REF_PREFIX}{unused}" not in _refs(document):
            schemas.pop(unused, None)
    return document


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{REF_PREFIX}{ErrorResponse.__name__}"}}},
    }


def _streams_its_body(operation: dict[str, Any]) -> bool:
    """Multipart uploads stream to disk, never held in memory whole, so they have no body deadline."""
    content = operation.get("requestBody", {}).get("content", {})
    return bool(content) and set(content) <= {"multipart/form-data"}


def _is_fastapis_422(response: dict[str, Any] | None) -> bool:
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == f"{REF_PREFIX}HTTPValidationError")


def _move_refs(node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = REF_PREFIX + ref.removeprefix("#/$defs/")
        for value in node.values():
            _move_refs(value)
    elif isinstance(node, list):
        for value in node:
            _move_refs(value)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()
