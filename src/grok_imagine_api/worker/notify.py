"""Tells the long polls of every replica that a job may be waiting: in process by default, and with PostgreSQL
through LISTEN/NOTIFY, so a job created on one replica wakes a worker waiting on another at once.

A notification can be lost (the listening connection drops, a replica restarts): each long poll still looks
for work every few seconds on its own (service.RECHECK_SECONDS), so a lost one only delays a job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("grok_imagine_api")

CHANNEL = "grok_imagine_jobs"
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


class Notifier(Protocol):
    async def start(self, wake: Callable[[], None]) -> None:
        """From now on, call `wake` when another replica publishes."""
        ...

    def publish(self) -> None:
        """A job may be waiting: tell the other replicas (the caller wakes its own waiters). Never blocks."""
        ...

    async def stop(self) -> None: ...


class LocalNotifier:
    """One process: its dispatcher is all there is to wake."""

    async def start(self, wake: Callable[[], None]) -> None:
        pass

    def publish(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class PostgresNotifier:
    """LISTEN on a connection of its own, which comes back when it drops; NOTIFY from the same connection.

    Publications made while one is being sent are coalesced into the next, so a burst of creations costs a few
    NOTIFYs, not one each. Each carries this replica's id, so it does not wake itself twice."""

    def __init__(self, dsn: str, instance: str, *, channel: str = CHANNEL) -> None:
        self.dsn = dsn
        self.instance = instance
        self.channel = channel
        self.connected = asyncio.Event()  # for tests and health: listening now
        self._wanted = asyncio.Event()
        self._wake: Callable[[], None] = lambda: None
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    async def start(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._task = asyncio.create_task(self._run())

    def publish(self) -> None:
        self._wanted.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _heard(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        if payload != self.instance:
            self._wake()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the connection: connect again
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("job notifications: %s; connecting again in %g s", exc or type(exc).__name__, delay)
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        import asyncpg  # an optional extra: only a server with DATABASE_URL needs it

        connection = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        try:
            await connection.add_listener(self.channel, self._heard)
            self.connected.set()
            # While not listening, notifications of other replicas went unheard: look for work now.
            self._wake()
            while True:
                wanted = asyncio.ensure_future(self._wanted.wait())
                dropped = asyncio.ensure_future(lost.wait())
                try:
                    await asyncio.wait({wanted, dropped}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wanted.cancel()
                    dropped.cancel()
                if lost.is_set():
                    raise ConnectionError("the listening connection was closed")
                self._wanted.clear()
                await connection.execute("SELECT pg_notify($1, $2)", self.channel, self.instance)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)
