"""Shared by the route modules: the service, public URLs, and what goes into the request log."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from ..domain.errors import InvalidRequest, PayloadTooLarge
from ..domain.jobs import Job
from ..service import JobService
from .errors import invalid_request
from .nul import refuse_nul
from .signing import UrlSigner

M = TypeVar("M", bound=BaseModel)

# Above this, parsing and rendering happen in a thread so that the event loop keeps serving others.
LARGE_BODY = 256 * 1024


def service(request: Request) -> JobService:
    svc: JobService = request.app.state.service
    return svc


def base_url(request: Request) -> str:
    configured = service(request).settings.public_base_url
    if configured:
        return configured
    # What Starlette's request.base_url computes, without building URL objects on every request.
    scope = request.scope
    host = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")


def video_url(request: Request, job_id: str, *, hd: bool = False) -> str:
    """The public link to a job's video (`hd`: its HD file, docs/hd.md); signed, with an expiry, when clients need
    API keys."""
    url = f"{base_url(request)}/videos/{job_id}.mp4"
    query = ["variant=hd"] if hd else []
    signer: UrlSigner | None = request.app.state.signer
    if signer is not None:
        query.append(signer.query(job_id, service(request).clock.now()))
    return url + ("?" + "&".join(query) if query else "")


def image_url(request: Request, job_id: str, index: int, ext: str) -> str:
    """The public link to one of an image job's images; signed like a video link when clients need API keys."""
    url = f"{base_url(request)}/images/{job_id}/{index}.{ext}"
    signer: UrlSigner | None = request.app.state.signer
    if signer is not None:
        url += "?" + signer.query(job_id, service(request).clock.now())
    return url


def image_list(request: Request, job: Job) -> list[dict[str, Any]]:
    """An image job's images as answers show them: each with its link, while the job has its files."""
    if not job.has_images:
        return []
    return [
        {
            "index": image["index"],
            "url": image_url(request, job.id, image["index"], image["ext"]),
            "content_type": image["content_type"],
            "width": image["width"],
            "height": image["height"],
            "bytes": image["bytes"],
        }
        for image in job.images
    ]


def log_info(request: Request, **info: Any) -> None:
    current: dict[str, Any] | None = getattr(request.state, "log", None)
    if current is None:
        request.state.log = info
    else:
        current.update(info)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 past `limit` bytes (for routes the body-limit middleware skips)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes", code="payload_too_large")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes", code="payload_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, model: type[M]) -> M:
    """Parse a JSON object body whatever its Content-Type says (curl -d sends form encoding)."""
    data = await read_json_object(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_request(exc.errors()) from None


async def read_json_object(request: Request) -> dict[str, Any]:
    return await parse_json_object(await read_body(request, service(request).settings.max_request_bytes))


async def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise InvalidRequest("Request body is empty; expected a JSON object", code="invalid_json")
    try:
        data = json.loads(raw) if len(raw) < LARGE_BODY else await asyncio.to_thread(json.loads, raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("Request body is not valid JSON", code="invalid_json") from None
    if b"\\u" in raw and not _encodable(data):
        raise InvalidRequest("Request body contains a lone UTF-16 surrogate (\\ud800-\\udfff)", code="invalid_json")
    if not isinstance(data, dict):
        raise InvalidRequest("Request body must be a JSON object", code="invalid_body")
    if b"\\u0000" in raw:
        refuse_nul(data)
    return data


def _encodable(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI description of a body that a route reads with read_json."""
    schema = {"content": {"application/json": {"schema": model.model_json_schema()}}, "required": True}
    return {"requestBody": schema}
