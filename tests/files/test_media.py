from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from grok_imagine_api.demo_clips import bundled_clip, make_clip
from grok_imagine_api.domain.jobs import Produced
from grok_imagine_api.files import media
from support import DEMO_MP4, ROOT


def saved(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(DEMO_MP4[:32] + random.Random(1).randbytes(50_000), id="ftyp-then-noise"),
        pytest.param(DEMO_MP4[:100] + b"x" * 50, id="cut-inside-the-header"),
        pytest.param(b"\0\0\0\x18ftypisom" + b"\0" * 100, id="ftyp-alone"),
    ],
)
def test_a_file_that_only_looks_like_an_mp4_is_not_a_video(tmp_path: Path, data: bytes) -> None:
    assert media.is_iso_bmff(data[:16])
    assert media.probe(saved(tmp_path, data)) is None
    assert media.thumbnail(saved(tmp_path, data)) is None


def test_the_demo_workers_clips_are_videos(tmp_path: Path) -> None:
    assert media.probe(saved(tmp_path, bundled_clip())) == Produced(seconds=6.0, width=320, height=180)
    assert media.probe(saved(tmp_path, make_clip(848, 480, 6, "a"))) == Produced(seconds=6.0, width=848, height=480)
    assert media.probe(saved(tmp_path, make_clip(64, 64, 0.1, "one frame"))) is not None


def test_the_extension_tests_fixture_videos_are_videos(tmp_path: Path) -> None:
    pytest.importorskip("playwright")
    sys.path.insert(0, str(ROOT / "tests" / "extension"))
    from imagine import generated_mp4

    for variant in (0, 1, 2):
        assert media.probe(saved(tmp_path, generated_mp4(variant))) == Produced(seconds=6.0, width=64, height=48)


def test_a_thumbnail_is_a_jpeg_of_the_first_frame(tmp_path: Path) -> None:
    jpeg = media.thumbnail(saved(tmp_path, DEMO_MP4))
    assert jpeg is not None and jpeg[:3] == b"\xff\xd8\xff"
