"""The founding document's create body, which xAI's body shares the path with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...domain.jobs import Dialect


class ImageRef(BaseModel):
    url: str = Field(min_length=1)


class CreateGeneration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field("grok", min_length=1, max_length=200)
    prompt: str
    image: str | ImageRef | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: Any = None  # checked by the option parser: whole seconds, not true, not 6.5
    mode: str | None = None
    size: str | None = None
    quality: Any = None  # "hd" asks for Grok's HD upscale, as `upscale` true and `resolution` "1080p" do
    upscale: Any = None
    reference_images: list[Any] | None = None
    segments: Any = None  # a long video's [{prompt, seconds}, ...] (docs/long-videos.md)
    max_attempts: Any = None  # checked by the service: 1 to 10 (docs/retries.md)
    user: str | None = None

    @property
    def dialect(self) -> Dialect:
        """xAI's body names an image by URL object, a duration or a size, or a grok-imagine model."""
        xai = (
            isinstance(self.image, ImageRef)
            or self.duration is not None
            or self.size is not None
            or self.model.startswith("grok-imagine")
        )
        return Dialect.XAI if xai else Dialect.SEED

    @property
    def xai_defaults(self) -> bool:
        """xAI's documented bodies name its model; only those get xAI's defaults for what they leave out. The
        founding document's bodies (and the CLI's) leave unset options to the worker's page."""
        return self.model.startswith("grok-imagine")
