"""on_stop_signal: the app hears SIGTERM and SIGINT before the handler that was there (uvicorn's)."""

from __future__ import annotations

import asyncio
import signal
import threading
from types import FrameType

from grok_imagine_api.signals import on_stop_signal


def test_a_stop_signal_runs_the_callback_on_the_loop_then_the_handler_before() -> None:
    seen: list[str] = []

    def before(signum: int, frame: FrameType | None) -> None:
        seen.append(f"before {signal.Signals(signum).name}")

    async def scenario() -> None:
        woken = asyncio.Event()

        def callback() -> None:
            seen.append("callback")
            woken.set()

        with on_stop_signal(callback):
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(woken.wait(), timeout=10)
        assert signal.getsignal(signal.SIGTERM) is before

    previous = signal.signal(signal.SIGTERM, before)
    try:
        asyncio.run(scenario())
    finally:
        signal.signal(signal.SIGTERM, previous)
    # The previous handler runs inside the signal handler; the callback waits for the loop.
    assert seen == ["before SIGTERM", "callback"]


def test_outside_the_main_thread_nothing_changes() -> None:
    handlers: list[object] = []

    async def scenario() -> None:
        with on_stop_signal(lambda: None):
            handlers.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=lambda: asyncio.run(scenario()))
    thread.start()
    thread.join(timeout=10)
    assert handlers == [before]


def test_a_default_handler_is_left_alone() -> None:
    async def scenario() -> None:
        with on_stop_signal(lambda: None):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        asyncio.run(scenario())
    finally:
        signal.signal(signal.SIGTERM, previous)
