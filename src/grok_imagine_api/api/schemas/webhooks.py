"""The webhook delivery log (api/webhooks.py, docs/webhooks.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DeliveryAttempt(BaseModel):
    attempt: int
    at: float
    status_code: int | None = Field(description="The endpoint's HTTP status; null when there was no answer")
    error: str | None = Field(description="Why it did not count as delivered; null for a 2xx")
    latency_ms: int


class WebhookDelivery(BaseModel):
    id: str
    event_id: str = Field(description="The event's id: the webhook-id header of every attempt")
    type: Literal["video.completed", "video.failed", "image.completed", "image.failed"]
    job_id: str
    endpoint: Literal["server", "key"] = Field(description="WEBHOOK_URL, or the API key's own endpoint")
    host: str | None
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: float
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    next_attempt_at: float | None = Field(description="When it is tried (again); null once delivered or failed")
    delivered_at: float | None
    failed_at: float | None
    log: list[DeliveryAttempt]


class WebhookDeliveries(BaseModel):
    object: Literal["list"]
    configured: bool = Field(description="Whether any webhook endpoint is set")
    pending: int = Field(description="Deliveries waiting to be sent (of the caller's jobs, with API keys)")
    data: list[WebhookDelivery]
