"""Is the uploaded video what the job promised? Aspect ratio and length, within a tolerance. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from .jobs import Job, JobKind, Produced

# Grok's frames are not always the exact ratio (848x480 is 1.767, not 1.778): 3 % covers that, not 4:3 for 3:2.
ASPECT_TOLERANCE = 0.03
# Grok's "6 s" clips run 5.5 to 6.1 s.
SECONDS_TOLERANCE = 1.0


def _mismatch(param: str, promised: Any, produced: Any, message: str) -> dict[str, Any]:
    return {"param": param, "promised": promised, "produced": produced, "message": message}


def check_output(job: Job, produced: Produced | None) -> list[dict[str, Any]]:
    """How the video differs from what was promised; empty when it is what was promised (or nothing was)."""
    options = job.options
    if options.aspect_ratio is None and options.duration is None:
        return []
    if produced is None:
        return [_mismatch("video", None, None, "The video's frame size and length could not be read")]
    found = []
    if options.aspect_ratio is not None:
        width, height = (int(part) for part in options.aspect_ratio.split(":"))
        if not (produced.width and produced.height):
            found.append(_mismatch("aspect_ratio", options.aspect_ratio, None, "The frame size could not be read"))
        elif abs((produced.width / produced.height) / (width / height) - 1) > ASPECT_TOLERANCE:
            found.append(
                _mismatch(
                    "aspect_ratio",
                    options.aspect_ratio,
                    produced.size,
                    f"Promised {options.aspect_ratio}; the video is {produced.size}",
                )
            )
    if options.duration is not None:
        seconds = produced.seconds
        # An extension may come back whole (source plus the added seconds) or as the added part alone.
        extended = job.kind is JobKind.EXTEND
        if seconds is None:
            found.append(_mismatch("duration", options.duration, None, "The video's length could not be read"))
        elif (seconds < options.duration - SECONDS_TOLERANCE) or (
            not extended and seconds > options.duration + SECONDS_TOLERANCE
        ):
            promised = f"{options.duration} s" + (" added" if extended else "")
            found.append(
                _mismatch("duration", options.duration, seconds, f"Promised {promised}; the video is {seconds:g} s")
            )
    return found
