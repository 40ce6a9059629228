"""The founding document's client API, under both spellings it uses. The create route also takes xAI's body
(`duration`, `image: {"url"}`, ...), since xAI serves the same path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...domain.errors import InvalidRequest
from ...domain.jobs import Media
from ...service import JobRequest
from ..auth import Viewer
from ..common import json_body, log_info, read_json, service
from ..idempotency import idempotent
from ..openapi import FETCHES, answers
from ..xai.requests import generation_asked
from .requests import CreateGeneration, ImageRef
from .responses import Generation, GenerationCreated, seed_job

router = APIRouter()

PREFIXES = ("/v1/videos/generations", "/v1/video/generations")


async def create_generation(request: Request, viewer: Viewer) -> Response:
    body = await read_json(request, CreateGeneration)
    log_info(request, payload=body.model_dump(exclude_none=True))
    if body.reference_images:
        raise InvalidRequest("reference_images is not supported by Grok Imagine's web page", param="reference_images")
    job_request = JobRequest(
        prompt=body.prompt,
        model=body.model,
        asked=generation_asked(body),
        image=body.image.url if isinstance(body.image, ImageRef) else body.image,
        dialect=body.dialect,
        owner=viewer,
        requested=body.model_dump(exclude_none=True, exclude={"prompt", "image", "user"}),
        image_param="image.url" if isinstance(body.image, ImageRef) else "image",
        segments=body.segments,
    )

    async def run() -> Response:
        job = await service(request).create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return JSONResponse({**seed_job(request, job), "request_id": job.id})

    return await idempotent(request, viewer, body.model_dump(), run)


async def get_generation(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).get(job_id, viewer=viewer, media=Media.VIDEO)
    log_info(request, status=job.status.value)
    return seed_job(request, job)


for prefix in PREFIXES:
    router.add_api_route(
        prefix,
        create_generation,
        methods=["POST"],
        summary="Create a video generation job (the founding document's body, or xAI's)",
        openapi_extra=json_body(CreateGeneration),
        responses=answers(GenerationCreated, 400, 401, 409, 413, 422, 503, notes=FETCHES),
    )
    router.add_api_route(
        f"{prefix}/{{job_id}}",
        get_generation,
        methods=["GET"],
        summary="Get a job",
        response_model=None,
        responses=answers(Generation, 401, 404, 503),
    )
