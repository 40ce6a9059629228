"""The command-line client as users run it: a real process against a live server and a demo worker."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from grok_imagine_api.cli import build_parser
from support import (
    DEMO_MP4,
    PNG_1PX,
    ProcessServer,
    bearer,
    demo_worker,
    free_port,
    process_server,
    upload,
    wait_until,
)

KEY = "sk-cli-tests"
# Slower than the tests' usual demo worker, so that a job is seen while processing.
WORKER_DELAY = "0.5"


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without the developer's own client settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GROK_IMAGINE_")}
    return {**env, "COLUMNS": "100", **(extra or {})}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "grok_imagine_api.cli", *args]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


STARTED: list[Running] = []


@pytest.fixture(autouse=True)
def no_client_left_running() -> Iterator[None]:
    """A test that fails half-way must not leave a client polling forever."""
    yield
    while STARTED:
        proc = STARTED.pop().proc
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


class Running:
    """A client process whose stderr is read as it comes, so a test can wait for a line."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        STARTED.append(self)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def answer(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.close()

    def finish(self) -> tuple[int, str]:
        """Exit code and stdout, once the process has ended."""
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        return code, out


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server with a demo worker that takes about 1.5 s a job."""
    with process_server(tmp_path_factory.mktemp("live")) as server:
        worker = subprocess.Popen(
            command("worker", "--demo", "--server", server.url, "--delay", WORKER_DELAY),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield server
        finally:
            worker.terminate()
            worker.wait(timeout=10)


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    with process_server(tmp_path_factory.mktemp("idle")) as server:
        yield server


@pytest.fixture
def idle(idle_server: ProcessServer) -> Iterator[ProcessServer]:
    """A server without workers, left with no unfinished job by each test (the next may claim one itself)."""
    yield idle_server
    with httpx.Client(base_url=idle_server.url) as http:
        for status in ("pending", "processing"):
            for job in http.get("/jobs", params={"status": status}).json()["data"]:
                http.post(f"/jobs/{job['id']}/cancel")


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server that wants an API key from clients, with a demo worker."""
    with process_server(tmp_path_factory.mktemp("locked"), env={"API_KEYS": KEY}) as server, demo_worker(server.url):
        yield server


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


def get(server: ProcessServer, path: str, **params: Any) -> Any:
    reply = httpx.get(server.url + path, params=params, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def job_with_prompt(server: ProcessServer, prompt: str) -> dict[str, Any] | None:
    found: list[dict[str, Any]] = get(server, "/jobs", q=prompt)["data"]
    return found[0] if found else None


def create(server: ProcessServer, prompt: str, **options: Any) -> str:
    reply = httpx.post(f"{server.url}/v1/videos/generations", json={"prompt": prompt, **options}, timeout=10)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def completed(server: ProcessServer, prompt: str) -> str:
    job_id = create(server, prompt)
    wait_until(lambda: get(server, f"/jobs/{job_id}")["status"] == "completed", timeout=30)
    return job_id


def test_generate_with_an_image_saves_the_servers_video(live: ProcessServer, tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(PNG_1PX)
    prompt = unique("a cat playing piano")
    args = ["--image", "cat.png", "--aspect", "16:9", "--duration", "6", "--mode", "fun", "-o", "cat.mp4"]
    result = cli("generate", prompt, *args, "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cat.mp4\n"
    job = job_with_prompt(live, prompt)
    assert job is not None and job["status"] == "completed"
    assert job["has_image"] and job["options"] == {
        "aspect_ratio": "16:9",
        "resolution": None,  # not asked: left to the worker's page
        "duration": 6,
        "mode": "fun",
    }
    saved = (tmp_path / "cat.mp4").read_bytes()
    assert saved == httpx.get(job["video_url"]).content  # the demo worker's clip of the promised shape
    assert saved[4:8] == b"ftyp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.mp4", "cat.png"]  # no partial file left
    # Not a terminal: one plain line per change.
    lines = result.stderr.splitlines()
    assert lines[0] == f"submitted job {job['id']} to {live.url}"
    assert any(line.endswith(("] processing 0%", "] processing 25%")) or "] queued: " in line for line in lines)
    assert any(" processing " in line for line in lines)
    assert lines[-2].endswith(f"] downloading {len(saved) / 1_000_000:.1f} MB") and lines[-1].endswith("] saved")
    assert all(line.startswith("[") for line in lines[1:])


def test_generate_saves_to_the_job_id_by_default_or_into_a_directory(live: ProcessServer, tmp_path: Path) -> None:
    result = cli("generate", unique("a dog"), "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = result.stdout.strip()
    assert re.fullmatch(r"job_[0-9a-f]+\.mp4", saved)
    assert (tmp_path / saved).read_bytes() == DEMO_MP4

    (tmp_path / "out").mkdir()
    result = cli("generate", unique("a fox"), "-o", "out", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"out/job_[0-9a-f]+\.mp4", result.stdout.strip())
    assert (tmp_path / result.stdout.strip()).read_bytes() == DEMO_MP4


def test_generate_without_download_prints_the_link(live: ProcessServer, tmp_path: Path) -> None:
    result = cli("generate", unique("an owl"), "--no-download", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert httpx.get(result.stdout.strip()).content == DEMO_MP4
    assert list(tmp_path.iterdir()) == []


def test_download_waits_for_a_job_made_earlier_and_saves_it(live: ProcessServer, tmp_path: Path) -> None:
    job_id = create(live, unique("made elsewhere"))
    result = cli("download", job_id, "-o", "later.mp4", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "later.mp4\n"
    assert (tmp_path / "later.mp4").read_bytes() == DEMO_MP4
    assert result.stderr.splitlines()[-1].endswith("] saved")
    unknown = cli("download", "job_unknown", "--server", live.url, cwd=tmp_path)
    assert unknown.returncode == 1
    expected = "error: job_not_found: job job_unknown is not on the server (deleted, or never made there)"
    assert unknown.stderr.splitlines()[-1] == expected


def test_a_failed_job_exits_1_with_the_servers_message(idle: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a forbidden cat")
    client = Running("generate", prompt, "--server", idle.url, cwd=tmp_path)
    job = wait_until(lambda: job_with_prompt(idle, prompt))
    with httpx.Client(base_url=idle.url) as worker:
        claimed = worker.get("/extension/poll", params={"client_id": "test-worker"}).json()
        assert claimed["job_id"] == job["id"]
        failure = {"job_id": job["id"], "claim_token": claimed["claim_token"], "code": "moderated"}
        reply = worker.post("/extension/error", json={**failure, "error": "Content Moderated"})
        assert reply.status_code == 200, reply.text
    code, out = client.finish()
    assert code == 1, client.stderr
    assert out == ""
    assert client.stderr.splitlines()[-1] == "error: moderated: Content Moderated"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("answer", "status", "error_code"),
    [("y\n", "failed", "cancelled"), ("n\n", "pending", None), ("", "pending", None)],
    ids=["yes", "no", "end-of-input"],
)
def test_ctrl_c_asks_whether_to_cancel_the_job(
    idle: ProcessServer, tmp_path: Path, answer: str, status: str, error_code: str | None
) -> None:
    prompt = unique("a patient cat")
    client = Running("generate", prompt, "--server", idle.url, cwd=tmp_path)
    job = wait_until(lambda: job_with_prompt(idle, prompt))
    wait_until(lambda: "] queued" in client.stderr, timeout=20)  # in its waiting loop
    client.proc.send_signal(signal.SIGINT)
    client.answer(answer)
    code, out = client.finish()
    assert (code, out) == (130, ""), client.stderr
    assert f"Cancel job {job['id']} on the server? [y/N]" in client.stderr
    assert f"grok-imagine-api status {job['id']}" in client.stderr
    assert "Traceback" not in client.stderr
    now = get(idle, f"/jobs/{job['id']}")
    assert (now["status"], now["error_code"]) == (status, error_code)
    assert list(tmp_path.iterdir()) == []


def test_generate_gives_up_after_its_timeout_and_the_job_stays(idle: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a slow cat")
    result = cli("generate", prompt, "--timeout", "0.5", "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 1
    job = job_with_prompt(idle, prompt)
    assert job is not None and job["status"] == "pending"
    assert result.stderr.splitlines()[-2:] == [
        f"error: gave up waiting after 0.5 s; job {job['id']} is still queued on the server: "
        "no worker has taken it yet",
        f"wait again with: grok-imagine-api download {job['id']} (--timeout 0 waits as long as it takes), "
        f"or stop it: grok-imagine-api cancel {job['id']}",
    ]


def test_download_of_a_job_nobody_takes_says_why_and_stops_by_default(idle: ProcessServer, tmp_path: Path) -> None:
    job_id = create(idle, unique("an untaken cat"))
    result = cli("download", job_id, "--timeout", "1", "--server", idle.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    first, *_ = result.stderr.splitlines()
    assert re.fullmatch(r"\[0:\d\d\] queued: no worker has taken it yet \(for \d+s\)", first), result.stderr
    assert f"error: gave up waiting after 1 s; job {job_id} is still queued on the server" in result.stderr
    assert f"wait again with: grok-imagine-api download {job_id}" in result.stderr
    assert get(idle, f"/jobs/{job_id}")["status"] == "pending"


def test_waiting_stops_after_15_minutes_unless_told_otherwise(tmp_path: Path) -> None:
    parser = build_parser()
    for args in (["download", "job_1"], ["generate", "a cat"]):
        assert parser.parse_args(args).timeout == 900
    assert parser.parse_args(["download", "job_1", "--timeout", "0"]).timeout == 0  # as long as it takes
    refused = cli("download", "job_1", "--timeout", "-1", cwd=tmp_path)
    assert refused.returncode == 2 and "--timeout: must be a number of seconds, 0 or more: -1" in refused.stderr


def test_local_mistakes_exit_2_before_calling_the_server(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "notes.txt").write_text("not an image")
    cases = [
        (["--image", "missing.png"], "image file not found: missing.png"),
        (["--image", "notes.txt"], "notes.txt is not a PNG, JPEG or WebP image"),
        (["-o", "no/such/dir/out.mp4"], "no such directory for the output file: no/such/dir"),
        (["-o", "newdir/"], "no such directory: newdir/"),
        (["--aspect", "5:4"], "invalid choice: '5:4'"),
        (["--duration", "61"], "must be a whole number of seconds from 1 to 60"),
        (["--duration", "0"], "must be a whole number of seconds from 1 to 60"),
    ]
    for args, message in cases:
        result = cli("generate", "a cat", *args, "--server", nowhere, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
    result = cli("generate", "  ", "--server", nowhere, cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "grok-imagine-api generate: error: the prompt must not be empty",
    )


def test_an_unreachable_server_exits_1_without_a_traceback(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    for args in (["generate", "a cat"], ["jobs"], ["status", "job_1"], ["cancel", "job_1"]):
        result = cli(*args, "--server", nowhere, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"error: cannot reach the server at {nowhere}")
        assert "Traceback" not in result.stderr


def on_a_terminal(*args: str, cwd: Path) -> str:
    """The client's stdout when that is a terminal (a pseudo-terminal), its line ends made plain again."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=environment(),
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(follower)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while select.select([leader], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the client has exited, the terminal is closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.decode().replace("\r\n", "\n")


def test_jobs_lists_and_filters_by_status_and_text(idle: ProcessServer, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex[:8]
    prompt = f"waiting {marker} " + "very long prompt " * 20 + "\tand a tab"
    waiting = create(idle, prompt)
    stopped = create(idle, f"stopped {marker}")
    assert httpx.post(f"{idle.url}/jobs/{stopped}/cancel").status_code == 200

    # On a terminal: a table as wide as the terminal, prompts cut to fit.
    table = on_a_terminal("jobs", "-q", marker, "--server", idle.url, cwd=tmp_path)
    header, *rows = table.splitlines()
    assert header.split() == ["ID", "STATUS", "PROGRESS", "AGE", "MEDIA", "PROMPT"]
    assert [row.split()[0] for row in rows] == [stopped, waiting]  # newest first
    assert rows[0].split()[1:4] == ["failed", "(cancelled)", "0%"]
    assert rows[1].split()[1:3] == ["pending", "0%"]
    assert all(len(line) <= 100 for line in table.splitlines())  # COLUMNS=100
    assert rows[1].endswith("…")

    # Piped, for a script: no header, nothing cut, one job a line with its values tab-separated.
    result = cli("jobs", "-q", marker, "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(get(idle, f"/jobs/{waiting}")["created"]))
    assert [line.split("\t") for line in result.stdout.splitlines()] == [
        [stopped, "failed (cancelled)", "0%", ANY, f"stopped {marker}", "video"],
        [waiting, "pending", "0%", created, " ".join(prompt.split()), "video"],
    ]

    result = cli("jobs", "-q", marker, "--status", "pending", "--server", idle.url, cwd=tmp_path)
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [waiting]
    for state in ("cancelled", "failed"):  # cancelled is a state of its own, as on the dashboard
        result = cli("jobs", "-q", marker, "--status", state, "--server", idle.url, cwd=tmp_path)
        assert [line.split("\t")[0] for line in result.stdout.splitlines()] == (
            [stopped] if state == "cancelled" else []
        )

    result = cli("jobs", "-q", marker, "--limit", "1", "--json", "--server", idle.url, cwd=tmp_path)
    page = json.loads(result.stdout)
    assert [job["id"] for job in page["data"]] == [stopped] and page["has_more"]

    result = cli("jobs", "-q", "nothing like this", "--server", idle.url, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "no jobs\n")


def test_status_shows_a_jobs_fields(live: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("a finished cat")
    job_id = completed(live, prompt)
    result = cli("status", job_id, "--server", live.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fields = {name: value.strip() for name, value in (line.split(":", 1) for line in result.stdout.splitlines())}
    assert fields == fields | {
        "id": job_id,
        "status": "completed",
        "progress": "100%",
        "prompt": prompt,
        "model": "grok",
        "options": "(the page's defaults)",
        "image": "no",
        "error": "-",
        "worker": "demo-worker",
        "attempts": "1",
        "video": f"{live.url}/videos/{job_id}.mp4",
        "produced": "320x180, 6 s",
    }
    assert all(fields[name].endswith(" ago)") for name in ("created", "claimed", "completed", "updated"))

    result = cli("status", job_id, "--json", "--server", live.url, cwd=tmp_path)
    assert json.loads(result.stdout) == get(live, f"/jobs/{job_id}")

    result = cli("status", "job_unknown", "--server", live.url, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "error: job_not_found: No job with id 'job_unknown'\n")


def fields_of(output: str) -> dict[str, str]:
    return {name: value.strip() for name, value in (line.split(":", 1) for line in output.splitlines())}


def test_generate_accepts_every_length_and_ratio_and_says_what_it_changed(live: ProcessServer, tmp_path: Path) -> None:
    prompt = unique("an eight second cat")
    args = ("--duration", "8", "--aspect", "4:3", "--no-download", "--server", live.url)
    result = cli("generate", prompt, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = job_with_prompt(live, prompt)
    assert job is not None
    detail = get(live, f"/jobs/{job['id']}")
    assert {a["param"]: (a["requested"], a["made"]) for a in detail["adjustments"]} == {
        "duration": (8, 10),
        "aspect_ratio": ("4:3", "3:2"),
    }
    lines = result.stderr.splitlines()
    assert lines[0] == f"submitted job {job['id']} to {live.url}"
    assert lines[1:3] == [f"note: {a['message']}" for a in detail["adjustments"]]


def extend_job(server: ProcessServer, prompt: str) -> str:
    """An extend job: only a worker that declared it can extend videos may take it."""
    files = {"video": ("source.mp4", DEMO_MP4, "video/mp4")}
    reply = httpx.post(f"{server.url}/v1/videos/extensions", data={"prompt": prompt}, files=files, timeout=30)
    assert reply.is_success, reply.text
    return str(reply.json()["id"])


def test_status_and_the_progress_line_say_why_a_job_waits(idle: ProcessServer, tmp_path: Path) -> None:
    # A worker of the founding document's protocol (it never declares abilities) makes plain generations only.
    assert httpx.get(f"{idle.url}/extension/poll", params={"client_id": "old"}).status_code == 204  # nothing to claim
    waiting = extend_job(idle, unique("a longer cat"))
    reason = get(idle, f"/jobs/{waiting}")["waiting_reason"]
    assert reason.startswith("waiting for a worker that can extend videos"), reason

    result = cli("status", waiting, "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fields_of(result.stdout) == fields_of(result.stdout) | {"status": "pending", "waiting": reason}

    result = cli("download", waiting, "--timeout", "1", "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 1
    assert re.search(rf"\] queued: {re.escape(reason)} \(for \d+s\)\n", result.stderr), result.stderr
    assert f"is still queued on the server: {reason}\n" in result.stderr


def test_status_shows_what_was_asked_and_what_will_be_made(idle: ProcessServer, tmp_path: Path) -> None:
    job_id = create(idle, unique("an eight second cat"), duration=8, aspect_ratio="16:9")
    job = get(idle, f"/jobs/{job_id}")
    [adjustment] = job["adjustments"]
    assert (adjustment["param"], adjustment["requested"], adjustment["made"]) == ("duration", 8, 10)

    result = cli("status", job_id, "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fields = fields_of(result.stdout)
    assert "duration=8" in fields["asked"].split() and "aspect_ratio=16:9" in fields["asked"].split()
    assert "duration=10" in fields["options"].split()
    assert fields["adjusted"] == adjustment["message"]
    assert "waiting" not in fields and "mismatch" not in fields and "grok post" not in fields


def test_status_shows_a_video_that_is_not_what_was_promised(idle: ProcessServer, tmp_path: Path) -> None:
    job_id = create(idle, unique("a ten second cat"), duration=10, aspect_ratio="16:9")
    with httpx.Client(base_url=idle.url, timeout=30) as worker:
        lease = worker.get("/extension/poll", params={"client_id": "by-hand"}).json()
        assert lease["job_id"] == job_id
        done = upload(worker, job_id, DEMO_MP4, lease["claim_token"], grok_post_id="post-1234")  # a 6 s clip
        assert done.status_code == 200, done.text
    job = get(idle, f"/jobs/{job_id}")
    assert job["status"] == "completed" and job["grok_post_id"] == "post-1234"
    assert job["output_mismatch"], job

    result = cli("status", job_id, "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    mismatches = [line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if line.startswith("mismatch:")]
    assert mismatches == [m["message"] for m in job["output_mismatch"]]
    assert fields_of(result.stdout)["grok post"] == "post-1234"


def test_cancel_a_pending_job_but_not_a_finished_one(idle: ProcessServer, live: ProcessServer, tmp_path: Path) -> None:
    job_id = create(idle, unique("a cancelled cat"))
    result = cli("cancel", job_id, "--server", idle.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"cancelled job {job_id} (failed, cancelled)\n")
    assert get(idle, f"/jobs/{job_id}")["error_code"] == "cancelled"

    done = completed(live, unique("a done cat"))
    result = cli("cancel", done, "--server", live.url, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: job_finished: Job {done} is completed; only a pending or processing job can be cancelled\n"
    )

    result = cli("cancel", "job_unknown", "--server", live.url, cwd=tmp_path)
    assert result.returncode == 1 and "job_not_found" in result.stderr


def test_api_key_from_the_environment(locked: ProcessServer, tmp_path: Path) -> None:
    env = {"GROK_IMAGINE_SERVER": locked.url, "GROK_IMAGINE_API_KEY": KEY}
    result = cli("generate", unique("a private cat"), "-o", "cat.mp4", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cat.mp4").read_bytes() == DEMO_MP4
    result = cli("jobs", cwd=tmp_path, env=env)
    assert result.returncode == 0 and "a private cat" in result.stdout


def test_api_key_option_and_a_missing_or_wrong_key(locked: ProcessServer, tmp_path: Path) -> None:
    job_id = create_locked(locked)
    result = cli("status", job_id, "--api-key", KEY, "--server", locked.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    hint = "hint: pass --api-key KEY or set GROK_IMAGINE_API_KEY\n"
    result = cli("status", job_id, "--server", locked.url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: invalid_api_key: Missing API key: send 'Authorization: Bearer <key>'\n" + hint
    result = cli("jobs", "--server", locked.url, cwd=tmp_path, env={"GROK_IMAGINE_API_KEY": "sk-wrong"})
    assert (result.returncode, result.stderr) == (1, "error: invalid_api_key: Invalid API key\n" + hint)


def create_locked(server: ProcessServer) -> str:
    reply = httpx.post(f"{server.url}/v1/videos/generations", json={"prompt": "keyed"}, headers=bearer(KEY))
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def test_generate_rides_out_a_server_restart(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with process_server(tmp_path / "server") as server:
        prompt = unique("a cat that waits")
        client = Running("generate", prompt, "-o", "cat.mp4", "--server", server.url, cwd=tmp_path)
        wait_until(lambda: "] queued" in client.stderr, timeout=20)
        server.stop()
        wait_until(lambda: f"cannot reach the server at {server.url}; retrying" in client.stderr, timeout=20)
        server.start()  # same port, same database
        with demo_worker(server.url):
            code, out = client.finish()
    assert (code, out) == (0, "cat.mp4\n"), client.stderr
    assert "the server is back" in client.stderr
    assert (tmp_path / "cat.mp4").read_bytes() == DEMO_MP4


def test_status_lists_every_attempt(idle: ProcessServer, tmp_path: Path) -> None:
    job_id = create(idle, unique("a cat tried twice"))
    with httpx.Client(base_url=idle.url, timeout=10) as http:
        first = http.get("/extension/poll", params={"client_id": "grok-a"}).json()
        assert first["job_id"] == job_id
        create(idle, unique("keeps b at work"))
        held = http.get("/extension/poll", params={"client_id": "grok-b"}).json()
        toast = "Rate limit reached. Upgrade to unlock more"
        report = {"job_id": job_id, "code": "rate_limited", "error": toast, "claim_token": first["claim_token"]}
        assert http.post("/extension/error", json=report).json()["retried"] is True
        assert upload(http, held["job_id"], token=held["claim_token"]).status_code == 200
        second = http.get("/extension/poll", params={"client_id": "grok-b"}).json()
        assert upload(http, second["job_id"], token=second["claim_token"]).status_code == 200

    result = cli("status", job_id, "--server", idle.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fields_of(result.stdout)["attempts"] == "2"
    attempts = [line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if line.startswith("attempt:")]
    assert attempts == [f"1 on grok-a: retried (rate_limited: {toast})", "2 on grok-b: completed"]
