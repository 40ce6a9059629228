"""The answer of the Images API routes (api/images.py): OpenAI's `{created, data}`, and what was made of the ask."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..views import Adjustments, Options, Requested


class ImageData(BaseModel):
    url: str | None = Field(None, description="With response_format url: a link to the image")
    b64_json: str | None = Field(None, description="With response_format b64_json: the image, base64")
    revised_prompt: str = Field(description="The prompt as sent to Grok")
    content_type: str = Field(description="image/png, image/jpeg or image/webp")
    width: int | None
    height: int | None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
    id: str = Field(description="The job: GET /jobs/{id}")
    model: str
    n: int = Field(description="How many images were asked; `data` may hold fewer (an adjustment says so)")
    options: Options
    requested: Requested
    adjustments: Adjustments


class ImageEntry(BaseModel):
    index: int
    url: str
    content_type: str
    width: int | None
    height: int | None
    bytes: int


ImageList = list[ImageEntry]
__all__ = ["Any", "ImageData", "ImageEntry", "ImageList", "ImagesResponse"]
