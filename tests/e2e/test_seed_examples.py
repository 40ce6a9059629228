"""The founding document's own examples, run against `python server.py` with the demo worker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import DEMO_MP4, ROOT, ProcessServer, demo_worker, process_server, wait_until

# Copied from the founding document ("Python with OpenAI SDK Style"); only the port differs.
SEED_PYTHON_EXAMPLE = textwrap.dedent(
    """
    import requests

    # Create job
    response = requests.post('http://localhost:8000/v1/video/generations', json={
        'model': 'grok',
        'prompt': 'A beautiful sunset over mountains'
    })

    job = response.json()
    job_id = job['id']

    # Poll for completion
    import time
    while True:
        response = requests.get(f'http://localhost:8000/v1/video/generations/{job_id}')
        job = response.json()

        if job['status'] == 'completed':
            print(f"Video ready: {job['video_url']}")
            break
        elif job['status'] == 'failed':
            print(f"Job failed: {job['error']}")
            break

        print(f"Status: {job['status']}")
        time.sleep(5)

    # Download video
    video_response = requests.get(job['video_url'])
    with open('video.mp4', 'wb') as f:
        f.write(video_response.content)
    """
)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ProcessServer]:
    with process_server(tmp_path) as server, demo_worker(server.url):
        yield server


def test_the_seed_python_example(live: ProcessServer, tmp_path: Path) -> None:
    script = SEED_PYTHON_EXAMPLE.replace("http://localhost:8000", live.url)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Video ready: http://127\.0\.0\.1:\d+/videos/job_[0-9a-f]+\.mp4", result.stdout)
    assert (tmp_path / "video.mp4").read_bytes() == DEMO_MP4


def curl(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["curl", "-sS", "--fail-with-body", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_the_seed_curl_examples(live: ProcessServer, tmp_path: Path) -> None:
    base = live.url
    # Create job
    created = json.loads(
        curl(
            "-X",
            "POST",
            f"{base}/v1/video/generations",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"model":"grok","prompt":"A cat playing piano"}',
            cwd=tmp_path,
        )
    )
    job_id = created["id"]
    assert created["status"] == "pending"

    # Check status (until the demo worker has finished)
    def completed() -> bool:
        status = json.loads(curl(f"{base}/v1/video/generations/{job_id}", cwd=tmp_path))
        return bool(status["status"] == "completed")

    wait_until(completed, timeout=60, interval=0.05)

    # Download video
    curl("-O", f"{base}/videos/{job_id}.mp4", cwd=tmp_path)
    assert (tmp_path / f"{job_id}.mp4").read_bytes() == DEMO_MP4


def test_the_seed_extension_endpoints_with_curl(tmp_path: Path) -> None:
    with process_server(tmp_path) as server:
        base = server.url
        created = json.loads(
            curl(
                "-X",
                "POST",
                f"{base}/v1/videos/generations",
                "-H",
                "Content-Type: application/json",
                "-d",
                '{"prompt":"A cat"}',
                cwd=tmp_path,
            )
        )
        work = json.loads(curl(f"{base}/extension/poll", cwd=tmp_path))
        assert work["job_id"] == created["id"]
        assert work["prompt"] == "A cat"
        assert work["image"] is None
        (tmp_path / "clip.mp4").write_bytes(DEMO_MP4)
        done = json.loads(
            curl(
                "-X",
                "POST",
                f"{base}/extension/complete",
                "-F",
                f"job_id={work['job_id']}",
                "-F",
                "video=@clip.mp4",
                cwd=tmp_path,
            )
        )
        assert done["status"] == "completed"

        second = json.loads(
            curl(
                "-X",
                "POST",
                f"{base}/v1/videos/generations",
                "-H",
                "Content-Type: application/json",
                "-d",
                '{"prompt":"A dog"}',
                cwd=tmp_path,
            )
        )
        curl(f"{base}/extension/poll", cwd=tmp_path)
        failed = json.loads(
            curl(
                "-X",
                "POST",
                f"{base}/extension/error",
                "-H",
                "Content-Type: application/json",
                "-d",
                json.dumps({"job_id": second["id"], "error": "Error message"}),
                cwd=tmp_path,
            )
        )
        assert failed["status"] == "failed"
        listed = json.loads(curl(f"{base}/jobs?status=completed&limit=100", cwd=tmp_path))
        assert [job["id"] for job in listed["data"]] == [created["id"]]
        assert json.loads(curl(f"{base}/", cwd=tmp_path))["status"] == "ok"
        empty = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{base}/extension/poll"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert empty.stdout == "204"


def readme_commands(after: str) -> list[str]:
    """The commands of the README's first ```bash block after the line starting with `after`, continuations joined."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n" + after)
    block = readme[readme.index("```bash\n", start) + len("```bash\n") :]
    block = block[: block.index("```")]
    return [command for command in block.replace("\\\n", "").splitlines() if command.strip()]


def test_the_readme_curl_tour_runs_as_written(live: ProcessServer, tmp_path: Path) -> None:
    *follow, fetch = [c.replace("http://localhost:8000", live.url) for c in readme_commands("**The founding")]
    assert fetch.startswith("curl ") and "/videos/$job.mp4" in fetch

    def bash(script: str) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    # Create and poll as written; then, as a reader would, download once the job is done.
    shown = bash("\n".join([*follow, 'printf "\\n%s\\n" "$job"'])).splitlines()
    job_id = shown[-1]
    assert re.fullmatch(r"job_[0-9a-f]+", job_id)
    assert json.loads(shown[0])["id"] == job_id
    wait_until(lambda: json.loads(curl(f"{live.url}/jobs/{job_id}", cwd=tmp_path))["status"] == "completed", timeout=60)
    bash(f"job={job_id}\n{fetch}")
    assert (tmp_path / f"{job_id}.mp4").read_bytes() == DEMO_MP4

    # The create answer the README shows: the founding document's fields, and request_id.
    created = json.loads(
        curl("-X", "POST", f"{live.url}/v1/video/generations", "-d", '{"prompt": "a cat"}', cwd=tmp_path)
    )
    assert created["request_id"] == created["id"] and created["object"] == "videos.generation"


def test_what_the_founding_documents_instructions_make_is_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    made = ["venv/", "jobs.db", "jobs.db-wal", "videos/job_1.mp4", "logs/requests_2026-01-01.jsonl", "video.mp4"]
    made += ["job_123abc.mp4", ".venv/"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *made], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.splitlines() == made
