"""What clients may ask for, and the table that maps it onto what workers make."""

from __future__ import annotations

from typing import Any

import pytest

from grok_imagine_api.domain.abilities import Abilities
from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.jobs import GenerationOptions
from grok_imagine_api.domain.options import (
    EXTENSION_SECONDS,
    OPENAI_DEFAULTS,
    XAI_DEFAULTS,
    asked_options,
    from_options,
    match,
    size_of,
)


def made(strict: bool = False, workers: list[Abilities] | None = None, **asked: Any) -> GenerationOptions:
    return match(asked_options(**asked), workers or [], strict=strict)[0]


@pytest.mark.parametrize(("seconds", "duration"), [(1, 6), (4, 6), (6, 6), (7, 6), (8, 10), (12, 10), (20, 10)])
def test_seconds_go_to_the_nearest_length_and_a_tie_to_the_longer(seconds: int, duration: int) -> None:
    assert made(seconds=str(seconds)).duration == duration


@pytest.mark.parametrize(
    ("size", "aspect", "resolution"),
    [
        ("720x1280", "9:16", "720p"),
        ("1280x720", "16:9", "720p"),
        ("1024x1792", "9:16", "720p"),
        ("1792x1024", "16:9", "720p"),
        ("848x480", "16:9", "480p"),
        ("1696x960", "16:9", "720p"),
        ("1920x1080", "16:9", "720p"),
    ],
)
def test_every_size_of_both_apis_maps(size: str, aspect: str, resolution: str) -> None:
    options = made(size=size)
    assert (options.aspect_ratio, options.resolution) == (aspect, resolution)


@pytest.mark.parametrize(("asked", "nearest"), [("4:3", "3:2"), ("3:4", "2:3"), ("16:9", "16:9"), ("1:1", "1:1")])
def test_aspect_ratios_map_to_the_nearest_shape(asked: str, nearest: str) -> None:
    assert made(aspect_ratio=asked).aspect_ratio == nearest


def test_adjustments_say_what_changed_in_the_clients_words() -> None:
    asked = asked_options(seconds="8", size="1792x1024").fill(**OPENAI_DEFAULTS)
    options, changes = match(asked, [], strict=False)
    assert size_of(options) == "1280x720" and options.duration == 10
    assert [(c.param, c.requested, c.made) for c in changes] == [
        ("size", "1792x1024", "1280x720"),
        ("seconds", "8", "10"),
    ]
    assert all(c.message for c in changes)


def test_exact_values_and_defaults_make_no_adjustments() -> None:
    _, changes = match(asked_options(seconds="6", size="720x1280").fill(**OPENAI_DEFAULTS), [], strict=False)
    assert changes == []
    options, changes = match(asked_options().fill(**XAI_DEFAULTS), [], strict=False)
    assert (options.duration, options.aspect_ratio, options.resolution) == (10, "16:9", "480p")
    assert changes == []  # xAI's default 8 s was not asked for: it is simply what is made


def test_nearest_is_computed_from_what_workers_declared() -> None:
    short_only = Abilities(durations=(6,), resolutions=("480p",))
    assert made(workers=[short_only], seconds="12").duration == 6
    assert made(workers=[short_only], size="1280x720").resolution == "480p"
    # the worker whose best fit is closest wins
    long_one = Abilities(durations=(10,))
    assert made(workers=[short_only, long_one], seconds="12").duration == 10


def test_a_preset_is_never_swapped() -> None:
    plain = Abilities(presets=("normal",))
    assert made(workers=[plain], mode="spicy").mode == "spicy"  # kept; the job waits for a worker that has it


@pytest.mark.parametrize(
    ("asked", "param"),
    [
        ({"seconds": "8"}, "seconds"),
        ({"size": "1792x1024"}, "size"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"duration": 15}, "duration"),
    ],
)
def test_strict_refuses_what_is_not_exact(asked: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        made(strict=True, **asked)
    assert (err.value.param, err.value.code) == (param, "no_exact_match")


def test_strict_keeps_exact_values_and_maps_defaults() -> None:
    options = match(asked_options(seconds="10").fill(**OPENAI_DEFAULTS), [], strict=True)[0]
    assert (options.duration, options.aspect_ratio) == (10, "9:16")
    options = match(asked_options().fill(**XAI_DEFAULTS), [], strict=True)[0]
    assert options.duration == 10  # the default 8 was never asked: strict does not refuse it


@pytest.mark.parametrize(
    ("asked", "param"),
    [
        ({"duration": 99}, "duration"),
        ({"duration": 0}, "duration"),
        ({"seconds": "abc"}, "seconds"),
        ({"seconds": "61"}, "seconds"),  # up to 60 as a long video (docs/long-videos.md)
        ({"seconds": "6.5"}, "seconds"),
        ({"size": "13x7"}, "size"),
        ({"resolution": "1080p"}, "resolution"),
        ({"aspect_ratio": "5:4"}, "aspect_ratio"),
        ({"mode": "chaos"}, "mode"),
        ({"duration": 1, "duration_range": EXTENSION_SECONDS}, "duration"),
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_outside_every_documented_range_is_refused_in_both_modes(
    asked: dict[str, Any], param: str, strict: bool
) -> None:
    with pytest.raises(InvalidRequest) as err:
        match(asked_options(**asked), [], strict=strict)
    assert err.value.param == param


def test_size_and_aspect_ratio_must_agree() -> None:
    with pytest.raises(InvalidRequest) as err:
        asked_options(size="1280x720", aspect_ratio="9:16")
    assert (err.value.param, err.value.code) == ("size", "conflicting_parameters")
    with pytest.raises(InvalidRequest) as err:
        asked_options(seconds="6", duration=10)
    assert err.value.param == "seconds"


def test_a_remix_keeps_its_sources_options_unless_it_names_others() -> None:
    source = GenerationOptions(aspect_ratio="9:16", resolution="720p", duration=10, mode="fun")
    options = match(asked_options(seconds="6").over(from_options(source)), [], strict=False)[0]
    assert options == GenerationOptions(aspect_ratio="9:16", resolution="720p", duration=6, mode="fun")
