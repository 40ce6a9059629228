"""The webhook outbox in SQLite, on the job store's connection and transactions (see outbox.py)."""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3

from .outbox import (
    Attempt,
    Delivery,
    DeliveryStatus,
    NewDelivery,
    Plan,
    attempt_from_row,
    delivery_from_row,
    event_from_row,
    steps_among,
)
from .queries import load_queries
from .sqlite import SqliteJobStore

QUERIES = load_queries("outbox.sql")


class SqliteOutbox:
    def __init__(self, jobs: SqliteJobStore) -> None:
        self._jobs = jobs

    async def fan_out(self, plan: Plan, *, limit: int) -> list[NewDelivery]:
        def fan_out(conn: sqlite3.Connection) -> list[NewDelivery]:
            rows = conn.execute(QUERIES["queued_events"], {"limit": limit}).fetchall()
            if not rows:
                return []
            # One writer at a time (BEGIN IMMEDIATE), and seq only grows: nothing newer is read or deleted unseen.
            upto = {"upto": rows[-1]["seq"]}
            steps = steps_among(conn.execute(QUERIES["jobs_of_events"], upto).fetchall())
            events = [event_from_row(row, steps) for row in rows]
            made = [delivery for event in events for delivery in plan(event)]
            conn.executemany(QUERIES["insert_delivery"], [dataclasses.asdict(delivery) for delivery in made])
            conn.execute(QUERIES["delete_events"], upto)
            return made

        return await self._jobs._write(fan_out)

    async def claim_due(self, *, now: float, lease_seconds: float, limit: int) -> list[Delivery]:
        params = {"token": secrets.token_hex(8), "lease_expires_at": now + lease_seconds, "now": now, "limit": limit}

        def claim(conn: sqlite3.Connection) -> list[Delivery]:
            return [delivery_from_row(row) for row in conn.execute(QUERIES["claim_deliveries"], params)]

        return await self._jobs._write(claim)

    async def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: DeliveryStatus,
        next_attempt_at: float | None,
    ) -> bool:
        params = {
            "id": delivery.id,
            "token": delivery.lease_token,
            "status": status,
            "next_attempt_at": next_attempt_at,
            "finished_at": attempt.at if status != "pending" else None,
            **dataclasses.asdict(attempt),
        }

        def record(conn: sqlite3.Connection) -> bool:
            row = conn.execute(QUERIES["record_attempt"], params).fetchone()
            if row is None:
                return False
            conn.execute(QUERIES["insert_attempt"], {**params, "attempt": row["attempts"]})
            return True

        return await self._jobs._write(record)

    async def next_due(self) -> float | None:
        def read(conn: sqlite3.Connection) -> float | None:
            value = conn.execute(QUERIES["next_due"]).fetchone()[0]
            return float(value) if value is not None else None

        return await self._jobs._run_read(read)

    async def has_events(self) -> bool:
        return await self._jobs._run_read(lambda conn: conn.execute(QUERIES["any_event"]).fetchone() is not None)

    async def pending_count(self) -> int:
        return await self._jobs._run_read(lambda conn: int(conn.execute(QUERIES["count_pending"]).fetchone()[0]))

    async def recent(self, *, owner: str | None, limit: int) -> list[Delivery]:
        query = QUERIES["recent_deliveries"] if owner is None else QUERIES["recent_deliveries_of"]

        def read(conn: sqlite3.Connection) -> list[Delivery]:
            return [delivery_from_row(row) for row in conn.execute(query, {"owner": owner, "limit": limit})]

        return await self._jobs._run_read(read)

    async def attempts(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        def read(conn: sqlite3.Connection) -> dict[str, list[Attempt]]:
            found: dict[str, list[Attempt]] = {delivery_id: [] for delivery_id in delivery_ids}
            for row in conn.execute(QUERIES["attempts_of"], {"ids": json.dumps(delivery_ids)}):
                found[row["delivery_id"]].append(attempt_from_row(row))
            return found

        return await self._jobs._run_read(read)

    async def purge(self, *, before: float) -> int:
        return await self._jobs._write(
            lambda conn: conn.execute(QUERIES["purge_deliveries"], {"before": before}).rowcount
        )
