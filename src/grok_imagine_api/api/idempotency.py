"""`Idempotency-Key` on create routes: a retried request replays the first answer instead of making a
second job (IETF draft-ietf-httpapi-idempotency-key-header, as Stripe does it)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

from ..domain.errors import APIError, Conflict, InvalidRequest
from .common import service

log = logging.getLogger("grok_imagine_api")

MAX_KEY_LENGTH = 255
IN_FLIGHT_WAIT_SECONDS = 30.0
# A reservation this old with no answer was left by a crash: it no longer blocks the key.
ABANDONED_AFTER_SECONDS = 60.0


class KeyReused(APIError):
    status_code = 422
    code = "idempotency_key_reused"


class IdempotencyKeys:
    """Keys reserved by requests still running in this process, so duplicates can wait for them."""

    def __init__(self) -> None:
        self.in_flight: dict[tuple[str, str], asyncio.Event] = {}


def fingerprint(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def replay(status_code: int, body: str) -> Response:
    return Response(
        body, status_code=status_code, media_type="application/json", headers={"Idempotent-Replayed": "true"}
    )


async def idempotent(
    request: Request,
    viewer: str | None,
    parts: Any,
    run: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `run` once per (caller, route, Idempotency-Key); `parts` identify the request's content."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await run()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", param="Idempotency-Key", code="invalid_key"
        )
    svc = service(request)
    keys: IdempotencyKeys = request.app.state.idempotency
    scope = f"{viewer or '-'} {request.method} {request.url.path}"
    digest = fingerprint(parts)
    while True:
        # Duplicates in this process wait for the one taking or holding the key: the marker is set before the
        # reservation is asked for, so no duplicate can find the reservation without it.
        running = keys.in_flight.get((scope, key))
        if running is not None:
            try:
                await asyncio.wait_for(running.wait(), IN_FLIGHT_WAIT_SECONDS)
            except TimeoutError:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress", param="Idempotency-Key"
                ) from None
            continue  # the first request finished (or failed): look again
        done = keys.in_flight[(scope, key)] = asyncio.Event()
        try:
            record = await svc.idempotency_begin(scope, key, digest)
        except BaseException:
            forget(keys, scope, key, done)
            raise
        if record is None:
            break
        forget(keys, scope, key, done)  # held elsewhere: another replica, or a crashed request
        if record.fingerprint != digest:
            raise KeyReused("This Idempotency-Key was already used with a different request", param="Idempotency-Key")
        if record.status_code is not None and record.response is not None:
            return replay(record.status_code, record.response)
        if svc.clock.now() - record.created_at > ABANDONED_AFTER_SECONDS:
            await svc.idempotency_abort(scope, key)
            continue
        raise Conflict("A request with this Idempotency-Key is still in progress", param="Idempotency-Key")

    try:
        response = await run()
    except BaseException:
        await svc.idempotency_abort(scope, key)
        raise
    else:
        if 200 <= response.status_code < 300:
            try:
                await svc.idempotency_finish(scope, key, response.status_code, bytes(response.body).decode())
            except Exception:
                # The job exists: answering with an error now would invite the very duplicate the key prevents.
                log.exception("could not record the answer for Idempotency-Key %r", key)
        else:
            await svc.idempotency_abort(scope, key)
        return response
    finally:
        forget(keys, scope, key, done)


def forget(keys: IdempotencyKeys, scope: str, key: str, done: asyncio.Event) -> None:
    done.set()
    if keys.in_flight.get((scope, key)) is done:
        del keys.in_flight[(scope, key)]
