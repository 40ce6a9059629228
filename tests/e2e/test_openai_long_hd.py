"""The README's tour of long videos and HD through the official `openai` package, against a live server and the
demo worker (which can extend from its own posts and declares `upscale`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import openai
import pytest

from support import ProcessServer, demo_worker, process_server, wait_until

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

WORKER = "worker-secret"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    tmp = tmp_path_factory.mktemp("long-hd")
    env = {"WORKER_TOKEN": WORKER, "POLL_AFTER_MS": "20"}
    with process_server(tmp, env=env) as server, demo_worker(server.url, WORKER):
        # A chain is planned from the workers connected at the create: wait for the demo worker's declaration.
        wait_until(lambda: any(w["abilities"] for w in httpx.get(f"{server.url}/workers").json()["data"]), timeout=30)
        yield server


@pytest.fixture
def client(live: ProcessServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


def seconds_of(mp4: bytes) -> float:
    with av.open(io.BytesIO(mp4)) as container:
        assert container.duration is not None
        return float(container.duration) / av.time_base


def test_thirty_seconds_come_back_as_one_video(client: openai.OpenAI, tmp_path: Path) -> None:
    video = client.videos.create_and_poll(prompt="A fox runs through the snow", seconds="30")  # type: ignore[arg-type]
    assert video.status == "completed", video.error
    extra = video.model_extra or {}
    assert [segment["seconds"] for segment in extra["segments"]] == [10, 10, 10]
    assert all(segment["status"] == "completed" for segment in extra["segments"])
    target = tmp_path / "fox.mp4"
    client.videos.download_content(video.id).write_to_file(target)
    assert seconds_of(target.read_bytes()) == pytest.approx(30, abs=1.5)
    assert video.seconds == "30"


def test_an_upscaled_video_has_its_hd_file(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="A lighthouse", extra_body={"upscale": True})
    assert video.status == "completed", video.error
    hd = client.videos.download_content(video.id, variant="hd").read()  # type: ignore[arg-type]
    standard = client.videos.download_content(video.id).read()
    assert hd[4:8] == standard[4:8] == b"ftyp"
    assert (video.model_extra or {})["hd"]["size"] == len(hd)
