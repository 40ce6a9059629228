"""Fetching what a client names by URL: an image (xAI's `image.url`, OpenAI's `input_reference[image_url]`) or
a source video (xAI's `video.url`), from public addresses only."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx

from ..domain.errors import InvalidRequest
from ..domain.images import sniff_image_type
from ..domain.jobs import InputImage
from .media import is_iso_bmff
from .storage import Upload

MAX_REDIRECTS = 3


async def _check_public(url: str, param: str, what: str = "image") -> None:
    """Refuse URLs that resolve to this machine or a private network (server-side request forgery)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidRequest(
            f"Cannot resolve the {what} URL's host {host!r}", param=param, code=f"invalid_{what}_url"
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            hint = "send the image inline as a data URL" if what == "image" else "upload the video as a file"
            raise InvalidRequest(
                f"The {what} URL points to a private or local address; {hint}",
                param=param,
                code=f"invalid_{what}_url",
            )


@contextlib.asynccontextmanager
async def _stream(
    url: str, *, what: str, param: str, fetch_seconds: float, allow_private: bool
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body of a public http(s) URL, following up to MAX_REDIRECTS redirects, each hop checked again."""
    schemes = "http(s) or data: URLs" if what == "image" else "http(s) URLs"
    async with httpx.AsyncClient(timeout=fetch_seconds, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidRequest(
                    f"{what.capitalize()} URLs must be {schemes}", param=param, code=f"invalid_{what}_url"
                )
            if not allow_private:
                await _check_public(url, param, what)
            try:
                async with client.stream("GET", url) as reply:
                    if reply.is_redirect and "location" in reply.headers:
                        url = urljoin(url, reply.headers["location"])
                        continue
                    if reply.status_code != 200:
                        raise InvalidRequest(
                            f"Fetching the {what} failed: HTTP {reply.status_code}",
                            param=param,
                            code=f"{what}_fetch_failed",
                        )
                    yield reply.aiter_bytes()
                    return
            except httpx.HTTPError as exc:
                raise InvalidRequest(
                    f"Fetching the {what} failed: {exc}", param=param, code=f"{what}_fetch_failed"
                ) from None
    raise InvalidRequest(f"Too many redirects fetching the {what}", param=param, code=f"{what}_fetch_failed")


async def fetch_image(url: str, *, param: str, max_bytes: int, fetch_seconds: float, allow_private: bool) -> InputImage:
    data = bytearray()
    opened = _stream(url, what="image", param=param, fetch_seconds=fetch_seconds, allow_private=allow_private)
    async with opened as chunks:
        async for chunk in chunks:
            data += chunk
            if len(data) > max_bytes:
                raise InvalidRequest(
                    f"Image is larger than the limit of {max_bytes} bytes", param=param, code="image_too_large"
                )
    mime = sniff_image_type(bytes(data))
    if mime is None:
        raise InvalidRequest("Image must be a PNG, JPEG or WebP file", param=param, code="unsupported_image_type")
    return InputImage(data=bytes(data), mime=mime)


async def fetch_video(
    url: str, upload: Upload, *, param: str, max_bytes: int, fetch_seconds: float, allow_private: bool
) -> None:
    """Stream an external source video (xAI's `video.url`) into `upload`: public addresses only, at most
    `max_bytes`, and it must be an MP4."""
    opened = _stream(url, what="video", param=param, fetch_seconds=fetch_seconds, allow_private=allow_private)
    async with opened as chunks:
        async for chunk in chunks:
            if upload.size + len(chunk) > max_bytes:
                raise InvalidRequest(
                    f"Video is larger than the limit of {max_bytes} bytes (MAX_UPLOAD_BYTES)",
                    param=param,
                    code="video_too_large",
                )
            await asyncio.to_thread(upload.write, chunk)
    if not is_iso_bmff(upload.head()):
        raise InvalidRequest(
            "The video URL did not give an MP4 (ISO-BMFF, starting with an 'ftyp' box)", param=param, code="not_mp4"
        )
