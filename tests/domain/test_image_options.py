"""Image requests' options (domain/image_options.py) and the poll modes (domain/abilities.py)."""

from __future__ import annotations

from typing import Any

import pytest

from grok_imagine_api.domain.abilities import DEFAULT_TOKENS, Abilities, for_modes, parse_modes
from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.image_options import parse_image_request
from grok_imagine_api.domain.options import match


def made(fields: dict[str, Any], *, strict: bool = False) -> tuple[str | None, list[str]]:
    ask = parse_image_request(fields)
    options, changes = match(ask.asked, [], strict=strict, noun="images")
    return options.aspect_ratio, [change.param for change in changes + ask.notes]


@pytest.mark.parametrize(
    ("fields", "aspect", "changed"),
    [
        ({}, None, []),
        ({"size": "auto"}, None, []),
        ({"size": "1024x1024"}, "1:1", []),
        ({"size": "256x256"}, "1:1", []),
        ({"size": "1536x1024"}, "3:2", []),
        ({"size": "1024x1536"}, "2:3", []),
        ({"size": "1792x1024"}, "16:9", ["size"]),
        ({"size": "1920x1080"}, "16:9", []),
        ({"aspect_ratio": "9:16"}, "9:16", []),
        ({"aspect_ratio": "3:4"}, "2:3", ["aspect_ratio"]),
        ({"aspect_ratio": "2:1"}, "16:9", ["aspect_ratio"]),
        ({"aspect_ratio": "9:20"}, "9:16", ["aspect_ratio"]),
        ({"aspect_ratio": "auto", "size": "1024x1536"}, "2:3", []),
        ({"quality": "auto"}, None, []),
        ({"quality": "high"}, None, ["quality"]),
        ({"output_format": "webp", "background": "transparent"}, None, ["output_format", "background"]),
    ],
)
def test_shapes_map_to_the_nearest_ratio_and_say_so(
    fields: dict[str, Any], aspect: str | None, changed: list[str]
) -> None:
    assert made(fields) == (aspect, changed)


def test_adjustment_messages_speak_of_images() -> None:
    ask = parse_image_request({"size": "1792x1024"})
    _, [change] = match(ask.asked, [], strict=False, noun="images")
    assert "images" in change.message and "16:9" in change.message and "videos" not in change.message


def test_strict_refuses_a_shape_grok_does_not_make() -> None:
    with pytest.raises(InvalidRequest) as refused:
        made({"size": "1792x1024"}, strict=True)
    assert refused.value.code == "no_exact_match"
    assert made({"size": "1280x720"}, strict=True) == ("16:9", [])


@pytest.mark.parametrize(
    ("fields", "n", "response_format"),
    [
        ({}, 1, "url"),
        ({"n": 10}, 10, "url"),
        ({"n": "3"}, 3, "url"),
        ({"n": 2.0}, 2, "url"),
        ({"model": "gpt-image-1"}, 1, "b64_json"),
        ({"model": "gpt-image-1", "response_format": "url"}, 1, "url"),
        ({"model": "grok-imagine-image", "response_format": "b64_json"}, 1, "b64_json"),
    ],
)
def test_count_and_format(fields: dict[str, Any], n: int, response_format: str) -> None:
    ask = parse_image_request(fields)
    assert (ask.n, ask.response_format) == (n, response_format)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"n": True}, "n"),
        ({"n": 1.5}, "n"),
        ({"response_format": "png"}, "response_format"),
        ({"size": "1024"}, "size"),
        ({"size": "0x10"}, "size"),
        ({"aspect_ratio": "7:5"}, "aspect_ratio"),
        ({"aspect_ratio": 1}, "aspect_ratio"),
    ],
)
def test_refusals_name_the_parameter(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_image_request(fields)
    assert refused.value.param == param


def test_several_sources_and_a_mask_are_said() -> None:
    notes = parse_image_request({}, edit_images=3, mask=True).notes
    assert [(note.param, note.requested, note.made) for note in notes] == [("image", 3, 1), ("mask", "given", None)]


def test_modes() -> None:
    assert parse_modes(None) == {"video"}
    assert parse_modes("image") == {"image"}
    assert parse_modes("video, image") == parse_modes("any") == {"video", "image"}
    for bad in ("audio", "video,audio", ","):
        with pytest.raises(InvalidRequest):
            parse_modes(bad)


def test_modes_narrow_what_a_worker_is_offered() -> None:
    both = Abilities(kinds=("text_to_video", "text_to_image", "image_to_image")).tokens()
    assert "kind:text_to_image" not in for_modes(both, frozenset({"video"}))
    images_only = for_modes(both, frozenset({"image"}))
    assert {t for t in images_only if t.startswith("kind:")} == {"kind:text_to_image", "kind:image_to_image"}
    assert "aspect_ratio:16:9" in images_only
    assert for_modes(both, frozenset({"video", "image"})) == both
    assert not {t for t in DEFAULT_TOKENS if "image" in t and t.startswith("kind:") and t != "kind:image_to_video"}
