"""`grok-imagine-api generate` of long videos (docs/long-videos.md): `--duration` up to 60 and repeated
`--segment SECONDS PROMPT`, made on the server as a chain; the progress line names the segment being made and
`status` lists the segments. A real server process and the demo worker, which can extend."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api.cli import build_parser
from grok_imagine_api.commands import segment_step
from grok_imagine_api.terminal import Progress
from support import PNG_1PX, ProcessServer, demo_worker, process_server, run_cli, wait_until


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    """A server with the demo worker connected (it extends from Grok posts, so long lengths are chained); slowed a
    little, so that a chain is seen while it is made."""
    with process_server(tmp_path_factory.mktemp("long")) as server, demo_worker(server.url, None, "--delay", "0.2"):
        with httpx.Client(base_url=server.url, timeout=10) as client:
            wait_until(lambda: client.get("/workers").json()["data"], timeout=20)
        yield server


def job(server: ProcessServer, job_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/jobs/{job_id}", timeout=10).json()
    return answer


def job_count(server: ProcessServer) -> int:
    page = httpx.get(f"{server.url}/jobs", params={"steps": "true", "limit": 100}, timeout=10).json()
    return len(page["data"])


def submitted_id(stderr: str) -> str:
    found = re.search(r"submitted job (job_\w+)", stderr)
    assert found, stderr
    return found.group(1)


def test_a_30_second_video_is_one_file_made_of_three_segments(server: ProcessServer, tmp_path: Path) -> None:
    result = cli("generate", "a fox runs", "--duration", "30", "-o", "fox.mp4", "--server", server.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fox.mp4"]
    assert (tmp_path / "fox.mp4").stat().st_size > 0
    assert "note: Made as a chain of 3 segments (10 + 10 + 10 s)" in result.stderr
    # stderr is a pipe: one line per change, each naming the segment being made beside the overall percentage.
    steps = re.findall(r"processing \d+%, segment (\d)/3", result.stderr)
    assert steps and steps == sorted(steps), result.stderr

    job_id = submitted_id(result.stderr)
    status = cli("status", job_id, "--server", server.url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    lines = [line for line in status.stdout.splitlines() if line.startswith("segment:")]
    made = job(server, job_id)["segments"]
    assert len(lines) == 3
    for line, segment in zip(lines, made, strict=True):
        number = segment["index"] + 1
        span = f"{segment['start']:.1f}-{segment['end']:.1f} s"
        assert line.split(None, 1)[1] == f"{number}/3 10 s completed {segment['job_id']} {span}: a fox runs"


def test_segments_are_sent_in_order(server: ProcessServer, tmp_path: Path) -> None:
    (tmp_path / "fox.png").write_bytes(PNG_1PX)
    result = cli(
        "generate",
        "a fox",
        "--segment",
        "6",
        "the fox wakes up",
        "--segment",
        "10",
        "the fox runs",
        "--segment",
        "6",
        "",  # a blank prompt: the segment is made with the video's own
        "--image",
        "fox.png",  # the first segment starts from it
        "--no-download",
        "--server",
        server.url,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    job_id = submitted_id(result.stderr)
    assert result.stdout.strip().startswith(f"{server.url}/videos/{job_id}")
    made = job(server, job_id)
    assert made["status"] == "completed" and made["has_image"]
    assert made["requested"]["segments"] == [
        {"prompt": "the fox wakes up", "seconds": 6},
        {"prompt": "the fox runs", "seconds": 10},
        {"seconds": 6},
    ]
    segments = [(segment["prompt"], segment["seconds"]) for segment in made["segments"]]
    assert segments == [("the fox wakes up", 6), ("the fox runs", 10), ("a fox", 6)]
    assert made["prompt"] == "a fox"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "0", "a"], "argument --segment: SECONDS must be a whole number from 1 to 20, not '0'"),
        (["--segment", "21", "a"], "argument --segment: SECONDS must be a whole number from 1 to 20, not '21'"),
        (["--segment", "6.5", "a"], "argument --segment: SECONDS must be a whole number from 1 to 20, not '6.5'"),
        (["--segment", "6", "a", "--segment", "ten", "b"], "SECONDS must be a whole number from 1 to 20, not 'ten'"),
        (["--segment", "1", "a"] * 11, "11 --segment options; a long video has at most 10 segments"),
        (["--segment", "20", "a"] * 3 + ["--segment", "1", "b"], "the segments add up to 61 s; a long video is at"),
        (["--segment", "6", "a", "--duration", "12"], "--segment and --duration do not go together"),
        (["--segment", "6", "a", "--hd"], "--hd is not available for long videos (--segment)"),
        (["--duration", "61"], "argument --duration: must be a whole number of seconds from 1 to 60: 61"),
        (["--duration", "0"], "argument --duration: must be a whole number of seconds from 1 to 60: 0"),
        (["--duration", "12.5"], "argument --duration: must be a whole number of seconds from 1 to 60: 12.5"),
    ],
)
def test_a_mistake_is_refused_before_anything_is_submitted(
    server: ProcessServer, tmp_path: Path, args: list[str], message: str
) -> None:
    before = job_count(server)
    result = cli("generate", "a fox", *args, "--server", server.url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "grok-imagine-api generate: error: " in result.stderr and message in result.stderr, result.stderr
    assert "submitted" not in result.stderr and result.stdout == ""
    assert job_count(server) == before


def test_help_lists_the_long_video_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["generate", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--duration 1..60" in text and "chain of a generation and extends" in text
    assert "--segment SECONDS PROMPT" in text and "up to 10 times and 60 s in all" in text


def test_the_progress_line_names_the_segment(tmp_path: Path) -> None:
    log = io.StringIO()
    progress = Progress(log, tty=False, clock=lambda: 0.0)
    progress.show("processing", 40, step="segment 2/3")
    progress.show("processing", 40, "for 1s", step="segment 2/3")  # a detail alone is no new line
    progress.show("processing", 40, step="segment 3/3")  # a new segment is, at the same percentage
    assert log.getvalue().splitlines() == ["[0:00] processing 40%, segment 2/3", "[0:00] processing 40%, segment 3/3"]

    terminal = io.StringIO()
    Progress(terminal, tty=True, clock=lambda: 0.0).show("processing", 50, step="segment 2/3")
    assert terminal.getvalue() == "\r[############............] processing 50%, segment 2/3  0:00"


def test_which_segment_is_being_made() -> None:
    def chain(*statuses: str, started: int) -> dict[str, Any]:
        segments = [
            {"index": i, "status": status, "job_id": f"job_{i}" if i < started else None}
            for i, status in enumerate(statuses)
        ]
        return {"status": "processing", "segments": segments}

    assert segment_step(chain("processing", "pending", "pending", started=1)) == "segment 1/3"
    assert segment_step(chain("completed", "pending", "pending", started=2)) == "segment 2/3 queued"
    assert segment_step(chain("completed", "pending", started=1)) == "segment 2/2"  # about to start
    assert segment_step(chain("completed", "completed", started=2)) == "joining 2 segments"
    assert segment_step({"status": "processing", "segments": None}) is None
    assert segment_step({"status": "pending"}) is None
