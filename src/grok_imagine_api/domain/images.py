"""Input images for image-to-video: base64 or data URLs, sniffed by their bytes, never by their label, and
accepted only when whole: a cut-off or damaged image is refused at creation, not failed by Grok later."""

from __future__ import annotations

import base64
import binascii
import re
import threading
from typing import Literal

import av

from .errors import InvalidRequest
from .jobs import InputImage

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*?;base64,", re.IGNORECASE)

# Decoding allocates every pixel: a small PNG of zeros can claim gigabytes. Larger than any input Grok takes.
MAX_IMAGE_PIXELS = 8192 * 8192
_DECODERS: dict[str, Literal["png", "mjpeg", "webp"]] = {
    "image/png": "png",
    "image/jpeg": "mjpeg",
    "image/webp": "webp",
}
_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
# A decode may take a few hundred MB for a moment: two at a time bound what all the requests together take
# (the CPU has no more to give anyway).
_DECODING = threading.BoundedSemaphore(2)


def sniff_image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _png_whole(data: bytes) -> bool:
    """Chunk after chunk up to IEND, none of them cut off."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos <= len(data)
    return False


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data after a JPEG SOS ends: the first 0xFF that is not stuffed (FF00), a restart
    marker (FFD0..FFD7) or fill (FFFF)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0xFF:
            pos += 1
        elif following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        else:
            return pos


def _jpeg_whole(data: bytes) -> bool:
    """Marker after marker up to EOI (what follows it, such as a motion photo's video, is not looked at).
    Needed because FFmpeg conceals a JPEG whose last scan is cut off instead of failing it."""
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if pos + 4 > len(data):
            return False
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            pos = _scan_end(data, pos)
    return False


def _webp_whole(data: bytes) -> bool:
    return int.from_bytes(data[4:8], "little") + 8 <= len(data)


def _webp_animated(data: bytes) -> bool:
    """An extended WebP (VP8X) whose flags say animation: FFmpeg has no decoder for those."""
    return data[12:16] == b"VP8X" and len(data) > 20 and bool(data[20] & 0x02)


_WHOLE = {"image/png": _png_whole, "image/jpeg": _jpeg_whole, "image/webp": _webp_whole}


def _decode(data: bytes, mime: str, param: str) -> tuple[int, int]:
    """Decode every pixel, refusing what does not decode or would be over MAX_IMAGE_PIXELS; the width and
    height."""
    decoder = av.CodecContext.create(_DECODERS[mime], "r")
    decoder.options = {"max_pixels": str(MAX_IMAGE_PIXELS), "err_detect": "explode"}
    try:
        with _DECODING:
            frames = [*decoder.decode(av.Packet(data)), *decoder.decode(None)]
    except av.error.ArgumentError:
        raise InvalidRequest(
            f"Image is over the limit of {MAX_IMAGE_PIXELS} pixels, or has no valid size",
            param=param,
            code="image_too_large",
        ) from None
    except av.FFmpegError:
        frames = []
    if not frames:
        raise _damaged(mime, param)
    return frames[0].width, frames[0].height


def _damaged(mime: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Image is not a whole {_NAMES[mime]}: it is cut off or damaged", param=param, code="invalid_image"
    )


def check_image(data: bytes, *, max_bytes: int, param: str = "image") -> InputImage:
    """A PNG, JPEG or WebP image that ends where its format says it ends and whose pixels all decode.
    Blocking (a full decode): call from a thread when the image may be large."""
    return measure_image(data, max_bytes=max_bytes, param=param)[0]


def measure_image(data: bytes, *, max_bytes: int, param: str = "image") -> tuple[InputImage, int | None, int | None]:
    """`check_image`, and the image's width and height (None for an animated WebP, which is not decoded)."""
    if not data:
        raise InvalidRequest("Image is empty", param=param)
    if len(data) > max_bytes:
        raise InvalidRequest(
            f"Image is larger than the limit of {max_bytes} bytes", param=param, code="image_too_large"
        )
    mime = sniff_image_type(data)
    if mime is None:
        raise InvalidRequest("Image must be a PNG, JPEG or WebP file", param=param, code="unsupported_image_type")
    if not _WHOLE[mime](data):
        raise _damaged(mime, param)
    if mime == "image/webp" and _webp_animated(data):
        return InputImage(data=data, mime=mime), None, None
    width, height = _decode(data, mime, param)
    return InputImage(data=data, mime=mime), width, height


def decode_image(value: str, *, max_bytes: int, param: str = "image") -> InputImage:
    """Decode a base64 string or a `data:image/...;base64,` URL into a checked PNG, JPEG or WebP image.
    Blocking, like `check_image`."""
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
    return check_image(data, max_bytes=max_bytes, param=param)


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
CONTENT_TYPES = {ext: mime for mime, ext in EXTENSIONS.items()}
