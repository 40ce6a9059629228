"""OpenAI's `size`/`seconds` and xAI's `size`/`duration`, mapped onto what Grok Imagine can make."""

from __future__ import annotations

from dataclasses import replace

from .errors import InvalidRequest
from .jobs import DURATIONS, GenerationOptions

# Frame sizes Grok Imagine produces, with the aspect ratio and resolution that make them.
SIZES: dict[str, tuple[str, str]] = {
    "1280x720": ("16:9", "720p"),
    "720x1280": ("9:16", "720p"),
    "720x720": ("1:1", "720p"),
    "1080x720": ("3:2", "720p"),
    "720x1080": ("2:3", "720p"),
    "848x480": ("16:9", "480p"),
    "854x480": ("16:9", "480p"),
    "480x848": ("9:16", "480p"),
    "480x854": ("9:16", "480p"),
    "480x480": ("1:1", "480p"),
    "720x480": ("3:2", "480p"),
    "480x720": ("2:3", "480p"),
}


def size_options(size: str, param: str = "size") -> tuple[str, str]:
    try:
        return SIZES[size.strip().lower()]
    except KeyError:
        choices = ", ".join(SIZES)
        raise InvalidRequest(
            f"Grok Imagine cannot make size {size!r} (at most 720p); choose one of {choices}",
            param=param,
            code="unsupported_size",
        ) from None


def size_of(options: GenerationOptions) -> str | None:
    for size, (aspect, resolution) in SIZES.items():
        if options.aspect_ratio == aspect and options.resolution == resolution:
            return size
    return None


def parse_seconds(value: object, param: str = "seconds") -> int:
    text = str(value).strip()
    if text.isdigit() and int(text) in DURATIONS:
        return int(text)
    choices = " or ".join(f'"{d}"' for d in DURATIONS)
    raise InvalidRequest(
        f"Grok Imagine makes {choices} second videos; {param}={value!r} is not possible",
        param=param,
        code=f"unsupported_{param}",
    )


def with_size_and_seconds(
    options: GenerationOptions,
    *,
    size: str | None,
    seconds: object | None,
    seconds_param: str = "seconds",
) -> GenerationOptions:
    """Fold `size` and `seconds` into the options; a contradiction with an explicit option is a 400."""
    if size:
        aspect, resolution = size_options(size)
        for name, asked, implied in (
            ("aspect_ratio", options.aspect_ratio, aspect),
            ("resolution", options.resolution, resolution),
        ):
            if asked is not None and asked != implied:
                raise InvalidRequest(
                    f"size {size!r} means {name} {implied!r}, but {name} {asked!r} was also given",
                    param="size",
                    code="conflicting_parameters",
                )
        options = replace(options, aspect_ratio=aspect, resolution=resolution)
    if seconds is not None and seconds != "":
        duration = parse_seconds(seconds, seconds_param)
        if options.duration is not None and options.duration != duration:
            raise InvalidRequest(
                f"{seconds_param}={seconds!r} contradicts duration {options.duration}",
                param=seconds_param,
                code="conflicting_parameters",
            )
        options = replace(options, duration=duration)
    return options
