"""The webhook outbox (docs/webhooks.md): job events a trigger queues when a job ends, the deliveries made from
them (one per endpoint), and each delivery's attempts. One implementation per store, on its connection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .base import JobStore

DeliveryStatus = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class JobEvent:
    """A job's move into `completed` or `failed`, as the trigger recorded it."""

    seq: int
    job_id: str
    status: str
    error_code: str | None
    media: str
    owner: str | None
    at: float
    step: bool = False  # a step of a long video's chain (a job with a parent): the client's job is the parent


@dataclass(frozen=True)
class NewDelivery:
    id: str
    event_id: str
    event_type: str
    job_id: str
    owner: str | None
    endpoint: str
    url: str
    payload: str
    created_at: float
    next_attempt_at: float


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: float
    status_code: int | None
    error: str | None
    latency_ms: int


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    job_id: str
    owner: str | None
    endpoint: str
    url: str
    payload: str
    status: DeliveryStatus
    attempts: int
    created_at: float
    next_attempt_at: float | None
    lease_token: str | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    finished_at: float | None


def event_from_row(row: Mapping[str, Any], steps: set[str] | frozenset[str] = frozenset()) -> JobEvent:
    return JobEvent(
        seq=row["seq"],
        job_id=row["job_id"],
        status=row["status"],
        error_code=row["error_code"],
        media=row["media"],
        owner=row["owner"],
        at=row["at"],
        step=row["job_id"] in steps,
    )


def steps_among(rows: list[Any]) -> set[str]:
    """Of these job rows, the ids of those with a parent (read only if the schema has `parent_id`)."""
    # keys(): `in` on a sqlite3.Row looks among its values.
    return {row["id"] for row in rows if "parent_id" in row.keys() and row["parent_id"] is not None}  # noqa: SIM118


def delivery_from_row(row: Mapping[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        job_id=row["job_id"],
        owner=row["owner"],
        endpoint=row["endpoint"],
        url=row["url"],
        payload=row["payload"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        lease_token=row["lease_token"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        last_latency_ms=row["last_latency_ms"],
        finished_at=row["finished_at"],
    )


def attempt_from_row(row: Mapping[str, Any]) -> Attempt:
    return Attempt(
        attempt=row["attempt"],
        at=row["at"],
        status_code=row["status_code"],
        error=row["error"],
        latency_ms=row["latency_ms"],
    )


Plan = Callable[[JobEvent], list[NewDelivery]]


class OutboxStore(Protocol):
    async def fan_out(self, plan: Plan, *, limit: int) -> list[NewDelivery]:
        """Turn up to `limit` queued events into the deliveries `plan` makes of each (none: nobody listens), and
        delete the events, in one transaction."""
        ...

    async def claim_due(self, *, now: float, lease_seconds: float, limit: int) -> list[Delivery]:
        """Lease pending deliveries due by `now` whose lease (if any) has run out: one sender at a time each."""
        ...

    async def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: DeliveryStatus,
        next_attempt_at: float | None,
    ) -> bool:
        """Log an attempt and its outcome, if `delivery`'s lease is still held (False: it was not)."""
        ...

    async def next_due(self) -> float | None:
        """When the earliest pending delivery is due (None: none is pending)."""
        ...

    async def has_events(self) -> bool: ...

    async def pending_count(self) -> int: ...

    async def recent(self, *, owner: str | None, limit: int) -> list[Delivery]:
        """The latest deliveries, newest first; `owner` set: only those of that owner's jobs."""
        ...

    async def attempts(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]: ...

    async def purge(self, *, before: float) -> int:
        """Delete the deliveries (and their attempts) that finished before `before`; how many."""
        ...


def outbox_for(store: JobStore) -> OutboxStore | None:
    """The outbox on `store`'s database and connection; None for a store it does not know."""
    from .sqlite import SqliteJobStore

    if isinstance(store, SqliteJobStore):
        from .outbox_sqlite import SqliteOutbox

        return SqliteOutbox(store)
    try:
        from .postgres import PostgresJobStore
    except ImportError:  # no asyncpg: it cannot be a PostgreSQL store
        return None
    if isinstance(store, PostgresJobStore):
        from .outbox_postgres import PostgresOutbox

        return PostgresOutbox(store)
    return None
