"""Images and source videos a create names by URL, or sends inline, against a real slow or broken host."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from remote_host import RemoteHost, Route
from support import DEMO_MP4, PNG_1PX, ThreadServer, assert_error, settings_for

CUT_PNG = PNG_1PX[:-20]  # ends inside the pixel data
TRICKLE = 0.2  # seconds between bytes: the whole PNG would take about 14 s


@pytest.fixture
def host() -> Iterator[RemoteHost]:
    with RemoteHost() as remote:
        remote.routes["/slow.png"] = Route(PNG_1PX, byte_every=TRICKLE)
        remote.routes["/slow.mp4"] = Route(DEMO_MP4, byte_every=TRICKLE)
        remote.routes["/cut.png"] = Route(CUT_PNG)
        yield remote


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = settings_for(
        tmp_path, allow_private_urls=True, image_fetch_timeout_seconds=1, video_fetch_timeout_seconds=1
    )
    with ThreadServer(settings) as server, server.client() as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/videos/generations", lambda url: {"prompt": "x", "image": {"url": url}}, "image.url"),
        ("/v1/videos", lambda url: {"prompt": "x", "input_reference": {"image_url": url}}, "input_reference"),
        ("/v1/videos/edits", lambda url: {"prompt": "x", "video": {"url": url.replace(".png", ".mp4")}}, "video.url"),
    ],
)
def test_a_url_that_trickles_fails_the_create_at_the_fetch_deadline(
    api: httpx.Client, host: RemoteHost, path: str, body: object, param: str
) -> None:
    started = time.monotonic()
    reply = api.post(path, json=body(f"{host.url}/slow.png"))  # type: ignore[operator]
    took = time.monotonic() - started
    code = "video_fetch_failed" if param == "video.url" else "image_fetch_failed"
    assert_error(reply, 400, code, param)
    assert "FETCH_TIMEOUT_SECONDS" in reply.json()["error"]["message"]
    assert 1 <= took < 10, took  # the deadline is 1 s for the whole fetch, not for each read (that takes 14 s)
    assert api.get("/health").json()["jobs"]["pending"] == 0


def test_a_cut_off_image_is_refused_however_it_comes(api: httpx.Client, host: RemoteHost) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(CUT_PNG).decode()
    replies = {
        "image.url": api.post("/v1/videos/generations", json={"prompt": "x", "image": {"url": f"{host.url}/cut.png"}}),
        "image": api.post("/v1/videos/generations", json={"prompt": "x", "image": base64.b64encode(CUT_PNG).decode()}),
        "input_reference": api.post("/v1/videos", json={"prompt": "x", "input_reference": {"image_url": data_url}}),
    }
    for param, reply in replies.items():
        assert_error(reply, 400, "invalid_image", param)
    files = {"input_reference": ("cat.png", CUT_PNG, "image/png")}
    assert_error(api.post("/v1/videos", data={"prompt": "x"}, files=files), 400, "invalid_image", "input_reference")
    xai_data_url = api.post("/v1/videos/generations", json={"prompt": "x", "image": {"url": data_url}})
    assert_error(xai_data_url, 400, "invalid_image", "image.url")
    assert api.get("/health").json()["jobs"]["pending"] == 0
