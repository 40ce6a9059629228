"""Reading finished videos: what they really are, and a JPEG thumbnail. Blocking: call in a thread."""

from __future__ import annotations

import logging
import math
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


def concat(parts: list[Path], target: Path) -> None:
    """Join MP4s one after another into `target` WITHOUT re-encoding (a remux): every packet is copied, its
    timestamps shifted by the length of what came before. The first part's streams decide the layout; an audio
    stream is kept only when every part has one. The parts must share codecs and frame sizes (a chain's do)."""
    inputs = [av.open(str(path)) for path in parts]
    try:
        with_audio = all(container.streams.audio for container in inputs)
        first = inputs[0]
        shapes = {(c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height) for c in inputs}
        headers = {bytes(c.streams.video[0].codec_context.extradata or b"") for c in inputs}
        if len(shapes) > 1 or len(headers) > 1:
            # Copied packets are decoded with the first part's parameter sets: parts that differ may show badly.
            log.warning("joining %d videos whose frame sizes or codec headers differ: %s", len(parts), sorted(shapes))
        with av.open(str(target), "w", format="mp4") as output:
            kinds = ["video", "audio"] if with_audio else ["video"]
            outs = {kind: output.add_stream_from_template(getattr(first.streams, kind)[0]) for kind in kinds}
            offsets = {kind: 0.0 for kind in kinds}  # seconds already written, per stream
            last: dict[str, float] = {}  # the latest decoding time written, per stream, in seconds
            for container in inputs:
                ins = {kind: getattr(container.streams, kind)[0] for kind in kinds}
                ends = dict.fromkeys(kinds, 0.0)
                for packet in container.demux(*ins.values()):
                    if packet.dts is None or packet.stream.time_base is None:
                        continue
                    kind = packet.stream.type
                    base = packet.stream.time_base
                    shift = round(offsets[kind] / base)
                    if kind in last and (packet.dts + shift) * base <= last[kind]:
                        # The part's first audio packets start before zero (AAC priming) and the part before may
                        # have run its audio past its video: the muxer wants each time after the one before.
                        shift = math.floor(last[kind] / base) + 1 - packet.dts
                    packet.dts += shift
                    if packet.pts is not None:
                        packet.pts += shift
                    last[kind] = float(packet.dts * base)
                    end = float((packet.pts if packet.pts is not None else packet.dts) + (packet.duration or 0))
                    ends[kind] = max(ends[kind], end * base)
                    packet.stream = outs[kind]
                    output.mux(packet)
                # Every stream starts the next part where the longest one ended: they stay in sync.
                longest = max(ends.values())
                offsets = dict.fromkeys(kinds, longest)
    finally:
        for container in inputs:
            container.close()
