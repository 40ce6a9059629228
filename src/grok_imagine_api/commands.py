"""The client subcommands: generate, image, jobs, status, cancel, download. Each returns the process's exit code."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from .client import BadImage, Client, ServerError, Unreachable, image_data_url, image_file
from .domain.segments import MAX_CHAIN_SECONDS, MAX_SEGMENTS
from .terminal import Progress, age, fields_text, job_fields, jobs_lines, jobs_table, messages, one_line, printable

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130

POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 5.0
NOT_TAKEN = "no worker has taken it yet"
REASON_WIDTH = 100
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class UsageError(Exception):
    """A mistake found before calling the server (exit 2, like argparse)."""


class GaveUp(Exception):
    """The timeout ran out; `job` is the job as last seen (None if the server never answered)."""

    def __init__(self, job: dict[str, Any] | None) -> None:
        super().__init__()
        self.job = job


def say(text: str) -> None:
    sys.stderr.write(printable(text) + "\n")
    sys.stderr.flush()


def client_for(args: argparse.Namespace) -> Client:
    return Client(args.server, args.api_key or None)


def resume_hint(job_id: str) -> str:
    return f"follow it with: grok-imagine-api status {job_id}, or save it when done: grok-imagine-api download {job_id}"


def still_there(job_id: str, job: dict[str, Any] | None) -> str:
    """Where a job stands on the server when we stop waiting for it."""
    if job is None:
        return f"the server did not answer; job {job_id} may still be queued or running there"
    if job["status"] == "pending":
        return f"job {job_id} is still queued on the server: {waiting_text(job)}"
    return f"job {job_id} is still processing on the server ({job.get('progress') or 0}%)"


def output_path(output: str | None, job_id: str) -> Path:
    if output is None:
        return Path(f"{job_id}.mp4")
    path = Path(output)
    return path / f"{job_id}.mp4" if path.is_dir() else path


def check_output(output: str | None) -> None:
    if output is None or Path(output).is_dir():
        return
    if output.endswith(("/", os.sep)):
        raise UsageError(f"no such directory: {output}")
    if not Path(output).parent.is_dir():
        raise UsageError(f"no such directory for the output file: {Path(output).parent}")


def check_folder(output: str) -> None:
    if Path(output).exists() and not Path(output).is_dir():
        raise UsageError(f"not a directory: {output}")


def check_prompt(prompt: str) -> None:
    if not prompt.strip():
        raise UsageError("the prompt must not be empty")


def segments_body(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The `--segment SECONDS PROMPT` options as the server's `segments` (docs/long-videos.md), checked against
    its limits; a blank PROMPT is left out, so that the segment is made with the video's own prompt, as the server
    does."""
    if args.duration is not None:
        raise UsageError("--segment and --duration do not go together: the segments' SECONDS make the length")
    if getattr(args, "hd", False):
        raise UsageError("--hd is not available for long videos (--segment): Grok upscales one generation only")
    if len(args.segment) > MAX_SEGMENTS:
        raise UsageError(f"{len(args.segment)} --segment options; a long video has at most {MAX_SEGMENTS} segments")
    segments = []
    for seconds, prompt in args.segment:
        segment: dict[str, Any] = {"seconds": seconds}
        if prompt.strip():
            segment = {"prompt": prompt, **segment}
        segments.append(segment)
    total = sum(segment["seconds"] for segment in segments)
    if total > MAX_CHAIN_SECONDS:
        raise UsageError(f"the segments add up to {total} s; a long video is at most {MAX_CHAIN_SECONDS} s")
    return segments


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    check_prompt(args.prompt)
    body: dict[str, Any] = {"model": args.model, "prompt": args.prompt}
    if getattr(args, "segment", None):
        body["segments"] = segments_body(args)
    options = {"aspect_ratio": args.aspect, "resolution": args.resolution, "duration": args.duration, "mode": args.mode}
    body.update({name: value for name, value in options.items() if value is not None})
    if getattr(args, "hd", False):
        body["upscale"] = True
    if args.image is not None:
        try:
            body["image"] = image_data_url(Path(args.image))
        except BadImage as exc:
            raise UsageError(str(exc)) from None
    return body


def waiting_text(job: dict[str, Any]) -> str:
    """Why a queued job waits: the server's reason (no connected worker can make it), or simply none took it."""
    reason = job.get("waiting_reason")
    return one_line(str(reason), REASON_WIDTH) if reason else NOT_TAKEN


def segment_step(job: dict[str, Any]) -> str | None:
    """Where a long video's chain is (docs/long-videos.md): "segment 2/3", "segment 2/3 queued" while that step
    waits for a worker, "joining 3 segments" once every step is made; None for any other job."""
    segments: list[dict[str, Any]] = job.get("segments") or []
    if job["status"] != "processing" or not segments:
        return None
    running = next((n for n, segment in enumerate(segments, start=1) if segment.get("status") != "completed"), None)
    if running is None:
        return f"joining {len(segments)} segments"
    segment = segments[running - 1]
    text = f"segment {running}/{len(segments)}"
    return f"{text} queued" if segment.get("job_id") and segment.get("status") == "pending" else text


def state_text(job: dict[str, Any]) -> str:
    """What the progress line says of a job; a queued job says why it waits."""
    return f"queued: {waiting_text(job)}" if job["status"] == "pending" else "processing"


def queued_for(job: dict[str, Any]) -> str | None:
    """How long a queued job has waited (by this machine's clock), e.g. "for 3m"."""
    if job["status"] != "pending" or not isinstance(job.get("created"), int | float):
        return None
    return f"for {age(time.time() - float(job['created']))}"


def poll_job(client: Client, job_id: str) -> dict[str, Any] | None:
    """The job, or None while the server cannot answer (restarting, overloaded)."""
    try:
        return client.job(job_id)
    except Unreachable:
        return None
    except ServerError as exc:
        if exc.status >= 500:
            return None
        if exc.status == 404:
            raise ServerError(
                404, f"job {job_id} is not on the server (deleted, or never made there)", exc.code
            ) from None
        raise


def wait_for(client: Client, job_id: str, progress: Progress, timeout: float | None) -> dict[str, Any]:
    """Poll until the job is completed or failed, riding out a server that goes away for a while."""
    deadline = None if not timeout else time.monotonic() + timeout
    delay = POLL_SECONDS
    seen: dict[str, Any] | None = None
    while True:
        job = poll_job(client, job_id)
        seen = job or seen
        if job is None:
            if delay == POLL_SECONDS:
                progress.note(f"cannot reach the server at {client.server}; retrying")
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        else:
            if delay != POLL_SECONDS:
                progress.note("the server is back")
            delay = POLL_SECONDS
            if job["status"] in ("completed", "failed"):
                return job
            percent = job.get("progress") if job["status"] == "processing" else None
            progress.show(state_text(job), percent, queued_for(job), step=segment_step(job))
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            raise GaveUp(seen)
        time.sleep(min(delay, left))


def adjustment_messages(client: Client, created: dict[str, Any]) -> list[str]:
    """What the server will make differently from what was asked (e.g. 8 s becomes 10 s)."""
    if "adjustments" not in created:  # the founding document's create answer: the job's detail has them
        fetched = poll_job(client, str(created["id"]))
        created = fetched or {}
    return messages(created.get("adjustments"))


def ask_to_cancel(client: Client, job_id: str) -> int:
    sys.stderr.write(f"Cancel job {job_id} on the server? [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (KeyboardInterrupt, OSError, ValueError):
        answer = ""
    if not (answer.endswith("\n") and sys.stdin is not None and sys.stdin.isatty()):
        sys.stderr.write("\n")  # a terminal echoed the Enter key; a pipe or end of input did not
    if answer.strip().lower() not in ("y", "yes"):
        say(f"job {job_id} keeps running on the server; {resume_hint(job_id)}")
        return INTERRUPTED
    try:
        client.cancel(job_id)
        say(f"cancelled job {job_id}; see it with: grok-imagine-api status {job_id}")
    except (ServerError, Unreachable) as exc:
        say(f"error: could not cancel job {job_id}: {exc}; {resume_hint(job_id)}")
    return INTERRUPTED


def generate(args: argparse.Namespace) -> int:
    check_output(args.output)
    body = request_body(args)
    # Ctrl-C must reach us as KeyboardInterrupt even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with client_for(args) as client:
        created = client.create(body)

        def run(progress: Progress) -> int:
            for message in adjustment_messages(client, created):
                say(f"note: {message}")
            return follow(client, str(created["id"]), progress, args)

        return submitted(client, created, run)


def submitted(client: Client, created: dict[str, Any], run: Callable[[Progress], int]) -> int:
    """Say a job was submitted, then `run` it with a progress line; Ctrl-C offers to cancel the job."""
    job_id = str(created["id"])
    say(f"submitted job {job_id} to {client.server}")
    progress = Progress(sys.stderr, tty=sys.stderr.isatty() and os.environ.get("TERM") != "dumb")
    try:
        return run(progress)
    except KeyboardInterrupt:
        progress.end()
        return ask_to_cancel(client, job_id)
    finally:
        progress.end()


def image_fields(args: argparse.Namespace) -> dict[str, Any]:
    check_prompt(args.prompt)
    fields: dict[str, Any] = {"model": args.model, "prompt": args.prompt, "n": args.n, "response_format": "url"}
    options = {"aspect_ratio": args.aspect, "size": args.size}
    fields.update({name: value for name, value in options.items() if value is not None})
    return fields


def edit_source(path: str | None) -> tuple[str, bytes, str] | None:
    if path is None:
        return None
    try:
        return image_file(Path(path))
    except BadImage as exc:
        raise UsageError(str(exc)) from None


def image(args: argparse.Namespace) -> int:
    """Ask for images (or an edit), follow the job like `generate`, then save each image into a directory."""
    check_folder(args.output)
    fields = image_fields(args)
    source = edit_source(args.edit)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with client_for(args) as client:
        created = client.create_images(fields, source, args.timeout or None)

        def run(progress: Progress) -> int:
            for message in messages(created.get("adjustments")):
                say(f"note: {message}")
            if "data" in created:  # a server that held the request until the images were made
                return save_images(client, made_images(created, args.n), progress, args)
            return follow(client, str(created["id"]), progress, args)

        return submitted(client, created, run)


def made_images(answer: dict[str, Any], n: int) -> dict[str, Any]:
    """The Images API's answer (`data`: one {url} per image) as the job's detail shows them."""
    images = [
        {"index": index, "url": item["url"], "content_type": item.get("content_type")}
        for index, item in enumerate(answer["data"])
    ]
    return {"id": answer["id"], "media": "image", "n": answer.get("n") or n, "images": images}


def image_extension(image: dict[str, Any]) -> str:
    """png, jpg or webp: by the image's content type, else by its link's ending."""
    by_type = EXTENSIONS.get(str(image.get("content_type")))
    if by_type:
        return by_type
    suffix = PurePosixPath(urlsplit(str(image["url"])).path).suffix.lstrip(".").lower()
    return suffix if suffix in EXTENSIONS.values() else "img"


def save_images(client: Client, job: dict[str, Any], progress: Progress, args: argparse.Namespace) -> int:
    """Each image of a completed image job saved as `<job_id>-<index>.<ext>` in the output directory (made if
    needed), or with --no-download its link printed; one path or link a line on stdout."""
    job_id = str(job["id"])
    images: list[dict[str, Any]] = job.get("images") or []
    if not images:
        progress.end()
        say(f"error: job {job_id} completed but has no images: {job.get('error') or 'no link'}")
        return FAILED
    asked = int(job.get("n") or len(images))
    if len(images) < asked:
        progress.end()
        say(f"note: the worker made {len(images)} of the {asked} images asked")
    if args.no_download:
        progress.done("completed")
        for item in images:
            print(printable(str(item["url"])))
        return OK
    folder = Path(args.output or ".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        progress.end()
        say(f"error: cannot make the directory {folder}: {exc.strerror}; the images stay on the server")
        return FAILED
    saved = []
    try:
        for number, item in enumerate(images, start=1):
            progress.saving(number, len(images))
            target = folder / f"{job_id}-{int(item['index'])}.{image_extension(item)}"
            client.download(str(item["url"]), target, lambda done, total: None)
            saved.append(target)
    except KeyboardInterrupt:
        progress.end()
        say(f"download interrupted; the images stay on the server: {resume_hint(job_id)}")
        return INTERRUPTED
    progress.done("saved")
    for target in saved:
        print(target)
    return OK


def download(args: argparse.Namespace) -> int:
    """`generate` from the point where the job exists: wait with a progress line, then save the video (or the
    images of an image job)."""
    check_output(args.output)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args.no_download = False
    with client_for(args) as client:
        progress = Progress(sys.stderr, tty=sys.stderr.isatty() and os.environ.get("TERM") != "dumb")
        try:
            return follow(client, args.job_id, progress, args)
        except KeyboardInterrupt:
            progress.end()
            say(f"stopped waiting; job {args.job_id} keeps running on the server")
            return INTERRUPTED
        finally:
            progress.end()


def finished(client: Client, job_id: str, progress: Progress, args: argparse.Namespace) -> dict[str, Any] | None:
    """The job once completed; None, having said why, when it failed or the timeout ran out."""
    try:
        job = wait_for(client, job_id, progress, args.timeout)
    except GaveUp as exc:
        progress.end()
        say(f"error: gave up waiting after {args.timeout:g} s; {still_there(job_id, exc.job)}")
        say(
            f"wait again with: grok-imagine-api download {job_id} (--timeout 0 waits as long as it takes), "
            f"or stop it: grok-imagine-api cancel {job_id}"
        )
        return None
    if job["status"] == "failed":
        progress.end()
        say(f"error: {job.get('error_code') or 'failed'}: {job.get('error') or 'the job failed'}")
        return None
    return job


def follow(client: Client, job_id: str, progress: Progress, args: argparse.Namespace) -> int:
    job = finished(client, job_id, progress, args)
    if job is None:
        return FAILED
    if job.get("media") == "image":
        return save_images(client, job, progress, args)
    url = job.get("video_url")
    if not url:
        progress.end()
        say(f"error: job {job_id} completed but has no video: {job.get('error') or 'no link'}")
        return FAILED
    if args.no_download:
        progress.done("completed")
        print(printable(str(url)))
        return OK
    target = output_path(args.output, job_id)
    try:
        client.download(str(url), target, progress.downloading)
    except KeyboardInterrupt:
        progress.end()
        say(f"download interrupted; the video stays on the server: {resume_hint(job_id)}")
        return INTERRUPTED
    hd_url = (job.get("hd") or {}).get("url")
    if hd_url:  # the job asked for HD: its upscaled file beside the video
        hd_target = target.with_name(f"{target.stem}.hd.mp4")
        try:
            client.download(str(hd_url), hd_target, progress.downloading)
        except KeyboardInterrupt:
            progress.end()
            say(f"download interrupted; the HD video stays on the server: {resume_hint(job_id)}")
            return INTERRUPTED
    progress.done("saved")
    print(target)
    if hd_url:
        print(hd_target)
    return OK


def list_jobs(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        page = client.jobs(status=args.status, text=args.query, limit=args.limit, cursor=args.cursor, media=args.media)
    if args.json:
        print(json.dumps(page, indent=2))
        return OK
    jobs: list[dict[str, Any]] = page["data"]
    if not jobs:
        say("no jobs")
        return OK
    if sys.stdout.isatty():
        print(jobs_table(jobs, width=shutil.get_terminal_size().columns, now=time.time()))
    else:
        print(jobs_lines(jobs))
    if page.get("has_more"):
        say(f"more jobs: --limit {args.limit} --cursor {page['next_cursor']}")
    return OK


def show_status(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.job(args.job_id)
    if args.json:
        print(json.dumps(job, indent=2))
    else:
        print(fields_text(job_fields(job, now=time.time())))
    return OK


def cancel(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.cancel(args.job_id)
    print(printable(f"cancelled job {job['id']} ({job['status']}, {job.get('error_code')})"))
    return OK
