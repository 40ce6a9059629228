"""The delivery loop: turns queued job events into deliveries, sends the due ones signed, and records each
attempt. At least once: a delivery is marked delivered only after a 2xx, and a sender that dies mid-send leaves a
lease that runs out, so the delivery is sent again, under the same webhook-id."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import httpx

from .. import __version__
from ..clock import Clock
from ..config import Settings
from ..domain.errors import Unavailable
from ..domain.jobs import Job
from ..files.remote import PinnedTransport, PrivateAddress, Resolve, Unresolvable, resolve_host
from ..metrics import Metrics
from ..store.outbox import Attempt, Delivery, DeliveryStatus, OutboxStore
from . import signing
from .endpoints import Endpoints
from .events import planner
from .schedule import next_attempt

log = logging.getLogger("grok_imagine_api")

# Without a wake-up, the loop looks for new events and due retries this often (events queued by another replica,
# or by a job that ended in this one: the trigger that queues them knows no event loop).
POLL_SECONDS = 0.5
FAN_OUT_BATCH = 500
SEND_BATCH = 64  # deliveries sent at once
# A lease outlasts the send's timeout by this much: a sender that died is replaced soon after.
LEASE_MARGIN_SECONDS = 5.0
RECENT_LIMIT = 200
KEEP_SECONDS = 7 * 86400
PURGE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Result:
    status_code: int | None
    error: str | None
    permanent: bool = False  # no retry can help

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Webhooks:
    def __init__(
        self,
        outbox: OutboxStore,
        endpoints: Endpoints,
        *,
        clock: Clock,
        settings: Settings,
        metrics: Metrics,
        resolve: Resolve = resolve_host,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.outbox = outbox
        self.endpoints = endpoints
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self._resolve = resolve
        self._transport = transport
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()  # deliveries being sent now (the loop's)
        self._next_purge = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def woken(self, job: Job) -> None:
        """The job service's on_finished hook: the job's event is in the outbox already (a trigger wrote it)."""
        self.wake()

    def client(self) -> httpx.AsyncClient:
        pinned = PinnedTransport(
            allow_private=self.settings.allow_private_urls, resolve=self._resolve, transport=self._transport
        )
        timeout = self.settings.webhook_timeout_seconds
        return httpx.AsyncClient(transport=pinned, timeout=timeout, follow_redirects=False)

    async def run_forever(self) -> None:
        async with self.client() as client:
            try:
                while True:
                    self._wake.clear()
                    delay = self.poll_seconds
                    try:
                        delay = await self.step(client, wait=False)
                    except Unavailable as exc:
                        log.warning("webhooks: %s; retrying", exc)
                    except Exception:
                        log.exception("webhooks: delivery round failed; retrying")
                    if delay > 0:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay):
                                await self._wake.wait()
            finally:
                # Stopping: sends cut short keep their lease and go again after it (at least once, same id).
                for task in self._sending:
                    task.cancel()
                await asyncio.gather(*self._sending, return_exceptions=True)

    async def step(self, client: httpx.AsyncClient, *, wait: bool = True) -> float:
        """One round: every queued event into deliveries, then due deliveries sent, up to SEND_BATCH in flight.
        Returns how long to wait for the next round (0: more may be due now). Reads first: an idle round writes
        nothing. `wait` False (the loop): sends run on by themselves, so one slow endpoint never holds up the
        others' deliveries nor the next events; each that ends wakes the loop."""
        while await self.outbox.has_events():
            await self.outbox.fan_out(planner(self.endpoints, self.clock.now()), limit=FAN_OUT_BATCH)
        await self._forget_old()
        room = SEND_BATCH - len(self._sending)
        if room <= 0:
            return self.poll_seconds  # a send that ends wakes the loop
        due, now = await self.outbox.next_due(), self.clock.now()
        if due is None or due > now:
            return self.poll_seconds if due is None else min(self.poll_seconds, due - now)
        lease = self.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        claimed = await self.outbox.claim_due(now=now, lease_seconds=lease, limit=room)
        if wait:
            await asyncio.gather(*(self.deliver(client, delivery) for delivery in claimed))
        else:
            for delivery in claimed:
                task = asyncio.create_task(self.deliver(client, delivery))
                self._sending.add(task)
                task.add_done_callback(self._sent)
        return 0.0 if claimed else self.poll_seconds

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhooks: a delivery failed unexpectedly", exc_info=task.exception())
        self.wake()

    async def _forget_old(self) -> None:
        """Finished deliveries are kept KEEP_SECONDS for the log, then deleted (about once an hour)."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        removed = await self.outbox.purge(before=self.clock.now() - KEEP_SECONDS)
        if removed:
            log.info("webhooks: forgot %d deliveries finished more than %d days ago", removed, KEEP_SECONDS // 86400)

    async def deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        started = time.monotonic()
        endpoint = self.endpoints.named(delivery.endpoint)
        if endpoint is None:
            result = Result(None, "the endpoint is no longer configured", permanent=True)
        else:
            result = await self.send(client, endpoint.url, endpoint.key, delivery)
        now = self.clock.now()
        attempt = Attempt(
            attempt=delivery.attempts + 1,
            at=now,
            status_code=result.status_code,
            error=result.error,
            latency_ms=round((time.monotonic() - started) * 1000),
        )
        status: DeliveryStatus
        retry_at = None
        if result.ok:
            status = "delivered"
        elif result.permanent:
            status = "failed"
        else:
            retry_at = next_attempt(
                created_at=delivery.created_at,
                attempts=attempt.attempt,
                now=now,
                first_retry=self.settings.webhook_first_retry_seconds,
            )
            status = "pending" if retry_at is not None else "failed"
        if await self.outbox.record(delivery, attempt, status=status, next_attempt_at=retry_at):
            self.metrics.webhook_attempt(status)
            if status == "failed":
                log.warning(
                    "webhooks: giving up on %s of %s to %s: %s",
                    delivery.event_type,
                    delivery.job_id,
                    endpoint.host if endpoint else delivery.endpoint,
                    result.error,
                )

    async def send(self, client: httpx.AsyncClient, url: str, key: bytes, delivery: Delivery) -> Result:
        body = delivery.payload.encode()
        # The wall clock, not the server's clock: receivers compare it with theirs (5 minutes of tolerance).
        headers = signing.headers(key, delivery.event_id, int(time.time()), body)
        headers["user-agent"] = f"grok-imagine-api/{__version__} (webhooks)"
        timeout = self.settings.webhook_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                reply = await client.send(client.build_request("POST", url, content=body, headers=headers), stream=True)
                await reply.aclose()  # the answer's body is not needed: its status says it all
        except PrivateAddress as exc:
            return Result(
                None,
                f"{exc.args[0]} is a private or local address: refused (set ALLOW_PRIVATE_URLS=true to allow it)",
                permanent=True,
            )
        except Unresolvable as exc:
            return Result(None, f"cannot resolve the host {exc.args[0]!r}")
        except (TimeoutError, httpx.TimeoutException):
            return Result(None, f"no answer within {timeout:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Result(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Result(reply.status_code, None if 200 <= reply.status_code < 300 else f"HTTP {reply.status_code}")

    # -- what the dashboard and /metrics read --------------------------------------------------

    async def queue_depth(self) -> int:
        return await self.outbox.pending_count()
