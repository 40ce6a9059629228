"""OpenAI's create fields: `seconds`, `size`, `input_reference` (a file, or `input_reference[image_url]`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from ...domain.errors import InvalidRequest
from ...domain.images import check_image
from ...domain.jobs import InputImage
from ...domain.options import OPENAI_DEFAULTS, Asked
from ..common import service
from ..forms import asked_from, nested


def create_asked(fields: dict[str, Any]) -> Asked:
    """`seconds` and `size` (Sora's defaults "4" and "720x1280" when left out), plus what extra_body adds."""
    return asked_from(fields).fill(**OPENAI_DEFAULTS)


async def reference_image(request: Request, fields: dict[str, Any], files: dict[str, bytes]) -> str | InputImage | None:
    data = files.get("input_reference")
    if data is not None:
        limit = service(request).settings.max_image_bytes
        return await asyncio.to_thread(check_image, data, max_bytes=limit, param="input_reference")
    if nested(fields, "input_reference", "file_id") is not None:
        raise InvalidRequest(
            "input_reference.file_id is not supported (this server has no Files API); send the image as a file "
            "or as input_reference[image_url]",
            param="input_reference",
            code="unsupported_parameter",
        )
    url = nested(fields, "input_reference", "image_url")
    given = fields.get("input_reference")
    if url is None and isinstance(given, str):
        url = given
    if url is None and given is not None:  # a reference was sent that names no image: never make it without
        raise InvalidRequest(
            "input_reference must be an image file, a URL, or {image_url: URL}", param="input_reference"
        )
    if url is not None and not (isinstance(url, str) and url.strip()):
        raise InvalidRequest("input_reference.image_url must be a URL", param="input_reference")
    return url
