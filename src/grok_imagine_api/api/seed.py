"""The founding document's client API, under both spellings it uses. The create route also takes
xAI's body (`duration`, `image: {"url"}`, ...), since xAI serves the same path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..domain.errors import InvalidRequest
from ..domain.jobs import Dialect, GenerationOptions
from ..domain.sizes import with_size_and_seconds
from ..service import JobRequest
from .auth import Viewer
from .common import json_body, log_info, read_json, service
from .idempotency import idempotent
from .views import seed_job

router = APIRouter()

PREFIXES = ("/v1/videos/generations", "/v1/video/generations")


class ImageRef(BaseModel):
    url: str = Field(min_length=1)


class CreateGeneration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field("grok", min_length=1, max_length=200)
    prompt: str
    image: str | ImageRef | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: int | None = None
    mode: str | None = None
    size: str | None = None
    reference_images: list[Any] | None = None

    @property
    def dialect(self) -> Dialect:
        xai = (
            isinstance(self.image, ImageRef)
            or self.duration is not None
            or self.size is not None
            or self.model.startswith("grok-imagine")
        )
        return Dialect.XAI if xai else Dialect.SEED


async def create_generation(request: Request, viewer: Viewer) -> Response:
    body = await read_json(request, CreateGeneration)
    log_info(request, payload=body.model_dump(exclude_none=True))
    if body.reference_images:
        raise InvalidRequest("reference_images is not supported by Grok Imagine's web page", param="reference_images")
    options = GenerationOptions(
        aspect_ratio=body.aspect_ratio, resolution=body.resolution, duration=body.duration, mode=body.mode
    )
    options = with_size_and_seconds(options, size=body.size, seconds=None)
    image = body.image.url if isinstance(body.image, ImageRef) else body.image
    job_request = JobRequest(
        prompt=body.prompt,
        model=body.model,
        options=options,
        image=image,
        dialect=body.dialect,
        owner=viewer,
        requested=body.model_dump(exclude_none=True, exclude={"prompt", "image", "model"}),
        image_param="image.url" if isinstance(body.image, ImageRef) else "image",
    )

    async def run() -> Response:
        job = await service(request).create(job_request)
        log_info(request, job_id=job.id, status=job.status.value)
        return JSONResponse({**seed_job(request, job), "request_id": job.id})

    return await idempotent(request, viewer, body.model_dump(), run)


async def get_generation(request: Request, job_id: str, viewer: Viewer) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).get(job_id, viewer=viewer)
    log_info(request, status=job.status.value)
    return seed_job(request, job)


for prefix in PREFIXES:
    router.add_api_route(
        prefix,
        create_generation,
        methods=["POST"],
        summary="Create a video generation job (the founding document's body, or xAI's)",
        openapi_extra=json_body(CreateGeneration),
    )
    router.add_api_route(f"{prefix}/{{job_id}}", get_generation, methods=["GET"], summary="Get a job")
