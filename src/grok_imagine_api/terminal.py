"""What the command-line client prints: the progress line, the jobs table, one job's fields."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, TextIO

BAR_WIDTH = 24


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def bar(percent: int) -> str:
    filled = BAR_WIDTH * max(0, min(percent, 100)) // 100
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class Progress:
    """On a terminal, one line redrawn in place; in a log, one line per change."""

    def __init__(self, stream: TextIO, *, tty: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = tty
        self.clock = clock
        self.started = clock()
        self.drawn = 0
        self.last: tuple[str, int | None] | None = None

    def show(
        self, state: str, percent: int | None = None, detail: str | None = None, *, step: str | None = None
    ) -> None:
        """`state` is what the job is doing (queued, processing, ...); `percent` its progress if known; `step`
        which part of it is being made (a long video's "segment 2/3"), shown after the percentage.

        `detail` (how long the job has been queued, say) is shown but is no change: a log gets no new line for it.
        """
        text = f"{state} {percent}%" if percent is not None else state
        if step:
            text, state = f"{text}, {step}", f"{state}, {step}"  # a new step is a change: a new line in a log
        if detail:
            text = f"{text} ({detail})"
        if self.tty:
            self._draw(f"{bar(percent or 0)} {text}")
        elif (state, percent) != self.last:
            self.last = (state, percent)
            self._line(text)

    def downloading(self, done: int, total: int | None) -> None:
        if self.tty:
            percent = 100 * done // total if total else 0
            size = f"{megabytes(done)} of {megabytes(total)}" if total else megabytes(done)
            self._draw(f"{bar(percent)} downloading {size}")
        elif self.last != ("downloading", None):
            # A log gets one line per download, not one per chunk.
            self.last = ("downloading", None)
            self._line(f"downloading {megabytes(total)}" if total else "downloading")

    def saving(self, number: int, count: int) -> None:
        """Image `number` (from 1) of `count` is being downloaded: one line per image in a log."""
        text = f"downloading image {number} of {count}"
        if self.tty:
            self._draw(f"{bar(100 * (number - 1) // max(count, 1))} {text}")
        elif self.last != (text, None):
            self.last = (text, None)
            self._line(text)

    def done(self, state: str) -> None:
        """The last step: a full bar on a terminal, then the line is ended."""
        if self.tty:
            self._draw(f"{bar(100)} {state}")
        else:
            self._line(state)
        self.end()

    def note(self, text: str) -> None:
        """A message of its own line, e.g. a retry, without losing the progress line."""
        self.end()
        self._line(text)

    def end(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = 0

    def _draw(self, text: str) -> None:
        line = f"{text}  {elapsed(self.clock() - self.started)}"
        self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(line)

    def _line(self, text: str) -> None:
        self.stream.write(f"[{elapsed(self.clock() - self.started)}] {text}\n")
        self.stream.flush()


def status_text(job: dict[str, Any]) -> str:
    code = job.get("error_code")
    return f"{job['status']} ({code})" if code else str(job["status"])


# Control characters (ESC sequences can retitle the window, recolour or hide output, even set the clipboard) and
# bidirectional overrides (which reorder what is shown): text from the server never carries them to the terminal.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character but newline and tab replaced by "?"."""
    return UNPRINTABLE.sub("?", text)


def flat(text: str) -> str:
    """`text` printable and on one line: every run of whitespace (tabs, newlines) becomes one space."""
    return " ".join(printable(text).split())


def one_line(text: str, width: int) -> str:
    text = flat(text)
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def is_image_job(job: dict[str, Any]) -> bool:
    return job.get("media") == "image"


def media_text(job: dict[str, Any]) -> str:
    """ "video", or for an image job how many images it has of how many asked: "image 2/4"."""
    if not is_image_job(job):
        return "video"
    return f"image {len(job.get('images') or [])}/{job.get('n') or 1}"


def jobs_table(jobs: list[dict[str, Any]], *, width: int, now: float) -> str:
    """Columns sized to their content; the prompt gets what is left of `width`."""
    headers = ["ID", "STATUS", "PROGRESS", "AGE", "MEDIA"]
    rows = [
        [
            str(job["id"]),
            status_text(job),
            f"{job.get('progress') or 0}%",
            age(now - float(job["created"])),
            media_text(job),
        ]
        for job in jobs
    ]
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    prompt_width = max(10, width - sum(widths) - 2 * len(widths))
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(headers, widths, strict=True)), "PROMPT"])]
    for row, job in zip(rows, jobs, strict=True):
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
        lines.append("  ".join([*cells, one_line(str(job.get("prompt") or ""), prompt_width)]).rstrip())
    return printable("\n".join(lines))


def jobs_lines(jobs: list[dict[str, Any]]) -> str:
    """For scripts (stdout not a terminal): no header, nothing cut, one job a line, its values tab-separated:
    id, status, progress, created (UTC, ISO 8601), prompt, media ("video", "image 2/4"). No value holds a tab or
    a newline. The media came last, so that scripts written before it still find the prompt fifth."""
    rows = [
        [
            str(job["id"]),
            status_text(job),
            f"{job.get('progress') or 0}%",
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(job["created"]))),
            str(job.get("prompt") or ""),
            media_text(job),
        ]
        for job in jobs
    ]
    return "\n".join("\t".join(flat(value) for value in row) for row in rows)


def moment(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return "-"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
    return f"{stamp} ({age(now - timestamp)} ago)"


def options_text(options: dict[str, Any]) -> str:
    chosen = [f"{name}={value}" for name, value in options.items() if value is not None]
    return " ".join(chosen) or "(the page's defaults)"


def video_text(job: dict[str, Any]) -> str:
    if job["status"] == "completed" and job.get("video_url"):
        return str(job["video_url"])
    return "- (not ready yet)" if job["status"] in ("pending", "processing") else "-"


def images_text(job: dict[str, Any]) -> str:
    made = len(job.get("images") or [])
    asked = job.get("n") or 1
    if job["status"] in ("pending", "processing"):
        return f"{made} of {asked} (not ready yet)"
    return f"{made} of {asked}"


def image_text(image: dict[str, Any]) -> str:
    """One image of an image job: its link, pixel size and bytes."""
    size = f"{image['width']}x{image['height']}" if image.get("width") and image.get("height") else "?x?"
    details = [size, *([f"{image['bytes'] / 1000:.0f} KB"] if isinstance(image.get("bytes"), int) else [])]
    return f"{image.get('url') or '-'} ({', '.join(details)})"


def output_fields(job: dict[str, Any]) -> list[tuple[str, str]]:
    """What the job made: its video, or its images, one a line."""
    if not is_image_job(job):
        return [("video", video_text(job)), ("produced", produced_text(job.get("produced")))]
    images: list[dict[str, Any]] = job.get("images") or []
    return [("images", images_text(job)), *((f"image {image.get('index')}", image_text(image)) for image in images)]


def produced_text(produced: dict[str, Any] | None) -> str:
    if not produced:
        return "-"
    size = f"{produced['width']}x{produced['height']}" if produced.get("width") else "?x?"
    return f"{size}, {produced['seconds']:g} s" if produced.get("seconds") else size


def value_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def requested_text(requested: dict[str, Any]) -> str:
    return " ".join(f"{name}={value_text(value)}" for name, value in requested.items()) or "-"


def messages(entries: list[Any] | None) -> list[str]:
    """The `message` of each adjustment or mismatch the server listed."""
    return [str(entry.get("message") or entry) if isinstance(entry, dict) else str(entry) for entry in entries or []]


def job_fields(job: dict[str, Any], *, now: float) -> list[tuple[str, str]]:
    """One (name, value) a line; what was asked and what changed appear only when the server says so."""
    error = job.get("error")
    code = job.get("error_code")
    fields = [
        ("id", str(job["id"])),
        ("status", status_text(job)),
        *([("waiting", str(job["waiting_reason"]))] if job.get("waiting_reason") else []),
        ("progress", f"{job.get('progress') or 0}%"),
        ("prompt", str(job.get("prompt") or "")),
        ("model", str(job.get("model") or "")),
        ("media", "image" if is_image_job(job) else "video"),
        *([("asked", requested_text(job["requested"]))] if job.get("requested") else []),
        ("options", options_text(job.get("options") or {})),
        *(("adjusted", message) for message in messages(job.get("adjustments"))),
        # The image a job starts from: a video's first frame, or the picture an image job edits.
        (
            "source" if is_image_job(job) else "image",
            f"yes ({job.get('image_size')} bytes)" if job.get("has_image") else "no",
        ),
        ("error", (f"{code}: {error}" if code else str(error)) if error else "-"),
        ("created", moment(job.get("created"), now)),
        ("claimed", moment(job.get("claimed_at"), now)),
        ("completed", moment(job.get("completed_at"), now)),
        ("updated", moment(job.get("updated_at"), now)),
        ("worker", str(job.get("worker_id") or "-")),
        ("attempts", str(job.get("attempts") or 0)),
        *(("attempt", attempt_text(attempt)) for attempt in job.get("attempt_history") or []),
        *(("segment", segment_text(segment, len(job["segments"]))) for segment in job.get("segments") or []),
        *output_fields(job),
        *(("mismatch", message) for message in messages(job.get("output_mismatch"))),
        *([("grok post", str(job["grok_post_id"]))] if job.get("grok_post_id") else []),
    ]
    return fields


def attempt_text(attempt: dict[str, Any]) -> str:
    """One ended attempt (docs/retries.md): `2 on grok-b: completed`, `1 on grok-a: retried after rate_limited: …`."""
    text = f"{attempt.get('attempt')} on {attempt.get('worker_id') or '-'}: {attempt.get('outcome')}"
    if attempt.get("code"):
        text += f" ({attempt['code']}: {attempt.get('message') or ''})"
    return text


def segment_text(segment: dict[str, Any], count: int) -> str:
    """One step of a long video (docs/long-videos.md): `2/3 10 s completed job_… 10.0-20.0 s: The fox runs`;
    where it lies in the joined video once its file is made, its progress while it is made."""
    status = str(segment.get("status") or "pending")
    if status == "processing":
        status += f" {segment.get('progress') or 0}%"
    text = f"{int(segment['index']) + 1}/{count} {segment.get('seconds')} s {status} {segment.get('job_id') or '-'}"
    start, end = segment.get("start"), segment.get("end")
    if isinstance(start, int | float) and isinstance(end, int | float):
        text += f" {start:.1f}-{end:.1f} s"
    return f"{text}: {flat(str(segment.get('prompt') or ''))}"


def fields_text(fields: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in fields) + 1
    return printable("\n".join(f"{(name + ':').ljust(width)} {value}" for name, value in fields))
