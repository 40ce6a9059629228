from __future__ import annotations

import base64

import pytest

from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.images import decode_image, sniff_image_type
from support import PNG_1PX

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 20
WEBP = b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8


@pytest.mark.parametrize(("data", "mime"), [(PNG_1PX, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_sniffs_by_bytes(data: bytes, mime: str) -> None:
    assert sniff_image_type(data) == mime
    encoded = base64.b64encode(data).decode()
    assert decode_image(encoded, max_bytes=1000).mime == mime
    # The label in a data URL is not trusted; the bytes decide.
    assert decode_image(f"data:image/gif;base64,{encoded}", max_bytes=1000).mime == mime


def test_base64_with_line_breaks_is_accepted() -> None:
    encoded = base64.encodebytes(PNG_1PX * 10).decode()
    assert "\n" in encoded
    assert decode_image(encoded, max_bytes=10_000).data == PNG_1PX * 10


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("%%%", "invalid_base64"),
        (base64.b64encode(b"GIF89a").decode(), "unsupported_image_type"),
        (base64.b64encode(PNG_1PX * 100).decode(), "image_too_large"),
        ("A" * 10_000, "image_too_large"),
    ],
)
def test_bad_images(value: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        decode_image(value, max_bytes=1000)
    assert err.value.code == code
    assert err.value.param == "image"
