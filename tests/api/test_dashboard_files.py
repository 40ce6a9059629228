from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support import ThreadServer, assert_error, settings_for


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/", "/dashboard/jobs/job_0123", "/dashboard/workers"])
def test_every_dashboard_page_is_the_same_document_with_a_strict_policy(client: httpx.Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/dashboard/static/app.js">' in reply.text
    policy = reply.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert reply.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_static_files_are_served_with_their_type_and_revalidated(client: httpx.Client, name: str, media: str) -> None:
    reply = client.get(f"/dashboard/static/{name}")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == media
    assert reply.headers["cache-control"] == "no-cache"
    again = client.get(f"/dashboard/static/{name}", headers={"If-None-Match": reply.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("name", ["missing.js", "..%2F..%2Fapp.py", ".hidden", "%2E%2E"])
def test_only_the_dashboards_own_files_are_served(client: httpx.Client, name: str) -> None:
    assert_error(client.get(f"/dashboard/static/{name}"), 404, "not_found")


def test_the_dashboard_uses_no_remote_code(client: httpx.Client) -> None:
    for name in ("index.html", "app.js", "style.css"):
        path = "/dashboard" if name == "index.html" else f"/dashboard/static/{name}"
        text = client.get(path).text
        # The SVG namespace is a name, never fetched.
        assert "http://" not in text.replace("http://localhost", "").replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text


def test_videos_may_come_from_the_public_base_url(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, public_base_url="https://videos.example.org/base/")
    with ThreadServer(settings) as server, server.client() as http:
        policy = http.get("/dashboard").headers["content-security-policy"]
    assert "media-src 'self' blob: https://videos.example.org;" in policy
    assert "img-src 'self' blob: https://videos.example.org data:;" in policy


@pytest.mark.one_backend
def test_redirected_links_may_load_from_the_object_store(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        video_storage_url="s3://bucket/prefix",
        s3_endpoint_url="http://127.0.0.1:9000",
        s3_delivery="redirect",
    )
    from grok_imagine_api.api.dashboard import security_headers

    class Request:
        app = type("App", (), {"state": type("State", (), {"service": type("Svc", (), {"settings": settings})})})

    policy = security_headers(Request())  # type: ignore[arg-type]
    assert "media-src 'self' blob: http://127.0.0.1:9000;" in policy["Content-Security-Policy"]
    assert "img-src 'self' blob: http://127.0.0.1:9000 data:;" in policy["Content-Security-Policy"]
