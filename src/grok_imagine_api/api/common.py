"""Shared by the route modules: the service, public URLs, and what goes into the request log."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..service import JobService


def service(request: Request) -> JobService:
    svc: JobService = request.app.state.service
    return svc


def base_url(request: Request) -> str:
    configured = service(request).settings.public_base_url
    if configured:
        return configured
    return str(request.base_url).rstrip("/")


def video_url(request: Request, job_id: str) -> str:
    return f"{base_url(request)}/videos/{job_id}.mp4"


def log_info(request: Request, **info: Any) -> None:
    current: dict[str, Any] | None = getattr(request.state, "log", None)
    if current is None:
        request.state.log = info
    else:
        current.update(info)
