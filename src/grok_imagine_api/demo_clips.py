"""Clips the demo worker uploads: solid colour with a moving bar, of a job's aspect ratio, resolution and length.
Different jobs get different colours, so an extension or a remix is never its source again."""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import av

FPS = 4


def bundled_clip() -> bytes:
    return resources.files("grok_imagine_api").joinpath("assets/demo.mp4").read_bytes()


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """Grok's frame for an aspect ratio at a resolution: the short side is the resolution (848x480, 720x1280)."""
    width, height = (int(part) for part in aspect_ratio.split(":"))
    short = int(resolution.rstrip("p"))
    if width >= height:
        return _even(short * width / height), short
    return short, _even(short * height / width)


def _even(value: float) -> int:
    return int(round(value / 2) * 2)


def make_clip(width: int, height: int, seconds: float, seed: str) -> bytes:
    """An H.264 MP4 of `seconds` at FPS frames a second; `seed` picks the colour."""
    digest = hashlib.sha256(seed.encode()).digest()
    colour = bytes(64 + value % 160 for value in digest[:3])
    frames = max(1, round(seconds * FPS))
    bar = max(2, width // 10)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            row = bytearray(colour * width)
            start = index * (width - bar) // max(frames - 1, 1)
            row[start * 3 : (start + bar) * 3] = b"\xff" * (bar * 3)
            frame = av.VideoFrame(width, height, "rgb24")
            plane = frame.planes[0]
            row += bytes(plane.line_size - len(row))  # rows are padded to the plane's alignment
            plane.update(bytes(row) * height)
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
