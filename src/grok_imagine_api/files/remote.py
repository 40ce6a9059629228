"""Fetching a client's image URL (xAI's `image.url`, OpenAI's `input_reference[image_url]`)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
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


async def fetch_image(url: str, *, param: str, max_bytes: int, fetch_seconds: float, allow_private: bool) -> InputImage:
    async with httpx.AsyncClient(timeout=fetch_seconds, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidRequest("Image URLs must be http(s) or data: URLs", param=param, code="invalid_image_url")
            if not allow_private:
                await _check_public(url, param)
            try:
                async with client.stream("GET", url) as reply:
                    if reply.is_redirect and "location" in reply.headers:
                        url = urljoin(url, reply.headers["location"])
                        continue
                    if reply.status_code != 200:
                        raise InvalidRequest(
                            f"Fetching the image failed: HTTP {reply.status_code}",
                            param=param,
                            code="image_fetch_failed",
                        )
                    data = bytearray()
                    async for chunk in reply.aiter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise InvalidRequest(
                                f"Image is larger than the limit of {max_bytes} bytes",
                                param=param,
                                code="image_too_large",
                            )
            except httpx.HTTPError as exc:
                raise InvalidRequest(
                    f"Fetching the image failed: {exc}", param=param, code="image_fetch_failed"
                ) from None
            mime = sniff_image_type(bytes(data))
            if mime is None:
                raise InvalidRequest(
                    "Image must be a PNG, JPEG or WebP file", param=param, code="unsupported_image_type"
                )
            return InputImage(data=bytes(data), mime=mime)
    raise InvalidRequest("Too many redirects fetching the image", param=param, code="image_fetch_failed")


async def fetch_video(
    url: str, upload: Upload, *, param: str, max_bytes: int, fetch_seconds: float, allow_private: bool
) -> None:
    """Stream an external source video (xAI's `video.url`) into `upload`: public addresses only, at most
    `max_bytes`, and it must be an MP4."""
    async with httpx.AsyncClient(timeout=fetch_seconds, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidRequest("Video URLs must be http(s) URLs", param=param, code="invalid_video_url")
            if not allow_private:
                await _check_public(url, param, what="video")
            try:
                async with client.stream("GET", url) as reply:
                    if reply.is_redirect and "location" in reply.headers:
                        url = urljoin(url, reply.headers["location"])
                        continue
                    if reply.status_code != 200:
                        raise InvalidRequest(
                            f"Fetching the video failed: HTTP {reply.status_code}",
                            param=param,
                            code="video_fetch_failed",
                        )
                    async for chunk in reply.aiter_bytes():
                        if upload.size + len(chunk) > max_bytes:
                            raise InvalidRequest(
                                f"Video is larger than the limit of {max_bytes} bytes (MAX_UPLOAD_BYTES)",
                                param=param,
                                code="video_too_large",
                            )
                        await asyncio.to_thread(upload.write, chunk)
            except httpx.HTTPError as exc:
                raise InvalidRequest(
                    f"Fetching the video failed: {exc}", param=param, code="video_fetch_failed"
                ) from None
            if not is_iso_bmff(upload.head()):
                raise InvalidRequest(
                    "The video URL did not give an MP4 (ISO-BMFF, starting with an 'ftyp' box)",
                    param=param,
                    code="not_mp4",
                )
            return
    raise InvalidRequest("Too many redirects fetching the video", param=param, code="video_fetch_failed")
