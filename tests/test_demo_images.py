"""The demo worker's images: the asked shape, the prompt and "i/n" drawn on them, real PNGs (or JPEGs for edits)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageChops

from grok_imagine_api.demo_images import (
    LONG_SIDE,
    UnreadableSource,
    image_size,
    make_image,
    make_images,
    wrap,
)
from grok_imagine_api.demo_worker import images_for
from grok_imagine_api.domain.images import check_image

SMALL = 256


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def differing_pixels(first: bytes, second: bytes) -> int:
    """How many pixels differ between two images of the same size."""
    difference = ImageChops.difference(opened(first).convert("RGB"), opened(second).convert("RGB")).convert("L")
    return sum(count for value, count in enumerate(difference.histogram()) if value > 16)


@pytest.mark.parametrize(
    ("aspect_ratio", "size"),
    [
        (None, (1024, 1024)),
        ("auto", (1024, 1024)),
        ("1:1", (1024, 1024)),
        ("16:9", (1024, 576)),
        ("9:16", (576, 1024)),
        ("3:2", (1024, 683)),
        ("2:3", (683, 1024)),
        ("19.5:9", (1024, 473)),
        ("nonsense", (1024, 1024)),
    ],
)
def test_sizes_follow_the_aspect_ratio_with_the_long_side_fixed(
    aspect_ratio: str | None, size: tuple[int, int]
) -> None:
    assert image_size(aspect_ratio) == size
    assert max(image_size(aspect_ratio, 300)) == 300


@pytest.mark.parametrize("aspect_ratio", ["1:1", "16:9", "9:16", "3:2", "2:3"])
def test_each_image_is_a_whole_png_of_the_asked_shape(aspect_ratio: str) -> None:
    data = make_image("a lighthouse at dawn", 1, 1, aspect_ratio=aspect_ratio, long_side=SMALL)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    picture = opened(data)
    assert (picture.format, picture.size) == ("PNG", image_size(aspect_ratio, SMALL))
    assert check_image(data, max_bytes=len(data)).mime == "image/png"  # what the server checks of an upload


def test_the_default_size_is_1024_on_the_long_side() -> None:
    assert opened(make_image("a cat", 1, 1, aspect_ratio="16:9")).size == (LONG_SIDE, 576)


def test_the_prompt_is_drawn_so_different_prompts_make_different_images() -> None:
    cat = make_image("a cat", 1, 1, seed="same", long_side=SMALL)
    dog = make_image("a dog on a skateboard", 1, 1, seed="same", long_side=SMALL)
    again = make_image("a cat", 1, 1, seed="same", long_side=SMALL)
    assert cat == again  # the same job is drawn the same way
    assert differing_pixels(cat, dog) > 100


def test_n_images_are_all_different_and_say_which_they_are() -> None:
    images = make_images("a lighthouse", 4, aspect_ratio="3:2", seed="job_1", long_side=SMALL)
    assert len(images) == 4
    assert len(set(images)) == 4
    for first in range(4):
        for second in range(first + 1, 4):
            assert differing_pixels(images[first], images[second]) > 100
    # "2/4" differs from "1/4" even on the same background: the index is drawn.
    assert make_image("x", 1, 4, seed="s", long_side=SMALL) != make_image("x", 2, 4, seed="s", long_side=SMALL)
    assert len(make_images("at least one", 0, long_side=SMALL)) == 1


def test_a_long_prompt_is_wrapped_inside_the_image() -> None:
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    face = ImageFont.load_default(size=20)
    lines = wrap(draw, "a lighthouse at dawn with gulls " * 5 + "x" * 80, face, 200)
    assert len(lines) > 3
    assert all(draw.textlength(line, font=face) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == ("a lighthouse at dawn with gulls " * 5 + "x" * 80).replace(" ", "")
    # Far too long for the frame: drawn anyway, cut with an ellipsis, still a whole image.
    data = make_image("word " * 2000, 1, 1, long_side=128)
    assert opened(data).size == (128, 128)


def test_an_edit_draws_on_the_source_scaled_to_the_frame() -> None:
    source = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(source, format="PNG")
    edits = make_images("make it blue", 2, source=source.getvalue(), seed="e", long_side=SMALL)
    first = opened(edits[0])
    assert (first.format, first.size) == ("JPEG", (256, 171))  # the source's shape when no ratio is asked
    red, green, blue = first.convert("RGB").getpixel((first.width - 2, first.height - 2))  # type: ignore[misc]
    assert red > 150 and green < 80 and blue < 80  # the source shows through
    assert edits[0] != edits[1]
    square = opened(make_image("crop it", 1, 1, aspect_ratio="9:16", source=source.getvalue(), long_side=SMALL))
    assert square.size == image_size("9:16", SMALL)
    with pytest.raises(UnreadableSource):
        make_image("x", 1, 1, source=b"not an image", long_side=SMALL)


def test_the_demo_worker_makes_what_an_image_claim_asks() -> None:
    claim = {"job_id": "job_1", "media": "image", "kind": "generate", "n": 3, "prompt": "a cat", "image": None}
    made = images_for({**claim, "options": {"aspect_ratio": "2:3", "resolution": None}})
    assert [opened(image).size for image in made] == [image_size("2:3")] * 3
    assert [opened(image).size for image in images_for({**claim, "n": 1, "options": None})] == [(1024, 1024)]

    source = io.BytesIO()
    Image.new("RGB", (160, 90), (0, 0, 200)).save(source, format="PNG")
    encoded = base64.b64encode(source.getvalue()).decode()
    edit = {**claim, "kind": "edit", "n": 2, "image": encoded, "image_mime": "image/png", "options": {}}
    assert [opened(image).size for image in images_for(edit)] == [(1024, 576)] * 2  # the source's 16:9
    assert len(images_for({**edit, "image": f"data:image/png;base64,{encoded}"})) == 2
    with pytest.raises(UnreadableSource):
        images_for({**edit, "image": "not base64!"})
