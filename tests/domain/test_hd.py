"""domain/hd.py: how HD is asked for, what it becomes, and what a completion must carry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grok_imagine_api.domain.errors import InvalidRequest, InvalidVideo
from grok_imagine_api.domain.hd import again, check_hd_upload, hd_adjustments, hd_fields, hd_needs, with_hd
from grok_imagine_api.domain.jobs import UPSCALE_NEED, GenerationOptions, Job, JobStatus, Produced
from grok_imagine_api.domain.options import Asked, asked_options

JOB = Job(
    id="job_" + "0" * 24, seq=1, model="grok", prompt="p", status=JobStatus.PROCESSING, options=GenerationOptions(),
    image_mime=None, image_size=None, created_at=0.0, updated_at=0.0,
)  # fmt: skip


def parsed(**fields: object) -> Asked:
    resolution, hd = hd_fields(
        resolution=fields.get("resolution"), quality=fields.get("quality"), upscale=fields.get("upscale")
    )
    return with_hd(asked_options(resolution=resolution, size=fields.get("size")), hd)


def test_1080p_is_made_at_720p_and_upscaled_never_promised() -> None:
    asked = parsed(resolution="1080P")
    assert asked.resolution is not None and asked.resolution.value == "720p" and not asked.resolution.explicit
    assert asked.upscale is not None and asked.upscale.param == "resolution"
    assert hd_needs(asked) == [UPSCALE_NEED]
    [note] = hd_adjustments(asked, GenerationOptions(resolution="720p"), strict=False)
    assert (note.param, note.requested, note.made) == ("resolution", "1080P", "720p + HD upscale")
    with pytest.raises(InvalidRequest) as refused:
        hd_adjustments(asked, GenerationOptions(resolution="720p"), strict=True)
    assert refused.value.code == "no_exact_match"


@pytest.mark.parametrize("value", [True, "true", "1", "yes"])
def test_upscale_true_is_made_as_asked(value: object) -> None:
    asked = parsed(upscale=value)
    assert hd_needs(asked) == [UPSCALE_NEED]
    assert hd_adjustments(asked, GenerationOptions(), strict=True) == []


def test_quality_hd_is_said_and_standard_or_false_is_no_hd() -> None:
    [note] = hd_adjustments(parsed(quality="HD"), GenerationOptions(resolution="480p"), strict=False)
    assert note.param == "quality" and "made at 480p" in note.message
    assert hd_needs(parsed(quality="standard", upscale=False)) == []
    assert hd_needs(parsed(upscale="")) == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"quality": "best"}, "unsupported_quality"),
        ({"upscale": 2}, "unsupported_upscale"),
        ({"upscale": "true", "quality": "standard"}, "conflicting_parameters"),
        ({"resolution": "1080p", "upscale": "false"}, "conflicting_parameters"),
    ],
)
def test_wrong_or_contradicting_values_are_refused(fields: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parsed(**fields)
    assert refused.value.code == code


def test_a_rerun_keeps_asking_for_hd() -> None:
    assert hd_needs(again(Asked(), True)) == [UPSCALE_NEED]
    assert hd_needs(again(Asked(), False)) == []


def test_a_completion_carries_hd_exactly_when_the_job_asked() -> None:
    hd_job = replace(JOB, needs=["kind:text_to_video", UPSCALE_NEED])
    made = Produced(seconds=6.0, width=1920, height=1080)
    check_hd_upload(hd_job, True, made)
    check_hd_upload(JOB, False, None)
    for job, given, produced, error in (
        (hd_job, False, None, InvalidRequest),
        (JOB, True, made, InvalidRequest),
        (hd_job, True, None, InvalidVideo),
    ):
        with pytest.raises(error):
            check_hd_upload(job, given, produced)
