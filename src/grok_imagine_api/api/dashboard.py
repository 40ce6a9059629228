"""The web dashboard: one page of plain HTML, CSS and JavaScript, served from the package (no build step)."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from ..domain.errors import NotFound
from .common import service

router = APIRouter(prefix="/dashboard", include_in_schema=False)

TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    data: bytes
    media_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file of the dashboard folder, read once: requests for any other name are 404s."""
    found = {}
    for entry in resources.files("grok_imagine_api").joinpath("dashboard").iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            data = entry.read_bytes()
            suffix = entry.name[entry.name.rfind(".") :]
            media = TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            if media.startswith("text/"):
                media += "; charset=utf-8"
            found[entry.name] = Asset(data, media, '"' + hashlib.sha256(data).hexdigest()[:20] + '"')
    return found


ASSETS = load_assets()


def security_headers(request: Request) -> dict[str, str]:
    """Nothing but this server's own files may run or load; user text is never HTML anyway, this is the second
    wall. Videos and images may also come from PUBLIC_BASE_URL, which is where the server's links point, and with
    S3_DELIVERY=redirect from the object store they are redirected to."""
    media = "'self' blob:"
    settings = service(request).settings
    if settings.public_base_url:
        parts = urlsplit(settings.public_base_url)
        media += f" {parts.scheme}://{parts.netloc}"
    if settings.video_storage_url and settings.s3_delivery == "redirect":
        # Links are redirected to presigned URLs of the object store: its endpoint, or AWS's when none is set.
        if settings.s3_endpoint_url:
            parts = urlsplit(settings.s3_endpoint_url)
            media += f" {parts.scheme}://{parts.netloc}"
        else:
            media += " https://*.amazonaws.com"
    policy = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {media} data:; "
        f"media-src {media}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def send(request: Request, name: str) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound(f"No dashboard file {name!r}", code="not_found")
    headers = {**security_headers(request), "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.data, headers={**headers, "Content-Type": asset.media_type})


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
