from __future__ import annotations

from pathlib import Path

import pytest

from grok_imagine_api.files.backend import storage_for
from grok_imagine_api.files.s3 import S3VideoStorage
from grok_imagine_api.files.storage import LocalVideoStorage
from s3 import Bucket
from support import settings_for


def test_without_a_url_videos_are_local_files(tmp_path: Path) -> None:
    storage = storage_for(settings_for(tmp_path))
    assert isinstance(storage, LocalVideoStorage)
    assert storage.directory == tmp_path / "videos"


def test_the_url_wins_over_the_path_which_keeps_only_temp_files(s3_bucket: Bucket, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **s3_bucket.settings())
    storage = storage_for(settings)
    assert isinstance(storage, S3VideoStorage)
    assert storage.temp.parent == settings.video_storage_path
    assert storage.url_ttl.total_seconds() == settings.s3_url_ttl_seconds


@pytest.mark.parametrize("url", ["http://bucket/x", "s3://", "s3:///prefix", "s3://bucket/x?versionId=1"])
def test_a_url_that_is_not_s3_stops_start_up(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="s3://bucket"):
        settings_for(tmp_path, video_storage_url=url)


def test_blank_s3_settings_are_unset_and_the_delivery_is_checked(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, video_storage_url=" ", s3_delivery=" Redirect ", aws_secret_access_key="very-secret-key"
    )
    assert settings.video_storage_url is None
    assert settings.s3_delivery == "redirect"
    assert "very-secret-key" not in repr(settings)  # the secret is never printed
    with pytest.raises(ValueError, match="s3_delivery"):
        settings_for(tmp_path, s3_delivery="proxy")
