"""Health, the queue overview and the workers: what operators and the dashboard watch.

With API keys, a key sees the ids, progress and error messages of its own jobs only: a worker busy with another
key's job shows as busy, its job unnamed. Without credentials, /health gives counts only.
"""

from __future__ import annotations

import statistics
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from .. import __version__
from ..domain.jobs import JobStatus
from ..service import ACTIVITY_HOURS
from ..store.base import ACTIVITY_BUCKET
from ..worker.registry import WorkerError, WorkerInfo, WorkerRegistry
from .auth import Viewer, auth
from .common import service
from .openapi import answers
from .schemas.monitoring import Health, Stats, WorkerList

router = APIRouter()


def sees(viewer: str | None, owner: str | None) -> bool:
    """Whether `viewer` (None: an open server, everyone sees everything) may see a job of `owner`."""
    return viewer is None or owner == viewer


async def health(request: Request) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
    counts = await svc.counts()
    registry = svc.workers
    listed = registry.listed(now)
    workers: dict[str, Any] = {
        "online": sum(1 for info in listed if registry.is_online(info, now)),
        "recent": len(listed),
        "waiting": svc.dispatcher.waiting,
        "seen_within_seconds": registry.forget_after,
    }
    gate = auth(request)
    viewer = gate.owner_if_valid(request)
    if viewer is not None or not gate.clients_need_keys:
        workers["list"] = [
            {
                "client_id": info.worker_id,
                "state": registry.state(info, now),
                "last_seen": int(info.last_seen),
                "current_job_id": info.current_job_id if sees(viewer, info.current_job_owner) else None,
                "jobs_claimed": info.jobs_claimed,
            }
            for info in listed
        ]
    return {
        "status": "ok",
        "service": "grok-imagine-api",
        "version": __version__,
        "time": int(now),
        "jobs": {status.value: counts.get(status, 0) for status in JobStatus},
        "workers": workers,
    }


def wants_html(request: Request) -> bool:
    """A browser navigating here, not an API client: browsers put text/html first and never ask for JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


async def root(request: Request) -> Response | dict[str, Any]:
    if wants_html(request):
        return RedirectResponse("/dashboard", status_code=307)
    return await health(request)


router.add_api_route(
    "/",
    root,
    methods=["GET"],
    response_model=None,
    summary="Health check (browsers: the dashboard)",
    responses=answers(Health, 307, 503),
)
router.add_api_route(
    "/health", health, methods=["GET"], summary="Health check", response_model=None, responses=answers(Health, 503)
)


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


@router.get(
    "/stats",
    summary="Queue overview: jobs per state and per hour, median timings, workers online",
    response_model=None,
    responses=answers(Stats, 401, 503),
)
async def stats(request: Request, viewer: Viewer) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
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
    registry = svc.workers
    states = [registry.state(info, now) for info in registry.listed(now)]
    return {
        "object": "stats",
        "version": svc.version,
        "time": now,
        # Cancelled jobs apart from the other failed ones, as the job listing's `status` filter has them.
        "jobs": await svc.state_counts(),
        "per_hour": hours,
        "median_queue_wait_seconds": median(activity.queue_waits),
        "median_generation_seconds": median(activity.generation_times),
        "timing_sample": len(activity.generation_times),
        "workers": {
            "online": len(states) - states.count("offline"),
            "busy": states.count("busy"),
            "waiting": states.count("waiting"),
            "offline": states.count("offline"),
        },
    }


@router.get(
    "/workers",
    summary="Workers seen recently: state, last contact, current job, recent errors, version",
    response_model=None,
    responses=answers(WorkerList, 401, 503),
)
async def workers(request: Request, viewer: Viewer) -> dict[str, Any]:
    svc = service(request)
    now = svc.clock.now()
    registry = svc.workers
    listed = registry.listed(now)
    progress: dict[str, int] = {}
    for info in listed:
        shown = info.current_job_id if sees(viewer, info.current_job_owner) else None
        if shown and (job := await svc.find(shown)) is not None:
            progress[job.id] = job.progress
    return {
        "object": "list",
        "seen_within_seconds": registry.forget_after,
        "online_within_seconds": {"idle": registry.idle_online, "busy": registry.busy_online},
        "data": [worker_view(registry, info, now, viewer, progress) for info in listed],
    }


def worker_view(
    registry: WorkerRegistry, info: WorkerInfo, now: float, viewer: str | None, progress: dict[str, int]
) -> dict[str, Any]:
    job_id = info.current_job_id if sees(viewer, info.current_job_owner) else None
    return {
        "client_id": info.worker_id,
        "state": registry.state(info, now),
        "online": registry.is_online(info, now),
        "version": info.version,
        "first_seen": info.first_seen,
        # A worker inside a long poll is in contact right now.
        "last_seen": now if info.polling else info.last_seen,
        "current_job_id": job_id,
        "current_job_progress": progress.get(job_id) if job_id else None,
        "jobs_claimed": info.jobs_claimed,
        "jobs_completed": info.jobs_completed,
        "jobs_failed": info.jobs_failed,
        # None: the worker never declared (the founding document's protocol): plain generation only.
        "abilities": info.abilities.to_dict() if info.abilities else None,
        "recent_errors": [error_view(error, viewer) for error in info.errors],
        # Rate-limited by Grok: no job until then (docs/retries.md).
        "cooldown_until": info.cooldown_until if info.cooldown_until and info.cooldown_until > now else None,
        "cooldown_reason": info.cooldown_reason if info.cooldown_until and info.cooldown_until > now else None,
    }


def error_view(error: WorkerError, viewer: str | None) -> dict[str, Any]:
    """The code and time of any job's failure; its id and message only to the job's owner."""
    mine = sees(viewer, error.owner)
    return {
        "job_id": error.job_id if mine else None,
        "code": error.code,
        "message": error.message if mine else None,
        "at": error.at,
    }
