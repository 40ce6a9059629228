"""Two replicas' registries sharing their workers through the workers table of a real PostgreSQL database."""

from __future__ import annotations

import asyncio

import asyncpg

from grok_imagine_api.clock import FakeClock
from grok_imagine_api.domain.abilities import parse_abilities
from grok_imagine_api.store.pg_schema import migrate
from grok_imagine_api.store.workers import PostgresWorkerTable
from grok_imagine_api.worker.registry import WorkerError, WorkerRegistry
from grok_imagine_api.worker.sharing import GONE_AFTER_SECONDS, share_once
from pg import Cluster


class Replica:
    def __init__(self, url: str, name: str, clock: FakeClock) -> None:
        self.registry = WorkerRegistry(120, poll_seconds=30, lease_seconds=300)
        self.table = PostgresWorkerTable(url, name)
        self.clock = clock
        self.changes = 0
        self.elsewhere = 0

    async def share(self) -> None:
        await share_once(self.registry, self.table, self.clock, self)


def replicas(cluster: Cluster, scenario: object) -> None:
    async def run() -> None:
        url = cluster.fresh_database()
        connection = await asyncpg.connect(url)
        await migrate(connection)  # the job schema, then the workers table
        await connection.close()
        clock = FakeClock()
        a, b = Replica(url, "a", clock), Replica(url, "b", clock)
        await a.table.open()
        await b.table.open()
        try:
            await scenario(a, b, clock)  # type: ignore[operator]
        finally:
            await a.table.close()
            await b.table.close()

    asyncio.run(run())


def test_a_worker_that_polls_one_replica_is_listed_by_the_other(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        now = clock.now()
        a.registry.declare("w1", parse_abilities({"kinds": ["text_to_video", "extend"]}), now)
        info = a.registry.seen("w1", now, version="1.2")
        info.polling += 1
        await a.share()
        await b.share()
        [seen] = b.registry.listed(now)
        assert (seen.worker_id, seen.version, seen.state) == ("w1", "1.2", "waiting")
        assert "kind:extend" in seen.tokens  # what it declared on a holds on b
        assert [i.worker_id for i in b.registry.recent(now)] == ["w1"]

    replicas(pg_cluster, scenario)


def test_a_job_claimed_on_one_replica_and_finished_on_the_other_leaves_the_worker_idle(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        a.registry.claimed("w1", "job-1", clock.now())
        await a.share()
        await b.share()
        assert b.registry.listed(clock.now())[0].state == "busy"
        clock.advance(5)
        b.registry.completed("w1", "job-1", clock.now())
        clock.advance(1)
        a.registry.seen("w1", clock.now())  # its next poll lands on a, which never saw the job end
        await b.share()
        await a.share()
        for replica in (a, b):
            [info] = replica.registry.listed(clock.now())
            assert info.current_job_id is None, replica.table.instance
            assert (info.jobs_claimed, info.jobs_completed) == (1, 1)

    replicas(pg_cluster, scenario)


def test_failures_and_counts_add_up_across_replicas(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        for replica, job in ((a, "j1"), (b, "j2")):
            replica.registry.claimed("w1", job, clock.now())
            clock.advance(1)
            replica.registry.failed("w1", job, WorkerError(job, "moderated", "no", clock.now()))
        await a.share()
        await b.share()
        await a.share()
        for replica in (a, b):
            [info] = replica.registry.listed(clock.now())
            assert (info.jobs_claimed, info.jobs_failed) == (2, 2)
            assert [error.job_id for error in info.errors] == ["j2", "j1"]

    replicas(pg_cluster, scenario)


def test_a_stopped_replica_no_longer_holds_its_workers_in_a_poll(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        a.registry.seen("w1", clock.now()).polling += 1
        await a.share()
        await b.share()
        assert b.registry.listed(clock.now())[0].state == "waiting"
        clock.advance(GONE_AFTER_SECONDS + 1)  # a was killed: it writes no more
        await b.share()
        assert b.registry.listed(clock.now())[0].state == "idle"
        clock.advance(600)
        await b.share()
        assert b.registry.listed(clock.now()) == []

    replicas(pg_cluster, scenario)


def test_a_forgotten_worker_leaves_the_table(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        a.registry.seen("w1", clock.now())
        await a.share()
        await b.share()
        assert len(b.registry.listed(clock.now())) == 1
        clock.advance(200)
        a.registry.seen("w2", clock.now())
        a.registry.listed(clock.now())  # a forgets w1
        await a.share()
        await b.share()
        assert [info.worker_id for info in b.registry.listed(clock.now())] == ["w2"]

    replicas(pg_cluster, scenario)


def test_each_replica_counts_the_changes_made_through_the_others(pg_cluster: Cluster) -> None:
    async def scenario(a: Replica, b: Replica, clock: FakeClock) -> None:
        a.changes, b.changes = 5, 2
        await a.share()
        await b.share()
        await a.share()
        assert (a.elsewhere, b.elsewhere) == (2, 5)
        a.changes += 1
        await a.share()
        await b.share()
        assert b.elsewhere == 6  # a dashboard asking b sees the change made through a

    replicas(pg_cluster, scenario)
