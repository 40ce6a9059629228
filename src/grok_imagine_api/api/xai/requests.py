"""xAI's create body on the founding document's path: its options, and xAI's defaults for those left out."""

from __future__ import annotations

from ...domain.hd import hd_fields, with_hd
from ...domain.options import XAI_DEFAULTS, Asked, asked_options
from ..seed.requests import CreateGeneration


def generation_asked(body: CreateGeneration) -> Asked:
    """`duration` 1..15, `aspect_ratio`, `resolution`, the deprecated `size`; a body naming a grok-imagine model
    gets xAI's defaults (8 s, 16:9, 480p) for what it leaves out. HD: `resolution` 1080p, `quality` hd or
    `upscale` true (domain/hd.py)."""
    resolution, hd = hd_fields(resolution=body.resolution, quality=body.quality, upscale=body.upscale)
    asked = asked_options(
        size=body.size,
        aspect_ratio=body.aspect_ratio,
        resolution=resolution,
        duration=body.duration,
        mode=body.mode,
    )
    return with_hd(asked.fill(**XAI_DEFAULTS) if body.xai_defaults else asked, hd)
