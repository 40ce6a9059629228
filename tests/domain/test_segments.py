"""Long videos' planning (domain/segments.py): when a create is a chain, how its length is split, and how each
finished step joins the video so far."""

from __future__ import annotations

import pytest

from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.jobs import GenerationOptions
from grok_imagine_api.domain.options import Adjustment, Ask, Asked
from grok_imagine_api.domain.segments import (
    APPENDED,
    CUMULATIVE,
    Outcome,
    Plan,
    SegmentAsk,
    join_step,
    overall_progress,
    parse_segments,
    pieces,
    plan_explicit,
    plan_total,
    split,
)


@pytest.mark.parametrize(
    ("total", "durations", "parts"),
    [
        (30, (6, 10), [10, 10, 10]),
        (12, (6, 10), [6, 6]),
        (16, (6, 10), [10, 6]),
        (20, (6, 10), [10, 10]),
        (60, (6, 10), [10, 10, 10, 10, 10, 10]),
        (25, (6, 10), [10, 10, 6]),  # 26: the nearest the segments make
        (11, (6, 10), [6, 6]),
        (60, (6,), [6] * 10),  # never more than 10 segments
        (30, (15,), [15, 15]),
    ],
)
def test_a_length_is_split_into_the_fewest_segments_nearest_it(
    total: int, durations: tuple[int, ...], parts: list[int]
) -> None:
    assert split(total, durations) == parts


def test_a_long_length_plans_the_same_prompt_per_segment_and_says_so() -> None:
    plan = plan_total("A fox", Ask(25, "seconds", "25"), (6, 10))
    assert plan.segments == [("A fox", 10), ("A fox", 10), ("A fox", 6)]
    assert plan.total == 26
    [note] = plan.adjustments
    assert (note.param, note.requested, note.made) == ("seconds", "25", "26")
    assert "chain of 3 segments" in note.message and "25 became 26" in note.message
    exact = plan_total("A fox", Ask(30, "duration", 30), (6, 10))
    assert exact.adjustments[0].made == 30 and "became" not in exact.adjustments[0].message


def test_explicit_segments_keep_their_prompts_and_map_their_seconds() -> None:
    asks = parse_segments([{"prompt": " one ", "seconds": 6}, {"seconds": "8"}, {"prompt": "three"}], "base")
    assert asks == [SegmentAsk("one", 6), SegmentAsk("base", 8), SegmentAsk("three", None)]
    plan = plan_explicit(asks, (6, 10))
    assert plan.segments == [("one", 6), ("base", 10), ("three", 6)]
    assert [(a.param, a.requested, a.made) for a in plan.adjustments] == [("segments[1].seconds", 8, 10)]


@pytest.mark.parametrize(
    ("value", "code", "param"),
    [
        ([], None, "segments"),
        ("two", None, "segments"),
        ([{"prompt": "x"}] * 11, "too_many_segments", "segments"),
        (["x"], None, "segments[0]"),
        ([{"prompt": 3}], None, "segments[0].prompt"),
        ([{"seconds": 0}], "unsupported_seconds", "segments[0].seconds"),
        ([{"seconds": True}], "unsupported_seconds", "segments[0].seconds"),
        ([{"seconds": 61}], "unsupported_seconds", "segments[0].seconds"),
    ],
)
def test_bad_segments_are_refused_naming_the_parameter(value: object, code: str | None, param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_segments(value, "base")
    assert refused.value.param == param
    if code:
        assert refused.value.code == code


def test_segments_longer_than_the_cap_are_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        plan_explicit([SegmentAsk("x", 10)] * 7, (6, 10))
    assert (refused.value.code, refused.value.param) == ("video_too_long", "segments")


def test_an_outcome_sets_the_total_or_explains_why_no_chain_was_made() -> None:
    options = GenerationOptions(aspect_ratio="16:9", duration=10)
    plan = Plan([("x", 10), ("x", 10)], [Adjustment("seconds", "20", "20", "chain")])
    chained, notes = Outcome(Asked(), plan).apply(options, [])
    assert chained.duration == 20 and [n.message for n in notes] == ["chain"]
    mapped = Adjustment("seconds", "30", "10", "Grok Imagine makes 6 or 10 second videos; 30 became 10")
    same, explained = Outcome(Asked(), reason="no chain was made", param="seconds").apply(options, [mapped])
    assert same == options
    assert explained[0].message.endswith("(no chain was made)")


@pytest.mark.parametrize(
    ("so_far", "seconds", "produced", "expected"),
    [
        (10.0, 10, 10.0, (APPENDED, 10.0, 20.0)),
        (10.0, 10, 20.0, (CUMULATIVE, 10.0, 20.0)),
        (10.0, 6, 16.2, (CUMULATIVE, 10.0, 16.2)),
        (20.0, 6, 6.4, (APPENDED, 20.0, 26.4)),
    ],
)
def test_a_step_is_cumulative_when_its_length_is_nearer_the_whole(
    so_far: float, seconds: int, produced: float, expected: tuple[str, float, float]
) -> None:
    assert join_step(so_far, seconds, produced) == expected


def test_the_pieces_start_at_the_last_step_that_held_the_whole_video() -> None:
    steps = [{"job_id": "a", "joined": "first"}, {"job_id": "b", "joined": APPENDED}]
    assert pieces(steps) == ["a", "b"]
    steps.append({"job_id": "c", "joined": CUMULATIVE})
    assert pieces(steps) == ["c"]
    steps.append({"job_id": "d", "joined": APPENDED})
    assert pieces(steps) == ["c", "d"]


def test_progress_is_weighted_by_seconds_and_stops_short_of_100() -> None:
    steps = [
        {"seconds": 10, "status": "completed", "progress": 100},
        {"seconds": 10, "status": "processing", "progress": 50},
        {"seconds": 20, "status": None, "progress": 0},
    ]
    assert overall_progress(steps) == 37
    assert overall_progress([{"seconds": 6, "status": "completed", "progress": 100}]) == 99
