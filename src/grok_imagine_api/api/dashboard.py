"""The web dashboard: one page of plain HTML, CSS and JavaScript, served from the package (no build step)."""

from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request, Response

from ..domain.errors import NotFound

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# Nothing but this server's own files may run or load; user text is never HTML anyway, this is the second wall.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


@cache
def asset(name: str) -> tuple[bytes, str, str] | None:
    """(bytes, media type, ETag) of a file shipped in the dashboard folder, or None."""
    if "/" in name or name.startswith("."):
        return None
    entry = resources.files("grok_imagine_api").joinpath("dashboard", name)
    if not entry.is_file():
        return None
    data = entry.read_bytes()
    suffix = name[name.rfind(".") :] if "." in name else ""
    media = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return data, media, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def send(request: Request, name: str) -> Response:
    found = asset(name)
    if found is None:
        raise NotFound(f"No dashboard file {name!r}", code="not_found")
    data, media, etag = found
    headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if media.startswith("text/"):
        media += "; charset=utf-8"
    return Response(data, media_type=media, headers=headers)


@router.get("/static/{name}")
async def static(request: Request, name: str) -> Response:
    return send(request, name)


# Every page of the dashboard is the same document; its script reads the path and draws the page.
@router.get("")
@router.get("/")
@router.get("/{page:path}")
async def page(request: Request, page: str = "") -> Response:
    if page.startswith("static/"):
        raise NotFound(f"No dashboard file {page[len('static/') :]!r}", code="not_found")
    return send(request, "index.html")
