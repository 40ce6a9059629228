from __future__ import annotations

import asyncio

import asyncpg

from grok_imagine_api.worker.notify import LocalNotifier, PostgresNotifier
from pg import Cluster


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), 10)
        self.event.clear()


async def started(notifier: PostgresNotifier, wakes: Wakes) -> None:
    await notifier.start(wakes)
    await asyncio.wait_for(notifier.connected.wait(), 10)
    await wakes.next()  # listening begins with a look for work: what was missed meanwhile


def test_a_publication_wakes_the_other_replicas_not_its_own(pg_cluster: Cluster) -> None:
    async def scenario() -> None:
        url = pg_cluster.fresh_database()
        a, b, c = (PostgresNotifier(url, name) for name in "abc")
        wa, wb, wc = Wakes(), Wakes(), Wakes()
        for notifier, wakes in ((a, wa), (b, wb), (c, wc)):
            await started(notifier, wakes)
        try:
            a.publish()
            await wb.next()
            await wc.next()
            c.publish()  # a round trip through the server after a's: a's own would have arrived before it
            await wa.next()
            assert wa.count == 2 and wc.count == 2  # each woken by the other, never by its own
        finally:
            for notifier in (a, b, c):
                await notifier.stop()

    asyncio.run(scenario())


def test_a_burst_of_publications_is_coalesced_and_none_is_lost(pg_cluster: Cluster) -> None:
    async def scenario() -> None:
        url = pg_cluster.fresh_database()
        a, b = PostgresNotifier(url, "a"), PostgresNotifier(url, "b")
        wa, wb = Wakes(), Wakes()
        await started(a, wa)
        await started(b, wb)
        try:
            for _ in range(1000):
                a.publish()
            await wb.next()
            assert 1 <= wb.count - 1 <= 2  # the first was sent at once, the rest together after it
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def test_a_dropped_connection_comes_back_and_looks_for_work(pg_cluster: Cluster) -> None:
    async def scenario() -> None:
        url = pg_cluster.fresh_database()
        a, b = PostgresNotifier(url, "a"), PostgresNotifier(url, "b")
        wa, wb = Wakes(), Wakes()
        await started(a, wa)
        await started(b, wb)
        try:
            admin = await asyncpg.connect(url)
            try:
                listeners = await admin.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                for row in listeners:
                    await admin.execute("SELECT pg_terminate_backend($1)", row["pid"])
            finally:
                await admin.close()
            # Each comes back and looks for work, since what was published meanwhile went unheard.
            await wa.next()
            await wb.next()
            await asyncio.wait_for(a.connected.wait(), 10)
            a.publish()
            await wb.next()
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def test_a_publication_made_while_disconnected_is_sent_on_reconnection(pg_cluster: Cluster) -> None:
    async def scenario() -> None:
        url = pg_cluster.fresh_database()
        b, wb = PostgresNotifier(url, "b"), Wakes()
        await started(b, wb)
        a = PostgresNotifier(url, "a")
        a.publish()  # before it ever connected
        try:
            await a.start(lambda: None)
            await wb.next()
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def test_the_local_notifier_has_no_one_else_to_tell() -> None:
    async def scenario() -> None:
        notifier = LocalNotifier()
        await notifier.start(lambda: None)
        notifier.publish()
        await notifier.stop()

    asyncio.run(scenario())
