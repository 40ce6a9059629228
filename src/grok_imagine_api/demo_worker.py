"""A demo worker: claims jobs like the browser extension does and answers each with a bundled sample
clip. It shows the whole flow without a Grok account; it does not generate anything."""

from __future__ import annotations

import logging
import time
from importlib import resources

import httpx

from . import __version__

log = logging.getLogger("grok_imagine_api.demo_worker")

POLL_WAIT_SECONDS = 25
MAX_BACKOFF_SECONDS = 30.0


def demo_clip() -> bytes:
    return resources.files("grok_imagine_api").joinpath("assets/demo.mp4").read_bytes()


def process_job(client: httpx.Client, job: dict[str, object], clip: bytes, delay: float) -> None:
    job_id = str(job["job_id"])
    token = job.get("claim_token")
    for percent in (25, 50, 75):
        time.sleep(delay)
        reply = client.post("/extension/progress", json={"job_id": job_id, "claim_token": token, "progress": percent})
        if reply.status_code != 200:
            log.warning("job %s: progress refused (%s): %s", job_id, reply.status_code, reply.text)
            return
    reply = client.post(
        "/extension/complete",
        data={"job_id": job_id, "claim_token": str(token)},
        files={"video": (f"{job_id}.mp4", clip, "video/mp4")},
    )
    if reply.status_code == 200:
        log.info("job %s: uploaded the demo clip (%d bytes)", job_id, len(clip))
    else:
        log.warning("job %s: upload refused (%s): %s", job_id, reply.status_code, reply.text)


def run_demo_worker(
    server: str, *, client_id: str, max_jobs: int | None = None, delay: float = 0.2, token: str | None = None
) -> int:
    clip = demo_clip()
    done = 0
    backoff = 1.0
    log.info("demo worker %s polling %s (answers every job with a sample clip)", client_id, server)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(30.0, read=POLL_WAIT_SECONDS + 15)
    with httpx.Client(base_url=server.rstrip("/"), timeout=timeout, headers=headers) as client:
        while max_jobs is None or done < max_jobs:
            try:
                reply = client.get(
                    "/extension/poll",
                    params={
                        "client_id": client_id,
                        "version": f"demo-worker/{__version__}",
                        "mode": "video",
                        "wait": POLL_WAIT_SECONDS,
                    },
                )
                if reply.status_code == 204:
                    backoff = 1.0
                    continue
                if reply.status_code == 401:
                    log.error("the server refused the worker token (%s); set --token or WORKER_TOKEN", reply.text)
                    return 2
                reply.raise_for_status()
                job = reply.json()
                log.info("job %s: claimed (%s)", job["job_id"], str(job["prompt"])[:60])
                process_job(client, job, clip, delay)
                done += 1
                backoff = 1.0
            except KeyboardInterrupt:
                return 0
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("server unreachable or confused (%s); retrying in %.0f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    return 0
