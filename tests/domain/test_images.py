from __future__ import annotations

import base64
import io
import random
import struct
import zlib
from fractions import Fraction

import av
import pytest

from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.images import MAX_IMAGE_PIXELS, check_image, decode_image, sniff_image_type
from support import PNG_1PX


def encoded(codec: str, pix_fmt: str, width: int = 64, height: int = 48) -> bytes:
    """A still image of noise (so that it does not compress to nothing), made by FFmpeg's encoder."""
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, pix_fmt  # type: ignore[attr-defined]
    encoder.time_base = Fraction(1, 25)
    frame = av.VideoFrame(width, height, "rgb24")
    frame.planes[0].update(random.Random(0).randbytes(frame.planes[0].buffer_size))
    return b"".join(bytes(p) for p in [*encoder.encode(frame.reformat(format=pix_fmt)), *encoder.encode(None)])  # type: ignore[attr-defined]


def animated_webp() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="webp") as container:
        stream = container.add_stream("libwebp_anim", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for shade in (0, 128):
            frame = av.VideoFrame(32, 32, "rgb24")
            frame.planes[0].update(bytes([shade]) * frame.planes[0].buffer_size)
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def png_of_zeros(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A greyscale PNG of zeros, of `rows` rows of pixel data whatever its header says."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = zlib.compress(b"\0" * ((1 + width) * (height if rows is None else rows)), 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = encoded("png", "rgb24")
JPEG = encoded("mjpeg", "yuvj420p")
WEBP = encoded("libwebp", "yuv420p")
WHOLE = [(PNG_1PX, "image/png"), (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")]


@pytest.mark.parametrize(("data", "mime"), WHOLE)
def test_sniffs_by_bytes(data: bytes, mime: str) -> None:
    assert sniff_image_type(data) == mime
    encoded = base64.b64encode(data).decode()
    assert decode_image(encoded, max_bytes=100_000).mime == mime
    # The label in a data URL is not trusted; the bytes decide.
    assert decode_image(f"data:image/gif;base64,{encoded}", max_bytes=100_000).mime == mime


def test_base64_with_line_breaks_is_accepted() -> None:
    encoded = base64.encodebytes(PNG).decode()
    assert "\n" in encoded
    assert decode_image(encoded, max_bytes=100_000).data == PNG


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("%%%", "invalid_base64"),
        (base64.b64encode(b"GIF89a").decode(), "unsupported_image_type"),
        (base64.b64encode(PNG_1PX * 100).decode(), "image_too_large"),
        ("A" * 10_000, "image_too_large"),
        (base64.b64encode(PNG_1PX[:-20]).decode(), "invalid_image"),
    ],
)
def test_bad_images(value: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        decode_image(value, max_bytes=1000, param="image.url")
    assert err.value.code == code
    assert err.value.param == "image.url"


@pytest.mark.parametrize(("data", "mime"), WHOLE)
def test_an_image_cut_off_anywhere_is_refused(data: bytes, mime: str) -> None:
    """FFmpeg alone would take a PNG without its IEND and a JPEG whose last scan is cut short."""
    for length in range(12, len(data), max(1, len(data) // 300)):
        with pytest.raises(InvalidRequest) as err:
            check_image(data[:length], max_bytes=100_000, param="input_reference")
        assert (err.value.code, err.value.param) == ("invalid_image", "input_reference"), length
    for length in range(len(data) - 24, len(data)):
        with pytest.raises(InvalidRequest):
            check_image(data[:length], max_bytes=100_000)


@pytest.mark.parametrize(("data", "mime"), WHOLE)
def test_what_follows_the_end_of_an_image_is_not_looked_at(data: bytes, mime: str) -> None:
    """Such as the video a motion photo carries after its JPEG."""
    assert check_image(data + b"\xff\xda\0\x08trailer\xff\xd9\0", max_bytes=100_000).mime == mime


def test_pixel_data_that_does_not_decode_is_refused() -> None:
    damaged = bytearray(PNG)
    damaged[100:120] = b"\xff" * 20  # inside the compressed pixels: inflating them fails
    with pytest.raises(InvalidRequest) as err:
        check_image(bytes(damaged), max_bytes=100_000)
    assert err.value.code == "invalid_image"


def test_an_animated_webp_is_checked_whole_but_not_decoded() -> None:
    """FFmpeg has no decoder for animated WebP; it was accepted before, and still is when whole."""
    animation = animated_webp()
    assert check_image(animation, max_bytes=100_000).mime == "image/webp"
    with pytest.raises(InvalidRequest):
        check_image(animation[:-10], max_bytes=100_000)


def test_a_small_file_of_too_many_pixels_is_refused_before_they_are_allocated() -> None:
    bomb = png_of_zeros(9000, 8000, rows=1)  # FFmpeg would allocate all 72 million before inflating a row
    assert MAX_IMAGE_PIXELS < 9000 * 8000
    with pytest.raises(InvalidRequest) as err:
        check_image(bomb, max_bytes=1_000_000)
    assert err.value.code == "image_too_large"
    assert check_image(png_of_zeros(2000, 1500), max_bytes=1_000_000).mime == "image/png"
