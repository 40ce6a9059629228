"""The founding document's client API, under both spellings it uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..domain.jobs import GenerationOptions
from .common import json_body, log_info, read_json, service
from .views import seed_job

router = APIRouter()

PREFIXES = ("/v1/videos/generations", "/v1/video/generations")


class CreateGeneration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field("grok", min_length=1, max_length=200)
    prompt: str
    image: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: int | None = None
    mode: str | None = None


async def create_generation(request: Request) -> dict[str, Any]:
    body = await read_json(request, CreateGeneration)
    log_info(request, payload=body.model_dump(exclude_none=True))
    job = await service(request).create(
        model=body.model,
        prompt=body.prompt,
        image=body.image,
        options=GenerationOptions(
            aspect_ratio=body.aspect_ratio, resolution=body.resolution, duration=body.duration, mode=body.mode
        ),
    )
    log_info(request, job_id=job.id, status=job.status.value)
    return seed_job(request, job)


async def get_generation(request: Request, job_id: str) -> dict[str, Any]:
    log_info(request, job_id=job_id)
    job = await service(request).get(job_id)
    log_info(request, status=job.status.value)
    return seed_job(request, job)


for prefix in PREFIXES:
    router.add_api_route(
        prefix,
        create_generation,
        methods=["POST"],
        summary="Create a video generation job",
        openapi_extra=json_body(CreateGeneration),
    )
    router.add_api_route(f"{prefix}/{{job_id}}", get_generation, methods=["GET"], summary="Get a job")
