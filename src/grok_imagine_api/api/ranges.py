"""Range requests and validators. Every file's Range is checked here (400 and 416 in the error envelope); an object
in a store that is streamed through this server gets what Starlette's FileResponse gives a local file: 206 (several
ranges as multipart/byteranges), If-Range, ETag and Last-Modified (304)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Mapping
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response
from starlette.responses import StreamingResponse

from ..domain.errors import APIError, InvalidRequest
from ..files.storage import StoredObject

_RANGE_PART = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# As many ranges as FileResponse serves apart; a Range asking for more gets the whole video.
MAX_RANGES = 100


class RangeNotSatisfiable(APIError):
    status_code = 416
    code = "range_not_satisfiable"


def check_range(header: str, size: int) -> None:
    """Malformed ranges get 400 and unsatisfiable ones 416, in the error envelope."""
    units, _, spec = header.partition("=")
    if units.strip().lower() != "bytes" or not spec.strip():
        raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
    satisfiable = True
    for part in spec.split(","):
        match = _RANGE_PART.match(part)
        if not match or (not match.group(1) and not match.group(2)):
            raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
        first, last = match.group(1), match.group(2)
        if first and last and int(last) < int(first):
            raise InvalidRequest(f"Malformed Range header {header!r}", param="Range", code="invalid_range")
        if (first and int(first) < size) or (not first and int(last) > 0 and size > 0):
            continue
        satisfiable = False
    if not satisfiable:
        raise RangeNotSatisfiable(
            f"Range {spec!r} is outside the video's {size} bytes",
            param="Range",
            headers={"Content-Range": f"bytes */{size}"},
        )


def byte_ranges(header: str, size: int) -> list[tuple[int, int]]:
    """The [start, end) spans of a Range that check_range accepted, overlaps merged, as FileResponse reads them;
    none (send it all) past MAX_RANGES."""
    parts = header.partition("=")[2].split(",")
    if len(parts) > MAX_RANGES:
        return []
    spans = []
    for part in parts:
        match = _RANGE_PART.match(part)
        if match is None:
            continue
        first, last = match.group(1), match.group(2)
        if not first:
            spans.append((max(size - int(last), 0), size))
        else:
            spans.append((int(first), int(last) + 1 if last and int(last) < size else size))
    if len(spans) < 2:
        return spans
    merged = [min(spans)]
    for start, end in sorted(spans)[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def part_head(boundary: str, media_type: str, start: int, end: int, size: int) -> bytes:
    """Each part of a multipart/byteranges body, in the format FileResponse sends."""
    return (
        f"--{boundary}\r\nContent-Type: {media_type}\r\nContent-Range: bytes {start}-{end - 1}/{size}\r\n\r\n".encode(
            "latin-1"
        )
    )


async def byteranges(
    stored: StoredObject, spans: list[tuple[int, int]], boundary: str, media_type: str
) -> AsyncIterator[bytes]:
    for start, end in spans:
        yield part_head(boundary, media_type, start, end, stored.size)
        async for chunk in await stored.open_range(start, end):
            yield chunk
        yield b"\r\n"
    yield f"--{boundary}--".encode("latin-1")


def not_modified(request: Request, headers: Mapping[str, str]) -> bool:
    etag = headers.get("etag")
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag is not None and (
            if_none_match.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        )
    if_modified_since = request.headers.get("if-modified-since")
    last_modified = headers.get("last-modified")
    if if_modified_since and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


async def serve_object(request: Request, stored: StoredObject, media_type: str) -> Response:
    """An object from the store, streamed through this server with what FileResponse gives a file: Range (206,
    416), If-Range, ETag and Last-Modified (304)."""
    headers = {
        "etag": stored.etag,
        "last-modified": format_datetime(stored.last_modified, usegmt=True),
        "cache-control": "private, max-age=3600",
        "accept-ranges": "bytes",
    }
    if not_modified(request, headers):
        return Response(
            status_code=304, headers={key: headers[key] for key in ("etag", "last-modified", "cache-control")}
        )
    start, end, status = 0, stored.size, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header is not None and (
        if_range is None or (not if_range.startswith("W/") and if_range in (headers["etag"], headers["last-modified"]))
    ):
        check_range(range_header, stored.size)
        spans = byte_ranges(range_header, stored.size)
        if len(spans) > 1:
            return await serve_ranges(request, stored, spans, headers, media_type)
        if spans:
            [(start, end)], status = spans, 206
            headers["content-range"] = f"bytes {start}-{end - 1}/{stored.size}"
    headers["content-length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(await stored.open_range(start, end), status, headers, media_type)


async def serve_ranges(
    request: Request, stored: StoredObject, spans: list[tuple[int, int]], headers: dict[str, str], media_type: str
) -> Response:
    boundary = secrets.token_hex(13)
    length = len(f"--{boundary}--") + sum(
        len(part_head(boundary, media_type, start, end, stored.size)) + end - start + 2 for start, end in spans
    )
    headers["content-length"] = str(length)
    multipart = f"multipart/byteranges; boundary={boundary}"
    if request.method == "HEAD":
        return Response(status_code=206, headers=headers, media_type=multipart)
    return StreamingResponse(byteranges(stored, spans, boundary, media_type), 206, headers, multipart)
