"""Is an uploaded video what its job promised?"""

from __future__ import annotations

from grok_imagine_api.domain.jobs import GenerationOptions, Job, JobKind, JobStatus, Produced
from grok_imagine_api.domain.output import check_output


def job(kind: JobKind = JobKind.GENERATE, **options: object) -> Job:
    return Job(
        id="job_1",
        seq=1,
        model="grok",
        prompt="p",
        status=JobStatus.PROCESSING,
        options=GenerationOptions(**options),  # type: ignore[arg-type]
        image_mime=None,
        image_size=None,
        created_at=0.0,
        updated_at=0.0,
        kind=kind,
    )


def test_what_was_promised_passes_within_the_tolerance() -> None:
    assert check_output(job(aspect_ratio="16:9", duration=6), Produced(5.6, 848, 480)) == []
    assert check_output(job(aspect_ratio="2:3", duration=10), Produced(10.04, 720, 1080)) == []


def test_nothing_promised_nothing_checked() -> None:
    assert check_output(job(), None) == []


def test_a_wrong_shape_or_length_is_named() -> None:
    found = check_output(job(aspect_ratio="9:16", duration=10), Produced(6.0, 1280, 720))
    assert [item["param"] for item in found] == ["aspect_ratio", "duration"]
    assert found[0]["produced"] == "1280x720" and found[1]["produced"] == 6.0


def test_an_extension_may_come_back_whole_or_as_the_added_part() -> None:
    assert check_output(job(JobKind.EXTEND, duration=6), Produced(12.0, 320, 180)) == []
    assert check_output(job(JobKind.EXTEND, duration=6), Produced(6.0, 320, 180)) == []
    assert check_output(job(JobKind.EXTEND, duration=6), Produced(3.0, 320, 180))[0]["param"] == "duration"


def test_an_unreadable_video_is_a_mismatch_when_something_was_promised() -> None:
    assert check_output(job(duration=6), None)[0]["param"] == "video"
