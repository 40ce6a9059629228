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
    collected.refresh(await svc.counts(), svc.workers.online(svc.clock.now()))
    return Response(collected.exposition(), media_type=CONTENT_TYPE_LATEST)
