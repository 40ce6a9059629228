"""Reading finished videos: what they really are, and a JPEG thumbnail. Blocking: call in a thread."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av

from ..domain.jobs import Produced

log = logging.getLogger("grok_imagine_api")

THUMBNAIL_MAX_WIDTH = 1280
HEAD_CHECK_BYTES = 12


def is_iso_bmff(head: bytes) -> bool:
    """MP4 and its ISO-BMFF kin start with a box whose type (bytes 4..8) is `ftyp`."""
    return len(head) >= HEAD_CHECK_BYTES and head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 8


def probe(path: Path) -> Produced | None:
    """Length and frame size of an MP4, or None when it cannot be read as a video: no video stream, no length,
    or a first frame that does not decode. An `ftyp` box followed by anything else is not a video."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams:
                return None
            stream = streams[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            if not seconds or seconds <= 0:
                return None
            frame = next(container.decode(stream), None)
            if frame is None:
                return None
            return Produced(
                seconds=round(seconds, 3),
                width=stream.codec_context.width or frame.width or None,
                height=stream.codec_context.height or frame.height or None,
            )
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.info("could not probe %s: %s", path.name, exc)
        return None


def thumbnail(video: Path) -> bytes | None:
    """The first decodable frame of `video` as a JPEG; None when there is none."""
    try:
        with av.open(str(video)) as container:
            frame = next(container.decode(video=0), None)
            if frame is None:
                return None
            width, height = frame.width, frame.height
            if width > THUMBNAIL_MAX_WIDTH:
                width, height = THUMBNAIL_MAX_WIDTH, round(height * THUMBNAIL_MAX_WIDTH / width / 2) * 2
            encoder = av.CodecContext.create("mjpeg", "w")
            encoder.width, encoder.height = width, height
            encoder.pix_fmt = "yuvj420p"
            encoder.time_base = frame.time_base or Fraction(1, 25)
            image = frame.reformat(width=width, height=height, format="yuvj420p")
            packets = [*encoder.encode(image), *encoder.encode(None)]
    except (av.FFmpegError, OSError, ValueError, IndexError, StopIteration) as exc:
        log.info("no thumbnail for %s: %s", video.name, exc)
        return None
    return b"".join(bytes(packet) for packet in packets) or None
