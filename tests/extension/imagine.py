"""A local stand-in for grok.com/imagine and its asset host, served to the browser through Playwright routes."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from playwright.sync_api import BrowserContext, Route

from support import DEMO_MP4, PNG_1PX

FIXTURE_DIR = Path(__file__).parent / "fixture"
CONFIG_MARKER = "/*FIXTURE_CONFIG*/{}"
USER = "5d0c36a4-8c2b-4a55-9a43-0f6f0e3d1c11"
GALLERY_VIDEO = "0b8a3f4e-7d2c-4e1b-9f6a-2c5d8e7f9a10"
# Older generated images of this user in the page's feed (same URL shape as a new generation's images).
GALLERY_IMAGES = ["4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c01", "4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c02"]
# Pixel sizes of the fixture's images by aspect ratio (even, for 4:2:0 JPEG).
IMAGE_SIZES = {"2:3": (96, 144), "3:2": (144, 96), "1:1": (128, 128), "9:16": (90, 160), "16:9": (160, 90)}


@functools.cache
def generated_mp4(variant: int = 0) -> bytes:
    """The fixture's "generated" video: a real 6-second H.264 MP4, different from the gallery clip. Extensions
    and remixes get other variants, so their bytes differ from their source's."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 12)
        for i in range(72):
            frame = av.VideoFrame(64, 48, "rgb24")
            frame.planes[0].update(
                bytes([(i * 3 + variant * 97) % 256, (80 + variant * 53) % 256, 200 - i]) * (64 * 48)
            )
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@functools.cache
def clip_mp4(seconds: int, variant: int = 0) -> bytes:
    """A real H.264 MP4 of `seconds` at 2 frames a second (small and quick to make), for long videos."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, 2)
        for i in range(seconds * 2):
            frame = av.VideoFrame(64, 48, "rgb24")
            frame.planes[0].update(bytes([(i * 9 + variant * 97) % 256, (40 + variant * 53) % 256, 90]) * (64 * 48))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@functools.cache
def generated_hd_mp4(variant: int = 0) -> bytes:
    """The fixture's HD upscale of a generated video: a distinct MP4 at twice the frame size."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.time_base = Fraction(1, 12)
        for i in range(72):
            frame = av.VideoFrame(128, 96, "rgb24")
            frame.planes[0].update(bytes([(i * 5 + variant * 31) % 256, 30 + variant, 250 - i]) * (128 * 96))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@functools.cache
def generated_jpeg(image_id: str, aspect_ratio: str = "2:3") -> bytes:
    """A generated image: a real JPEG of the aspect ratio it was made in, its colours drawn from its id, so
    every image has bytes of its own."""
    width, height = IMAGE_SIZES.get(aspect_ratio, IMAGE_SIZES["2:3"])
    seed = hashlib.sha256(image_id.encode()).digest()
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    frame = av.VideoFrame(width, height, "rgb24")
    top, bottom = bytes(seed[0:3]) * (width * (height // 2)), bytes(seed[3:6]) * (width * (height - height // 2))
    frame.planes[0].update(top + bottom)
    packets = codec.encode(frame.reformat(format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def image_id(url: str) -> str:
    return url.split("/generated/")[1].split("/")[0]


@dataclass
class Imagine:
    """What the next page load looks like, and what the page and the asset host saw."""

    variant: str = "success"
    lang: str = "en"
    outdated_loads: int = 0
    step_ms: int = 100
    asset_host: str = "https://assets.grok.com"
    submissions: list[dict[str, Any]] = field(default_factory=list)
    video_fetches: list[str] = field(default_factory=list)  # downloads, not the page's own playback
    page_loads: list[str] = field(default_factory=list)
    derived_videos: dict[str, int] = field(default_factory=dict)  # video id -> variant, for extends and remixes
    image_fetches: list[str] = field(default_factory=list)  # downloads of generated images, not the page's own
    image_aspects: dict[str, str] = field(default_factory=dict)  # image id -> the aspect ratio it was made in
    images_per_submit: int = 4
    # Long videos (docs/long-videos.md): serve each generated video at its real length, as Grok's post has it (an
    # extension's video holds its source's seconds and the added ones), instead of the fixed 6-second clip.
    real_lengths: bool = False
    video_seconds: dict[str, int] = field(default_factory=dict)  # video id -> its length
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, context: BrowserContext) -> None:
        context.route("https://grok.com/**", self._grok)
        context.route("https://assets.grok.com/**", self._assets)

    def set(self, variant: str = "success", lang: str = "en") -> None:
        self.variant, self.lang = variant, lang

    def config(self) -> dict[str, Any]:
        variant = self.variant
        if self.outdated_loads > 0:
            self.outdated_loads -= 1
            variant = "outdated"
        return {
            "variant": variant,
            "lang": self.lang,
            "user": USER,
            "galleryVideo": GALLERY_VIDEO,
            "stepMs": self.step_ms,
            "stepPercent": 10,
            "modeSwitchMs": 300,
            "assetHost": self.asset_host,
            "imagesPerSubmit": self.images_per_submit,
            "galleryImages": GALLERY_IMAGES,
        }

    def _grok(self, route: Route) -> None:
        request = route.request
        path = request.url.split("grok.com", 1)[1].split("?", 1)[0]
        if path.startswith("/__fixture__/"):
            name = path.removeprefix("/__fixture__/")
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            route.fulfill(status=200, body=(FIXTURE_DIR / name).read_bytes(), content_type=kind)
        elif request.method == "POST" and path.startswith("/rest/"):
            submission = json.loads(request.post_data or "{}")
            with self.lock:
                self.submissions.append(submission)
                if submission.get("source_kind") == "video" and submission.get("video"):
                    video_id = submission["video"].split("/generated/")[1].split("/")[0]
                    self.derived_videos[video_id] = len(self.derived_videos) + 1
                for url in submission.get("images") or []:
                    self.image_aspects[image_id(url)] = submission["aspect_ratio"]
                self._record_length(submission)
            route.fulfill(status=200, json={"ok": True})
        elif path == "/imagine" or path.startswith("/imagine/"):
            with self.lock:
                config = self.config()
                self.page_loads.append(config["variant"])
            html = (FIXTURE_DIR / "imagine.html").read_text().replace(CONFIG_MARKER, json.dumps(config))
            route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
        else:
            route.fulfill(status=404, body="not in the fixture")

    def _assets(self, route: Route) -> None:
        url = route.request.url
        if GALLERY_VIDEO in url:
            route.fulfill(status=200, body=DEMO_MP4, content_type="video/mp4")
        elif "/generated/" in url and "generated_video_hd.mp4" in url:
            if route.request.resource_type != "media":
                with self.lock:
                    self.video_fetches.append(url)
            video_id = url.split("/generated/")[1].split("/")[0]
            route.fulfill(
                status=200, body=generated_hd_mp4(self.derived_videos.get(video_id, 0)), content_type="video/mp4"
            )
        elif "/generated/" in url and "generated_video" in url:
            if route.request.resource_type != "media":  # the page playing a video is not a download
                with self.lock:
                    self.video_fetches.append(url)
            video_id = url.split("/generated/")[1].split("/")[0]
            body = self._real_clip(video_id) or generated_mp4(self.derived_videos.get(video_id, 0))
            route.fulfill(status=200, body=body, content_type="video/mp4")
        elif "/generated/" in url and url.split("?")[0].endswith("/image.jpg"):
            if route.request.resource_type != "image":  # the page showing an image is not a download
                with self.lock:
                    self.image_fetches.append(url)
            route.fulfill(status=200, body=self.image_bytes(url), content_type="image/jpeg")
        elif url.split("?")[0].endswith("/content"):
            route.fulfill(status=200, body=PNG_1PX, content_type="image/png")
        else:
            route.fulfill(status=404, body="")

    # -- long videos: real lengths -----------------------------------------------------------

    def _record_length(self, submission: dict[str, Any]) -> None:
        """The length of the video a submit makes: the chosen duration, or for an extension its source's length
        plus the added seconds (Grok's Extend hands back the whole video)."""
        post = submission.get("post")
        if not post or submission.get("mode") != "video":
            return
        if submission.get("kind") == "extend":
            source = self.video_seconds.get(submission.get("source_post") or "", 6)
            self.video_seconds[post] = source + int(str(submission.get("extend_seconds") or "6s").rstrip("s"))
        else:
            self.video_seconds[post] = int(str(submission.get("duration") or "6s").rstrip("s"))

    def _real_clip(self, video_id: str) -> bytes | None:
        with self.lock:
            seconds = self.video_seconds.get(video_id) if self.real_lengths else None
        return clip_mp4(seconds, self.derived_videos.get(video_id, 0)) if seconds else None

    def image_bytes(self, url: str) -> bytes:
        """What the asset host serves for a generated image's URL."""
        found = image_id(url)
        return generated_jpeg(found, self.image_aspects.get(found, "2:3"))

    def new_uuid(self) -> str:
        return str(uuid.uuid4())
