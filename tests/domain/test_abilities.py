"""Worker declarations, job needs and waiting reasons."""

from __future__ import annotations

import pytest

from grok_imagine_api.domain.abilities import (
    DEFAULT_TOKENS,
    Abilities,
    kind_needs,
    option_needs,
    parse_abilities,
    waiting_reason,
)
from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.jobs import GenerationOptions, JobKind


def test_a_declaration_narrows_only_the_fields_it_names() -> None:
    declared = parse_abilities({"kinds": "text_to_video,extend", "durations": ["6", 10, 6]})
    assert declared.kinds == ("text_to_video", "extend")
    assert declared.durations == (6, 10)
    assert declared.presets == Abilities().presets


@pytest.mark.parametrize(
    "declared",
    [{"kinds": ["teleport"]}, {"durations": ["x"]}, {"sources": "cloud"}, {"colour": ["red"]}, {"kinds": 3}],
)
def test_a_declaration_outside_the_vocabulary_is_a_400(declared: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_abilities(declared)
    assert err.value.code == "invalid_abilities" and (err.value.param or "").startswith("abilities.")


def test_needs_of_each_kind_of_job() -> None:
    assert kind_needs(JobKind.GENERATE, has_image=False, grok_source=False) == ["kind:text_to_video"]
    assert kind_needs(JobKind.GENERATE, has_image=True, grok_source=False) == ["kind:image_to_video"]
    assert kind_needs(JobKind.EXTEND, has_image=False, grok_source=True) == ["kind:extend", "source:grok"]
    assert kind_needs(JobKind.REMIX, has_image=False, grok_source=False) == ["kind:remix", "source:upload"]
    assert option_needs(GenerationOptions(duration=10, mode="fun")) == ["duration:10", "preset:fun"]


def test_a_worker_that_declared_nothing_makes_plain_generation_only() -> None:
    assert waiting_reason(["kind:text_to_video", "duration:10"], [DEFAULT_TOKENS]) is None
    reason = waiting_reason(["kind:extend", "source:upload"], [DEFAULT_TOKENS])
    assert reason == "waiting for a worker that can extend videos and can start from an uploaded video"


def test_with_no_worker_connected_only_what_the_default_table_cannot_make_has_a_reason() -> None:
    assert waiting_reason(["kind:text_to_video"], []) is None
    assert waiting_reason(["kind:remix", "source:grok"], []) == (
        "waiting for a worker that can remix videos and can open a Grok post"
    )


def test_the_reason_names_what_the_closest_worker_lacks() -> None:
    extender = Abilities(kinds=("extend",), sources=("grok",), durations=(6,)).tokens()
    reason = waiting_reason(["kind:extend", "source:grok", "duration:10"], [DEFAULT_TOKENS, extender])
    assert reason == "waiting for a worker that can make 10 s videos"
