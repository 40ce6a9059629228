"""What clients may ask of an image job (OpenAI's and xAI's Images APIs) and what Grok's page can honour. Pure.

The shape is matched like a video's (domain/options.py): an `aspect_ratio`, or a `size`'s ratio, becomes the
nearest ratio a worker makes, and the change is an Adjustment. What Grok has no control for (quality, style,
output format, a mask) is accepted and said, never silently dropped."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidRequest
from .jobs import MAX_IMAGES
from .options import Adjustment, Ask, Asked

# xAI's documented ratios, and "auto"; OpenAI's sizes are any WxH (and "auto").
XAI_ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "3:2",
    "2:3",
    "4:3",
    "3:4",
    "2:1",
    "1:2",
    "19.5:9",
    "9:19.5",
    "20:9",
    "9:20",
)
RESPONSE_FORMATS = ("url", "b64_json")
SIZE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
# Options Grok's page has no control for: accepted, and said when a value other than the default is asked.
UNCONTROLLED = {
    "quality": ("auto", "standard"),
    "resolution": (),
    "style": (),
    "output_format": (),
    "background": ("auto",),
    "output_compression": (),
    "moderation": ("auto",),
}
UNCONTROLLED_MESSAGES = {
    "quality": "Grok Imagine makes images at one quality",
    "resolution": "Grok Imagine chooses the pixel size of its images; each image's width and height say it",
    "style": "Grok Imagine has no style setting; describe the style in the prompt",
    "output_format": "Grok Imagine chooses the file format; each image's content_type says which it is",
    "background": "Grok Imagine has no background setting",
    "output_compression": "Grok Imagine chooses the compression of its images",
    "moderation": "Grok Imagine applies its own moderation",
}


@dataclass(frozen=True)
class ImageAsk:
    """An image request's options, parsed."""

    n: int
    response_format: str
    asked: Asked
    notes: list[Adjustment] = field(default_factory=list)


def parse_image_request(fields: dict[str, Any], *, edit_images: int = 0, mask: bool = False) -> ImageAsk:
    n = _count(fields.get("n"))
    model = fields.get("model")
    response_format = fields.get("response_format")
    if response_format is None or response_format == "":
        # OpenAI answers gpt-image models in base64 only; the others default to links.
        response_format = "b64_json" if isinstance(model, str) and model.startswith("gpt-image") else "url"
    if response_format not in RESPONSE_FORMATS:
        raise InvalidRequest(
            f"Unsupported response_format {response_format!r}; use url or b64_json",
            param="response_format",
            code="unsupported_response_format",
        )
    if fields.get("stream") not in (None, False, "", "false", "False"):
        raise InvalidRequest(
            "stream is not supported: Grok Imagine hands over finished images only; leave it out to get them all "
            "at once",
            param="stream",
            code="unsupported_parameter",
        )
    for name in ("user", "model"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise InvalidRequest(f"'{name}' must be a string", param=name)
    notes = []
    for name, defaults in UNCONTROLLED.items():
        value = fields.get(name)
        if value in (None, "", *defaults):
            continue
        kind = int if name == "output_compression" else str
        if kind is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # a form field, as the SDK sends edits
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidRequest(f"'{name}' must be {'a whole number' if kind is int else 'a string'}", param=name)
        notes.append(Adjustment(name, value, None, UNCONTROLLED_MESSAGES[name]))
    if edit_images > 1:
        notes.append(
            Adjustment(
                "image",
                edit_images,
                1,
                f"Grok Imagine edits one image at a time; the first of the {edit_images} was used",
            )
        )
    if mask:
        notes.append(
            Adjustment(
                "mask", "given", None, "Grok Imagine's page cannot apply a mask; the prompt alone says what to change"
            )
        )
    return ImageAsk(n=n, response_format=response_format, asked=Asked(aspect_ratio=_shape(fields)), notes=notes)


def _count(value: Any) -> int:
    if value is None or value == "":
        return 1
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_IMAGES:
        raise InvalidRequest(
            f"n must be a whole number from 1 to {MAX_IMAGES}, not {value!r}", param="n", code="unsupported_n"
        )
    return number


def _shape(fields: dict[str, Any]) -> Ask | None:
    """The asked aspect ratio: xAI's `aspect_ratio`, else the ratio of OpenAI's `size`; None for auto. Both are
    checked when both are given."""
    by_size = _size_shape(fields.get("size"))
    aspect = fields.get("aspect_ratio")
    if aspect not in (None, "", "auto"):
        if not isinstance(aspect, str) or aspect.strip() not in XAI_ASPECT_RATIOS:
            raise InvalidRequest(
                f"Unsupported aspect_ratio {aspect!r}; choose one of {', '.join(XAI_ASPECT_RATIOS)} or auto",
                param="aspect_ratio",
                code="unsupported_aspect_ratio",
            )
        return Ask(aspect.strip(), "aspect_ratio", aspect)
    return by_size


def _size_shape(size: Any) -> Ask | None:
    if size in (None, "", "auto"):
        return None
    match = SIZE.match(size.strip().lower()) if isinstance(size, str) else None
    if match is None:
        raise InvalidRequest(
            f"Unsupported size {size!r}; use WIDTHxHEIGHT (e.g. 1024x1024) or auto",
            param="size",
            code="unsupported_size",
        )
    width, height = int(match.group(1)), int(match.group(2))
    divisor = math.gcd(width, height)
    return Ask(f"{width // divisor}:{height // divisor}", "size", size)
