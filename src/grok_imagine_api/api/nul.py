"""NUL characters (U+0000) are refused wherever a request carries text: its URL, JSON bodies and form fields.

JSON and URLs can carry them, but PostgreSQL's text and jsonb cannot hold them, no page can take them, and a
store must not answer 500 for what a client sent; both stores refuse them alike with a 400."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..domain.errors import InvalidRequest
from .limits import send_error


def nul_in_url() -> InvalidRequest:
    return InvalidRequest("The request's URL contains a NUL character (%00)", code="invalid_text")


def nul_in(param: str | None) -> InvalidRequest:
    where = f"'{param}'" if param else "The request body"
    return InvalidRequest(f"{where} contains a NUL character (U+0000)", param=param, code="invalid_text")


def refuse_nul(data: Any, param: str | None = None) -> None:
    """400 when any string in `data` (keys and values of objects and lists too) holds a NUL."""
    if isinstance(data, str):
        if "\x00" in data:
            raise nul_in(param)
    elif isinstance(data, dict):
        for key, value in data.items():
            refuse_nul(key, param)
            refuse_nul(value, param if param is not None else str(key))
    elif isinstance(data, list):
        for item in data:
            refuse_nul(item, param)


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]):
            await send_error(send, nul_in_url())
            return
        await self.app(scope, receive, send)
