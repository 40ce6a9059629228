"""Input images for image-to-video: base64 or data URLs, sniffed by their bytes, never by their label."""

from __future__ import annotations

import base64
import binascii
import re

from .errors import InvalidRequest
from .jobs import InputImage

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*?;base64,", re.IGNORECASE)


def sniff_image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_image(value: str, *, max_bytes: int, param: str = "image") -> InputImage:
    """Decode a base64 string or a `data:image/...;base64,` URL into a checked PNG, JPEG or WebP image."""
    text = value.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise InvalidRequest("Image data URLs must be base64-encoded (data:image/png;base64,...)", param=param)
    # Base64 inflates by 4/3: refuse before decoding anything far too large.
    if len(text) > (max_bytes * 4) // 3 + 8:
        raise InvalidRequest(
            f"Image is larger than the limit of {max_bytes} bytes", param=param, code="image_too_large"
        )
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("Image is not valid base64", param=param, code="invalid_base64") from None
    if not data:
        raise InvalidRequest("Image is empty", param=param)
    if len(data) > max_bytes:
        raise InvalidRequest(
            f"Image is larger than the limit of {max_bytes} bytes", param=param, code="image_too_large"
        )
    mime = sniff_image_type(data)
    if mime is None:
        raise InvalidRequest("Image must be a PNG, JPEG or WebP file", param=param, code="unsupported_image_type")
    return InputImage(data=data, mime=mime)
