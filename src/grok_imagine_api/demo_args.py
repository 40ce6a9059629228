"""The demo worker's ability flags: by default it declares everything it can fake; each flag narrows a list."""

from __future__ import annotations

import argparse
from typing import Any

from .domain.abilities import DEFAULT_ABILITIES, FEATURES, KINDS, SOURCES

FLAGS = {
    "kinds": ("--kinds", KINDS, "job kinds to take"),
    "sources": ("--sources", SOURCES, "where extends, remixes and edits may start from"),
    "durations": ("--durations", DEFAULT_ABILITIES.durations, "video lengths in seconds"),
    "aspect_ratios": ("--aspect-ratios", DEFAULT_ABILITIES.aspect_ratios, "aspect ratios"),
    "resolutions": ("--resolutions", DEFAULT_ABILITIES.resolutions, "resolutions"),
    "presets": ("--presets", DEFAULT_ABILITIES.presets, "presets"),
    "features": ("--features", FEATURES, "extras: upscale (an HD file beside the video; `none` for no extras)"),
}


def add_ability_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("abilities (comma-separated; each narrows what the worker declares)")
    for name, (flag, default, help_text) in FLAGS.items():
        everything = ",".join(str(value) for value in default)
        group.add_argument(flag, dest=name, metavar="LIST", help=f"{help_text} (default: {everything})")


def abilities_from(args: argparse.Namespace) -> dict[str, Any]:
    """What the worker declares: every field, narrowed where a flag says so."""
    declared: dict[str, Any] = {}
    for name, (_, default, _) in FLAGS.items():
        value = getattr(args, name, None)
        if name == "features" and value is not None and value.strip().lower() == "none":
            declared[name] = []
            continue
        declared[name] = [part.strip() for part in value.split(",") if part.strip()] if value else list(default)
    return declared
