"""Joining a long video's steps without re-encoding (files/media.py concat)."""

from __future__ import annotations

from pathlib import Path

import av

from grok_imagine_api.demo_clips import make_clip
from grok_imagine_api.files import media


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def test_clips_are_joined_packet_for_packet_with_their_lengths_added(tmp_path: Path) -> None:
    parts = []
    for index, seconds in enumerate((3, 2, 4)):
        part = tmp_path / f"{index}.mp4"
        part.write_bytes(make_clip(64, 36, seconds, f"part{index}"))
        parts.append(part)
    joined = tmp_path / "joined.mp4"
    media.concat(parts, joined)
    produced = media.probe(joined)
    assert produced is not None
    assert (produced.width, produced.height) == (64, 36)
    assert abs((produced.seconds or 0) - 9) < 0.3
    # A remux: every packet is the parts' own, in order (nothing was decoded and encoded again).
    assert packets(joined) == [data for part in parts for data in packets(part)]
    with av.open(str(joined)) as container:
        stream = container.streams.video[0]
        times = [frame.time for frame in container.decode(stream)]
    assert times == sorted(times) and len(times) == 36
    assert times[12] is not None and abs(times[12] - 3.0) < 0.01  # the second part starts where the first ended


def clip_with_sound(path: Path, seconds: int, shade: int, extra_sound: int = 0) -> None:
    """An MP4 with H.264 video and AAC sound, as Grok's videos have; `extra_sound` frames of 1024 samples run on
    after the picture ends (AAC's whole frames often do)."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=4)
        video.width, video.height, video.pix_fmt = 64, 36, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for index in range(seconds * 4):
            frame = av.VideoFrame(64, 36, "rgb24")
            frame.planes[0].update(bytes([(shade + index) % 256, 80, 160]) * (64 * 36))
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = 1024
        for index in range(seconds * 16000 // samples + extra_sound):
            sound = av.AudioFrame(format="fltp", layout="mono", samples=samples)
            sound.planes[0].update(bytes(4 * samples))
            sound.sample_rate, sound.pts = 16000, index * samples
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))


def test_sound_is_joined_too_and_stays_with_the_picture(tmp_path: Path) -> None:
    parts = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    clip_with_sound(parts[0], 3, 10)
    clip_with_sound(parts[1], 2, 90)
    joined = tmp_path / "joined.mp4"
    media.concat(parts, joined)
    with av.open(str(joined)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.audio) == 1
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        last = [packet.pts for packet in container.demux(audio) if packet.pts is not None][-1]
        assert audio.time_base is not None
        assert 4.5 < float(last * audio.time_base) < 5.1  # the second part's sound follows the first's
    produced = media.probe(joined)
    assert produced is not None and abs((produced.seconds or 0) - 5) < 0.3


def test_sound_is_left_out_when_a_part_has_none(tmp_path: Path) -> None:
    parts = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    clip_with_sound(parts[0], 2, 10)
    parts[1].write_bytes(make_clip(64, 36, 2, "silent"))
    joined = tmp_path / "joined.mp4"
    media.concat(parts, joined)
    with av.open(str(joined)) as container:
        assert len(container.streams.audio) == 0
    produced = media.probe(joined)
    assert produced is not None and abs((produced.seconds or 0) - 4) < 0.3


def test_sound_that_runs_past_the_picture_still_joins(tmp_path: Path) -> None:
    parts = [tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"]
    clip_with_sound(parts[0], 3, 10, extra_sound=3)  # sound to about 3.1 s, picture to 3.0 s
    clip_with_sound(parts[1], 2, 90, extra_sound=3)
    clip_with_sound(parts[2], 2, 170)
    joined = tmp_path / "joined.mp4"
    media.concat(parts, joined)
    with av.open(str(joined)) as container:
        audio = container.streams.audio[0]
        times = [packet.dts for packet in container.demux(audio) if packet.dts is not None]
    assert times == sorted(set(times))  # strictly increasing
    produced = media.probe(joined)
    assert produced is not None and 7 < (produced.seconds or 0) < 7.6
