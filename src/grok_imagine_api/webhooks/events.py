"""The events a job's end sends, in OpenAI's envelope: `{id, object: "event", created_at, type, data: {id}}`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

from ..store.outbox import JobEvent, NewDelivery
from .endpoints import Endpoints


def event_type(event: JobEvent) -> str:
    """`video.completed`, `video.failed`, `image.completed` or `image.failed`; a cancelled job ended too: failed."""
    medium = "image" if event.media == "image" else "video"
    return f"{medium}.{'completed' if event.status == 'completed' else 'failed'}"


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(16)


def envelope(event_id: str, event: JobEvent) -> str:
    body = {
        "id": event_id,
        "object": "event",
        "created_at": int(event.at),
        "type": event_type(event),
        "data": {"id": event.job_id},
    }
    return json.dumps(body, separators=(",", ":"))


def planner(endpoints: Endpoints, now: float) -> Callable[[JobEvent], list[NewDelivery]]:
    """What one event becomes: a delivery to each endpoint that applies, all under one event id and one body."""

    def plan(event: JobEvent) -> list[NewDelivery]:
        targets = endpoints.for_owner(event.owner)
        if not targets or event.step:
            return []
        event_id = new_event_id()
        payload = envelope(event_id, event)
        return [
            NewDelivery(
                id="whd_" + secrets.token_hex(12),
                event_id=event_id,
                event_type=event_type(event),
                job_id=event.job_id,
                owner=event.owner,
                endpoint=target.name,
                url=target.url,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
            for target in targets
        ]

    return plan
