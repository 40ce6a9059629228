"""The client's HTTP layer with a swapped transport: errors, images, and downloads that break halfway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grok_imagine_api.client import BadImage, Client, ServerError, Unreachable, image_data_url
from support import PNG_1PX

SERVER = "http://videos.test"


class BrokenStream(httpx.SyncByteStream):
    """Half a video, then the connection drops."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"x" * 1000
        raise httpx.ReadError("connection reset")


def client(handler: httpx.MockTransport) -> Client:
    return Client(SERVER, "sk-test", transport=handler)


def test_the_error_envelope_becomes_code_and_message() -> None:
    body = {"error": {"message": "Invalid API key", "type": "invalid_request_error", "param": None, "code": "x"}}
    answer = httpx.MockTransport(lambda request: httpx.Response(401, json=body))
    with client(answer) as api, pytest.raises(ServerError) as caught:
        api.job("job_1")
    assert (caught.value.status, str(caught.value)) == (401, "x: Invalid API key")


def test_an_answer_that_is_not_an_envelope_is_still_reported() -> None:
    answer = httpx.MockTransport(lambda request: httpx.Response(502, text="<h1>Bad Gateway</h1>"))
    with client(answer) as api, pytest.raises(ServerError) as caught:
        api.jobs(status=None, text=None, limit=5, cursor=None)
    assert str(caught.value) == "HTTP 502: <h1>Bad Gateway</h1>"


def test_requests_carry_the_key_and_only_the_given_parameters() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "has_more": False, "next_cursor": None})

    with client(httpx.MockTransport(answer)) as api:
        api.jobs(status="failed", text=None, limit=5, cursor=None)
    assert seen[0].headers["authorization"] == "Bearer sk-test"
    assert str(seen[0].url) == f"{SERVER}/jobs?status=failed&limit=5"


def test_a_broken_download_leaves_no_file(tmp_path: Path) -> None:
    answer = httpx.MockTransport(lambda request: httpx.Response(200, stream=BrokenStream()))
    with client(answer) as api, pytest.raises(Unreachable):
        api.download(f"{SERVER}/videos/job_1.mp4", tmp_path / "out.mp4", lambda done, total: None)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_download_leaves_no_file_and_keeps_an_older_one(tmp_path: Path) -> None:
    (tmp_path / "out.mp4").write_bytes(b"older")

    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    answer = httpx.MockTransport(lambda request: httpx.Response(200, content=b"new video"))
    with client(answer) as api, pytest.raises(KeyboardInterrupt):
        api.download(f"{SERVER}/videos/job_1.mp4", tmp_path / "out.mp4", interrupt)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert (tmp_path / "out.mp4").read_bytes() == b"older"


def test_the_key_goes_only_to_the_server_itself(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"video")

    with client(httpx.MockTransport(answer)) as api:
        api.download(f"{SERVER}/videos/job_1.mp4?signature=abc", tmp_path / "out.mp4", lambda done, total: None)
        api.download("https://cdn.test/videos/job_1.mp4?signature=def", tmp_path / "cdn.mp4", lambda d, t: None)
    assert (tmp_path / "out.mp4").read_bytes() == b"video"
    assert seen[0].headers["authorization"] == "Bearer sk-test"
    assert seen[0].url.params["signature"] == "abc"
    assert (tmp_path / "cdn.mp4").read_bytes() == b"video"
    assert seen[1].url.host == "cdn.test"
    assert "authorization" not in seen[1].headers


def test_an_answer_that_is_not_the_api_is_an_error_not_a_crash(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved.mp4":
            return httpx.Response(302, headers={"Location": "https://elsewhere.test/"}, text="<a>moved</a>")
        return httpx.Response(200, text="<!doctype html><title>dashboard</title>")

    with client(httpx.MockTransport(answer)) as api:
        with pytest.raises(ServerError, match="did not answer with JSON"):
            api.jobs(status=None, text=None, limit=5, cursor=None)
        with pytest.raises(ServerError, match="HTTP 302"):
            api.download(f"{SERVER}/moved.mp4", tmp_path / "out.mp4", lambda done, total: None)
    assert list(tmp_path.iterdir()) == []


def test_images_are_sent_as_data_urls_of_their_real_type(tmp_path: Path) -> None:
    (tmp_path / "cat.jpg").write_bytes(PNG_1PX)  # the name says JPEG, the bytes say PNG
    assert image_data_url(tmp_path / "cat.jpg").startswith("data:image/png;base64,iVBORw0KGgo")
    (tmp_path / "cat.gif").write_bytes(b"GIF89a")
    with pytest.raises(BadImage, match="is not a PNG, JPEG or WebP image"):
        image_data_url(tmp_path / "cat.gif")
    with pytest.raises(BadImage, match="image file not found"):
        image_data_url(tmp_path / "none.png")
    with pytest.raises(BadImage, match="cannot read image"):
        image_data_url(tmp_path)
