"""Wakes long-polling workers the moment a job is queued; each tries to claim it, first come first served.
When the server stops, wakes them all to answer "no job" at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque


class Dispatcher:
    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.closing = False

    def register(self) -> asyncio.Future[None]:
        """Register interest *before* looking for work, so that a job queued in between is not missed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future

    def notify(self, count: int = 1) -> None:
        while count > 0 and self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                count -= 1

    def notify_all(self) -> None:
        """Wake every waiter: a job may suit only some workers, and only they can tell by trying to claim it."""
        self.notify(len(self._waiters))

    def close(self) -> None:
        """The server is stopping: every poll, waiting or yet to come, answers "no job" now instead of holding
        the stop up for as long as it may wait."""
        self.closing = True
        self.notify_all()

    def release(self, future: asyncio.Future[None]) -> None:
        """Withdraw a registration. A wake-up it received but will not act on goes to the next waiter."""
        if future.done():
            if not future.cancelled():
                self.notify(1)
        else:
            future.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(future)

    @property
    def waiting(self) -> int:
        return sum(1 for future in self._waiters if not future.done())
