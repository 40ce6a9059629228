"""The official `openai` package's Images API (and xAI-shaped bodies) against a live server with API keys and the
demo worker, which makes real images: each is decoded here."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from support import ProcessServer, bearer, demo_worker, process_server, wait_until

KEY = "sk-test-images"
WORKER = "worker-secret"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    tmp = tmp_path_factory.mktemp("openai-images")
    env = {"API_KEYS": KEY, "WORKER_TOKEN": WORKER}
    with process_server(tmp, env=env) as server, demo_worker(server.url, WORKER):
        wait_until(lambda: httpx.get(f"{server.url}/workers", headers=bearer(KEY)).json()["data"], timeout=30)
        yield server


@pytest.fixture
def client(live: ProcessServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def api(live: ProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=bearer(KEY), timeout=120) as http:
        yield http


def picture(data: bytes) -> Image.Image:
    """The image decoded in full (a cut-off or damaged file raises)."""
    opened = Image.open(io.BytesIO(data))
    opened.load()
    return opened


def from_b64(item: Any) -> Image.Image:
    assert item.b64_json, item
    return picture(base64.b64decode(item.b64_json))


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def test_generate_two_images_as_base64(client: openai.OpenAI) -> None:
    answer = client.images.generate(prompt="a lighthouse at dawn", n=2, response_format="b64_json")
    assert answer.created > 0 and answer.data is not None and len(answer.data) == 2
    images = [from_b64(item) for item in answer.data]
    assert [(image.format, image.size) for image in images] == [("PNG", (1024, 1024))] * 2  # 1:1 unless asked
    assert images[0].tobytes() != images[1].tobytes()  # "1/2" and "2/2"
    assert all(item.url is None and item.revised_prompt == "a lighthouse at dawn" for item in answer.data)
    extra = answer.model_extra or {}
    assert extra["id"].startswith("job_") and extra["n"] == 2 and extra["adjustments"] == []


def test_generate_as_links_that_serve_the_images(client: openai.OpenAI, live: ProcessServer) -> None:
    answer = client.images.generate(prompt="a fox in the snow", n=2, size="1536x1024", response_format="url")
    assert answer.data is not None and len(answer.data) == 2
    for item in answer.data:
        assert item.url and item.url.startswith(f"{live.url}/images/") and item.b64_json is None
        reply = httpx.get(item.url)  # signed: no key needed
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "image/png"
        assert picture(reply.content).size == (1024, 683)  # 1536x1024 is 3:2, which Grok makes
    unsigned = str(answer.data[0].url).split("?")[0]
    assert httpx.get(unsigned).status_code in (401, 403)  # the signature is what opens it


def test_a_gpt_image_model_answers_in_base64_by_default(client: openai.OpenAI) -> None:
    answer = client.images.generate(model="gpt-image-1", prompt="an owl", size="1024x1536")
    assert answer.data is not None
    [item] = answer.data
    assert from_b64(item).size == (683, 1024)


def test_edit_an_uploaded_image(client: openai.OpenAI, tmp_path: Path) -> None:
    source = tmp_path / "red.png"
    source.write_bytes(png((400, 300), (200, 30, 30)))
    with open(source, "rb") as file:
        answer = client.images.edit(image=file, prompt="make it snow", n=2, response_format="b64_json")
    assert answer.data is not None and len(answer.data) == 2
    images = [from_b64(item) for item in answer.data]
    assert {image.size for image in images} == {(1024, 768)}  # the source's 4:3 kept
    red, green, blue = images[0].convert("RGB").getpixel((1020, 764))  # type: ignore[misc]
    assert red > 150 and green < 80 and blue < 80  # drawn on the source
    assert images[0].tobytes() != images[1].tobytes()


def test_edit_with_several_images_uses_the_first_and_says_so(client: openai.OpenAI, live: ProcessServer) -> None:
    first = ("blue.png", png((64, 64), (20, 40, 200)), "image/png")
    second = ("green.png", png((64, 64), (20, 200, 40)), "image/png")
    answer = client.images.edit(image=[first, second], prompt="add a hat", size="1024x1024", response_format="url")
    assert answer.data is not None
    [item] = answer.data
    assert item.url is not None
    made = picture(httpx.get(item.url).content)
    assert made.size == (1024, 1024)
    _, green, blue = made.convert("RGB").getpixel((1020, 1020))  # type: ignore[misc]
    assert blue > 150 and green < 80  # the first image, not the second
    adjustments = (answer.model_extra or {})["adjustments"]
    assert [adjustment["param"] for adjustment in adjustments] == ["image"]


def test_an_xai_body_is_accepted(api: httpx.Client) -> None:
    body = {
        "model": "grok-imagine-image",
        "prompt": "ten lighthouses",
        "n": 10,
        "aspect_ratio": "16:9",
        "response_format": "b64_json",
    }
    reply = api.post("/v1/images/generations", json=body)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["n"] == 10 and answer["model"] == "grok-imagine-image" and len(answer["data"]) == 10
    images = [picture(base64.b64decode(item["b64_json"])) for item in answer["data"]]
    assert {image.size for image in images} == {(1024, 576)}
    assert len({image.tobytes() for image in images}) == 10

    reply = api.post("/v1/images/generations", json={**body, "n": 1, "aspect_ratio": "20:9", "resolution": "2k"})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert picture(base64.b64decode(answer["data"][0]["b64_json"])).size == (1024, 576)  # 20:9 → 16:9
    assert {adjustment["param"] for adjustment in answer["adjustments"]} == {"aspect_ratio", "resolution"}

    reply = api.post("/v1/images/generations", json={**body, "n": 11})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "n"


def test_an_xai_edit_with_a_data_url(api: httpx.Client) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png((90, 160), (200, 30, 30))).decode()
    body = {"model": "grok-imagine-image", "prompt": "paint it", "image": {"url": data_url}, "n": 2}
    reply = api.post("/v1/images/edits", json=body)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert len(answer["data"]) == 2
    for item in answer["data"]:
        assert picture(api.get(item["url"]).content).size == (576, 1024)  # the source's 9:16


def test_an_empty_prompt_is_a_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="", n=2)
    assert raised.value.status_code == 400
    body = raised.value.body
    assert isinstance(body, dict) and body["param"] == "prompt"
    with pytest.raises(openai.BadRequestError):
        client.images.edit(image=("x.png", png((8, 8), (0, 0, 0)), "image/png"), prompt="   ")


def test_the_async_client_too(live: ProcessServer) -> None:
    async def generate() -> list[Image.Image]:
        async with openai.AsyncOpenAI(base_url=f"{live.url}/v1", api_key=KEY, max_retries=0) as sdk:
            answers = await asyncio.gather(
                *(sdk.images.generate(prompt=f"async {i}", response_format="b64_json") for i in range(3))
            )
        return [from_b64(item) for answer in answers for item in answer.data or []]

    images = asyncio.run(generate())
    assert len(images) == 3 and len({image.tobytes() for image in images}) == 3


def test_image_jobs_are_jobs(api: httpx.Client, client: openai.OpenAI) -> None:
    answer = client.images.generate(prompt="a listed image", n=2, response_format="url")
    job_id = (answer.model_extra or {})["id"]
    job = api.get(f"/jobs/{job_id}").json()
    assert (job["media"], job["n"], job["status"], job["video_url"]) == ("image", 2, "completed", None)
    assert [(image["index"], image["width"], image["height"]) for image in job["images"]] == [
        (0, 1024, 1024),
        (1, 1024, 1024),
    ]
    listed = api.get("/jobs", params={"media": "image", "limit": 100}).json()["data"]
    assert job_id in [entry["id"] for entry in listed]
    workers = api.get("/workers").json()["data"]
    assert {"text_to_image", "image_to_image"} <= set(workers[0]["abilities"]["kinds"])  # the demo worker, no flags
