"""Which video storage the settings ask for: an object store when VIDEO_STORAGE_URL is set, else the directory."""

from __future__ import annotations

from ..config import Settings
from .storage import LocalVideoStorage, VideoStorage


def storage_for(settings: Settings) -> VideoStorage:
    """With VIDEO_STORAGE_URL, VIDEO_STORAGE_PATH only holds this server's temp files."""
    if settings.video_storage_url is None:
        return LocalVideoStorage(settings.video_storage_path)
    try:
        from .s3 import S3VideoStorage
    except ImportError as exc:
        raise SystemExit(f"VIDEO_STORAGE_URL needs the s3 extra ({exc}): pip install 'grok-imagine-api[s3]'") from None
    secret = settings.aws_secret_access_key
    return S3VideoStorage.connect(
        settings.video_storage_url,
        settings.video_storage_path,
        endpoint=settings.s3_endpoint_url,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        region=settings.aws_region,
        url_ttl_seconds=settings.s3_url_ttl_seconds,
    )
