"""One error envelope for everything: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..domain.errors import APIError, InvalidRequest

log = logging.getLogger("grok_imagine_api")

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    error_type: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def api_error_response(exc: APIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


def invalid_request(errors: Sequence[Any]) -> InvalidRequest:
    """Turn pydantic's first complaint into a 400 that names the parameter."""
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    kind = first.get("type")
    if kind == "json_invalid":
        return InvalidRequest("Request body is not valid JSON", code="invalid_json")
    if kind == "missing":
        return InvalidRequest(f"Missing required parameter '{param}'", param=param, code="missing_parameter")
    if kind == "model_attributes_type":
        return InvalidRequest("Request body must be a JSON object", code="invalid_body")
    message = first.get("msg", "Invalid request")
    text = f"Invalid value for '{param}': {message}" if param else message
    return InvalidRequest(text, param=param, code="invalid_parameter")


# FastAPI 0.12x+ keeps included routers whole; this lists their routes. Older releases list them flat already.
_route_contexts: Any = getattr(fastapi.routing, "iter_route_contexts", iter)


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at this path. The router's 405 names only those of the first route that
    matched (GET and DELETE /v1/videos/{id} live in different routers). The most specific routes are the
    resource: /v1/videos/edits is POST only, although /v1/videos/{id} would also match it."""
    found: dict[int, set[str]] = {}
    for route in _route_contexts(request.app.routes):
        methods = getattr(route, "methods", None)
        if methods and route.matches(request.scope)[0] is not Match.NONE:
            found.setdefault(str(route.path).count("{"), set()).update(methods)
    return sorted(found[min(found)]) if found else []


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError) -> JSONResponse:
        return api_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return api_error_response(invalid_request(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, message, code=_HTTP_CODES.get(exc.status_code), headers=headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "Internal server error", code="internal_error", error_type="server_error")
