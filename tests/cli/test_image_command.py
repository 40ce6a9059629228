"""`grok-imagine-api image` as users run it: a real process against a live server and the demo worker, which
makes real images (the prompt and "i/n" drawn on each)."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from PIL import Image

from support import (
    ProcessServer,
    bearer,
    cli_environment,
    demo_worker,
    free_port,
    process_server,
    run_cli,
    wait_until,
)

KEY = "sk-cli-images"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server with the demo worker, started without flags: it makes images too."""
    with process_server(tmp_path_factory.mktemp("images")) as server, demo_worker(server.url):
        yield server


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server no worker polls."""
    with process_server(tmp_path_factory.mktemp("idle-images")) as server:
        yield server


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


def job_of(server: ProcessServer, prompt: str, **headers: str) -> dict[str, Any]:
    found = httpx.get(f"{server.url}/jobs", params={"q": prompt}, headers=headers, timeout=10).json()["data"]
    assert len(found) == 1, found
    job: dict[str, Any] = httpx.get(f"{server.url}/jobs/{found[0]['id']}", headers=headers, timeout=10).json()
    return job


def saved_images(stdout: str, cwd: Path) -> list[Image.Image]:
    pictures: list[Image.Image] = []
    for line in stdout.splitlines():
        with Image.open(cwd / line) as picture:
            picture.load()
            pictures.append(picture)
    return pictures


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def test_image_saves_n_real_images_of_the_asked_ratio_into_a_new_directory(live: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a lighthouse at dawn")
    result = cli("image", prompt, "-n", "4", "--aspect", "16:9", "-o", "out/new/", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = job_of(live, prompt)
    assert (job["media"], job["n"], job["status"], job["model"]) == ("image", 4, "completed", "grok-imagine-image")
    assert result.stdout.splitlines() == [f"out/new/{job['id']}-{index}.png" for index in range(4)]
    files = [tmp_path / line for line in result.stdout.splitlines()]
    assert sorted(p.name for p in (tmp_path / "out" / "new").iterdir()) == sorted(p.name for p in files)  # no .part
    for path, made in zip(files, job["images"], strict=True):
        with Image.open(path) as picture:
            picture.load()
            assert (picture.format, picture.size) == ("PNG", (1024, 576))
        assert path.read_bytes() == httpx.get(made["url"]).content
    assert len({path.read_bytes() for path in files}) == 4  # "1/4" ... "4/4": each its own
    lines = result.stderr.splitlines()
    assert lines[0] == f"submitted job {job['id']} to {live.url}"
    assert [line.split("] ", 1)[1] for line in lines if "] downloading" in line] == [
        f"downloading image {number} of 4" for number in range(1, 5)
    ]
    assert lines[-1].endswith("] saved")


def test_image_defaults_to_one_square_image_in_the_current_directory(live: ProcessServer, tmp_path: Path) -> None:
    result = cli("image", unique("a plain square"), "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [saved] = result.stdout.splitlines()
    assert re.fullmatch(r"job_[0-9a-f]+-0\.png", saved)
    [picture] = saved_images(result.stdout, tmp_path)
    assert picture.size == (1024, 1024)


def test_a_size_becomes_the_nearest_ratio_and_a_note_says_so(live: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a tall tower")
    result = cli("image", prompt, "-n", "2", "--size", "1024x1792", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pictures = saved_images(result.stdout, tmp_path)
    assert [picture.size for picture in pictures] == [(576, 1024)] * 2  # 4:7 is made as 9:16
    job = job_of(live, prompt)
    assert job["options"]["aspect_ratio"] == "9:16"
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [f"note: {adjustment['message']}" for adjustment in job["adjustments"]] and notes


def test_edit_sends_the_image_and_saves_the_edits(live: ProcessServer, tmp_path: Path) -> None:
    (tmp_path / "red.png").write_bytes(png((300, 200), (200, 30, 30)))
    prompt = unique("make it snow")
    args = ("image", prompt, "--edit", "red.png", "-n", "2", "--aspect", "3:2", "-o", "edits")
    result = cli(*args, "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = job_of(live, prompt)
    assert (job["media"], job["kind"], job["has_image"], len(job["images"])) == ("image", "edit", True, 2)
    pictures = saved_images(result.stdout, tmp_path)
    assert [(picture.format, picture.size) for picture in pictures] == [("JPEG", (1024, 683))] * 2
    red, green, _ = pictures[0].convert("RGB").getpixel((1020, 679))  # type: ignore[misc]
    assert red > 150 and green < 80  # the demo worker drew on the source
    assert all(line.endswith(".jpg") for line in result.stdout.splitlines())


def test_no_download_prints_the_image_links(live: ProcessServer, tmp_path: Path) -> None:
    result = cli("image", unique("links only"), "-n", "2", "--no-download", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    links = result.stdout.splitlines()
    assert len(links) == 2
    for link in links:
        reply = httpx.get(link)
        assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
        Image.open(io.BytesIO(reply.content)).load()
    assert list(tmp_path.iterdir()) == []


def test_status_and_jobs_show_an_image_job(live: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a status check")
    made = cli("image", prompt, "-n", "3", "--no-download", "--server", live.url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    job = job_of(live, prompt)

    result = cli("status", job["id"], "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fields = {name: value.strip() for name, value in (line.split(":", 1) for line in result.stdout.splitlines())}
    assert fields == fields | {"media": "image", "images": "3 of 3", "source": "no", "status": "completed"}
    for image in job["images"]:
        assert fields[f"image {image['index']}"].startswith(image["url"] + " (")
        assert f"{image['width']}x{image['height']}" in fields[f"image {image['index']}"]
    assert "video" not in fields

    result = cli("jobs", "-q", prompt, "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split("\t") for line in result.stdout.splitlines()] == [
        [job["id"], "completed", "100%", ANY, prompt, "image 3/3"]
    ]
    result = cli("jobs", "--media", "image", "--limit", "100", "--server", live.url, cwd=tmp_path)
    listed = [line.split("\t") for line in result.stdout.splitlines()]
    assert job["id"] in [row[0] for row in listed]
    assert all(row[5].startswith("image ") for row in listed)
    result = cli("jobs", "--media", "video", "--limit", "100", "--server", live.url, cwd=tmp_path)
    assert job["id"] not in result.stdout


def test_download_saves_the_images_of_an_image_job_made_earlier(live: ProcessServer, tmp_path: Path) -> None:
    reply = httpx.post(
        f"{live.url}/v1/images/generations", json={"prompt": unique("made elsewhere"), "n": 2}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    job_id = reply.json()["id"]
    result = cli("download", job_id, "-o", "later", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"later/{job_id}-0.png", f"later/{job_id}-1.png"]
    assert [picture.size for picture in saved_images(result.stdout, tmp_path)] == [(1024, 1024)] * 2


def test_server_errors_print_its_message_and_exit_1(live: ProcessServer, tmp_path: Path) -> None:
    result = cli("image", "a cat", "--size", "huge", "--server", live.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: unsupported_size: "), result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "broken.png").write_bytes(png((20, 20), (0, 0, 0))[:-30])  # cut off: the server refuses it
    result = cli("image", "a cat", "--edit", "broken.png", "--server", live.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: invalid_image: "), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png"]


def test_local_mistakes_exit_2_before_calling_the_server(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "notes.txt").write_text("not an image")
    cases = [
        (["a cat", "--edit", "missing.png"], "image file not found: missing.png"),
        (["a cat", "--edit", "notes.txt"], "notes.txt is not a PNG, JPEG or WebP image"),
        (["a cat", "-o", "notes.txt"], "not a directory: notes.txt"),
        (["a cat", "-n", "11"], "invalid choice: 11"),
        (["a cat", "-n", "0"], "invalid choice: 0"),
        (["a cat", "--aspect", "5:4"], "invalid choice: '5:4'"),
        (["  "], "grok-imagine-api image: error: the prompt must not be empty"),
    ]
    for args, message in cases:
        result = cli("image", *args, "--server", nowhere, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    result = cli("image", "a cat", "--server", nowhere, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith(f"error: cannot reach the server at {nowhere}")


def test_image_gives_up_after_its_timeout_and_the_job_stays(idle: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("an untaken image")
    result = cli("image", prompt, "-n", "2", "--timeout", "1", "--server", idle.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    job = job_of(idle, prompt)
    assert (job["status"], job["media"]) == ("pending", "image")
    assert f"error: gave up waiting after 1 s; job {job['id']} is still queued on the server" in result.stderr
    assert f"wait again with: grok-imagine-api download {job['id']}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_with_api_keys_the_key_is_sent_and_the_images_saved(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with process_server(tmp_path / "server", env={"API_KEYS": KEY}) as server, demo_worker(server.url):
        prompt = unique("a private lighthouse")
        args = ("image", prompt, "-n", "2", "-o", "mine", "--api-key", KEY, "--server", server.url)
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert len(saved_images(result.stdout, tmp_path)) == 2
        assert job_of(server, prompt, **bearer(KEY))["status"] == "completed"
        refused = cli("image", prompt, "--server", server.url, cwd=tmp_path)
        assert refused.returncode == 1 and "hint: pass --api-key KEY" in refused.stderr


def test_fewer_images_than_asked_are_saved_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with process_server(tmp_path / "server") as server:
        prompt = unique("three asked")
        client = subprocess.Popen(
            [sys.executable, "-m", "grok_imagine_api.cli", "image", prompt, "-n", "3", "--server", server.url],
            cwd=tmp_path,
            env=cli_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            job_id = wait_until(lambda: httpx.get(f"{server.url}/jobs", params={"q": prompt}).json()["data"])[0]["id"]
            poll = {"client_id": "by-hand", "mode": "image", "abilities": {"kinds": ["text_to_image"]}}
            claim = httpx.post(f"{server.url}/extension/poll", json=poll, timeout=30).json()
            assert (claim["job_id"], claim["media"], claim["n"]) == (job_id, "image", 3)
            one = png((30, 20), (10, 200, 10))
            reply = httpx.post(
                f"{server.url}/extension/complete",
                data={"job_id": job_id, "claim_token": claim["claim_token"]},
                files=[("image", ("0.png", one, "image/png"))],
            )
            assert reply.status_code == 200, reply.text
            out, err = client.communicate(timeout=60)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    assert client.returncode == 0, err
    assert out == f"{job_id}-0.png\n"
    assert (tmp_path / f"{job_id}-0.png").read_bytes() == one
    assert "note: the worker made 1 of the 3 images asked" in err.splitlines()


def test_ctrl_c_asks_whether_to_cancel_the_image_job(idle: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a cancelled image")
    client = subprocess.Popen(
        [sys.executable, "-m", "grok_imagine_api.cli", "image", prompt, "-n", "2", "--server", idle.url],
        cwd=tmp_path,
        env=cli_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stderr is not None
        first = client.stderr.readline()  # "submitted job ..."
        assert first.startswith("submitted job "), first
        waiting = client.stderr.readline()  # the progress line: in its waiting loop
        assert "] queued" in waiting, waiting
        client.send_signal(signal.SIGINT)
        out, err = client.communicate("y\n", timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert (client.returncode, out) == (130, ""), err
    job = job_of(idle, prompt)
    assert f"Cancel job {job['id']} on the server? [y/N]" in err
    assert (job["status"], job["error_code"], job["media"]) == ("failed", "cancelled", "image")
    assert list(tmp_path.iterdir()) == []
