"""What a worker can make, what a job needs, and why a job is still waiting. Pure: no I/O.

A job's needs and a worker's abilities are both sets of tokens ("kind:extend", "duration:10", ...): a worker
may take a job when the job's needs are a subset of its abilities."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import InvalidRequest
from .jobs import UPSCALE_NEED, GenerationOptions, JobKind, Media

KINDS = ("text_to_video", "image_to_video", "extend", "remix", "edit", "text_to_image", "image_to_image")
# The kinds that make images; a worker polling for videos only (`mode=video`) is not offered them, and the other
# way round (`mode=image`).
IMAGE_KINDS = frozenset({"kind:text_to_image", "kind:image_to_image"})
MODES = ("video", "image")
SOURCES = ("grok", "upload")
# The documented vocabulary: what a worker may declare (a subset of it) and what clients may ask for.
ACCEPTED_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
ACCEPTED_RESOLUTIONS = ("480p", "720p")
DECLARABLE_DURATIONS = range(1, 21)
PRESETS = ("normal", "fun", "spicy", "custom")
# What a worker can do besides making the video: `upscale` (Grok's HD upscale, docs/hd.md). Never in the default
# table: a worker that does not say it can upscale never gets a job that asks for HD.
FEATURES = ("upscale",)


@dataclass(frozen=True)
class Abilities:
    kinds: tuple[str, ...] = ("text_to_video", "image_to_video")
    sources: tuple[str, ...] = ()
    durations: tuple[int, ...] = (6, 10)
    aspect_ratios: tuple[str, ...] = ("2:3", "3:2", "1:1", "9:16", "16:9")
    resolutions: tuple[str, ...] = ("480p", "720p")
    presets: tuple[str, ...] = PRESETS
    features: tuple[str, ...] = ()

    def tokens(self) -> frozenset[str]:
        return frozenset(
            [f"kind:{k}" for k in self.kinds]
            + [f"source:{s}" for s in self.sources]
            + [f"duration:{d}" for d in self.durations]
            + [f"aspect_ratio:{a}" for a in self.aspect_ratios]
            + [f"resolution:{r}" for r in self.resolutions]
            + [f"preset:{p}" for p in self.presets]
            + [f"feature:{f}" for f in self.features]
        )

    def to_dict(self) -> dict[str, list[str] | list[int]]:
        return {
            "kinds": list(self.kinds),
            "sources": list(self.sources),
            "durations": list(self.durations),
            "aspect_ratios": list(self.aspect_ratios),
            "resolutions": list(self.resolutions),
            "presets": list(self.presets),
            "features": list(self.features),
        }


# What Grok Imagine's page makes today: assumed of a worker that declares nothing (the founding document's
# extension, curl), and the table options are matched against when no worker is connected.
DEFAULT_ABILITIES = Abilities()
DEFAULT_TOKENS = DEFAULT_ABILITIES.tokens()

VOCABULARY: dict[str, tuple[object, ...]] = {
    "kinds": KINDS,
    "sources": SOURCES,
    "durations": tuple(DECLARABLE_DURATIONS),
    "aspect_ratios": ACCEPTED_ASPECT_RATIOS,
    "resolutions": ACCEPTED_RESOLUTIONS,
    "presets": PRESETS,
    "features": FEATURES,
}


ABILITY_FIELDS = tuple(VOCABULARY)


def parse_abilities(declared: Mapping[str, object]) -> Abilities:
    """A worker's declaration: lists (or comma-separated strings) per field; omitted fields keep the default
    table. Values outside the documented vocabulary are a 400 naming the field, so a typo is not silently lost."""
    unknown = sorted(set(declared) - set(VOCABULARY))
    if unknown:
        raise InvalidRequest(
            f"Unknown abilities field {unknown[0]!r}; use {', '.join(VOCABULARY)}",
            param=f"abilities.{unknown[0]}",
            code="invalid_abilities",
        )
    values: dict[str, tuple[object, ...]] = {}
    for name, allowed in VOCABULARY.items():
        if name not in declared or declared[name] is None:
            continue
        raw = declared[name]
        items: Iterable[object]
        if isinstance(raw, str):
            items = [part.strip() for part in raw.split(",") if part.strip()]
        elif isinstance(raw, list):
            items = raw
        else:
            raise InvalidRequest(
                f"abilities.{name} must be a list", param=f"abilities.{name}", code="invalid_abilities"
            )
        chosen: list[object] = []
        for item in items:
            value: object = whole_number(item) if name == "durations" else item
            if value is None or isinstance(value, bool) or value not in allowed:
                raise InvalidRequest(
                    f"abilities.{name} has {item!r}; allowed: {', '.join(str(a) for a in allowed)}",
                    param=f"abilities.{name}",
                    code="invalid_abilities",
                )
            if value not in chosen:
                chosen.append(value)
        values[name] = tuple(chosen)
    return Abilities(**values)  # type: ignore[arg-type]


def whole_number(value: object) -> int | None:
    """An int, or a string of ASCII digits (at most three: no length here needs more); None for anything else,
    booleans and floats included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}", value.strip()):
        return int(value.strip())
    return None


def kind_needs(kind: JobKind, *, has_image: bool, grok_source: bool, media: Media = Media.VIDEO) -> list[str]:
    """What the kind of job asks of a worker: the kind itself and, for derived jobs, where the source lives."""
    if media is Media.IMAGE:
        return ["kind:image_to_image" if has_image else "kind:text_to_image"]
    if kind is JobKind.GENERATE:
        return ["kind:image_to_video" if has_image else "kind:text_to_video"]
    return [f"kind:{kind.value}", "source:grok" if grok_source else "source:upload"]


def option_needs(options: GenerationOptions) -> list[str]:
    needs = []
    if options.duration is not None:
        needs.append(f"duration:{options.duration}")
    if options.aspect_ratio is not None:
        needs.append(f"aspect_ratio:{options.aspect_ratio}")
    if options.resolution is not None:
        needs.append(f"resolution:{options.resolution}")
    if options.mode is not None:
        needs.append(f"preset:{options.mode}")
    return needs


_NEED_TEXT = {
    "kind:text_to_video": "can make videos from text",
    "kind:image_to_video": "can make videos from an image",
    "kind:extend": "can extend videos",
    "kind:remix": "can remix videos",
    "kind:edit": "can edit videos",
    "kind:text_to_image": "can make images",
    "kind:image_to_image": "can edit images",
    "source:grok": "can open a Grok post",
    "source:upload": "can start from an uploaded video",
    UPSCALE_NEED: "can upscale videos to HD",
}


def describe_need(need: str) -> str:
    if need in _NEED_TEXT:
        return _NEED_TEXT[need]
    name, _, value = need.partition(":")
    if name == "duration":
        return f"can make {value} s videos"
    if name == "aspect_ratio":
        return f"can make {value} videos"
    if name == "resolution":
        return f"can make {value} videos"
    if name == "preset":
        return f"has the {value} preset"
    return f"has {need}"


def waiting_reason(needs: Iterable[str], connected: list[frozenset[str]]) -> str | None:
    """Why no connected worker can take a job with these needs (None when one can).

    With no worker connected, the default table stands in: a plain job is simply queued, while a job the
    default table cannot make (an extend, say) already has its reason."""
    wanted = frozenset(needs)
    pool = connected or [DEFAULT_TOKENS]
    if any(wanted <= tokens for tokens in pool):
        return None
    # Name what the closest worker lacks: the one missing the fewest needs.
    missing = min((sorted(wanted - tokens) for tokens in pool), key=len)
    kinds_first = sorted(missing, key=lambda need: (not need.startswith(("kind:", "source:")), need))
    return "waiting for a worker that " + " and ".join(describe_need(need) for need in kinds_first)


def parse_modes(mode: str | None) -> frozenset[str]:
    """A poll's `mode`: `video` (the default), `image`, or both (`video,image`; `any` too)."""
    if mode is None or not mode.strip():
        return frozenset({"video"})
    parts = {part.strip() for part in mode.split(",") if part.strip()}
    if parts == {"any"}:
        return frozenset(MODES)
    unknown = sorted(parts - set(MODES))
    if unknown or not parts:
        raise InvalidRequest(
            f"Unsupported mode {mode!r}; use video, image or video,image", param="mode", code="invalid_mode"
        )
    return frozenset(parts)


def for_modes(tokens: frozenset[str], modes: frozenset[str]) -> frozenset[str]:
    """A worker's tokens narrowed to the media it polls for now."""
    if "image" not in modes:
        tokens = tokens - IMAGE_KINDS
    if "video" not in modes:
        tokens = frozenset(token for token in tokens if not token.startswith("kind:") or token in IMAGE_KINDS)
    return tokens
