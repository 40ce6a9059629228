"""Health, the queue overview and the workers: what operators and the dashboard watch."""

from __future__ import annotations

import statistics
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from .. import __version__
from ..domain.jobs import JobStatus
from ..service import ACTIVITY_HOURS
from ..store.base import ACTIVITY_BUCKET
from ..worker.registry import WorkerInfo
from .auth import Viewer
from .common import service

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


def wants_html(request: Request) -> bool:
    """A browser navigating here, not an API client: browsers put text/html first and never ask for JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


async def root(request: Request) -> Response | dict[str, Any]:
    if wants_html(request):
        return RedirectResponse("/dashboard", status_code=307)
    return await health(request)


router.add_api_route("/", root, methods=["GET"], response_model=None, summary="Health check (browsers: the dashboard)")
router.add_api_route("/health", health, methods=["GET"], summary="Health check")


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


@router.get("/stats", summary="Queue overview: jobs per state and per hour, median timings, workers online")
async def stats(request: Request, viewer: Viewer) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
    counts = await svc.store.counts()
    snapshot = await svc.activity()
    activity = snapshot.activity
    hours = [
        {
            "start": int(snapshot.since + i * ACTIVITY_BUCKET),
            "created": activity.created.get(i, 0),
            "completed": activity.completed.get(i, 0),
            "failed": activity.failed.get(i, 0),
        }
        for i in range(ACTIVITY_HOURS)
    ]
    workers = svc.workers.recent(now)
    return {
        "object": "stats",
        "version": svc.version,
        "time": now,
        "jobs": {status.value: counts.get(status, 0) for status in JobStatus},
        "per_hour": hours,
        "median_queue_wait_seconds": median(activity.queue_waits),
        "median_generation_seconds": median(activity.generation_times),
        "timing_sample": len(activity.generation_times),
        "workers": {
            "online": len(workers),
            "busy": sum(1 for w in workers if w.state == "busy"),
            "waiting": sum(1 for w in workers if w.state == "waiting"),
        },
    }


@router.get("/workers", summary="Workers seen recently: last contact, current job, recent errors, version")
async def workers(request: Request, viewer: Viewer) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
    listed = svc.workers.recent(now)
    progress: dict[str, int] = {}
    for info in listed:
        if info.current_job_id and (job := await svc.store.get(info.current_job_id)) is not None:
            progress[job.id] = job.progress
    return {
        "object": "list",
        "seen_within_seconds": svc.workers.forget_after,
        "data": [worker_view(info, now, progress) for info in listed],
    }


def worker_view(info: WorkerInfo, now: float, progress: dict[str, int]) -> dict[str, Any]:
    return {
        "client_id": info.worker_id,
        "state": info.state,
        "version": info.version,
        "first_seen": info.first_seen,
        # A worker inside a long poll is in contact right now.
        "last_seen": now if info.polling else info.last_seen,
        "current_job_id": info.current_job_id,
        "current_job_progress": progress.get(info.current_job_id) if info.current_job_id else None,
        "jobs_claimed": info.jobs_claimed,
        "jobs_completed": info.jobs_completed,
        "jobs_failed": info.jobs_failed,
        # None: the worker never declared (the founding document's protocol): plain generation only.
        "abilities": info.abilities.to_dict() if info.abilities else None,
        "recent_errors": [{"job_id": e.job_id, "code": e.code, "message": e.message, "at": e.at} for e in info.errors],
    }
