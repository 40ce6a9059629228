"""Background upkeep: fail stale jobs, delete old videos, prune old request logs."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..reqlog import RequestLog
from ..service import JobService

log = logging.getLogger("grok_imagine_api")


@dataclass(frozen=True)
class CleanupReport:
    stale_jobs: int
    unmatched_jobs: int
    expired_videos: int
    pruned_logs: int


async def run_cleanup(service: JobService, request_log: RequestLog) -> CleanupReport:
    stale = await service.fail_stale()
    unmatched = await service.fail_unmatched()
    expired = await service.expire_videos()
    for sweep in service.sweeps:  # e.g. long videos whose step ended while the server was down (chains.py)
        await sweep()
    await service.purge_idempotency()
    pruned = await asyncio.to_thread(
        request_log.prune, retention_days=service.settings.log_retention_days, now=service.clock.now()
    )
    if stale or unmatched or expired or pruned:
        log.info(
            "cleanup: %d stale jobs failed, %d jobs no worker could make failed, %d videos expired, "
            "%d log files pruned",
            len(stale),
            len(unmatched),
            len(expired),
            len(pruned),
        )
    return CleanupReport(len(stale), len(unmatched), len(expired), len(pruned))


def cleanup_interval(service: JobService) -> float:
    """Often enough that a silent worker's job fails within a fifth of JOB_TIMEOUT_SECONDS of expiring (and a job
    no worker can make within a fifth of NO_CAPABLE_WORKER_SECONDS)."""
    settings = service.settings
    shortest = min(settings.job_timeout_seconds, settings.no_capable_worker_seconds)
    return max(0.05, min(settings.cleanup_interval_seconds, shortest / 5))


async def cleanup_forever(service: JobService, request_log: RequestLog) -> None:
    while True:
        await asyncio.sleep(cleanup_interval(service))
        try:
            await run_cleanup(service, request_log)
        except Exception:
            log.exception("cleanup failed; retrying next round")
