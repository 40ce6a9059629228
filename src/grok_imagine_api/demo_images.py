"""Images the demo worker uploads for an image job: of the job's aspect ratio, each with the prompt and "i/n"
drawn on it, so that a person can tell which is which. A generated image is a gradient of colours picked by the
job and the index (a PNG); an edit is the source image, scaled and cropped to the frame, written on (a JPEG, as
a photo compresses better so)."""

from __future__ import annotations

import hashlib
import io
import math

from PIL import Image, ImageDraw, ImageFont, ImageOps

LONG_SIDE = 1024
DEFAULT_ASPECT_RATIO = "1:1"
MIN_TEXT_PX = 12
ELLIPSIS = "…"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class UnreadableSource(Exception):
    """The source image of an edit does not decode."""


def image_size(aspect_ratio: str | None, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """Width and height of `aspect_ratio` ("16:9", "19.5:9"; none or "auto" is 1:1) with `long_side` pixels on
    its longer side."""
    width, height = _ratio(aspect_ratio or DEFAULT_ASPECT_RATIO)
    if width >= height:
        return long_side, max(1, round(long_side * height / width))
    return max(1, round(long_side * width / height)), long_side


def _ratio(aspect_ratio: str) -> tuple[float, float]:
    try:
        width, height = (float(part) for part in aspect_ratio.split(":"))
    except ValueError:
        return 1.0, 1.0  # "auto", or anything the server did not resolve: a square
    if not (width > 0 and height > 0 and math.isfinite(width / height)):
        return 1.0, 1.0
    return width, height


def colours(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Two colours picked by `seed`, dark enough for white text."""
    digest = hashlib.sha256(seed.encode()).digest()
    first = (40 + digest[0] % 140, 40 + digest[1] % 140, 40 + digest[2] % 140)
    second = (40 + digest[3] % 140, 40 + digest[4] % 140, 40 + digest[5] % 140)
    return first, second


def background(size: tuple[int, int], seed: str) -> Image.Image:
    """A gradient from one colour at the top to another at the bottom."""
    top, bottom = colours(seed)
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def fitted_source(source: bytes, size: tuple[int, int]) -> Image.Image:
    """The source image scaled and centre-cropped to fill `size`."""
    try:
        with Image.open(io.BytesIO(source)) as opened:
            opened.load()
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableSource(f"the source image could not be read ({exc})") from None
    return ImageOps.fit(picture, size, method=Image.Resampling.LANCZOS)


def source_aspect_ratio(source: bytes) -> str | None:
    """ "W:H" of the source image (its pixel size), or None if it does not even open."""
    try:
        with Image.open(io.BytesIO(source)) as opened:
            width, height = ImageOps.exif_transpose(opened).size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return f"{width}:{height}" if width and height else None


def font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def text_width(draw: ImageDraw.ImageDraw, text: str, face: Font) -> float:
    return draw.textlength(text, font=face)


def wrap(draw: ImageDraw.ImageDraw, text: str, face: Font, width: float) -> list[str]:
    """Lines no wider than `width`: words kept whole where they fit, a longer word cut where it must be."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if text_width(draw, candidate, face) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if line and text_width(draw, line + char, face) > width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
    return lines


def shortened(draw: ImageDraw.ImageDraw, line: str, face: Font, width: float) -> str:
    """`line` ending in an ellipsis, cut until it fits `width`."""
    while line and text_width(draw, line + ELLIPSIS, face) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def prompt_lines(
    draw: ImageDraw.ImageDraw, prompt: str, width: float, height: float, largest: int
) -> tuple[Font, list[str], int]:
    """The largest text size (from `largest` down) at which the wrapped prompt fits `width` x `height`; at the
    smallest, the lines that fit, the last one cut with an ellipsis. Returns the font, lines and line height."""
    size = largest
    while True:
        face = font(size)
        line_height = round(size * 1.25)
        lines = wrap(draw, prompt, face, width)
        room = max(1, int(height // line_height))
        if len(lines) <= room:
            return face, lines, line_height
        if size <= MIN_TEXT_PX:
            kept = lines[:room]
            kept[-1] = shortened(draw, kept[-1], face, width)
            return face, kept, line_height
        size = max(MIN_TEXT_PX, int(size * 0.85))


def write_on(picture: Image.Image, prompt: str, index: int, n: int) -> None:
    """Draw "index/n" large at the top and the prompt, wrapped, below it: white with a dark outline, legible on
    any picture."""
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    short = min(width, height)
    margin = max(4, short // 16)
    label_size = max(MIN_TEXT_PX, short // 7)
    label = f"{index}/{n}"
    draw.text(
        (margin, margin),
        label,
        font=font(label_size),
        fill="white",
        stroke_width=max(1, label_size // 18),
        stroke_fill="black",
    )
    top = margin + round(label_size * 1.4)
    face, lines, line_height = prompt_lines(
        draw, prompt, width - 2 * margin, height - top - margin, max(MIN_TEXT_PX, short // 14)
    )
    stroke = max(1, line_height // 16)
    for number, line in enumerate(lines):
        draw.text(
            (margin, top + number * line_height),
            line,
            font=face,
            fill="white",
            stroke_width=stroke,
            stroke_fill="black",
        )


def make_image(
    prompt: str,
    index: int,
    n: int,
    *,
    aspect_ratio: str | None = None,
    source: bytes | None = None,
    seed: str = "",
    long_side: int = LONG_SIDE,
) -> bytes:
    """Image `index` (1-based) of `n`: a PNG on a gradient picked by `seed` and `index`, or, with `source`, a
    JPEG of the source scaled to the frame (the frame of the source's own shape when no ratio is asked)."""
    if source is not None and aspect_ratio is None:
        aspect_ratio = source_aspect_ratio(source)
    size = image_size(aspect_ratio, long_side)
    picture = fitted_source(source, size) if source is not None else background(size, f"{seed}/{index}")
    write_on(picture, prompt, index, n)
    out = io.BytesIO()
    if source is not None:
        picture.save(out, format="JPEG", quality=88)
    else:
        picture.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def make_images(
    prompt: str,
    n: int,
    *,
    aspect_ratio: str | None = None,
    source: bytes | None = None,
    seed: str = "",
    long_side: int = LONG_SIDE,
) -> list[bytes]:
    """`n` images (at least one), each different: its own "i/n", and for a generation its own colours."""
    count = max(1, n)
    return [
        make_image(prompt, index, count, aspect_ratio=aspect_ratio, source=source, seed=seed, long_side=long_side)
        for index in range(1, count + 1)
    ]
