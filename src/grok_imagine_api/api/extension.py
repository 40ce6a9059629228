"""The worker protocol: what the browser extension (or any worker) calls."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect

from ..domain.errors import InvalidRequest, PayloadTooLarge
from ..domain.jobs import Claim, ErrorCode
from .common import json_body, log_info, read_json, service, video_url
from .uploads import VideoForm, multipart_boundary, read_video_form

router = APIRouter(prefix="/extension")

# An upload that takes long keeps its lease alive by itself, this often.
UPLOAD_TOUCH_SECONDS = 15.0
WORKER_ERROR_CODES = ", ".join(code.value for code in ErrorCode)


def claim_body(request: Request, claim: Claim) -> dict[str, Any]:
    job = claim.job
    svc = service(request)
    return {
        "job_id": job.id,
        "prompt": job.prompt,
        "image": base64.b64encode(claim.image.data).decode("ascii") if claim.image else None,
        "image_mime": claim.image.mime if claim.image else None,
        "model": job.model,
        "options": job.options.to_dict(),
        "claim_token": job.claim_token,
        "lease_expires_at": job.lease_expires_at,
        "lease_seconds": svc.lease_seconds,
        "attempt": job.attempts,
        "video_url": video_url(request, job.id),
    }


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.get("/poll", response_model=None, summary="Claim the oldest pending job (204 when there is none)")
async def poll(
    request: Request,
    client_id: str | None = Query(None, max_length=200),
    mode: str = Query("video"),
    wait: float = Query(0, ge=0, description="Long-poll: seconds to wait for a job (capped at 30)"),
) -> Response | dict[str, Any]:
    if mode != "video":
        raise InvalidRequest(f"Unsupported mode {mode!r}; this server only has video jobs", param="mode")
    svc = service(request)
    worker_id = client_id or f"anonymous@{request.client.host if request.client else 'unknown'}"
    polling = asyncio.ensure_future(svc.poll(worker_id=worker_id, wait=wait))
    if wait > 0:
        # A worker that hangs up while waiting must not be handed a job it will never see.
        hangup = asyncio.ensure_future(_wait_for_disconnect(request))
        await asyncio.wait({polling, hangup}, return_when=asyncio.FIRST_COMPLETED)
        hung_up = hangup.done()
        hangup.cancel()
        if not polling.done():
            polling.cancel()
            return Response(status_code=204)
        if hung_up and (claim := polling.result()) is not None:
            await svc.release(claim)
            return Response(status_code=204)
    claim = await polling
    if claim is None:
        return Response(status_code=204)
    log_info(request, job_id=claim.job.id, status=claim.job.status.value)
    return claim_body(request, claim)


class ProgressReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=100)
    claim_token: str | None = Field(None, max_length=200)
    progress: int | None = Field(None, ge=0, le=100)
    message: str | None = Field(None, max_length=1000)


@router.post("/progress", summary="Report progress and extend the lease", openapi_extra=json_body(ProgressReport))
async def progress(request: Request) -> dict[str, Any]:
    body = await read_json(request, ProgressReport)
    log_info(request, job_id=body.job_id, payload=body.model_dump(exclude_none=True, exclude={"claim_token"}))
    job = await service(request).progress(body.job_id, claim_token=body.claim_token, progress=body.progress)
    log_info(request, status=job.status.value)
    return {
        "job_id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "lease_expires_at": job.lease_expires_at,
        "cancelled": False,
    }


@router.post("/complete", summary="Upload the finished MP4 (multipart: job_id, video)")
async def complete(request: Request) -> dict[str, Any]:
    svc = service(request)
    limit = svc.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MAX_FORM_OVERHEAD:
        raise PayloadTooLarge(
            f"Upload is larger than the limit of {limit} bytes (MAX_UPLOAD_BYTES)",
            param="video",
            code="video_too_large",
        )
    form = VideoForm(
        boundary=multipart_boundary(request.headers.get("content-type")),
        file_field="video",
        max_bytes=limit,
        open_upload=svc.storage.begin_upload,
    )
    checked: str | None = None
    last_touch = time.monotonic()

    def ids() -> tuple[str | None, str | None]:
        job_id = form.fields.get("job_id") or request.query_params.get("job_id")
        token = form.fields.get("claim_token") or request.query_params.get("claim_token")
        return job_id, token

    async def on_chunk(form: VideoForm) -> None:
        nonlocal checked, last_touch
        job_id, token = ids()
        if job_id and checked is None:
            log_info(request, job_id=job_id)
            await svc.check_report(job_id, token)
            checked = job_id
        if checked and form.upload is not None and time.monotonic() - last_touch > UPLOAD_TOUCH_SECONDS:
            await svc.progress(checked, claim_token=token, progress=None)
            last_touch = time.monotonic()

    try:
        await read_video_form(request.stream(), form, on_chunk)
    except ClientDisconnect:
        raise InvalidRequest("Client disconnected during the upload", code="client_disconnected") from None
    job_id, token = ids()
    try:
        if not job_id:
            raise InvalidRequest("Missing form field 'job_id'", param="job_id", code="missing_parameter")
        log_info(request, job_id=job_id)
        if form.upload is None:
            raise InvalidRequest("Missing file part 'video'", param="video", code="missing_parameter")
        job = await svc.complete(job_id, claim_token=token, upload=form.upload)
    except BaseException:
        form.discard()
        raise
    log_info(
        request,
        status=job.status.value,
        video_size=job.video_size,
        job_duration=round((job.completed_at or job.updated_at) - job.created_at, 3),
        payload={"job_id": job_id, "video": {"filename": form.filename, "size": job.video_size}},
    )
    return {
        "job_id": job.id,
        "status": job.status.value,
        "video_url": video_url(request, job.id),
        "video_size": job.video_size,
    }


MAX_FORM_OVERHEAD = 1024 * 1024


class ErrorReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=100)
    error: str = Field(min_length=1, max_length=4000)
    code: ErrorCode = Field(ErrorCode.WORKER_ERROR, description=f"One of: {WORKER_ERROR_CODES}")
    claim_token: str | None = Field(None, max_length=200)


@router.post("/error", summary="Report that a job failed", openapi_extra=json_body(ErrorReport))
async def report_error(request: Request) -> dict[str, Any]:
    body = await read_json(request, ErrorReport)
    log_info(request, job_id=body.job_id, payload=body.model_dump(exclude_none=True, exclude={"claim_token"}))
    job = await service(request).fail(body.job_id, claim_token=body.claim_token, error=body.error, code=body.code)
    log_info(
        request,
        status=job.status.value,
        error_code=job.error_code,
        job_duration=round((job.completed_at or job.updated_at) - job.created_at, 3),
    )
    return {"job_id": job.id, "status": job.status.value, "error": job.error, "error_code": job.error_code}
