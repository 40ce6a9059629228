"""Asking for HD: `resolution` "1080p" (xAI, seed, OpenAI's extra field), OpenAI-style `quality` "hd", or
`upscale` true. Grok Imagine makes 480p or 720p and then offers an HD upscale of a finished video; its frame size
is Grok's choice and no source says it is 1080p. So 1080p is never promised: the video is made at the highest
resolution a worker has (720p), upscaled, and the adjustment says so. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .errors import InvalidRequest, InvalidVideo
from .jobs import UPSCALE_NEED, GenerationOptions, Job, Produced
from .options import Adjustment, Ask, Asked

HD_RESOLUTION = "1080p"
BASE_RESOLUTION = "720p"  # what a 1080p ask is made at before the upscale: the highest Grok makes
QUALITIES = ("standard", "hd")
TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off", "")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise InvalidRequest(f"upscale must be true or false, not {value!r}", param="upscale", code="unsupported_upscale")


def _quality(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in QUALITIES:
        raise InvalidRequest(
            f"Unsupported quality {value!r}; choose one of {', '.join(QUALITIES)}",
            param="quality",
            code="unsupported_quality",
        )
    return str(text)


def is_hd_resolution(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == HD_RESOLUTION


def hd_fields(*, resolution: Any, quality: Any, upscale: Any) -> tuple[Any, Ask | None]:
    """The resolution to parse as usual (1080p becomes 720p, made before the upscale) and the upscale ask, or
    None when HD was not asked. Saying no HD one way and HD another is a 400."""
    asks: list[Ask] = []
    refusals: list[tuple[str, Any]] = []
    if is_hd_resolution(resolution):
        asks.append(Ask(True, "resolution", resolution))
        resolution = BASE_RESOLUTION
    if quality is not None and quality != "":
        if _quality(quality) == "hd":
            asks.append(Ask(True, "quality", quality))
        else:
            refusals.append(("quality", quality))
    if upscale is not None:
        if _flag(upscale):
            asks.append(Ask(True, "upscale", upscale))
        elif upscale != "":
            refusals.append(("upscale", upscale))
    if asks and refusals:
        param, given = refusals[0]
        raise InvalidRequest(
            f"{asks[0].param}={asks[0].given!r} asks for HD, but {param}={given!r} was also given",
            param=param,
            code="conflicting_parameters",
        )
    return resolution, (asks[0] if asks else None)


def with_hd(asked: Asked, hd: Ask | None) -> Asked:
    """`asked` with the HD ask; a 1080p resolution stays what the client said, matched as 720p."""
    if hd is None:
        return asked
    if hd.param == "resolution" and asked.resolution is not None and asked.resolution.param == "resolution":
        asked = replace(asked, resolution=replace(asked.resolution, given=hd.given, explicit=False))
    return replace(asked, upscale=hd)


def hd_needs(asked: Asked) -> list[str]:
    return [UPSCALE_NEED] if asked.upscale is not None else []


def hd_adjustments(asked: Asked, options: GenerationOptions, *, strict: bool) -> list[Adjustment]:
    """What HD will really be: a video at `options.resolution`, then Grok's HD upscale. `upscale` true is made
    as asked; 1080p and quality hd are said as what they become. Under OPTION_MATCHING=strict 1080p is refused:
    Grok does not say what size its HD file is."""
    ask = asked.upscale
    if ask is None or ask.param == "upscale":
        return []
    made_at = f"at {options.resolution}" if options.resolution else "at the page's resolution"
    if ask.param == "resolution":
        if strict:
            raise InvalidRequest(
                f"Grok Imagine cannot make exactly resolution={ask.given!r} (OPTION_MATCHING=strict): it makes 480p "
                "or 720p, and its HD upscale is of a size it does not promise; ask for upscale: true instead",
                param="resolution",
                code="no_exact_match",
            )
        made = f"{options.resolution or 'page default'} + HD upscale"
        message = (
            f"Grok Imagine makes 480p or 720p videos; {ask.given} was made {made_at} and upscaled with Grok's HD "
            "upscale, whose frame size Grok chooses (the job's hd field says what it is once made)"
        )
        return [Adjustment("resolution", ask.given, made, message)]
    message = (
        f"quality {ask.given} means Grok's HD upscale: the video is made {made_at} and upscaled; the HD file's frame "
        "size is Grok's choice (the job's hd field says what it is once made)"
    )
    return [Adjustment("quality", ask.given, "hd upscale", message)]


def again(asked: Asked, wants_hd: bool) -> Asked:
    """A job run again asks for HD when the first did."""
    return replace(asked, upscale=Ask(True, "upscale", True, explicit=False)) if wants_hd else asked


def check_hd_upload(job: Job, given: bool, produced: Produced | None) -> None:
    """A completion's HD part: required for a job that asked for HD, refused for any other, and a video."""
    if job.wants_hd and not given:
        raise InvalidRequest(
            f"Job {job.id} asked for HD: send the upscaled video as the file part 'video_hd' beside 'video'",
            param="video_hd",
            code="missing_parameter",
        )
    if given and not job.wants_hd:
        raise InvalidRequest(
            f"Job {job.id} did not ask for HD; send only the file part 'video'",
            param="video_hd",
            code="hd_not_asked",
        )
    if given and produced is None:
        raise InvalidVideo(
            "The HD upload cannot be read as a video: no decodable video stream with a length", param="video_hd"
        )
