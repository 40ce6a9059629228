"""Refuse a request without the credentials its route needs before any of its body is read.

The routes keep their own `Viewer` / `require_worker` dependencies; this gate only answers sooner, so that
a caller without a key cannot make the server hold megabytes of body first. Which route needs what is read
from the routes' dependencies, and a route is matched the way the router matches it: the first that matches
path and method. A request no route matches fully (404, 405) passes through untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import fastapi.routing
from fastapi import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Auth, Unauthorized, client_owner, require_worker
from .limits import UNROUTED, send_error

Check = Callable[[Auth, Request], object]
CHECKS: dict[Callable[..., Any], Check] = {client_owner: Auth.client, require_worker: Auth.worker}

# Recent FastAPI keeps an included router whole in `app.routes`; `iter_route_contexts` lists its routes with the
# prefix and the router's dependencies applied, as they are matched. Older releases list them flat already.
_route_contexts: Callable[[Sequence[BaseRoute]], Iterable[Any]] = getattr(fastapi.routing, "iter_route_contexts", iter)


def checks_of(route: Any) -> list[Check]:
    """The credential checks among a route's dependencies (and theirs), in the order they run."""
    found: list[Check] = []
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while pending:
        dependency = pending.pop(0)
        if (check := CHECKS.get(dependency.call)) is not None and check not in found:
            found.append(check)
        pending[:0] = dependency.dependencies
    return found


class EarlyAuthMiddleware:
    def __init__(self, app: ASGIApp, *, auth: Auth, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.auth = auth
        self.routes = routes
        self._table: list[tuple[Any, list[Check]]] | None = None

    def table(self) -> list[tuple[Any, list[Check]]]:
        # Built on the first request: every router has been included by then.
        if self._table is None:
            self._table = [(route, checks_of(route)) for route in _route_contexts(self.routes)]
        return self._table

    def route_for(self, scope: Scope) -> tuple[Any, list[Check]]:
        for route, checks in self.table():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route, checks
        return None, []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # GET and HEAD bodies are never read; their routes refuse through their own dependencies.
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            route, checks = self.route_for(scope)
            if route is None:
                # 404 or 405: the router answers without the body, so it must not be read (nor room held for it).
                scope[UNROUTED] = True
            try:
                for check in checks:
                    check(self.auth, Request(scope))
            except Unauthorized as exc:
                scope["route"] = getattr(route, "original_route", route)  # what the router would have set
                await send_error(send, exc)
                return
        await self.app(scope, receive, send)
