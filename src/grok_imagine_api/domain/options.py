"""What clients may ask for (every dialect's vocabulary), and how it maps onto what workers can make.

Parsing refuses only what lies outside every documented range. Matching then picks, per option, the value a
worker will really make: the same one when it can, else the nearest (OPTION_MATCHING=nearest), or a 400 when
only an exact match will do (strict). Each change is recorded as an Adjustment, so every answer can tell the
client what it asked for and what it will get."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .abilities import ACCEPTED_ASPECT_RATIOS as ACCEPTED_ASPECT_RATIOS
from .abilities import ACCEPTED_RESOLUTIONS as ACCEPTED_RESOLUTIONS
from .abilities import DEFAULT_ABILITIES, Abilities, whole_number
from .abilities import PRESETS as PRESETS
from .errors import InvalidRequest
from .jobs import GenerationOptions

HIGHEST = "highest"
# xAI's and the founding document's `duration`: up to 15 in one generation, and up to 60 as a chain of
# segments (domain/segments.py MAX_CHAIN_SECONDS; docs/long-videos.md).
GENERATION_SECONDS = range(1, 61)
EXTENSION_SECONDS = range(2, 11)  # xAI's extension `duration`: the seconds added
OPENAI_SECONDS = range(1, 61)
# OpenAI's `seconds` ("4", "8", "12" in the SDK's type; extend documents up to 20) and the dialects' durations
# reach 60 as long videos (docs/long-videos.md).

# Every size a client may name: (aspect ratio, resolution, exact?). An inexact size has no Grok frame of
# that shape and resolution; it maps to its aspect ratio at the highest resolution available.
SIZES: dict[str, tuple[str, str, bool]] = {
    # Grok Imagine's own frames.
    "1280x720": ("16:9", "720p", True),
    "720x1280": ("9:16", "720p", True),
    "720x720": ("1:1", "720p", True),
    "1080x720": ("3:2", "720p", True),
    "720x1080": ("2:3", "720p", True),
    "848x480": ("16:9", "480p", True),
    "854x480": ("16:9", "480p", True),
    "480x848": ("9:16", "480p", True),
    "480x854": ("9:16", "480p", True),
    "480x480": ("1:1", "480p", True),
    "720x480": ("3:2", "480p", True),
    "480x720": ("2:3", "480p", True),
    # OpenAI's larger sizes and xAI's deprecated ones.
    "1024x1792": ("9:16", HIGHEST, False),
    "1792x1024": ("16:9", HIGHEST, False),
    "1696x960": ("16:9", HIGHEST, False),
    "1920x1080": ("16:9", HIGHEST, False),
}


@dataclass(frozen=True)
class Ask:
    """One option as a client asked for it: the value in our terms, and how the client said it."""

    value: str | int
    param: str  # the client's parameter name: errors and adjustments use it
    given: Any  # what the client sent, as it sent it
    explicit: bool = True  # False: a dialect's default, not something the client said
    exact: bool = True  # False: the client's value itself has no exact Grok equivalent


@dataclass(frozen=True)
class Asked:
    aspect_ratio: Ask | None = None
    resolution: Ask | None = None
    duration: Ask | None = None
    mode: Ask | None = None
    upscale: Ask | None = None  # HD asked (resolution 1080p, quality hd, upscale true): see domain/hd.py

    def fill(self, **defaults: Ask | None) -> Asked:
        """Defaults for the options this request left out."""
        return replace(self, **{name: ask for name, ask in defaults.items() if getattr(self, name) is None})

    def over(self, base: Asked) -> Asked:
        """This request's options, and `base`'s for the ones it left out (a remix keeps its source's)."""
        return self.fill(**{name: getattr(base, name) for name in ("aspect_ratio", "resolution", "duration", "mode")})


@dataclass(frozen=True)
class Adjustment:
    param: str
    requested: Any
    made: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "requested": self.requested, "made": self.made, "message": self.message}


# -- parsing ------------------------------------------------------------------------------------


def _refuse(param: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, param=param, code=f"unsupported_{param.split('.')[-1]}")


def whole_seconds(value: Any, param: str, allowed: range) -> int:
    number = whole_number(value)
    if number is None and isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None or number not in allowed:
        raise _refuse(
            param, f"{param} must be a whole number of seconds from {allowed[0]} to {allowed[-1]}, not {value!r}"
        )
    return number


def seconds_ask(value: Any, param: str, allowed: range) -> Ask:
    return Ask(whole_seconds(value, param, allowed), param, value)


def choice_ask(value: Any, param: str, allowed: tuple[str, ...]) -> Ask:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        raise _refuse(param, f"Unsupported {param} {value!r}; choose one of {', '.join(allowed)}")
    return Ask(text, param, value)


def size_asks(value: Any, param: str = "size") -> tuple[Ask, Ask]:
    """A `WxH` size as an aspect-ratio ask and a resolution ask, both answering to `param`."""
    key = value.strip().lower() if isinstance(value, str) else None
    if key not in SIZES:
        raise _refuse(param, f"Unsupported {param} {value!r}; choose one of {', '.join(SIZES)}")
    aspect, resolution, exact = SIZES[key]
    return Ask(aspect, param, value, exact=exact), Ask(resolution, param, value, exact=exact)


def combine(first: Ask | None, second: Ask | None, name: str) -> Ask | None:
    """Two parameters that say the same thing (size and aspect_ratio, seconds and duration) must agree; a size
    that only means "the highest resolution" leaves the resolution to an explicit `resolution`."""
    if first is None or second is None:
        return first or second
    if first.value == HIGHEST:
        return second
    if first.value != second.value:
        raise InvalidRequest(
            f"{first.param}={first.given!r} means {name} {first.value}, but {second.param}={second.given!r} "
            f"was also given",
            param=first.param,
            code="conflicting_parameters",
        )
    return second if first.param == "size" else first


def asked_options(
    *,
    size: Any = None,
    aspect_ratio: Any = None,
    resolution: Any = None,
    duration: Any = None,
    duration_param: str = "duration",
    duration_range: range = GENERATION_SECONDS,
    seconds: Any = None,
    mode: Any = None,
) -> Asked:
    """Parse every dialect's option parameters; absent and empty values are left out."""

    def given(value: Any) -> bool:
        return value is not None and value != ""

    size_aspect, size_resolution = size_asks(size) if given(size) else (None, None)
    return Asked(
        aspect_ratio=combine(
            size_aspect,
            choice_ask(aspect_ratio, "aspect_ratio", ACCEPTED_ASPECT_RATIOS) if given(aspect_ratio) else None,
            "aspect_ratio",
        ),
        resolution=combine(
            size_resolution,
            choice_ask(resolution, "resolution", ACCEPTED_RESOLUTIONS) if given(resolution) else None,
            "resolution",
        ),
        duration=combine(
            seconds_ask(seconds, "seconds", OPENAI_SECONDS) if given(seconds) else None,
            seconds_ask(duration, duration_param, duration_range) if given(duration) else None,
            "duration",
        ),
        mode=choice_ask(mode, "mode", PRESETS) if given(mode) else None,
    )


def default(value: str | int, param: str) -> Ask:
    return Ask(value, param, value, explicit=False)


OPENAI_DEFAULTS = {
    "duration": default(4, "seconds"),
    "aspect_ratio": default("9:16", "size"),
    "resolution": default("720p", "size"),
}
XAI_DEFAULTS = {
    "duration": default(8, "duration"),
    "aspect_ratio": default("16:9", "aspect_ratio"),
    "resolution": default("480p", "resolution"),
}
EXTENSION_DEFAULTS = {"duration": default(6, "duration")}


def from_options(options: GenerationOptions) -> Asked:
    """A job's resolved options as asks (a remix keeps its source's options unless it says otherwise)."""
    values = options.to_dict()
    return Asked(**{name: default(value, name) for name, value in values.items() if value is not None})


# -- matching ---------------------------------------------------------------------------------


def _aspect(value: str) -> float:
    width, height = value.split(":")
    return math.log(float(width) / float(height))


def _nearest_duration(asked: int, available: tuple[int, ...]) -> int:
    return min(available, key=lambda d: (abs(d - asked), -d))  # a tie goes to the longer


def _nearest_aspect(asked: str, available: tuple[str, ...]) -> str:
    return min(available, key=lambda a: abs(_aspect(a) - _aspect(asked)))


def _resolution_rank(value: str) -> int:
    return int(value.rstrip("p"))


def _nearest_resolution(asked: str, available: tuple[str, ...]) -> str:
    if asked == HIGHEST:
        return max(available, key=_resolution_rank)
    return min(available, key=lambda r: (abs(_resolution_rank(r) - _resolution_rank(asked)), -_resolution_rank(r)))


@dataclass(frozen=True)
class _Fit:
    options: GenerationOptions
    cost: float
    worker: Abilities


def _duration_cost(asked: int | str, made: int | str) -> float:
    return abs(int(asked) - int(made))


def _aspect_cost(asked: int | str, made: int | str) -> float:
    return 10 * abs(_aspect(str(asked)) - _aspect(str(made)))


def _resolution_cost(asked: int | str, made: int | str) -> float:
    return 0.0 if asked in (HIGHEST, made) else 1.0


def _fit(asked: Asked, worker: Abilities, strict: bool) -> _Fit | None:
    """The options `worker` would make for `asked`, and how far they are from it; None if it cannot at all."""
    cost = 0.0
    chosen: dict[str, Any] = {}
    if asked.mode is not None:
        if asked.mode.value not in worker.presets:
            return None  # a preset is never swapped for another
        chosen["mode"] = asked.mode.value
    dimensions: list[tuple[str, tuple[Any, ...], Callable[[Any, Any], Any], Callable[[Any, Any], float]]] = [
        ("duration", worker.durations, _nearest_duration, _duration_cost),
        ("aspect_ratio", worker.aspect_ratios, _nearest_aspect, _aspect_cost),
        ("resolution", worker.resolutions, _nearest_resolution, _resolution_cost),
    ]
    for name, available, nearest, distance in dimensions:
        ask: Ask | None = getattr(asked, name)
        if ask is None:
            continue
        if strict and ask.explicit:
            chosen[name] = ask.value  # never changed: the job waits for a worker that has it
            cost += 0 if ask.value in available else 100
            continue
        if not available:
            return None
        value = nearest(ask.value, available)
        chosen[name] = value
        cost += distance(ask.value, value)
    return _Fit(GenerationOptions(**chosen), cost, worker)


def check_strict(asked: Asked) -> None:
    """OPTION_MATCHING=strict: what the client said must be exactly what the default table makes."""
    table = DEFAULT_ABILITIES
    for name, available in (
        ("aspect_ratio", table.aspect_ratios),
        ("resolution", table.resolutions),
        ("duration", table.durations),
    ):
        ask: Ask | None = getattr(asked, name)
        if ask is None or not ask.explicit:
            continue
        if not ask.exact or ask.value not in available:
            raise InvalidRequest(
                f"Grok Imagine cannot make exactly {ask.param}={ask.given!r} (OPTION_MATCHING=strict); it makes "
                f"{describe_table(name)}",
                param=ask.param,
                code="no_exact_match",
            )


def describe_table(name: str) -> str:
    table = DEFAULT_ABILITIES
    if name == "duration":
        return " or ".join(f"{d} s" for d in table.durations) + " videos"
    if name == "aspect_ratio":
        return "aspect ratios " + ", ".join(table.aspect_ratios)
    return "resolutions " + ", ".join(table.resolutions)


def match(
    asked: Asked, workers: list[Abilities], *, strict: bool, noun: str = "videos"
) -> tuple[GenerationOptions, list[Adjustment]]:
    """The options that will be made, chosen among `workers` (the default table when empty)."""
    if strict:
        check_strict(asked)
    pool = workers or [DEFAULT_ABILITIES]
    fits = [fit for worker in pool if (fit := _fit(asked, worker, strict)) is not None]
    if not fits:
        # No worker has the preset: match the rest as if it were not asked (against the default table if need
        # be), keep the preset, and let the job wait for a worker that has it; its waiting_reason says so.
        plain = replace(asked, mode=None)
        fits = [fit for worker in [*pool, DEFAULT_ABILITIES] if (fit := _fit(plain, worker, strict)) is not None]
        preset = str(asked.mode.value) if asked.mode else None
        fits = [replace(fit, options=replace(fit.options, mode=preset)) for fit in fits]
    best = min(fits, key=lambda fit: fit.cost)
    return best.options, adjustments(asked, best.options, best.worker, noun=noun)


def _asks(asked: Asked) -> list[tuple[str, Ask]]:
    return [(name, ask) for name in ("aspect_ratio", "resolution", "duration", "mode") if (ask := getattr(asked, name))]


def size_of(options: GenerationOptions) -> str | None:
    for size, (aspect, resolution, exact) in SIZES.items():
        if exact and options.aspect_ratio == aspect and options.resolution == resolution:
            return size
    return None


def _listed(values: tuple[Any, ...], last: str = "or") -> str:
    words = [str(value) for value in values]
    return f"{', '.join(words[:-1])} {last} {words[-1]}" if len(words) > 1 else "".join(words)


def adjustments(
    asked: Asked, options: GenerationOptions, worker: Abilities = DEFAULT_ABILITIES, *, noun: str = "videos"
) -> list[Adjustment]:
    """One entry per parameter the client gave whose value will not be made as given."""
    changed: dict[str, list[str]] = {}
    for name, ask in _asks(asked):
        if ask.explicit and (getattr(options, name) != ask.value or not ask.exact):
            changed.setdefault(ask.param, []).append(name)
    who = "Grok Imagine makes" if worker == DEFAULT_ABILITIES else "The connected workers make"
    found = []
    made: Any
    for param, names in changed.items():
        ask = next(ask for name, ask in _asks(asked) if ask.param == param)
        if param == "size" and noun == "images":
            made = options.aspect_ratio
            message = (
                f"{who} {_listed(worker.aspect_ratios)} images, at a pixel size of Grok's choosing; {ask.given} "
                f"became {made}, the nearest shape"
            )
        elif param == "size":
            made = size_of(options) or f"{options.aspect_ratio} at {options.resolution}"
            message = (
                f"{who} no {ask.given} frame; {ask.given} became {made} ({options.aspect_ratio}, {options.resolution})"
            )
        elif "duration" in names:
            made = str(options.duration) if param == "seconds" else options.duration
            message = f"{who} {_listed(worker.durations)} second videos; {ask.given} became {options.duration}"
        elif "aspect_ratio" in names:
            made = options.aspect_ratio
            message = f"{who} {_listed(worker.aspect_ratios)} {noun}; {ask.given} became {made}, the nearest shape"
        else:
            made = getattr(options, names[0])
            message = f"{who} {_listed(worker.resolutions)} videos; {ask.given} became {made}"
        found.append(Adjustment(param, ask.given, made, message))
    return found
