"""What every dialect's answer says about a job beyond its own shape: what will be made, what was asked, why it
waits, and whether the video is what was promised."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..domain.jobs import Job
from .common import service


def truth(request: Request, job: Job) -> dict[str, Any]:
    return {
        "options": job.options.to_dict(),
        "requested": job.requested,
        "adjustments": job.adjustments,
        "waiting_reason": service(request).waiting_reason(job),
        "output_mismatch": job.output_mismatch,
    }
