"""All the request bodies held in memory at once share one budget (MAX_BUFFERED_BYTES)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.api.limits import SMALL_BODY_BYTES, BodyBudget
from rawhttp import RawRequest, assert_envelope
from support import ThreadServer, claim, create_job, settings_for, upload, wait_until

CAPACITY = 400_000
JSON = {"Content-Type": "application/json"}


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while True:
            if condition():
                return
            await asyncio.sleep(0.001)


def test_room_is_taken_and_given_back() -> None:
    async def scenario() -> None:
        budget = BodyBudget(100)
        assert await budget.take(60)
        assert await budget.take(40)
        assert budget.used == 100
        await budget.give_back(60)
        assert budget.used == 40

    asyncio.run(scenario())


def test_a_request_waits_for_room_and_gets_it_when_another_gives_it_back() -> None:
    async def scenario() -> None:
        budget = BodyBudget(100, wait=30)
        assert await budget.take(80)
        waiting = asyncio.create_task(budget.take(50))
        await until(lambda: budget.waiting == 1)
        assert not waiting.done()
        await budget.give_back(80)
        assert await waiting
        assert (budget.used, budget.waiting) == (50, 0)

    asyncio.run(scenario())


def test_a_request_that_finds_no_room_in_time_is_refused() -> None:
    async def scenario() -> None:
        budget = BodyBudget(100, wait=0.05)
        assert await budget.take(80)
        assert not await budget.take(50)
        assert (budget.used, budget.waiting) == (80, 0)

    asyncio.run(scenario())


def test_more_than_the_whole_budget_is_refused_without_waiting() -> None:
    async def scenario() -> None:
        budget = BodyBudget(100, wait=30)
        async with asyncio.timeout(5):
            assert not await budget.take(101)
        assert budget.used == 0

    asyncio.run(scenario())


def test_the_budget_defaults_to_four_request_bodies(tmp_path: Path) -> None:
    assert settings_for(tmp_path).body_budget_bytes == 4 * settings_for(tmp_path).max_request_bytes
    assert settings_for(tmp_path, max_buffered_bytes=1000, max_request_bytes=500).body_budget_bytes == 1000
    # Never less than one body of the largest size, which could otherwise never be read.
    assert settings_for(tmp_path, max_buffered_bytes=100, max_request_bytes=500).body_budget_bytes == 500


# -- through the server ------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    settings = settings_for(tmp_path, max_request_bytes=CAPACITY, max_buffered_bytes=CAPACITY)
    with ThreadServer(settings) as srv:
        yield srv


def budget(server: ThreadServer) -> BodyBudget:
    value: BodyBudget = server.app.state.body_budget
    return value


def create_body(size: int) -> bytes:
    """A job creation padded to `size` bytes with blanks (still valid JSON)."""
    body = json.dumps({"prompt": "a cat"}).encode()
    return body + b" " * (size - len(body))


def hold(server: ThreadServer, size: int) -> RawRequest:
    """A creation of `size` bytes that has sent only its first byte: it holds `size` bytes of the budget."""
    holder = RawRequest(server.port, "POST", "/v1/videos/generations", JSON, declared=size)
    try:
        holder.send(b"{")
        wait_until(lambda: budget(server).used == size)
    except BaseException:
        holder.close()  # or the server waits for this body at shutdown
        raise
    return holder


def test_a_body_waits_for_room_then_passes(server: ThreadServer) -> None:
    with (
        hold(server, 300_000) as first,
        RawRequest(server.port, "POST", "/v1/videos/generations", JSON, declared=200_000) as second,
    ):
        second.send(create_body(200_000))
        wait_until(lambda: budget(server).waiting == 1)
        first.send(create_body(300_000)[1:])
        assert first.reply().status == 200
        assert second.reply().status == 200
    wait_until(lambda: budget(server).used == 0)


@pytest.mark.parametrize("path", ["/v1/videos/generations", "/v1/videos/extensions"])
def test_a_body_that_finds_no_room_in_time_gets_503(server: ThreadServer, path: str) -> None:
    budget(server).wait = 0.1
    with hold(server, 300_000) as first, RawRequest(server.port, "POST", path, JSON, declared=200_000) as second:
        second.send(b"{")
        busy = second.reply()
        assert_envelope(busy, 503, "server_busy")
        assert busy.json()["error"]["type"] == "server_error"
        assert busy.headers["retry-after"] == "1"
        assert busy.headers["connection"] == "close"
        first.send(create_body(300_000)[1:])
        assert first.reply().status == 200
    wait_until(lambda: budget(server).used == 0)


def test_a_chunked_body_takes_room_as_it_arrives(server: ThreadServer) -> None:
    budget(server).wait = 0.1
    with RawRequest(server.port, "POST", "/v1/videos/generations", JSON, declared=None) as chunked:
        body = create_body(300_000)
        for start in range(0, len(body), 50_000):
            chunked.send(body[start : start + 50_000])
        wait_until(lambda: budget(server).used == 300_000)
        with RawRequest(server.port, "POST", "/v1/videos/generations", JSON, declared=200_000) as second:
            assert_envelope(second.reply(), 503, "server_busy")
        chunked.end()
        assert chunked.reply().status == 200
    wait_until(lambda: budget(server).used == 0)


def test_small_bodies_never_wait(server: ThreadServer) -> None:
    budget(server).wait = 30
    with hold(server, CAPACITY), httpx.Client(base_url=server.url, timeout=5) as http:
        reply = http.post("/v1/videos/generations", content=create_body(SMALL_BODY_BYTES), headers=JSON)
        assert reply.status_code == 200, reply.text
        assert budget(server).waiting == 0


def test_uploads_stream_past_the_budget(server: ThreadServer) -> None:
    budget(server).wait = 30
    with server.client() as http:
        job = create_job(http)
        work = claim(http)
        with hold(server, CAPACITY):
            reply = upload(http, job["id"], token=work["claim_token"])  # the demo clip, larger than a small body
            assert reply.status_code == 200, reply.text
            assert budget(server).waiting == 0


def test_a_body_no_route_takes_holds_no_room(server: ThreadServer) -> None:
    """Without credentials a caller reaches no route's body; nor may it hold room with a path no route has."""
    for method, path in (("POST", "/no/such/route"), ("PUT", "/v1/videos/generations")):
        with RawRequest(server.port, method, path, JSON, declared=CAPACITY) as idle:
            idle.send(b"{")
            reply = idle.reply()
            assert reply.status in (404, 405)
            assert budget(server).used == 0
    with httpx.Client(base_url=server.url, timeout=5) as http:
        reply = http.post("/v1/videos/generations", content=create_body(CAPACITY), headers=JSON)
        assert reply.status_code == 200, reply.text


def test_a_body_that_does_not_arrive_in_time_gives_its_room_back(server: ThreadServer) -> None:
    budget(server).read_seconds = 0.3
    with hold(server, 300_000) as slow:
        assert_envelope(slow.reply(), 408, "body_timeout")
    wait_until(lambda: budget(server).used == 0)
    with httpx.Client(base_url=server.url, timeout=5) as http:
        reply = http.post("/v1/videos/generations", content=create_body(CAPACITY), headers=JSON)
        assert reply.status_code == 200, reply.text
