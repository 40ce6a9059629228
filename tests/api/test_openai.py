"""The OpenAI dialect over plain HTTP: the cases the SDK tests do not reach."""

from __future__ import annotations

import base64

import httpx
import pytest

from support import (
    DEMO_MP4,
    EVERYTHING,
    PNG_1PX,
    ThreadServer,
    assert_error,
    claim,
    create_job,
    stored_files,
    stored_names,
    upload,
    wait_until,
)


def finished(client: httpx.Client, server: ThreadServer, **form: str) -> str:
    reply = client.post("/v1/videos", data={"prompt": "source", **form})
    assert reply.status_code == 200, reply.text
    video_id = str(reply.json()["id"])
    assert claim(client)["job_id"] == video_id
    assert upload(client, video_id).status_code == 200
    return video_id


def test_video_object_through_its_states(client: httpx.Client, server: ThreadServer) -> None:
    reply = client.post("/v1/videos", data={"prompt": "A cat", "seconds": "10", "size": "720x1280", "model": "sora-2"})
    video = reply.json()
    assert reply.headers["openai-poll-after-ms"] == "2000"
    assert video["object"] == "video" and video["status"] == "queued" and video["progress"] == 0
    assert (video["seconds"], video["size"], video["model"]) == ("10", "720x1280", "sora-2")
    assert video["completed_at"] is None and video["expires_at"] is None and video["error"] is None
    work = claim(client)
    assert work["options"] == {"aspect_ratio": "9:16", "resolution": "720p", "duration": 10, "mode": None}
    client.post("/extension/progress", json={"job_id": video["id"], "progress": 42})
    running = client.get(f"/v1/videos/{video['id']}").json()
    assert (running["status"], running["progress"]) == ("in_progress", 42)
    upload(client, video["id"])
    done = client.get(f"/v1/videos/{video['id']}")
    assert "openai-poll-after-ms" not in done.headers
    body = done.json()
    assert body["status"] == "completed" and body["progress"] == 100
    assert body["expires_at"] == body["completed_at"] + int(server.settings.max_video_age_seconds)
    assert body["produced"] == {"seconds": 6.0, "width": 320, "height": 180}


def test_failed_video_has_an_error_object(client: httpx.Client) -> None:
    video = client.post("/v1/videos", json={"prompt": "x"}).json()
    claim(client)
    client.post("/extension/error", json={"job_id": video["id"], "error": "Rate limit reached", "code": "rate_limited"})
    body = client.get(f"/v1/videos/{video['id']}").json()
    assert body["status"] == "failed"
    assert body["error"] == {"code": "rate_limited", "message": "Rate limit reached"}


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"prompt": "x", "seconds": "abc"}, "seconds"),
        ({"prompt": "x", "seconds": "twelve"}, "seconds"),
        ({"prompt": "x", "seconds": "61"}, "seconds"),  # up to 60 as a long video (docs/long-videos.md)
        ({"prompt": "x", "seconds": "0"}, "seconds"),
        ({"prompt": "x", "size": "13x7"}, "size"),
        ({"prompt": "x", "size": "1080p"}, "size"),
        ({"prompt": "x", "size": "1280x720", "aspect_ratio": "9:16"}, "size"),
        ({"prompt": "x", "seconds": "6", "duration": "10"}, "seconds"),
        ({"prompt": "x", "input_reference[file_id]": "file_123"}, "input_reference"),
        ({"prompt": ""}, "prompt"),
        ({"seconds": "6"}, "prompt"),
        ({"prompt": "x", "mode": "chaos"}, "mode"),
    ],
)
def test_what_no_documented_range_holds_is_a_400(client: httpx.Client, form: dict, param: str) -> None:  # type: ignore[type-arg]
    assert_error(client.post("/v1/videos", data=form), 400, param=param)
    assert client.get("/health").json()["jobs"]["pending"] == 0


@pytest.mark.parametrize("reference", [{"file_id": {}}, {"file_id": ""}, {"image_url": ""}, {"url": "x"}, 5, [], ""])
def test_a_reference_that_names_no_image_is_a_400_not_a_video_without_it(
    client: httpx.Client, reference: object
) -> None:
    reply = client.post("/v1/videos", json={"prompt": "x", "input_reference": reference})
    assert_error(reply, 400, param="input_reference")
    assert client.get("/health").json()["jobs"]["pending"] == 0


def test_reference_image_as_file_nested_json_or_form_field(client: httpx.Client) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    client.post(
        "/v1/videos", data={"prompt": "a"}, files={"input_reference": ("upload", PNG_1PX, "application/octet-stream")}
    )
    client.post("/v1/videos", json={"prompt": "b", "input_reference": {"image_url": data_url}})
    client.post("/v1/videos", data={"prompt": "c", "input_reference[image_url]": data_url})
    for _ in range(3):
        work = claim(client)
        assert base64.b64decode(work["image"]) == PNG_1PX and work["image_mime"] == "image/png"
    not_image = client.post(
        "/v1/videos", data={"prompt": "d"}, files={"input_reference": ("x.png", b"GIF89a", "image/png")}
    )
    assert_error(not_image, 400, "unsupported_image_type", "input_reference")


FILE_PART = b'--B\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\nx\r\n'


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"prompt=x"),  # no boundary
        ("multipart/form-data; boundary=B", FILE_PART * 13 + b"--B--\r\n"),  # more files than a create takes
    ],
)
def test_malformed_multipart_is_invalid_multipart(client: httpx.Client, content_type: str, body: bytes) -> None:
    """Starlette turns these into HTTPExceptions without a code; they get the envelope's code too."""
    reply = client.post("/v1/videos", content=body, headers={"Content-Type": content_type})
    assert_error(reply, 400, "invalid_multipart")


def test_list_parameters(client: httpx.Client) -> None:
    ids = [client.post("/v1/videos", json={"prompt": str(i)}).json()["id"] for i in range(3)]
    page = client.get("/v1/videos", params={"limit": 2}).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert [v["id"] for v in page["data"]] == ids[::-1][:2]
    assert (page["first_id"], page["last_id"]) == (ids[2], ids[1])
    rest = client.get("/v1/videos", params={"limit": 2, "after": page["last_id"]}).json()
    assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["has_more"] is False
    assert_error(client.get("/v1/videos", params={"limit": 0}), 400, param="limit")
    assert_error(client.get("/v1/videos", params={"order": "sideways"}), 400, param="order")
    assert_error(client.get("/v1/videos", params={"after": "job_nope"}), 400, "invalid_cursor", "after")


def test_jobs_of_every_dialect_are_visible_where_it_makes_sense(client: httpx.Client) -> None:
    seed = create_job(client)
    openai_job = client.post("/v1/videos", json={"prompt": "o"}).json()
    assert client.get(f"/v1/videos/{seed['id']}").json()["object"] == "video"
    assert client.get(f"/v1/video/generations/{openai_job['id']}").json()["object"] == "videos.generation"
    listed = {v["id"] for v in client.get("/v1/videos").json()["data"]}
    assert {seed["id"], openai_job["id"]} <= listed
    xai = client.post("/v1/videos/generations", json={"prompt": "x", "duration": 6}).json()
    assert client.get(f"/v1/videos/{xai['id']}").json()["status"] == "pending"  # xAI's vocabulary
    sdk = client.get(f"/v1/videos/{xai['id']}", headers={"X-Stainless-Lang": "python"}).json()
    assert sdk["status"] == "queued"  # the OpenAI SDK always gets OpenAI's shape


def test_content_variants(client: httpx.Client, server: ThreadServer) -> None:
    video_id = finished(client, server)
    whole = client.get(f"/v1/videos/{video_id}/content")
    assert whole.content == DEMO_MP4 and whole.headers["content-type"] == "video/mp4"
    part = client.get(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == DEMO_MP4[:100]
    thumb = client.get(f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:3] == b"\xff\xd8\xff"
    sprites = client.get(f"/v1/videos/{video_id}/content", params={"variant": "spritesheet"})
    assert_error(sprites, 404, "variant_not_available", "variant")
    assert_error(client.get(f"/v1/videos/{video_id}/content", params={"variant": "gif"}), 400, param="variant")


def test_content_is_never_200_before_the_video_exists(client: httpx.Client) -> None:
    video = client.post("/v1/videos", json={"prompt": "x"}).json()
    for variant in ("video", "thumbnail"):
        reply = client.get(f"/v1/videos/{video['id']}/content", params={"variant": variant})
        assert_error(reply, 404, "video_not_ready")


def test_deleting_a_queued_video_means_no_worker_ever_gets_it(client: httpx.Client) -> None:
    video = client.post("/v1/videos", json={"prompt": "x"}).json()
    assert client.delete(f"/v1/videos/{video['id']}").json() == {
        "id": video["id"],
        "object": "video.deleted",
        "deleted": True,
    }
    assert client.get("/extension/poll").status_code == 204
    assert_error(client.get(f"/v1/videos/{video['id']}"), 404, "job_not_found")
    assert_error(client.get(f"/v1/video/generations/{video['id']}"), 404, "job_not_found")
    assert_error(client.delete(f"/v1/videos/{video['id']}"), 404, "job_not_found")
    assert video["id"] not in {v["id"] for v in client.get("/v1/videos").json()["data"]}


def test_deleting_a_running_video_tells_its_worker(client: httpx.Client, server: ThreadServer) -> None:
    video = client.post("/v1/videos", json={"prompt": "x"}).json()
    work = claim(client)
    client.delete(f"/v1/videos/{video['id']}")
    progress = client.post("/extension/progress", json={"job_id": work["job_id"], "claim_token": work["claim_token"]})
    assert progress.status_code == 200
    assert progress.json()["cancelled"] is True
    assert_error(upload(client, work["job_id"], token=work["claim_token"]), 409, "job_cancelled")
    assert stored_names(server.settings.video_storage_path) == []


def test_deleting_a_finished_video_removes_its_files(client: httpx.Client, server: ThreadServer) -> None:
    video_id = finished(client, server)
    client.get(f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"})
    assert stored_names(server.settings.video_storage_path) == [f"{video_id}.jpg", f"{video_id}.mp4"]
    client.delete(f"/v1/videos/{video_id}")
    assert stored_names(server.settings.video_storage_path) == []
    assert_error(client.get(f"/videos/{video_id}.mp4"), 404, "job_not_found")


def test_remix_carries_its_source_to_the_worker(client: httpx.Client, server: ThreadServer) -> None:
    source = finished(client, server, size="1280x720")
    remix = client.post(f"/v1/videos/{source}/remix", json={"prompt": "again, at night"}).json()
    assert remix["remixed_from_video_id"] == source and remix["size"] == "1280x720"
    work = claim(client, **EVERYTHING)
    assert (work["kind"], work["source_job_id"]) == ("remix", source)
    assert httpx.get(work["source_video_url"]).content == DEMO_MP4
    pending = client.post("/v1/videos", json={"prompt": "not yet"}).json()
    assert_error(client.post(f"/v1/videos/{pending['id']}/remix", json={"prompt": "x"}), 400, "source_not_ready")
    assert_error(client.post("/v1/videos/job_nope/remix", json={"prompt": "x"}), 404, "job_not_found")


def test_extension_with_an_uploaded_video_and_edit_by_id(client: httpx.Client, server: ThreadServer) -> None:
    reply = client.post(
        "/v1/videos/extensions",
        data={"prompt": "continue", "seconds": "6"},
        files={"video": ("clip.mp4", DEMO_MP4, "video/mp4")},
    )
    assert reply.status_code == 200, reply.text
    work = claim(client, **EVERYTHING)
    assert work["kind"] == "extend"
    assert httpx.get(work["source_video_url"]).content == DEMO_MP4
    upload(client, work["job_id"])
    wait_until(lambda: not [name for name in stored_names(server.settings.video_storage_path) if "sources" in name])

    edit = client.post("/v1/videos/edits", data={"prompt": "blue", "video[id]": work["job_id"]})
    assert edit.status_code == 200, edit.text
    assert claim(client, **EVERYTHING)["source_job_id"] == work["job_id"]


@pytest.mark.parametrize(
    ("data", "files", "code"),
    [
        ({"prompt": "x"}, None, "missing_parameter"),
        (
            {"prompt": "x", "video[id]": "job_0123456789abcdef01234567"},
            {"video": ("v.mp4", DEMO_MP4, "video/mp4")},
            None,
        ),
        ({"prompt": "x"}, {"video": ("v.mp4", b"not a video at all", "video/mp4")}, "not_mp4"),
        # An MP4's first box and then noise: no worker could start from it.
        ({"prompt": "x"}, {"video": ("v.mp4", DEMO_MP4[:32] + bytes(range(256)) * 200, "video/mp4")}, "invalid_video"),
    ],
)
def test_bad_extensions(client: httpx.Client, server: ThreadServer, data: dict, files: dict | None, code: str) -> None:  # type: ignore[type-arg]
    reply = client.post("/v1/videos/extensions", data=data, files=files)
    assert reply.status_code in (400, 415)
    if code:
        assert reply.json()["error"]["code"] == code
    assert not stored_files(server.settings.video_storage_path)
