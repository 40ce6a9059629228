"""GET /metrics: the Prometheus text format, for the same callers as the other operator routes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..metrics import Metrics
from .auth import Viewer
from .common import service
from .openapi import answers

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics: jobs, queue, workers, request latency",
    responses=answers({CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, 401, 503),
)
async def metrics(request: Request, viewer: Viewer) -> Response:
    svc = service(request)
    collected: Metrics = request.app.state.metrics
    # Gauges of the present are read now, at scrape time; counters and histograms were kept up as things happened.
    now = svc.clock.now()
    collected.refresh(await svc.counts(), svc.workers.online(now))
    collected.refresh_cooling({info.worker_id: (info.cooldown_until or now) - now for info in svc.workers.cooling(now)})
    if request.app.state.webhooks is not None:
        collected.webhook_queue.set(await request.app.state.webhooks.queue_depth())
    return Response(collected.exposition(), media_type=CONTENT_TYPE_LATEST)
