"""Refuse oversized request bodies before they are read whole, and bound the bytes all bodies in flight hold."""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.errors import APIError, PayloadTooLarge, Unavailable

BUDGET_WAIT_SECONDS = 2.0
# Bodies up to this size are not counted against the budget: the server reads that much of any request before
# the app asks for it anyway, and worker reports and job creations must not wait behind a few big uploads.
SMALL_BODY_BYTES = 64 * 1024
# A body read into memory must arrive within this: room held in the budget is not held forever by a slow sender.
BODY_READ_SECONDS = 60.0
# Set on the scope of a request no route matches: its body is never read.
UNROUTED = "grok_imagine_api.unrouted"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes", code="payload_too_large")


class ServerBusy(Unavailable):
    code = "server_busy"

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "The server is holding as many request bodies as it may (MAX_BUFFERED_BYTES); retry shortly",
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
        )


class BodyTooSlow(APIError):
    status_code = 408
    code = "body_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The request body did not arrive within {seconds:g} s")


class BodyBudget:
    """Bytes of request bodies held in memory at once, across all requests. A request that finds no room
    waits up to `wait` seconds for others to give some back."""

    def __init__(
        self, capacity: int, *, wait: float = BUDGET_WAIT_SECONDS, read_seconds: float = BODY_READ_SECONDS
    ) -> None:
        self.capacity = capacity
        self.wait = wait
        self.read_seconds = read_seconds  # how long one body may take to arrive while it holds room
        self.used = 0
        self.waiting = 0
        self._changed = asyncio.Condition()

    async def take(self, size: int) -> bool:
        # No await in between: nothing else can take the room first. Those already waiting go first.
        if not self.waiting and self.used + size <= self.capacity:
            self.used += size
            return True
        if size > self.capacity:
            return False
        self.waiting += 1
        try:
            async with self._changed:
                async with asyncio.timeout(self.wait):
                    await self._changed.wait_for(lambda: self.used + size <= self.capacity)
                self.used += size
                return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    async def give_back(self, size: int) -> None:
        self.used -= size
        async with self._changed:
            self._changed.notify_all()


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def is_multipart(scope: Scope) -> bool:
    return any(name == b"content-type" and value.startswith(b"multipart/form-data") for name, value in scope["headers"])


class Hold:
    """The room in the budget one request holds: grown as its body arrives, given back when the app is done."""

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.size = 0

    async def grow_to(self, size: int) -> bool:
        if size <= max(self.size, SMALL_BODY_BYTES):
            return True
        if not await self.budget.take(size - self.size):
            return False
        self.size = size
        return True

    async def release(self) -> None:
        if self.size:
            await self.budget.give_back(self.size)
            self.size = 0


class BodyLimitMiddleware:
    """Caps every request body at `limit` bytes, and all the bodies held at once at the budget's capacity.

    The body is read here, up to the limit, and replayed to the app: an oversized one is refused with 413
    before the app sees any of it, whether or not it declared a Content-Length. Room in the budget is taken
    before the bytes are read (all of a declared Content-Length at once) and given back when the app is done;
    a request that finds none in time gets 503 `server_busy`, and a body that takes longer than the budget's
    `read_seconds` to arrive gets 408 `body_timeout`, so a slow sender cannot keep room for long. Multipart uploads to
    `streaming` paths are left alone: those routes stream the file to disk and enforce their own limits; so
    are requests no route matches (the router answers 404 or 405 without their body)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        budget: BodyBudget,
        streaming: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.budget = budget
        self.streaming = streaming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD")
            or (scope["path"] in self.streaming and is_multipart(scope))
            or scope.get(UNROUTED)
        ):
            await self.app(scope, receive, send)
            return
        hold = Hold(self.budget)
        try:
            try:
                async with asyncio.timeout(self.budget.read_seconds):
                    body = await self._read(scope, receive, send, hold)
            except TimeoutError:
                await send_error(send, BodyTooSlow(self.budget.read_seconds))
                return
            if body is None:
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        finally:
            await hold.release()

    async def _read(self, scope: Scope, receive: Receive, send: Send, hold: Hold) -> bytes | None:
        """The whole body; None once it has been refused (the error is sent) or the client has gone."""
        declared = content_length(scope)
        if declared is not None and declared > self.limit:
            await send_error(send, _too_large(self.limit))
            return None
        if declared is not None and not await hold.grow_to(declared):
            await send_error(send, ServerBusy(self.budget.wait))
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await send_error(send, _too_large(self.limit))
                return None
            if not await hold.grow_to(size):  # chunked: room is taken as the bytes come
                await send_error(send, ServerBusy(self.budget.wait))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def send_error(send: Send, error: APIError) -> None:
    """The error envelope, then close: whatever of the body the client is still sending is never read."""
    payload = json.dumps(error.body()).encode()
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
