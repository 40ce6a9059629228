"""xAI's video REST API, as plain HTTP, through to status done and a downloadable URL."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import DEMO_MP4, EVERYTHING, PNG_1PX, ThreadServer, assert_error, claim, settings_for, stored_files, upload


def xai_create(client: httpx.Client, **body: object) -> dict:  # type: ignore[type-arg]
    reply = client.post("/v1/videos/generations", json={"model": "grok-imagine-video", "prompt": "A fox", **body})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_xai_flow_to_done(client: httpx.Client, server: ThreadServer) -> None:
    created = xai_create(client, duration=10, aspect_ratio="16:9", resolution="720p")
    request_id = created["request_id"]
    assert created["id"] == request_id and created["status"] == "pending"
    pending = client.get(f"/v1/videos/{request_id}").json()
    assert {key: pending[key] for key in ("request_id", "status", "model", "progress")} == {
        "request_id": request_id,
        "status": "pending",
        "model": "grok-imagine-video",
        "progress": 0,
    }
    assert (pending["duration"], pending["aspect_ratio"], pending["resolution"]) == (10, "16:9", "720p")
    assert pending["adjustments"] == [] and pending["waiting_reason"] is None
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
        ({"duration": 99}, "duration"),
        ({"duration": 0}, "duration"),
        ({"duration": "eight"}, "duration"),
        ({"aspect_ratio": "21:9"}, "aspect_ratio"),
        ({"resolution": "1440p"}, "resolution"),  # 1080p asks for the HD upscale (docs/hd.md)
        ({"size": "13x7"}, "size"),
        ({"image": {"url": "ftp://example.org/a.png"}}, "image.url"),
        ({"image": {"url": "http://127.0.0.1:9/a.png"}}, "image.url"),
        ({"reference_images": [{"url": "x"}]}, "reference_images"),
    ],
)
def test_what_no_documented_range_holds_is_400(client: httpx.Client, body: dict, param: str) -> None:  # type: ignore[type-arg]
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
        elif self.path == "/clip.mp4":
            body, status = DEMO_MP4, 200
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


def test_xai_extension_and_edit_with_a_video_url(tmp_path: Path, image_host: str) -> None:
    with ThreadServer(settings_for(tmp_path, allow_private_urls=True)) as server, server.client() as client:
        source = xai_create(client)
        upload(client, claim(client)["job_id"])
        own_url = client.get(f"/v1/videos/{source['request_id']}").json()["video"]["url"]
        body = {"prompt": "more", "duration": 6, "video": {"url": own_url}}
        extended = client.post("/v1/videos/extensions", json=body)
        assert extended.status_code == 200, extended.text
        assert client.get("/extension/poll").status_code == 204  # a worker that declared nothing never gets it
        work = claim(client, **EVERYTHING)
        assert work["kind"] == "extend"
        assert work["source_job_id"] == source["request_id"]
        assert work["source_grok_post_id"] is None
        assert httpx.get(work["source_video_url"]).content == DEMO_MP4

        # An external source is fetched now, checked, and handed to the worker from this server only.
        edited = client.post("/v1/videos/edits", json={"prompt": "blue", "video": {"url": image_host + "/clip.mp4"}})
        assert edited.status_code == 200, edited.text
        work = claim(client, **EVERYTHING)
        assert work["kind"] == "edit"
        assert work["source_video_url"].startswith(server.url + "/extension/jobs/")
        assert httpx.get(work["source_video_url"]).content == DEMO_MP4
        assert client.get(f"/v1/videos/{edited.json()['id']}").json()["status"] == "pending"


@pytest.mark.parametrize(
    ("path", "code"),
    [("/nope.mp4", "video_fetch_failed"), ("/page.html", "not_mp4"), ("/cat.png", "not_mp4")],
)
def test_an_external_source_that_is_not_a_video_is_refused_at_creation(
    tmp_path: Path, image_host: str, path: str, code: str
) -> None:
    with ThreadServer(settings_for(tmp_path, allow_private_urls=True)) as server, server.client() as client:
        reply = client.post("/v1/videos/extensions", json={"prompt": "x", "video": {"url": image_host + path}})
        assert_error(reply, 400, code, "video.url")
        assert client.get("/health").json()["jobs"]["pending"] == 0
        assert not stored_files(server.settings.video_storage_path)


def test_a_private_source_url_is_refused_by_default(client: httpx.Client, image_host: str) -> None:
    reply = client.post("/v1/videos/edits", json={"prompt": "x", "video": {"url": image_host + "/clip.mp4"}})
    assert_error(reply, 400, "invalid_video_url", "video.url")


def test_bodies_from_xais_documentation_are_accepted(client: httpx.Client) -> None:
    """Every duration, aspect ratio and deprecated size xAI documents: accepted, and answered with what is made."""
    for duration in range(1, 16):
        created = xai_create(client, duration=duration)
        assert created["options"]["duration"] in (6, 10)
    for aspect, made in [("1:1", "1:1"), ("16:9", "16:9"), ("9:16", "9:16"), ("4:3", "3:2"), ("3:4", "2:3"),
                         ("3:2", "3:2"), ("2:3", "2:3")]:  # fmt: skip
        created = xai_create(client, aspect_ratio=aspect, resolution="720p")
        status = client.get(f"/v1/videos/{created['request_id']}").json()
        assert (status["aspect_ratio"], status["resolution"]) == (made, "720p")
    for size, resolution in [("848x480", "480p"), ("1696x960", "720p"), ("1280x720", "720p"), ("1920x1080", "720p")]:
        status = client.get(f"/v1/videos/{xai_create(client, size=size)['request_id']}").json()
        assert (status["aspect_ratio"], status["resolution"]) == ("16:9", resolution)
    default = client.get(f"/v1/videos/{xai_create(client)['request_id']}").json()
    assert (default["duration"], default["aspect_ratio"], default["resolution"]) == (10, "16:9", "480p")
    eight = xai_create(client, duration=8, aspect_ratio="4:3")
    assert {(a["param"], a["requested"], a["made"]) for a in eight["adjustments"]} == {
        ("duration", 8, 10),
        ("aspect_ratio", "4:3", "3:2"),
    }
    extension = client.post(
        "/v1/videos/extensions",
        json={
            "prompt": "more",
            "model": "grok-imagine-video",
            "duration": 11,
            "video": {"url": "https://x.example/a.mp4"},
        },
    )
    assert_error(extension, 400, "unsupported_duration", "duration")  # extensions add 2..10 s


def test_a_video_link_is_this_servers_only_on_this_servers_host(tmp_path: Path, image_host: str) -> None:
    with ThreadServer(settings_for(tmp_path, allow_private_urls=True)) as server, server.client() as client:
        foreign = f"{image_host}/videos/job_0123456789abcdef01234567.mp4"
        reply = client.post("/v1/videos/edits", json={"prompt": "x", "video": {"url": foreign}})
        assert_error(reply, 400, "video_fetch_failed", "video.url")  # fetched from there, not looked up here


def test_a_refused_request_fetches_nothing_and_leaves_nothing(tmp_path: Path, image_host: str) -> None:
    settings = settings_for(tmp_path, allow_private_urls=True, option_matching="strict")
    with ThreadServer(settings) as server, server.client() as client:
        body = {"prompt": "x", "duration": 3, "video": {"url": image_host + "/clip.mp4"}}
        assert_error(client.post("/v1/videos/extensions", json=body), 400, "no_exact_match", "duration")
        assert not stored_files(server.settings.video_storage_path)


def test_an_external_source_over_the_upload_limit_is_refused_and_removed(tmp_path: Path, image_host: str) -> None:
    settings = settings_for(tmp_path, allow_private_urls=True, max_upload_bytes=1000)
    with ThreadServer(settings) as server, server.client() as client:
        body = {"prompt": "x", "video": {"url": image_host + "/clip.mp4"}}
        assert_error(client.post("/v1/videos/edits", json=body), 400, "video_too_large", "video.url")
        assert not stored_files(server.settings.video_storage_path)
