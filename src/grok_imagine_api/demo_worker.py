"""A demo worker: claims jobs like the browser extension does and answers each with a made-up clip of the
promised shape and length, or for an image job with made-up images of the promised aspect ratio (the prompt
drawn on each). It shows the whole flow, abilities included, without a Grok account; it does not generate
anything."""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from . import __version__
from .demo_clips import bundled_clip, frame_size, make_clip
from .demo_images import UnreadableSource, make_images
from .domain.images import sniff_image_type
from .domain.jobs import Produced
from .files.media import probe

log = logging.getLogger("grok_imagine_api.demo_worker")

POLL_WAIT_SECONDS = 25
# Which media it takes: both, always.
MODE = "video,image"
MAX_BACKOFF_SECONDS = 30.0


class SourceUnavailable(Exception):
    pass


def source_shape(client: httpx.Client, url: str) -> Produced:
    """Download a job's source video (as a real worker would) and read its length and frame size."""
    reply = client.get(url)
    if reply.status_code != 200:
        raise SourceUnavailable(f"the source video could not be downloaded (HTTP {reply.status_code})")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "source.mp4"
        path.write_bytes(reply.content)
        produced = probe(path)
    if produced is None:
        raise SourceUnavailable("the source video could not be read")
    return produced


def clip_for(client: httpx.Client, job: dict[str, Any]) -> bytes:
    """What the job promised: its options, and for an extension its source's length plus the added seconds."""
    options = job.get("options") or {}
    kind = job.get("kind", "generate")
    source = source_shape(client, str(job["source_video_url"])) if job.get("source_video_url") else Produced()
    if kind == "generate" and options.get("aspect_ratio") is None and options.get("duration") is None:
        return bundled_clip()  # nothing was promised: the founding document's jobs get the sample clip
    seconds = float(options.get("duration") or source.seconds or 6)
    if kind == "extend":
        seconds += source.seconds or 0
    elif kind in ("remix", "edit") and options.get("duration") is None and source.seconds:
        seconds = source.seconds
    if options.get("aspect_ratio") is None and source.width and source.height:
        width, height = source.width, source.height  # an extension or edit keeps its source's frame
    else:
        width, height = frame_size(options.get("aspect_ratio") or "16:9", options.get("resolution") or "480p")
    return make_clip(width, height, seconds, seed=str(job["job_id"]))


def source_image(job: dict[str, Any]) -> bytes | None:
    """An image job's source image (base64, or a data URL), or None for a generation."""
    value = job.get("image")
    if job.get("kind") != "edit" or not value:
        return None
    text = str(value)
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableSource("the source image is not valid base64") from None


def images_for(job: dict[str, Any]) -> list[bytes]:
    """`n` images of the job's aspect ratio (an edit without one keeps its source's shape), the prompt on each."""
    options = job.get("options") or {}
    return make_images(
        str(job.get("prompt") or ""),
        int(job.get("n") or 1),
        aspect_ratio=options.get("aspect_ratio"),
        source=source_image(job),
        seed=str(job["job_id"]),
    )


def report_progress(client: httpx.Client, job_id: str, token: object, delay: float) -> bool:
    """25, 50 and 75 %, `delay` apart; False when the job is no longer ours to make (refused or cancelled)."""
    for percent in (25, 50, 75):
        time.sleep(delay)
        reply = client.post("/extension/progress", json={"job_id": job_id, "claim_token": token, "progress": percent})
        if reply.status_code != 200:
            log.warning("job %s: progress refused (%s): %s", job_id, reply.status_code, reply.text)
            return False
        if reply.json().get("cancelled"):
            log.info("job %s: cancelled by its client", job_id)
            return False
    return True


def process_image_job(client: httpx.Client, job: dict[str, Any], delay: float) -> None:
    job_id = str(job["job_id"])
    token = job.get("claim_token")
    if not report_progress(client, job_id, token, delay):
        return
    try:
        images = images_for(job)
    except UnreadableSource as exc:
        client.post(
            "/extension/error",
            json={"job_id": job_id, "claim_token": token, "code": "source_unavailable", "error": str(exc)},
        )
        log.warning("job %s: %s", job_id, exc)
        return
    parts = []
    for index, image in enumerate(images):
        mime = sniff_image_type(image) or "image/png"
        parts.append(("image", (f"{index}.{mime.rpartition('/')[2]}", image, mime)))
    reply = client.post("/extension/complete", data={"job_id": job_id, "claim_token": str(token)}, files=parts)
    if reply.status_code == 200:
        log.info("job %s: uploaded %d demo images", job_id, len(images))
    else:
        log.warning("job %s: upload refused (%s): %s", job_id, reply.status_code, reply.text)


def process_job(client: httpx.Client, job: dict[str, Any], delay: float) -> None:
    if job.get("media") == "image":
        process_image_job(client, job, delay)
        return
    job_id = str(job["job_id"])
    token = job.get("claim_token")
    if not report_progress(client, job_id, token, delay):
        return
    try:
        clip = clip_for(client, job)
    except SourceUnavailable as exc:
        client.post(
            "/extension/error",
            json={"job_id": job_id, "claim_token": token, "code": "source_unavailable", "error": str(exc)},
        )
        log.warning("job %s: %s", job_id, exc)
        return
    files = [("video", (f"{job_id}.mp4", clip, "video/mp4"))]
    if job.get("upscale"):
        # The job asked for HD (docs/hd.md): a demo has no upscale, so its "HD" file is the same clip.
        files.append(("video_hd", (f"{job_id}.hd.mp4", clip, "video/mp4")))
    reply = client.post("/extension/complete", data={"job_id": job_id, "claim_token": str(token)}, files=files)
    if reply.status_code == 200:
        again = " and the same clip as its HD file" if job.get("upscale") else ""
        log.info("job %s: uploaded a demo clip (%d bytes)%s", job_id, len(clip), again)
    else:
        log.warning("job %s: upload refused (%s): %s", job_id, reply.status_code, reply.text)


def run_demo_worker(
    server: str,
    *,
    client_id: str,
    max_jobs: int | None = None,
    delay: float = 0.2,
    token: str | None = None,
    abilities: dict[str, Any] | None = None,
) -> int:
    done = 0
    backoff = 1.0
    log.info("demo worker %s polling %s (answers every job with made-up clips or images)", client_id, server)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(30.0, read=POLL_WAIT_SECONDS + 15)
    poll = {"client_id": client_id, "version": f"demo-worker/{__version__}", "mode": MODE, "wait": POLL_WAIT_SECONDS}
    if abilities is not None:
        poll["abilities"] = abilities
    with httpx.Client(base_url=server.rstrip("/"), timeout=timeout, headers=headers) as client:
        while max_jobs is None or done < max_jobs:
            try:
                # Declared at every poll: a server that restarted learns them again at once.
                reply = client.post("/extension/poll", json=poll)
                if reply.status_code == 204:
                    backoff = 1.0
                    continue
                if reply.status_code == 401:
                    log.error("the server refused the worker token (%s); set --token or WORKER_TOKEN", reply.text)
                    return 2
                if reply.status_code == 400:
                    log.error("the server refused this worker's declaration: %s", reply.text)
                    return 2
                reply.raise_for_status()
                job = reply.json()
                log.info("job %s: claimed %s (%s)", job["job_id"], job.get("kind"), str(job["prompt"])[:60])
                process_job(client, job, delay)
                done += 1
                backoff = 1.0
            except KeyboardInterrupt:
                return 0
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("server unreachable or confused (%s); retrying in %.0f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    return 0
