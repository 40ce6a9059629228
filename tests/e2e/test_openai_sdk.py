"""The official `openai` package (sync and async) against a live server with API keys and the demo worker."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from support import DEMO_MP4, PNG_1PX, ProcessServer, demo_worker, process_server, wait_until

# The SDK marks client.videos deprecated (OpenAI's own Sora API closed); the wire format is what we serve.
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

KEY = "sk-test-alice"
OTHER_KEY = "sk-test-bob"
WORKER = "worker-secret"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    tmp = tmp_path_factory.mktemp("openai")
    env = {"API_KEYS": f"{KEY},{OTHER_KEY}", "WORKER_TOKEN": WORKER, "POLL_AFTER_MS": "20"}
    with process_server(tmp, env=env) as server, demo_worker(server.url, WORKER):
        # Options and long-video chains are planned from the workers connected at the create (docs/options.md):
        # wait for the demo worker's declaration, so every test sees the same.
        headers = {"Authorization": f"Bearer {KEY}"}
        wait_until(
            lambda: any(w["abilities"] for w in httpx.get(f"{server.url}/workers", headers=headers).json()["data"]),
            timeout=30,
        )
        yield server


@pytest.fixture
def client(live: ProcessServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0) as sdk:
        yield sdk


def test_create_and_poll_then_download(client: openai.OpenAI, tmp_path: Path) -> None:
    video = client.videos.create_and_poll(prompt="A cat playing piano", seconds="6", size="1280x720")
    assert video.status == "completed"
    assert video.progress == 100
    assert video.seconds == "6"
    assert video.size == "1280x720"
    assert video.completed_at is not None and video.expires_at is not None
    assert video.model_extra is not None
    assert video.model_extra["produced"] == {"seconds": 6.0, "width": 1280, "height": 720}
    assert video.model_extra["output_mismatch"] is None
    content = client.videos.download_content(video.id).read()
    assert content[4:8] == b"ftyp"
    thumb = client.videos.download_content(video.id, variant="thumbnail").read()
    assert thumb[:3] == b"\xff\xd8\xff"  # a JPEG


@pytest.mark.parametrize(
    ("seconds", "size", "made_seconds", "made_size"),
    [
        ("4", "720x1280", "6", "720x1280"),
        ("8", "1280x720", "10", "1280x720"),
        ("12", "1024x1792", "12", "720x1280"),  # longer than one generation: 6 s and a 6 s extend, joined
        ("8", "1792x1024", "10", "1280x720"),
    ],
)
def test_every_seconds_and_size_the_sdk_allows_is_made_and_said(
    client: openai.OpenAI, seconds: str, size: str, made_seconds: str, made_size: str
) -> None:
    video = client.videos.create(prompt="Sora-era code", seconds=seconds, size=size, model="sora-2")  # type: ignore[arg-type]
    assert (video.seconds, video.size, video.model) == (made_seconds, made_size, "sora-2")
    extra = video.model_extra or {}
    assert extra["requested"] == {"model": "sora-2", "seconds": seconds, "size": size}
    changed = {a["param"]: (a["requested"], a["made"]) for a in extra["adjustments"]}
    if seconds != made_seconds:
        assert changed["seconds"] == (seconds, made_seconds)
    if size != made_size:
        assert changed["size"] == (size, made_size)
    done = client.videos.poll(video.id)
    assert done.status == "completed" and (done.seconds, done.size) == (made_seconds, made_size)
    produced = (done.model_extra or {})["produced"]
    assert f"{produced['width']}x{produced['height']}" == made_size and produced["seconds"] == int(made_seconds)


def test_multipart_create_with_an_image_file(client: openai.OpenAI, live: ProcessServer) -> None:
    video = client.videos.create(prompt="Animate this", input_reference=("ref.png", PNG_1PX, "image/png"))
    assert video.status in ("queued", "in_progress", "completed")
    listed = httpx.get(f"{live.url}/jobs", headers={"Authorization": f"Bearer {KEY}"}).json()["data"]
    assert next(job for job in listed if job["id"] == video.id)["has_image"] is True


def test_bare_bytes_image_is_sniffed(client: openai.OpenAI) -> None:
    video = client.videos.create(prompt="From bytes", input_reference=io.BytesIO(PNG_1PX))
    assert video.id.startswith("job_")


def test_image_url_and_extra_options_through_extra_body(client: openai.OpenAI) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    video = client.videos.create(
        prompt="With options",
        extra_body={
            "input_reference[image_url]": data_url,
            "aspect_ratio": "9:16",
            "resolution": "480p",
            "mode": "fun",
        },
    )
    assert video.model_extra is not None
    assert video.model_extra["options"] == {
        "aspect_ratio": "9:16",
        "resolution": "480p",
        "duration": 6,  # Sora's default "4", made as Grok's nearest
        "mode": "fun",
    }


def test_json_create_as_older_sdks_send_it(client: openai.OpenAI) -> None:
    from openai.types import Video

    video = client.post("/videos", body={"prompt": "JSON body", "seconds": "10", "size": "720x1280"}, cast_to=Video)
    assert video.seconds == "10"
    assert video.size == "720x1280"
    assert video.status == "queued" or video.status == "in_progress" or video.status == "completed"


def test_retrieve_and_list_with_auto_pagination(client: openai.OpenAI) -> None:
    created = [client.videos.create(prompt=f"page {i}") for i in range(5)]
    seen = [video.id for video in client.videos.list(limit=2)]
    assert seen.index(created[-1].id) < seen.index(created[0].id)  # newest first
    assert {video.id for video in created} <= set(seen)
    ascending = [video.id for video in client.videos.list(limit=2, order="asc")]
    assert ascending == list(reversed(seen))
    assert client.videos.retrieve(created[0].id).id == created[0].id


def test_remix(client: openai.OpenAI) -> None:
    source = client.videos.create_and_poll(prompt="A cat")
    remix = client.videos.remix(source.id, prompt="The same cat, in the rain")
    assert remix.remixed_from_video_id == source.id
    done = client.videos.poll(remix.id)
    assert done.status == "completed"


def test_extension_and_edit_carry_their_source_to_the_worker(client: openai.OpenAI, live: ProcessServer) -> None:
    extended = client.videos.extend(prompt="Keep going", seconds="6", video=("in.mp4", DEMO_MP4, "video/mp4"))
    edited = client.videos.edit(prompt="Make it blue", video=("in.mp4", DEMO_MP4, "video/mp4"))
    for video in (extended, edited):
        done = client.videos.poll(video.id)
        assert done.status == "completed"
        assert done.model_extra is not None and done.model_extra["output_mismatch"] is None
        assert client.videos.download_content(video.id).read() != DEMO_MP4  # made from it, not it
    assert client.videos.retrieve(extended.id).model_extra["produced"]["seconds"] == 12.0  # type: ignore[index]
    listed = httpx.get(f"{live.url}/jobs", headers={"Authorization": f"Bearer {KEY}"}).json()["data"]
    kinds = {job["id"]: job["kind"] for job in listed}
    assert kinds[extended.id] == "extend" and kinds[edited.id] == "edit"


def test_delete(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="Short-lived")
    deleted = client.videos.delete(video.id)
    assert deleted.deleted is True and deleted.id == video.id
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(video.id)


def test_sdk_exceptions(client: openai.OpenAI, live: ProcessServer) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="x", seconds="abc")  # type: ignore[arg-type]
    assert bad.value.param == "seconds"  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError) as bad_size:
        client.videos.create(prompt="x", size="13x7")  # type: ignore[arg-type]
    assert bad_size.value.param == "size"  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve("job_000000000000000000000000")
    stranger = openai.OpenAI(base_url=f"{live.url}/v1", api_key="wrong", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError):
        stranger.videos.list()
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content("job_000000000000000000000000", variant="spritesheet")


def test_another_key_cannot_see_my_videos(client: openai.OpenAI, live: ProcessServer) -> None:
    mine = client.videos.create(prompt="private")
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key=OTHER_KEY, max_retries=0) as bob:
        with pytest.raises(openai.NotFoundError):
            bob.videos.retrieve(mine.id)
        assert mine.id not in [video.id for video in bob.videos.list()]


def test_async_client(live: ProcessServer) -> None:
    async def scenario() -> None:
        async with openai.AsyncOpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0) as sdk:
            video = await sdk.videos.create_and_poll(prompt="Async cat")
            assert video.status == "completed"
            assert (await sdk.videos.retrieve(video.id)).status == "completed"
            content = await sdk.videos.download_content(video.id)
            assert content.read()[4:8] == b"ftyp"
            ids = [v.id async for v in sdk.videos.list(limit=1)]
            assert video.id in ids
            with pytest.raises(openai.NotFoundError):
                await sdk.videos.retrieve("job_000000000000000000000000")

    asyncio.run(scenario())


def test_poll_after_header_on_unfinished_videos(client: openai.OpenAI) -> None:
    raw = client.videos.with_raw_response.create(prompt="header check")
    video = raw.parse()
    if video.status in ("queued", "in_progress"):
        assert raw.headers["openai-poll-after-ms"] == "20"
    done = client.videos.poll(video.id)
    raw_done = client.videos.with_raw_response.retrieve(done.id)
    assert "openai-poll-after-ms" not in raw_done.headers


def test_video_url_plays_without_headers_until_it_expires(client: openai.OpenAI, live: ProcessServer) -> None:
    video = client.videos.create_and_poll(prompt="shareable")
    assert video.model_extra is not None
    url = video.model_extra["video_url"]
    assert "signature=" in url and "expires=" in url
    assert httpx.get(url).content == client.videos.download_content(video.id).read()
    assert httpx.get(url, headers={"Range": "bytes=0-1"}).status_code == 206
    tampered = url.replace("signature=", "signature=x")
    assert httpx.get(tampered).status_code == 403
    bare = url.split("?")[0]
    assert httpx.get(bare).status_code == 401
    assert httpx.get(bare, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
