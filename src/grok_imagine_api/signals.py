"""Lets the app hear SIGTERM and SIGINT itself. uvicorn waits for open requests to end before it runs the
lifespan's shutdown, so without this a stop would wait out every open long poll (up to 30 s)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, FrameType | None], Any]


@contextlib.contextmanager
def on_stop_signal(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM run `callback` on this event loop, then the handler that was there
    (uvicorn's, which starts its graceful shutdown). Only the main thread has signal handlers: in any other
    thread (a server in a test's thread) this does nothing; a default or ignored signal is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def chained(before: Handler) -> Handler:
        def handler(signum: int, frame: FrameType | None) -> None:
            # A signal handler may run between any two steps of the loop's own code: hand the callback to the
            # loop rather than run it here.
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(callback)
            before(signum, frame)

        return handler

    installed: dict[signal.Signals, tuple[Handler, Handler]] = {}
    for sig in STOP_SIGNALS:
        before = signal.getsignal(sig)
        if callable(before):
            installed[sig] = (before, chained(before))
            signal.signal(sig, installed[sig][1])
    try:
        yield
    finally:
        for sig, (before, ours) in installed.items():
            if signal.getsignal(sig) is ours:  # nobody replaced it meanwhile
                signal.signal(sig, before)
