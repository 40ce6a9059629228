"""Reading a create request whatever shape it comes in: multipart, url-encoded or JSON; fields that every
dialect shares (prompt, model, nested `name[key]` fields) and the record of what was asked."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from ..domain.errors import InvalidRequest
from ..domain.hd import hd_fields, with_hd
from ..domain.options import GENERATION_SECONDS, Asked, asked_options
from .common import parse_json_object, read_body, read_json_object, service
from .nul import refuse_nul

MAX_FILE_PARTS = 12  # an image edit's sources (and a mask)
OPTION_FIELDS = ("seconds", "size", "aspect_ratio", "resolution", "duration", "mode", "quality", "upscale")


async def read_fields(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fields and files of a multipart or url-encoded form, or the members of a JSON object body; of file parts
    sharing a name, the last."""
    fields, parts = await read_parts(request)
    return fields, dict(parts)


async def read_parts(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """Fields, and every file part in order (several may share a name, as `image[]` do)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw = await read_body(request, service(request).settings.max_request_bytes)
        if raw.lstrip().startswith(b"{"):  # curl -d '{...}' without a Content-Type is still JSON
            return await parse_json_object(raw), []
        pairs = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        refuse_nul(pairs)
        return pairs, []
    if not content_type.startswith("multipart/form-data"):
        return await read_json_object(request), []
    limit = service(request).settings.max_image_bytes
    try:
        form = await request.form(max_files=MAX_FILE_PARTS, max_fields=100)
    except MultiPartException as exc:
        raise InvalidRequest(f"Malformed multipart body: {exc.message}", code="invalid_multipart") from None
    except HTTPException as exc:  # what Starlette turns a MultiPartException into inside an app
        raise InvalidRequest(f"Malformed multipart body: {exc.detail}", code="invalid_multipart") from None
    fields: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((name, await value.read(limit + 1)))
            else:
                fields[name] = value
    finally:
        await form.close()
    refuse_nul(fields)
    return fields, files


def text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidRequest(f"'{name}' must be a string", param=name)


def model_of(fields: dict[str, Any], default: str = "grok") -> str:
    model = text(fields, "model")
    if model is not None and len(model) > 200:
        raise InvalidRequest("'model' must be at most 200 characters", param="model")
    return model or default


def prompt_of(fields: dict[str, Any]) -> str:
    prompt = fields.get("prompt")
    if prompt is None:
        raise InvalidRequest("Missing required parameter 'prompt'", param="prompt", code="missing_parameter")
    if not isinstance(prompt, str):
        raise InvalidRequest("'prompt' must be a string", param="prompt")
    return prompt


def nested(fields: dict[str, Any], name: str, key: str) -> Any:
    """`name[key]` as a form field, or {"name": {"key": ...}} in JSON."""
    if f"{name}[{key}]" in fields:
        return fields[f"{name}[{key}]"]
    value = fields.get(name)
    return value.get(key) if isinstance(value, dict) else None


def requested(fields: dict[str, Any]) -> dict[str, Any]:
    """What the client asked for, kept on the job as it was sent."""
    kept = ("model", *OPTION_FIELDS, "max_attempts")
    return {name: fields[name] for name in kept if fields.get(name) not in (None, "")}


def asked_from(fields: dict[str, Any], duration_range: range = GENERATION_SECONDS) -> Asked:
    """Every dialect's option fields, as they arrived (OpenAI's `seconds` and `size`, xAI's `duration`, ...),
    and HD (`quality`, `upscale`, `resolution` 1080p)."""
    resolution, hd = hd_fields(
        resolution=fields.get("resolution"), quality=fields.get("quality"), upscale=fields.get("upscale")
    )
    asked = asked_options(
        size=fields.get("size"),
        aspect_ratio=fields.get("aspect_ratio"),
        resolution=resolution,
        duration=fields.get("duration"),
        duration_range=duration_range,
        seconds=fields.get("seconds"),
        mode=fields.get("mode"),
    )
    return with_hd(asked, hd)


def segments_of(fields: dict[str, Any]) -> Any:
    """A long video's `segments` (docs/long-videos.md): a JSON list, or in a form a field holding one."""
    value = fields.get("segments")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise InvalidRequest("segments must be a JSON list of {prompt, seconds}", param="segments") from None
    return value
