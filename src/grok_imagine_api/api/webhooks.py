"""GET /webhooks/deliveries: the webhook delivery log (docs/webhooks.md), for the dashboard and operators. With
API keys, a key sees the deliveries of its own jobs only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request

from ..store.outbox import Attempt, Delivery
from ..webhooks.delivery import RECENT_LIMIT, Webhooks
from ..webhooks.endpoints import SERVER
from .auth import Viewer
from .openapi import answers
from .schemas.webhooks import WebhookDeliveries

router = APIRouter()


def hooks(request: Request) -> Webhooks | None:
    found: Webhooks | None = request.app.state.webhooks
    return found


@router.get(
    "/webhooks/deliveries",
    summary="Webhook deliveries, newest first: event, job, endpoint, attempts, status, latency, next retry",
    response_model=None,
    responses=answers(WebhookDeliveries, 401, 503),
)
async def deliveries(request: Request, viewer: Viewer, limit: int = Query(50, ge=1, le=RECENT_LIMIT)) -> dict[str, Any]:
    found = hooks(request)
    if found is None:
        return {"object": "list", "configured": False, "pending": 0, "data": []}
    listed = await found.outbox.recent(owner=viewer, limit=limit)
    attempts = await found.outbox.attempts([delivery.id for delivery in listed])
    return {
        "object": "list",
        "configured": found.endpoints.configured,
        "pending": await found.queue_depth() if viewer is None else sum(d.status == "pending" for d in listed),
        "data": [delivery_view(delivery, attempts.get(delivery.id, [])) for delivery in listed],
    }


def delivery_view(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "type": delivery.event_type,
        "job_id": delivery.job_id,
        "endpoint": "server" if delivery.endpoint == SERVER else "key",
        "host": urlsplit(delivery.url).hostname,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_latency_ms": delivery.last_latency_ms,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "delivered_at": delivery.finished_at if delivery.status == "delivered" else None,
        "failed_at": delivery.finished_at if delivery.status == "failed" else None,
        "log": [
            {
                "attempt": a.attempt,
                "at": a.at,
                "status_code": a.status_code,
                "error": a.error,
                "latency_ms": a.latency_ms,
            }
            for a in attempts
        ],
    }
