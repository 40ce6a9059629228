"""Long videos (docs/long-videos.md): when a video is made as a chain of a generation and extends, how its
length is split into segments, and how each finished step joins the video so far. Pure: no I/O."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidRequest
from .jobs import GenerationOptions
from .options import Adjustment, Ask, Asked

MAX_SEGMENTS = 10
MAX_CHAIN_SECONDS = 60
CHAIN_SECONDS = range(1, MAX_CHAIN_SECONDS + 1)  # the seconds a create may ask for, chained or not
DEFAULT_SEGMENT_SECONDS = 6  # an explicit segment without `seconds` (as an extension without `duration`)

CUMULATIVE = "cumulative"  # the step's video holds the whole video so far: it replaces what came before
APPENDED = "appended"  # the step's video holds only its own seconds: it is joined after what came before


@dataclass(frozen=True)
class SegmentAsk:
    prompt: str | None
    seconds: int | None


@dataclass(frozen=True)
class Plan:
    """The segments a chain makes: (prompt, seconds) each, in order."""

    segments: list[tuple[str, int]]
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(seconds for _, seconds in self.segments)

    def to_chain(self) -> dict[str, Any]:
        """The chain as the job stores it."""
        return {
            "segments": [
                {
                    "index": index,
                    "prompt": prompt,
                    "seconds": seconds,
                    "job_id": None,
                    "status": None,
                    "progress": 0,
                    "start": None,
                    "end": None,
                    "joined": None,
                }
                for index, (prompt, seconds) in enumerate(self.segments)
            ]
        }


@dataclass(frozen=True)
class Outcome:
    """What create does with a request's length: `asked` is what the options are matched from (without the
    duration when it chains), `plan` the chain if one is made, `reason` why none was, when one was wanted."""

    asked: Asked
    plan: Plan | None = None
    reason: str | None = None
    param: str | None = None

    def apply(
        self, options: GenerationOptions, adjustments: list[Adjustment]
    ) -> tuple[GenerationOptions, list[Adjustment]]:
        if self.plan is not None:
            return replace(options, duration=self.plan.total), [*adjustments, *self.plan.adjustments]
        if self.reason is None:
            return options, adjustments
        explained = [
            replace(item, message=f"{item.message} ({self.reason})") if item.param == self.param else item
            for item in adjustments
        ]
        return options, explained


def parse_segments(value: Any, prompt: str) -> list[SegmentAsk]:
    """A client's `segments`: a list of 1..MAX_SEGMENTS `{prompt, seconds}` objects; a missing prompt is the
    request's own."""
    if not isinstance(value, list) or not value:
        raise InvalidRequest("segments must be a non-empty list of {prompt, seconds}", param="segments")
    if len(value) > MAX_SEGMENTS:
        raise InvalidRequest(
            f"segments has {len(value)} entries; at most {MAX_SEGMENTS} are made",
            param="segments",
            code="too_many_segments",
        )
    found = []
    for index, item in enumerate(value):
        param = f"segments[{index}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{param} must be an object {{prompt, seconds}}", param=param)
        text = item.get("prompt")
        if text is not None and not isinstance(text, str):
            raise InvalidRequest(f"{param}.prompt must be a string", param=f"{param}.prompt")
        seconds = item.get("seconds", item.get("duration"))
        if seconds is not None:
            number = seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else None
            if isinstance(seconds, str) and seconds.strip().isdigit():
                number = int(seconds)
            if number is None or not 1 <= number <= MAX_CHAIN_SECONDS:
                raise InvalidRequest(
                    f"{param}.seconds must be a whole number of seconds from 1 to {MAX_CHAIN_SECONDS}, not {seconds!r}",
                    param=f"{param}.seconds",
                    code="unsupported_seconds",
                )
            seconds = number
        found.append(SegmentAsk((text or "").strip() or prompt, seconds))
    return found


def _nearest(asked: int, available: tuple[int, ...]) -> int:
    return min(available, key=lambda d: (abs(d - asked), -d))


def plan_explicit(asks: list[SegmentAsk], durations: tuple[int, ...]) -> Plan:
    """Explicit segments: each one's seconds mapped to the nearest a worker makes."""
    segments: list[tuple[str, int]] = []
    notes: list[Adjustment] = []
    for index, ask in enumerate(asks):
        wanted = ask.seconds if ask.seconds is not None else DEFAULT_SEGMENT_SECONDS
        made = _nearest(wanted, durations)
        if ask.seconds is not None and made != wanted:
            notes.append(
                Adjustment(
                    f"segments[{index}].seconds",
                    ask.seconds,
                    made,
                    f"Each segment is {' or '.join(map(str, durations))} seconds long; {wanted} became {made}",
                )
            )
        segments.append((ask.prompt or "", made))
    total = sum(seconds for _, seconds in segments)
    if total > MAX_CHAIN_SECONDS:
        raise InvalidRequest(
            f"The segments add up to {total} s; a chain makes at most {MAX_CHAIN_SECONDS} s",
            param="segments",
            code="video_too_long",
        )
    return Plan(segments, notes)


def split(total: int, durations: tuple[int, ...]) -> list[int]:
    """Two or more durations from `durations` whose sum is nearest `total` (the fewer segments the better),
    longest first: 30 → 10+10+10, 12 → 6+6, 16 → 10+6."""
    best: tuple[int, int, tuple[int, ...]] | None = None
    for count in range(2, MAX_SEGMENTS + 1):
        for combo in itertools.combinations_with_replacement(sorted(set(durations), reverse=True), count):
            key = (abs(sum(combo) - total), count, combo)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is not None and best[0] == 0:
            break
    assert best is not None
    return list(best[2])


def plan_total(prompt: str, ask: Ask, durations: tuple[int, ...]) -> Plan:
    """A long `seconds`/`duration`: the same prompt for every segment."""
    total = int(ask.value)
    parts = split(total, durations)
    made = sum(parts)
    listed = " + ".join(map(str, parts))
    message = f"Made as a chain of {len(parts)} segments ({listed} s)"
    if made != total:
        message += f"; {total} became {made}, the nearest length the segments make"
    made_value: Any = str(made) if isinstance(ask.given, str) else made
    notes = [Adjustment(ask.param, ask.given, made_value, message)]
    return Plan([(prompt, seconds) for seconds in parts], notes)


# -- joining ----------------------------------------------------------------------------------


def join_step(so_far: float, seconds: int, produced: float) -> tuple[str, float, float]:
    """How a finished extend's video joins the video so far (`so_far` seconds): Grok's Extend may hand back the
    whole video (cumulative) or only the added part. The nearer of the two expected lengths decides. Returns
    (how, start, end) of the segment in the joined video."""
    if abs(produced - (so_far + seconds)) < abs(produced - seconds):
        return CUMULATIVE, so_far, produced
    return APPENDED, so_far, so_far + produced


def pieces(segments: list[dict[str, Any]]) -> list[str]:
    """The job ids whose videos, one after another, make the whole video: from the last segment that holds the
    whole video so far (the first always does) on."""
    start = 0
    for index, segment in enumerate(segments):
        if segment.get("joined") != APPENDED:
            start = index
    return [segment["job_id"] for segment in segments[start:]]


def overall_progress(segments: list[dict[str, Any]]) -> int:
    """0..99 across the segments, weighted by their seconds (100 only once the joined video is stored)."""
    total = sum(segment["seconds"] for segment in segments) or 1
    done = 0.0
    for segment in segments:
        if segment.get("status") == "completed":
            done += segment["seconds"]
        else:
            done += segment["seconds"] * min(segment.get("progress") or 0, 100) / 100
    return min(99, int(done * 100 / total))
