"""Health and job listings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from .. import __version__
from ..domain.errors import InvalidRequest
from ..domain.jobs import JobStatus
from .auth import Viewer
from .common import service
from .views import job_detail

router = APIRouter()


async def health(request: Request) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
    counts = await svc.store.counts()
    workers = svc.workers.recent(now)
    return {
        "status": "ok",
        "service": "grok-imagine-api",
        "version": __version__,
        "time": int(now),
        "jobs": {status.value: counts.get(status, 0) for status in JobStatus},
        "workers": {
            "recent": len(workers),
            "waiting": svc.dispatcher.waiting,
            "seen_within_seconds": svc.workers.forget_after,
            "list": [
                {
                    "client_id": info.worker_id,
                    "last_seen": int(info.last_seen),
                    "current_job_id": info.current_job_id,
                    "jobs_claimed": info.jobs_claimed,
                }
                for info in workers
            ],
        },
    }


router.add_api_route("/", health, methods=["GET"], summary="Health check")
router.add_api_route("/health", health, methods=["GET"], summary="Health check")


@router.get("/jobs", summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    viewer: Viewer,
    status: str | None = Query(None, description="pending, processing, completed or failed; empty for all"),
    limit: int = Query(100),
    cursor: str | None = None,
) -> dict[str, Any]:
    try:
        wanted = JobStatus(status) if status else None
    except ValueError:
        states = ", ".join(s.value for s in JobStatus)
        raise InvalidRequest(f"Unknown status {status!r}; use one of {states}", param="status") from None
    page = await service(request).list_jobs(status=wanted, limit=limit, cursor=cursor, viewer=viewer)
    return {
        "object": "list",
        "data": [job_detail(request, job) for job in page.jobs],
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }
