"""Idempotency-Key on the create routes: a retried request replays the first answer instead of making a job."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import (
    DEMO_MP4,
    EVERYTHING,
    PNG_1PX,
    ThreadServer,
    assert_error,
    bearer,
    claim,
    create_job,
    settings_for,
    stored_files,
    upload,
    wait_until,
)

ALICE = "sk-alice-3f9a0c5e"
BOB = "sk-bob-71d2e4aa"
WORKER = "wt-worker-c0ffee42"
KEY = "7c1e6a52-2b7f-4d0e-9a43-0f6d3c9b1a88"
OTHER_PNG = PNG_1PX + b"\x00"  # still a PNG by its bytes, but different ones


@dataclass
class World:
    server: ThreadServer
    anon: httpx.Client
    alice: httpx.Client
    bob: httpx.Client
    worker: httpx.Client

    def completed_job(self) -> str:
        job_id = str(create_job(self.alice, "a source video")["id"])
        work = claim(self.worker)
        assert work["job_id"] == job_id
        assert upload(self.worker, job_id, token=work["claim_token"]).status_code == 200
        return job_id

    def total_jobs(self) -> int:
        return sum(self.anon.get("/health").json()["jobs"].values())

    def stored_files(self) -> set[str]:
        root = self.server.settings.video_storage_path
        return {str(path.relative_to(root)) for path in stored_files(root)}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = settings_for(tmp_path, api_keys=[ALICE, BOB], worker_token=WORKER, allow_private_urls=True)
    with (
        ThreadServer(settings) as server,
        server.client() as anon,
        server.client(headers=bearer(ALICE)) as alice,
        server.client(headers=bearer(BOB)) as bob,
        server.client(headers=bearer(WORKER)) as worker,
    ):
        yield World(server, anon, alice, bob, worker)


@dataclass(frozen=True)
class Call:
    url: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None

    def send(self, http: httpx.Client, key: str | None = KEY) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return http.post(self.url, json=self.json, data=self.data, files=self.files, headers=headers)


@dataclass(frozen=True)
class CreateRoute:
    """A create route: `prepare` gives a request and a request that differs from it in one detail."""

    name: str
    prepare: Callable[[World], tuple[Call, Call]]

    def __str__(self) -> str:
        return self.name


def _json(url: str, body: dict[str, Any], changes: dict[str, Any]) -> Callable[[World], tuple[Call, Call]]:
    return lambda w: (Call(url, json=body), Call(url, json={**body, **changes}))


def _from_source(url: str, body: dict[str, Any], changes: dict[str, Any]) -> Callable[[World], tuple[Call, Call]]:
    def prepare(w: World) -> tuple[Call, Call]:
        source = w.completed_job()
        with_source = {**body, "video": {"id": source}} if "video" in body else body
        first = Call(url.format(id=source), json=with_source)
        return first, replace(first, json={**with_source, **changes})

    return prepare


def _multipart(url: str, data: dict[str, str], name: str, file: bytes, mime: str, other: bytes) -> Any:
    def prepare(w: World) -> tuple[Call, Call]:
        first = Call(url, data=data, files={name: (f"in.{mime.split('/')[1]}", file, mime)})
        return first, replace(first, files={name: (f"in.{mime.split('/')[1]}", other, mime)})

    return prepare


CREATE_ROUTES = [
    CreateRoute(
        "POST /v1/videos/generations",
        _json("/v1/videos/generations", {"model": "grok", "prompt": "A cat"}, {"prompt": "A dog"}),
    ),
    CreateRoute(
        "POST /v1/video/generations",
        _json("/v1/video/generations", {"model": "grok", "prompt": "A cat"}, {"aspect_ratio": "16:9"}),
    ),
    CreateRoute("POST /v1/videos (JSON)", _json("/v1/videos", {"prompt": "A cat"}, {"model": "sora-2"})),
    CreateRoute(
        "POST /v1/videos (multipart)",
        _multipart("/v1/videos", {"prompt": "A cat"}, "input_reference", PNG_1PX, "image/png", OTHER_PNG),
    ),
    CreateRoute(
        "POST /v1/videos/{id}/remix",
        _from_source("/v1/videos/{id}/remix", {"prompt": "now in space"}, {"prompt": "now under water"}),
    ),
    CreateRoute(
        "POST /v1/videos/extensions (by id)",
        _from_source("/v1/videos/extensions", {"prompt": "then it rains", "video": {}}, {"prompt": "then it snows"}),
    ),
    CreateRoute(
        "POST /v1/videos/edits (by id)",
        _from_source("/v1/videos/edits", {"prompt": "make it night", "video": {}}, {"prompt": "make it dawn"}),
    ),
    CreateRoute(
        "POST /v1/videos/extensions (upload)",
        _multipart("/v1/videos/extensions", {"prompt": "then it rains"}, "video", DEMO_MP4, "video/mp4", DEMO_MP4[:-1]),
    ),
    CreateRoute(
        "POST /v1/videos/edits (upload)",
        _multipart("/v1/videos/edits", {"prompt": "make it night"}, "video", DEMO_MP4, "video/mp4", DEMO_MP4[:-1]),
    ),
]


def assert_fresh(reply: httpx.Response) -> None:
    assert reply.status_code == 200, reply.text
    assert "idempotent-replayed" not in reply.headers


def assert_replay_of(reply: httpx.Response, first: httpx.Response) -> None:
    assert reply.status_code == first.status_code, reply.text
    assert reply.headers["idempotent-replayed"] == "true"
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == first.json()


# -- replay and reuse ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", CREATE_ROUTES, ids=str)
def test_a_retry_replays_the_first_answer(world: World, route: CreateRoute) -> None:
    call, _ = route.prepare(world)
    before = world.total_jobs()
    first = call.send(world.alice)
    assert_fresh(first)
    assert world.total_jobs() == before + 1
    # Time passes: an answer made afresh would differ (its links' expiry, at least); a replay does not.
    world.server.clock.advance(30)
    stored = world.stored_files()
    for _ in range(2):
        assert_replay_of(call.send(world.alice), first)
    assert world.total_jobs() == before + 1
    assert world.stored_files() == stored, "a replayed upload was kept"
    # Without the header the same body is a new job.
    again = call.send(world.alice, key=None)
    assert_fresh(again)
    assert again.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("route", CREATE_ROUTES, ids=str)
def test_the_same_key_with_a_different_body_is_422(world: World, route: CreateRoute) -> None:
    call, different = route.prepare(world)
    first = call.send(world.alice)
    assert_fresh(first)
    before, stored = world.total_jobs(), world.stored_files()
    reply = different.send(world.alice)
    assert_error(reply, 422, "idempotency_key_reused", "Idempotency-Key")
    assert "idempotent-replayed" not in reply.headers
    assert world.total_jobs() == before
    assert world.stored_files() == stored, "a refused upload was kept"
    assert_replay_of(call.send(world.alice), first)


def test_json_is_compared_by_meaning_not_bytes(world: World) -> None:
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    first = world.alice.post("/v1/videos/generations", content=b'{"model": "grok", "prompt": "A cat"}', headers=headers)
    assert_fresh(first)
    same = b'{\n  "prompt" : "A cat",\n  "model" : "grok"\n}'
    assert_replay_of(world.alice.post("/v1/videos/generations", content=same, headers=headers), first)
    # Leaving out a default is the same request too: the body is compared as the server reads it.
    assert_replay_of(world.alice.post("/v1/videos/generations", json={"prompt": "A cat"}, headers=headers), first)


def test_a_replay_survives_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[ALICE])
    call = Call("/v1/videos/generations", json={"prompt": "A cat"})
    with ThreadServer(settings) as server, server.client(headers=bearer(ALICE)) as alice:
        first = call.send(alice)
        assert_fresh(first)
    with ThreadServer(settings) as server, server.client(headers=bearer(ALICE)) as alice:
        assert_replay_of(call.send(alice), first)
        assert_error(replace(call, json={"prompt": "A dog"}).send(alice), 422, "idempotency_key_reused")
        assert len(alice.get("/jobs").json()["data"]) == 1


def test_keys_are_forgotten_after_their_ttl(world: World) -> None:
    call = Call("/v1/videos/generations", json={"prompt": "A cat"})
    first = call.send(world.alice)
    assert_fresh(first)
    world.server.clock.advance(world.server.settings.idempotency_ttl_seconds - 1)
    world.server.run(run_cleanup(world.server.service, world.server.app.state.request_log))
    assert_replay_of(call.send(world.alice), first)
    world.server.clock.advance(2)
    world.server.run(run_cleanup(world.server.service, world.server.app.state.request_log))
    reply = replace(call, json={"prompt": "A dog"}).send(world.alice)
    assert_fresh(reply)
    assert reply.json()["id"] != first.json()["id"]


# -- scope ---------------------------------------------------------------------------------------


def test_keys_are_scoped_per_api_key(world: World) -> None:
    cat = Call("/v1/videos/generations", json={"prompt": "A cat"})
    dog = replace(cat, json={"prompt": "A dog"})
    alices = cat.send(world.alice)
    bobs_cat = cat.send(world.bob)
    assert_fresh(alices)
    assert_fresh(bobs_cat)  # not Alice's answer replayed to Bob
    assert alices.json()["id"] != bobs_cat.json()["id"]
    assert_replay_of(cat.send(world.alice), alices)
    assert_replay_of(cat.send(world.bob), bobs_cat)
    assert_error(dog.send(world.bob), 422, "idempotency_key_reused")
    # Each owns only their own job.
    assert [j["id"] for j in world.alice.get("/jobs").json()["data"]] == [alices.json()["id"]]
    assert [j["id"] for j in world.bob.get("/jobs").json()["data"]] == [bobs_cat.json()["id"]]


def test_a_key_reused_by_another_api_key_with_another_body_is_not_a_conflict(world: World) -> None:
    assert_fresh(Call("/v1/videos/generations", json={"prompt": "A cat"}).send(world.alice))
    assert_fresh(Call("/v1/videos/generations", json={"prompt": "A dog"}).send(world.bob))


def test_keys_are_scoped_per_route(world: World) -> None:
    source = world.completed_job()
    body = {"model": "grok", "prompt": "A cat"}
    routes = ("/v1/videos/generations", "/v1/video/generations", "/v1/videos")
    firsts = [Call(url, json=body).send(world.alice) for url in routes]
    for reply in firsts:
        assert_fresh(reply)
    assert len({reply.json()["id"] for reply in firsts}) == 3
    for url, first in zip(routes, firsts, strict=True):
        assert_replay_of(Call(url, json=body).send(world.alice), first)
    # A different body on another route is no conflict either.
    assert_fresh(Call(f"/v1/videos/{source}/remix", json={"prompt": "now in space"}).send(world.alice))
    assert world.total_jobs() == 5


def test_an_open_server_has_one_scope_for_everyone(tmp_path: Path) -> None:
    with ThreadServer(settings_for(tmp_path)) as server, server.client() as one, server.client() as two:
        call = Call("/v1/videos/generations", json={"prompt": "A cat"})
        first = call.send(one)
        assert_fresh(first)
        assert_replay_of(call.send(two), first)
        # A key sent on an open server is ignored, not part of the scope.
        with server.client(headers=bearer("sk-x")) as keyed:
            assert_replay_of(call.send(keyed), first)


# -- malformed keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", CREATE_ROUTES, ids=str)
def test_an_over_long_key_is_400(world: World, route: CreateRoute) -> None:
    call, _ = route.prepare(world)
    before = world.total_jobs()
    assert_error(call.send(world.alice, key="k" * 256), 400, param="Idempotency-Key")
    assert world.total_jobs() == before
    assert_fresh(call.send(world.alice, key="k" * 255))
    assert world.total_jobs() == before + 1


def test_a_key_sent_without_credentials_is_not_reserved(world: World) -> None:
    call = Call("/v1/videos/generations", json={"prompt": "A cat"})
    assert_error(call.send(world.anon), 401, "invalid_api_key")
    assert_error(call.send(world.worker), 401, "worker_token_not_allowed")
    assert_fresh(call.send(world.alice))


def test_an_empty_key_is_400(world: World) -> None:
    reply = world.alice.post("/v1/videos/generations", json={"prompt": "A cat"}, headers={"Idempotency-Key": ""})
    assert_error(reply, 400, param="Idempotency-Key")
    assert world.total_jobs() == 0


# -- failures do not poison a key ----------------------------------------------------------------


def test_a_failed_request_leaves_the_key_free(world: World) -> None:
    """Only successes are remembered: a failure (here inside job creation) is answered again, not replayed,
    and a corrected request may then use the key. After that, the key belongs to the corrected body."""
    bad = Call("/v1/videos/generations", json={"prompt": "   "})
    good = replace(bad, json={"prompt": "A cat"})
    for _ in range(2):
        reply = bad.send(world.alice)
        assert_error(reply, 400, "empty_prompt")
        assert "idempotent-replayed" not in reply.headers
    first = good.send(world.alice)
    assert_fresh(first)
    assert_replay_of(good.send(world.alice), first)
    assert_error(bad.send(world.alice), 422, "idempotency_key_reused")
    assert world.total_jobs() == 1


def test_a_request_refused_before_creation_leaves_the_key_free(world: World) -> None:
    for bad in (
        Call("/v1/videos/generations", json={"model": "grok"}),  # no prompt
        Call("/v1/videos/generations", json={"prompt": "A cat", "image": "bm90IGFuIGltYWdl"}),  # not an image
        Call("/v1/videos/generations", json={"prompt": "A cat", "aspect_ratio": "5:4"}),
    ):
        assert_error(bad.send(world.alice), 400)
    first = Call("/v1/videos/generations", json={"prompt": "A cat"}).send(world.alice)
    assert_fresh(first)
    assert world.total_jobs() == 1


def test_a_retry_after_the_cause_is_fixed_succeeds(world: World) -> None:
    """A remix of an unfinished video fails; the very same request with the same key works once it is done."""
    source = create_job(world.alice, "a source video")["id"]
    remix = Call(f"/v1/videos/{source}/remix", json={"prompt": "now in space"})
    assert_error(remix.send(world.alice), 400, "source_not_ready")
    work = claim(world.worker)
    assert upload(world.worker, source, token=work["claim_token"]).status_code == 200
    first = remix.send(world.alice)
    assert_fresh(first)
    assert_replay_of(remix.send(world.alice), first)


# -- concurrency ---------------------------------------------------------------------------------


def fire_together(
    server: ThreadServer, count: int, send: Callable[[httpx.Client, int], httpx.Response], api_key: str = ALICE
) -> list[httpx.Response]:
    """`count` threads, each with its own connection, send their request at the same moment."""
    replies: list[httpx.Response | BaseException | None] = [None] * count
    sent = threading.Barrier(count)

    def one(index: int) -> None:
        try:
            with server.client(headers=bearer(api_key)) as http:
                assert http.get("/health").status_code == 200  # connect first, so the requests leave together
                sent.wait(timeout=30)
                replies[index] = send(http, index)
        except BaseException as exc:
            replies[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    done = [reply for reply in replies if isinstance(reply, httpx.Response)]
    assert len(done) == count, [reply for reply in replies if not isinstance(reply, httpx.Response)]
    return done


def assert_one_job_for_all(world: World, replies: list[httpx.Response]) -> None:
    for reply in replies:
        assert reply.status_code == 200, reply.text
    ids = {reply.json()["id"] for reply in replies}
    assert len(ids) == 1, ids
    assert [reply.headers.get("idempotent-replayed") for reply in replies].count(None) == 1
    assert [job["id"] for job in world.alice.get("/jobs").json()["data"]] == list(ids)
    assert world.total_jobs() == 1


def test_concurrent_json_duplicates_make_one_job(world: World) -> None:
    call = Call("/v1/videos/generations", json={"model": "grok", "prompt": "A cat"})
    assert_one_job_for_all(world, fire_together(world.server, 16, lambda http, _: call.send(http)))


def test_concurrent_multipart_duplicates_make_one_job(world: World) -> None:
    call = Call("/v1/videos", data={"prompt": "A cat"}, files={"input_reference": ("ref.png", PNG_1PX, "image/png")})
    replies = fire_together(world.server, 16, lambda http, _: call.send(http))
    assert_one_job_for_all(world, replies)
    assert world.alice.get("/jobs").json()["data"][0]["has_image"] is True


def test_concurrent_uploads_with_one_key_make_one_job(world: World) -> None:
    call = Call(
        "/v1/videos/extensions", data={"prompt": "then it rains"}, files={"video": ("in.mp4", DEMO_MP4, "video/mp4")}
    )
    assert_one_job_for_all(world, fire_together(world.server, 8, lambda http, _: call.send(http)))
    job_id = world.alice.get("/jobs").json()["data"][0]["id"]
    work = claim(world.worker, **EVERYTHING)
    assert work["job_id"] == job_id
    assert world.worker.get(f"/extension/jobs/{job_id}/source").content == DEMO_MP4
    # The duplicates' uploads were not kept: only the winner's source video is in storage.
    assert [name for name in world.stored_files() if job_id not in name] == []


def test_concurrent_requests_with_different_bodies_one_wins(world: World) -> None:
    calls = [Call("/v1/videos/generations", json={"prompt": prompt}) for prompt in ("A cat", "A dog")]
    replies = fire_together(world.server, 16, lambda http, i: calls[i % 2].send(http))
    winners = [r for r in replies if r.status_code == 200]
    losers = [r for r in replies if r.status_code != 200]
    assert len(winners) == 8 and len(losers) == 8, [r.status_code for r in replies]
    for reply in losers:
        assert_error(reply, 422, "idempotency_key_reused")
    assert len({reply.json()["id"] for reply in winners}) == 1
    assert world.total_jobs() == 1
    # The winners all sent the same body: the one the job was made from.
    prompts = {json.loads(r.request.content)["prompt"] for r in winners}
    assert len(prompts) == 1
    assert world.alice.get("/jobs").json()["data"][0]["prompt"] in prompts


def test_concurrent_duplicates_of_a_failing_request_all_fail_and_free_the_key(world: World) -> None:
    bad = Call("/v1/videos/generations", json={"prompt": "   "})
    for reply in fire_together(world.server, 16, lambda http, _: bad.send(http)):
        assert_error(reply, 400, "empty_prompt")
        assert "idempotent-replayed" not in reply.headers
    assert world.total_jobs() == 0
    assert_fresh(replace(bad, json={"prompt": "A cat"}).send(world.alice))


class SlowImage:
    """An image host that answers only when released, so that the first request holds its key a while."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.fetches = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                owner.release.wait(timeout=30)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG_1PX)))
                self.end_headers()
                self.wfile.write(PNG_1PX)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ref.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SlowImage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def test_duplicates_wait_for_a_slow_first_request_and_replay_it(world: World) -> None:
    """The first request is held inside job creation (fetching its image) until every duplicate has arrived:
    the duplicates wait for it rather than run, and all get its job."""
    with SlowImage() as image:
        call = Call("/v1/videos/generations", json={"prompt": "A cat", "image": {"url": image.url}})
        state = world.server.server.server_state
        results: list[list[httpx.Response]] = []
        firing = threading.Thread(
            target=lambda: results.append(fire_together(world.server, 16, lambda http, _: call.send(http)))
        )
        firing.start()
        wait_until(lambda: image.fetches >= 1)
        # All 16 creations have reached the app and are in progress (uvicorn keeps a task for each).
        wait_until(lambda: len(state.tasks) >= 16)
        assert len(world.server.app.state.idempotency.in_flight) == 1, "only the first request holds the key"
        assert firing.is_alive(), "requests finished while the first one was still fetching its image"
        image.release.set()
        firing.join(timeout=60)
        assert not firing.is_alive()
    assert image.fetches == 1, "a duplicate ran instead of waiting"
    assert_one_job_for_all(world, results[0])


def test_a_reservation_left_by_a_crash_blocks_then_expires(tmp_path: Path) -> None:
    """A key reserved but never answered (the server died mid-request) is a 409 at first, then free."""
    from grok_imagine_api.api.idempotency import fingerprint
    from grok_imagine_api.api.seed.requests import CreateGeneration

    with ThreadServer(settings_for(tmp_path)) as server, server.client() as http:
        body = {"prompt": "A cat"}
        digest = fingerprint(CreateGeneration.model_validate(body).model_dump())
        server.run(server.service.idempotency_begin("- POST /v1/videos/generations", "crashed", digest))
        headers = {"Idempotency-Key": "crashed"}
        assert_error(http.post("/v1/videos/generations", json=body, headers=headers), 409, "conflict")
        assert http.get("/health").json()["jobs"]["pending"] == 0
        server.clock.advance(61)
        reply = http.post("/v1/videos/generations", json=body, headers=headers)
        assert reply.status_code == 200, reply.text
        replay = http.post("/v1/videos/generations", json=body, headers=headers)
        assert replay.json()["id"] == reply.json()["id"]
        assert http.get("/health").json()["jobs"]["pending"] == 1
