"""When a failed delivery is tried again: first after `first_retry` seconds (at most 30), then twice as long each
time, and not after GIVE_UP_SECONDS from the delivery's creation (the last try is at that moment)."""

from __future__ import annotations

GIVE_UP_SECONDS = 24 * 3600.0


def next_attempt(*, created_at: float, attempts: int, now: float, first_retry: float) -> float | None:
    """After `attempts` failed tries, the time of the next; None: give up."""
    deadline = created_at + GIVE_UP_SECONDS
    if now >= deadline:
        return None
    return min(now + first_retry * 2.0 ** (attempts - 1), deadline)
