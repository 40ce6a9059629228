"""Fetching what a client names by URL: an image (xAI's `image.url`, OpenAI's `input_reference[image_url]`) or
a source video (xAI's `video.url`), from public addresses only, within a deadline for the whole fetch."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import urljoin, urlsplit

import httpx

from ..domain.errors import InvalidRequest
from ..domain.images import check_image
from ..domain.jobs import InputImage
from .media import is_iso_bmff
from .storage import Upload

MAX_REDIRECTS = 3

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str], Awaitable[Sequence[IPAddress]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


async def resolve_host(host: str) -> list[IPAddress]:
    """The system resolver's addresses for `host`, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d),
    compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:AABB:CCDD::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or int(address) >> 32 in (0, 0xFFFF_0000):
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally reachable, judged by the IPv4 address inside an IPv6 one that carries one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:  # its embedding depends on the local prefix: never public
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


class Unresolvable(Exception):
    pass


class PrivateAddress(Exception):
    pass


class PinnedTransport(httpx.AsyncBaseTransport):
    """Resolves each request's host once, checks every address, and connects to a checked one: httpx never
    looks the name up again, so a second answer (DNS rebinding) cannot lead the connection elsewhere. The Host
    header, the TLS server name and the certificate check stay the host's. `resolve`, and `transport` (what
    the pinned request is sent through), are swappable."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolve = resolve_host,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        # No connection is kept for another request: pooled by address, a TLS connection checked for one name
        # could otherwise serve a redirect to another name at the same address.
        self._transport = transport or httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    async def _addresses(self, host: str) -> Sequence[IPAddress]:
        try:
            addresses: Sequence[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = await self._resolve(host)
            except (OSError, UnicodeError):
                raise Unresolvable(host) from None
        if not addresses:
            raise Unresolvable(host)
        if not self._allow_private and not all(is_public(address) for address in addresses):
            raise PrivateAddress(host)
        return addresses

    async def _send(self, request: httpx.Request, host: str, address: IPAddress) -> httpx.Response:
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=str(address)),
            headers=request.headers,  # its Host is still the name
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return await self._transport.handle_async_request(pinned)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        *others, last = await self._addresses(host)
        for address in others:
            with contextlib.suppress(httpx.ConnectError, httpx.ConnectTimeout):
                return await self._send(request, host, address)
        return await self._send(request, host, last)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _refused(what: str, param: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code=f"invalid_{what}_url")


def _failed(what: str, param: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"Fetching the {what} failed: {reason}", param=param, code=f"{what}_fetch_failed")


def _too_slow(what: str, param: str, seconds: float) -> InvalidRequest:
    setting = f"{what.upper()}_FETCH_TIMEOUT_SECONDS"
    return _failed(what, param, f"it took longer than {seconds:g} s ({setting})")


async def _follow(client: httpx.AsyncClient, url: str, *, what: str, param: str) -> httpx.Response:
    """The open reply of a public http(s) URL, following up to MAX_REDIRECTS redirects, each hop checked and
    pinned again by the client's PinnedTransport."""
    schemes = "http(s) or data: URLs" if what == "image" else "http(s) URLs"
    hint = "send the image inline as a data URL" if what == "image" else "upload the video as a file"
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise _refused(what, param, f"{what.capitalize()} URLs must be {schemes}")
        try:
            reply = await client.send(client.build_request("GET", url), stream=True)
        except Unresolvable as exc:
            raise _refused(what, param, f"Cannot resolve the {what} URL's host {exc.args[0]!r}") from None
        except PrivateAddress:
            raise _refused(what, param, f"The {what} URL points to a private or local address; {hint}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _failed(what, param, str(exc)) from None
        if reply.is_redirect and "location" in reply.headers:
            await reply.aclose()
            url = urljoin(url, reply.headers["location"])
            continue
        if reply.status_code != 200:
            await reply.aclose()
            raise _failed(what, param, f"HTTP {reply.status_code}")
        return reply
    raise _failed(what, param, "too many redirects")


async def _chunks(reply: httpx.Response, deadline: float, *, what: str, param: str) -> AsyncGenerator[bytes]:
    chunks = reply.aiter_bytes()
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await anext(chunks, None)
        except httpx.HTTPError as exc:
            raise _failed(what, param, str(exc)) from None
        if chunk is None:
            return
        yield chunk


@contextlib.asynccontextmanager
async def _stream(
    url: str,
    *,
    what: str,
    param: str,
    fetch_seconds: float,
    transport: PinnedTransport,
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body of `url`, all of it within `fetch_seconds` of the start (a per-read timeout would let a server
    that trickles a byte at a time hold the request open indefinitely)."""
    deadline = asyncio.get_running_loop().time() + fetch_seconds
    try:
        async with httpx.AsyncClient(transport=transport, timeout=fetch_seconds, follow_redirects=False) as client:
            async with asyncio.timeout_at(deadline):
                reply = await _follow(client, url, what=what, param=param)
            try:
                async with contextlib.aclosing(_chunks(reply, deadline, what=what, param=param)) as chunks:
                    yield chunks
            finally:
                await reply.aclose()
    except TimeoutError:
        raise _too_slow(what, param, fetch_seconds) from None


async def fetch_image(
    url: str,
    *,
    param: str,
    max_bytes: int,
    fetch_seconds: float,
    allow_private: bool,
    resolve: Resolve = resolve_host,
    transport: httpx.AsyncBaseTransport | None = None,
) -> InputImage:
    """An image from a public http(s) URL, whole (see `check_image`), within `fetch_seconds` in all."""
    data = bytearray()
    pinned = PinnedTransport(allow_private=allow_private, resolve=resolve, transport=transport)
    async with _stream(url, what="image", param=param, fetch_seconds=fetch_seconds, transport=pinned) as chunks:
        async for chunk in chunks:
            data += chunk
            if len(data) > max_bytes:
                raise InvalidRequest(
                    f"Image is larger than the limit of {max_bytes} bytes", param=param, code="image_too_large"
                )
    return await asyncio.to_thread(check_image, bytes(data), max_bytes=max_bytes, param=param)


async def fetch_video(
    url: str,
    upload: Upload,
    *,
    param: str,
    max_bytes: int,
    fetch_seconds: float,
    allow_private: bool,
    resolve: Resolve = resolve_host,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Stream an external source video (xAI's `video.url`) into `upload`: public addresses only, at most
    `max_bytes` within `fetch_seconds` in all, and it must be an MP4."""
    pinned = PinnedTransport(allow_private=allow_private, resolve=resolve, transport=transport)
    async with _stream(url, what="video", param=param, fetch_seconds=fetch_seconds, transport=pinned) as chunks:
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
