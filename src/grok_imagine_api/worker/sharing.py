"""Several replicas on one database show one list of workers and one change counter: each saves what it saw of
its workers and how many changes it made to jobs, and reads the others', every SHARE_SECONDS. A worker that polls
one replica shows on every other within that, and a dashboard sees a change made through another replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from ..clock import Clock
from ..config import Settings
from .notify import LocalNotifier, Notifier, PostgresNotifier
from .registry import WorkerInfo, WorkerRegistry

log = logging.getLogger("grok_imagine_api")

SHARE_SECONDS = 1.0
# A replica that has not written for this long stopped: its workers are no longer inside a poll there.
GONE_AFTER_SECONDS = 5 * SHARE_SECONDS


class WorkerTable(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def exchange(
        self, own: list[WorkerInfo], changes: int, *, now: float, fresh_after: float, forget_before: float
    ) -> tuple[list[WorkerInfo], int]: ...


class Changes(Protocol):
    """This replica's count of changes to jobs, and the others' sum (the job service's)."""

    changes: int
    elsewhere: int


async def share_once(registry: WorkerRegistry, table: WorkerTable, clock: Clock, counter: Changes) -> None:
    now = clock.now()
    keep = max(registry.forget_after, registry.busy_online) + GONE_AFTER_SECONDS
    others, elsewhere = await table.exchange(
        registry.own(), counter.changes, now=now, fresh_after=now - GONE_AFTER_SECONDS, forget_before=now - keep
    )
    registry.share(others)
    counter.elsewhere = elsewhere


async def share_forever(registry: WorkerRegistry, table: WorkerTable, clock: Clock, counter: Changes) -> None:
    while True:
        try:
            await share_once(registry, table, clock, counter)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database is away: the lists show what was last known, and this replica's own workers.
            log.warning("could not share the worker list", exc_info=True)
        await asyncio.sleep(SHARE_SECONDS)


def replication(settings: Settings) -> tuple[Notifier, WorkerTable | None]:
    """How this replica hears of jobs queued elsewhere and shares its workers: not at all on SQLite (one server
    per database), through the database on PostgreSQL."""
    if not settings.database_url:
        return LocalNotifier(), None
    from ..store.workers import PostgresWorkerTable

    return (
        PostgresNotifier(settings.database_url, settings.instance_id),
        PostgresWorkerTable(settings.database_url, settings.instance_id),
    )


@contextlib.asynccontextmanager
async def joined(
    notifier: Notifier,
    wake: Callable[[], None],
    registry: WorkerRegistry,
    table: WorkerTable | None,
    clock: Clock,
    counter: Changes,
) -> AsyncIterator[None]:
    """While inside, this replica hears the others' jobs and shares its workers with them."""
    await notifier.start(wake)
    try:
        if table is None:
            yield
            return
        await table.open()
        sharing = asyncio.create_task(share_forever(registry, table, clock, counter))
        try:
            yield
        finally:
            sharing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sharing
            await table.close()
    finally:
        await notifier.stop()
