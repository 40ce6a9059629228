"""xAI's video REST API, as plain HTTP, through to status done and a downloadable URL."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import DEMO_MP4, PNG_1PX, ThreadServer, assert_error, claim, settings_for, upload


def xai_create(client: httpx.Client, **body: object) -> dict:  # type: ignore[type-arg]
    reply = client.post("/v1/videos/generations", json={"model": "grok-imagine-video", "prompt": "A fox", **body})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_xai_flow_to_done(client: httpx.Client, server: ThreadServer) -> None:
    created = xai_create(client, duration=10, aspect_ratio="16:9", resolution="720p")
    request_id = created["request_id"]
    assert created["id"] == request_id and created["status"] == "pending"
    assert client.get(f"/v1/videos/{request_id}").json() == {
        "request_id": request_id,
        "status": "pending",
        "model": "grok-imagine-video",
        "progress": 0,
    }
    work = claim(client)
    assert work["options"] == {"aspect_ratio": "16:9", "resolution": "720p", "duration": 10, "mode": None}
    assert client.get(f"/v1/videos/{request_id}").json()["status"] == "pending"
    upload(client, work["job_id"])
    done = client.get(f"/v1/videos/{request_id}").json()
    assert done["status"] == "done"
    assert done["video"]["duration"] == 6.0  # what the file really is, not what was asked
    assert done["video"]["respect_moderation"] is True
    assert httpx.get(done["video"]["url"]).content == DEMO_MP4


def test_xai_failure_and_moderation(client: httpx.Client) -> None:
    created = xai_create(client)
    work = claim(client)
    client.post("/extension/error", json={"job_id": work["job_id"], "error": "Content Moderated", "code": "moderated"})
    failed = client.get(f"/v1/videos/{created['request_id']}").json()
    assert failed["status"] == "failed"
    assert failed["video"] == {"duration": 0, "respect_moderation": False}
    assert failed["error"] == {"code": "moderated", "message": "Content Moderated"}


def test_xai_expired(client: httpx.Client, server: ThreadServer) -> None:
    from grok_imagine_api.maintenance.cleanup import run_cleanup

    created = xai_create(client)
    upload(client, claim(client)["job_id"])
    server.clock.advance(server.settings.max_video_age_seconds + 1)
    server.run(run_cleanup(server.service, server.app.state.request_log))
    assert client.get(f"/v1/videos/{created['request_id']}").json()["status"] == "expired"


def test_image_as_data_url_object(client: httpx.Client) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    xai_create(client, image={"url": data_url})
    assert base64.b64decode(claim(client)["image"]) == PNG_1PX


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"duration": 8}, "duration"),
        ({"duration": 15}, "duration"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"resolution": "1080p"}, "resolution"),
        ({"size": "1920x1080"}, "size"),
        ({"image": {"url": "ftp://example.org/a.png"}}, "image.url"),
        ({"image": {"url": "http://127.0.0.1:9/a.png"}}, "image.url"),
        ({"reference_images": [{"url": "x"}]}, "reference_images"),
    ],
)
def test_what_grok_cannot_make_is_400(client: httpx.Client, body: dict, param: str) -> None:  # type: ignore[type-arg]
    reply = client.post("/v1/videos/generations", json={"prompt": "x", **body})
    assert_error(reply, 400, param=param)


def test_deprecated_size_maps_to_options(client: httpx.Client) -> None:
    xai_create(client, size="848x480")
    assert claim(client)["options"]["resolution"] == "480p"


class ImageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/cat.png":
            body, status = PNG_1PX, 200
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/cat.png")
            self.end_headers()
            return
        elif self.path == "/page.html":
            body, status = b"<html></html>", 200
        else:
            body, status = b"missing", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_host() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_image_urls_are_fetched_when_private_urls_are_allowed(tmp_path: Path, image_host: str) -> None:
    with ThreadServer(settings_for(tmp_path, allow_private_urls=True)) as srv, srv.client() as http:
        for path in ("/cat.png", "/moved"):
            xai_create(http, image={"url": image_host + path})
            assert base64.b64decode(claim(http)["image"]) == PNG_1PX
        missing = http.post("/v1/videos/generations", json={"prompt": "x", "image": {"url": image_host + "/nope.png"}})
        assert_error(missing, 400, "image_fetch_failed", "image.url")
        page = http.post("/v1/videos/generations", json={"prompt": "x", "image": {"url": image_host + "/page.html"}})
        assert_error(page, 400, "unsupported_image_type", "image.url")


def test_private_image_urls_are_refused_by_default(client: httpx.Client, image_host: str) -> None:
    reply = client.post("/v1/videos/generations", json={"prompt": "x", "image": {"url": image_host + "/cat.png"}})
    assert_error(reply, 400, "invalid_image_url", "image.url")


def test_xai_extension_and_edit_with_a_video_url(client: httpx.Client, server: ThreadServer) -> None:
    source = xai_create(client)
    upload(client, claim(client)["job_id"])
    own_url = client.get(f"/v1/videos/{source['request_id']}").json()["video"]["url"]
    extended = client.post("/v1/videos/extensions", json={"prompt": "more", "duration": 6, "video": {"url": own_url}})
    assert extended.status_code == 200, extended.text
    work = claim(client)
    assert work["kind"] == "extend"
    assert work["source_job_id"] == source["request_id"]
    assert httpx.get(work["source_video_url"]).content == DEMO_MP4

    external = "https://cdn.example.org/clip.mp4"
    edited = client.post("/v1/videos/edits", json={"prompt": "blue", "video": {"url": external}})
    assert edited.status_code == 200, edited.text
    work = claim(client)
    assert (work["kind"], work["source_video_url"]) == ("edit", external)
    assert client.get(f"/v1/videos/{edited.json()['id']}").json()["status"] == "pending"
