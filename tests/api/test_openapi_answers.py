"""Real answers against the OpenAPI document, in every state and dialect: each has a status and media type the
route declares, and its body matches the declared schema with no field the schema leaves out, so a field added
to an answer cannot go undocumented. Schemathesis (test_openapi_contract.py) never sees a finished video;
this walks jobs through the worker protocol to completed, failed, mismatched, expired and deleted."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from grok_imagine_api.demo_clips import make_clip
from grok_imagine_api.maintenance.cleanup import run_cleanup
from support import DEMO_MP4, EVERYTHING, PNG_1PX, ThreadServer, bearer, settings_for

KEY = "sk-answers"
WORKER_TOKEN = "wt-answers"


def strictly(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every object schema closed: a field it does not declare fails validation."""
    closed = copy.deepcopy(document)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(closed["components"]["schemas"])
    return closed


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(strictly(document))

    def check(self, reply: httpx.Response, path: str) -> httpx.Response:
        method = reply.request.method
        declared = self.document["paths"][path][method.lower()]["responses"]
        where = f"{method} {path} answered {reply.status_code}"
        assert str(reply.status_code) in declared, f"{where}, which it does not declare: {reply.text[:300]}"
        media = {name.split(";")[0] for name in declared[str(reply.status_code)].get("content", {})}
        if reply.content and reply.status_code != 304:
            assert reply.headers["content-type"].split(";")[0] in media, f"{where} as {reply.headers['content-type']}"
        reply.request.read()  # a multipart body was streamed; the validator looks at what was sent
        self.schema[path][method].validate_response(reply)
        return reply


@dataclass
class World:
    server: ThreadServer
    client: httpx.Client
    worker: httpx.Client
    anonymous: httpx.Client
    contract: Contract

    def check(self, reply: httpx.Response, path: str) -> dict[str, Any]:
        self.contract.check(reply, path)
        body: dict[str, Any] = reply.json() if reply.headers.get("content-type") == "application/json" else {}
        return body

    def work(self, video: bytes = DEMO_MP4) -> None:
        """Claim the oldest job and finish it with `video`, checking every worker answer on the way."""
        claimed = self.check(self.worker.get("/extension/poll", params=EVERYTHING), "/extension/poll")
        token = claimed["claim_token"]
        progress = {"job_id": claimed["job_id"], "claim_token": token, "progress": 50}
        self.check(self.worker.post("/extension/progress", json=progress), "/extension/progress")
        files = {"video": ("out.mp4", video, "video/mp4")}
        reply = self.worker.post(
            "/extension/complete", data={"job_id": claimed["job_id"], "claim_token": token}, files=files
        )
        self.check(reply, "/extension/complete")

    def fail(self) -> None:
        claimed = self.check(self.worker.get("/extension/poll", params=EVERYTHING), "/extension/poll")
        report = {
            "job_id": claimed["job_id"],
            "claim_token": claimed["claim_token"],
            "error": "No",
            "code": "moderated",
        }
        self.check(self.worker.post("/extension/error", json=report), "/extension/error")

    def read(self, job_id: str) -> None:
        """Every answer about one job."""
        for prefix in ("/v1/videos/generations", "/v1/video/generations"):
            self.check(self.client.get(f"{prefix}/{job_id}"), f"{prefix}/{{job_id}}")
        self.check(self.client.get(f"/v1/videos/{job_id}"), "/v1/videos/{video_id}")
        sdk = {"X-Stainless-Lang": "python"}  # the OpenAI SDK always gets OpenAI's shape
        self.check(self.client.get(f"/v1/videos/{job_id}", headers=sdk), "/v1/videos/{video_id}")
        self.check(self.client.get(f"/jobs/{job_id}"), "/jobs/{job_id}")
        self.check(self.client.get(f"/jobs/{job_id}/image"), "/jobs/{job_id}/image")
        self.check(self.client.get(f"/v1/videos/{job_id}/content"), "/v1/videos/{video_id}/content")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = settings_for(tmp_path, api_keys=[KEY], worker_token=WORKER_TOKEN, max_poll_wait_seconds=0)
    with (
        ThreadServer(settings) as server,
        server.client(headers=bearer(KEY)) as client,
        server.client(headers=bearer(WORKER_TOKEN)) as worker,
        server.client() as anonymous,
    ):
        yield World(server, client, worker, anonymous, Contract(server.app.openapi()))


def test_every_answer_of_every_state_is_declared(world: World) -> None:
    w, client = world, world.client
    image = base64.b64encode(PNG_1PX).decode()
    seed = w.check(
        client.post("/v1/videos/generations", json={"prompt": "cat", "image": image}), "/v1/videos/generations"
    )
    xai_body = {"model": "grok-imagine-video", "prompt": "dog", "duration": 6, "aspect_ratio": "16:9"}
    xai = w.check(client.post("/v1/video/generations", json=xai_body), "/v1/video/generations")
    openai = w.check(
        client.post("/v1/videos", json={"prompt": "bird", "seconds": "6", "size": "1280x720"}), "/v1/videos"
    )
    for job in (seed, xai, openai):
        w.read(job["id"])  # queued

    w.work()  # the seed job, with its image
    w.work(make_clip(720, 1280, 6, "tall"))  # the xAI job: a portrait video for 16:9, kept with its mismatch
    w.fail()  # the OpenAI job
    w.check(w.worker.get("/extension/poll"), "/extension/poll")  # nothing left: 204

    own_link = client.get(f"/v1/videos/{seed['id']}").json()["video_url"]
    remix = w.check(
        client.post(f"/v1/videos/{seed['id']}/remix", json={"prompt": "again"}), "/v1/videos/{video_id}/remix"
    )
    extension = w.check(
        client.post("/v1/videos/extensions", json={"prompt": "on", "video": {"url": own_link}, "duration": 6}),
        "/v1/videos/extensions",
    )
    upload = {"video": ("in.mp4", DEMO_MP4, "video/mp4")}
    edit = w.check(client.post("/v1/videos/edits", data={"prompt": "red"}, files=upload), "/v1/videos/edits")
    for job in (remix, extension, edit):
        w.read(job["id"])
    claimed = w.check(w.worker.get("/extension/poll", params=EVERYTHING), "/extension/poll")
    source = f"/extension/jobs/{claimed['job_id']}/source"
    first = w.contract.check(w.worker.get(source), "/extension/jobs/{job_id}/source")
    w.contract.check(w.worker.get(source, headers={"Range": "bytes=0-9"}), "/extension/jobs/{job_id}/source")
    w.contract.check(
        w.worker.get(source, headers={"If-None-Match": first.headers["etag"]}), "/extension/jobs/{job_id}/source"
    )

    for job in (seed, xai, openai):
        w.read(job["id"])  # completed, completed with a mismatch, failed
    content = f"/v1/videos/{seed['id']}/content"
    for variant in ("video", "thumbnail", "spritesheet", "nonsense"):
        w.check(client.get(content, params={"variant": variant}), "/v1/videos/{video_id}/content")
    for headers in ({"Range": "bytes=0-9"}, {"Range": "bytes=999999999-"}, {"Range": "chars=1-2"}):
        w.check(client.get(content, headers=headers), "/v1/videos/{video_id}/content")
    link = httpx.URL(own_link)
    download = link.path
    w.check(w.anonymous.get(download, params=dict(link.params)), "/videos/{job_id}.mp4")
    w.check(w.anonymous.get(download, params={**dict(link.params), "signature": "0" * 64}), "/videos/{job_id}.mp4")
    w.check(w.anonymous.get(download), "/videos/{job_id}.mp4")  # 401
    w.check(client.get(download, headers={"Range": "bytes=5-"}), "/videos/{job_id}.mp4")

    w.check(client.post(f"/jobs/{seed['id']}/rerun"), "/jobs/{job_id}/rerun")
    w.check(client.post(f"/jobs/{remix['id']}/rerun"), "/jobs/{job_id}/rerun")  # 400 not_rerunnable
    w.check(client.post(f"/jobs/{remix['id']}/cancel"), "/jobs/{job_id}/cancel")
    w.check(client.post(f"/jobs/{seed['id']}/cancel"), "/jobs/{job_id}/cancel")  # 409 finished
    listings: list[tuple[str, dict[str, str | int]]] = [
        ("/jobs", {}),
        ("/jobs", {"status": "cancelled"}),
        ("/jobs", {"status": "failed", "limit": 1}),
        ("/jobs", {"q": "cat"}),
        ("/jobs", {"status": "x"}),
        ("/v1/videos", {}),
        ("/v1/videos", {"order": "asc", "limit": 2}),
        ("/v1/videos", {"after": "nope"}),
    ]
    for path, params in listings:
        w.check(client.get(path, params=params), path)
    for path in ("/stats", "/workers", "/health", "/", "/metrics"):
        w.check(client.get(path), path)
        w.check(w.anonymous.get(path), path)  # 401 on client routes, the counts only on /health
    w.check(w.worker.get("/extension/hello"), "/extension/hello")
    w.check(w.anonymous.get("/extension/hello"), "/extension/hello")
    w.check(w.anonymous.get("/", headers={"Accept": "text/html"}, follow_redirects=False), "/")

    retry = {"Idempotency-Key": "once"}
    for prompt in ("one", "two"):  # the same key with another body: 422
        w.check(client.post("/v1/videos", json={"prompt": prompt}, headers=retry), "/v1/videos")
    w.check(client.post("/v1/videos/generations", content=b"{"), "/v1/videos/generations")
    w.check(w.worker.post("/extension/complete", json={"job_id": seed["id"]}), "/extension/complete")  # 415
    w.check(w.worker.post("/extension/progress", json={"job_id": seed["id"]}), "/extension/progress")  # 409
    w.check(w.worker.post("/extension/error", json={"job_id": "job_0"}), "/extension/error")  # 404

    w.server.clock.advance(w.server.settings.max_video_age_seconds + 1)
    w.server.run(run_cleanup(w.server.service, w.server.app.state.request_log))
    for job in (seed, xai):
        w.read(job["id"])  # expired
    w.check(client.delete(f"/v1/videos/{xai['id']}"), "/v1/videos/{video_id}")
    w.check(client.delete(f"/v1/videos/{xai['id']}"), "/v1/videos/{video_id}")  # 404
    w.check(client.get(f"/jobs/{xai['id']}"), "/jobs/{job_id}")  # 404
