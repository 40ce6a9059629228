from __future__ import annotations

import asyncio

from grok_imagine_api.worker.dispatch import Dispatcher


def test_one_notify_wakes_one_waiter_in_order() -> None:
    async def scenario() -> None:
        d = Dispatcher()
        first, second = d.register(), d.register()
        d.notify(1)
        assert first.done() and not second.done()
        assert d.waiting == 1

    asyncio.run(scenario())


def test_notify_without_waiters_is_harmless() -> None:
    async def scenario() -> None:
        d = Dispatcher()
        d.notify(3)
        assert d.register().done() is False

    asyncio.run(scenario())


def test_release_passes_an_unused_wakeup_on() -> None:
    async def scenario() -> None:
        d = Dispatcher()
        first, second = d.register(), d.register()
        d.notify(1)
        d.release(first)  # woken, but it will not act on it
        assert second.done()

    asyncio.run(scenario())


def test_release_of_a_waiting_registration_withdraws_it() -> None:
    async def scenario() -> None:
        d = Dispatcher()
        first, second = d.register(), d.register()
        d.release(first)
        assert first.cancelled()
        d.notify(1)
        assert second.done()
        assert d.waiting == 0

    asyncio.run(scenario())


def test_close_wakes_every_waiter_and_says_so() -> None:
    async def scenario() -> None:
        d = Dispatcher()
        waiters = [d.register() for _ in range(3)]
        assert not d.closing
        d.close()
        assert d.closing
        assert all(w.done() for w in waiters)
        assert d.waiting == 0

    asyncio.run(scenario())
