"""Request bodies of the routes that read their own (multipart, or multipart and JSON): what /docs shows.

They describe and never validate: the routes parse the body themselves, accept fields they do not know (as
the official clients' `extra_body` sends them), and answer bad values with 400 in the error envelope."""

from __future__ import annotations

from typing import Any

from ...domain.image_options import XAI_ASPECT_RATIOS

BINARY = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}
PROMPT = {"type": "string", "minLength": 1, "description": "What to make (MAX_PROMPT_CHARS at most)"}
MODEL = {"type": "string", "description": "Any model name; echoed back"}
SECONDS = {
    "anyOf": [{"type": "string"}, {"type": "integer"}],
    "description": 'Whole seconds, "1" to "20" (Sora\'s "4", "8", "12" included): made as the nearest length a '
    "worker makes, said in `adjustments`",
}
SIZE = {
    "type": "string",
    "description": "WIDTHxHEIGHT, e.g. 720x1280, 1280x720, 1024x1792, 1792x1024: made as the nearest aspect ratio",
}


UPSCALE = {
    "type": "boolean",
    "description": 'Also Grok\'s HD upscale, served as variant=hd (docs/hd.md); so do quality "hd" and resolution '
    '"1080p", made at 720p and upscaled (the HD frame size is Grok\'s choice)',
}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _json(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A JSON body: a field that may be left out may also be null, which means the same."""
    return _object({name: s if name in required else _or_null(s) for name, s in properties.items()}, required)


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    described = {key: value for key, value in schema.items() if key == "description"}
    kinds = schema.get("anyOf") or [{key: value for key, value in schema.items() if key != "description"}]
    return {"anyOf": [*kinds, {"type": "null"}], **described}


def _body(content: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media: {"schema": s} for media, s in content.items()}}}


def openai_create() -> dict[str, Any]:
    """POST /v1/videos: the openai SDK sends multipart when there is a file, JSON otherwise."""
    common = {"prompt": PROMPT, "model": MODEL, "seconds": SECONDS, "size": SIZE}
    reference = {
        "anyOf": [
            _object({"image_url": {"type": "string", "description": "http(s) or data: URL"}}, ["image_url"]),
            _object({"file_id": TEXT}, ["file_id"]),
        ],
        "description": "The first frame: an image URL (file_id is refused: this server has no Files API)",
    }
    return _body(
        {
            "multipart/form-data": _object(
                {
                    **common,
                    "input_reference": BINARY,
                    "upscale": {**UPSCALE, "type": "string", "enum": ["true", "false"]},
                },
                ["prompt"],
            ),
            "application/json": _json({**common, "input_reference": reference, "upscale": UPSCALE}, ["prompt"]),
        }
    )


def openai_remix() -> dict[str, Any]:
    return _body({"application/json": _json({"prompt": PROMPT}, ["prompt"])})


def derived() -> dict[str, Any]:
    """POST /v1/videos/extensions and /edits: one source video, as a file, `video[id]`, or xAI's `video.url`."""
    source = {
        "anyOf": [_object({"id": TEXT}, ["id"]), _object({"url": {"type": "string"}}, ["url"])],
        "description": "A video of this server by id, or (xAI) a public http(s) URL of an MP4",
    }
    common = {
        "prompt": PROMPT,
        "model": MODEL,
        "seconds": SECONDS,
        "duration": {"type": "integer", "description": "xAI: seconds to add (extensions, 2 to 10)"},
    }
    return _body(
        {
            "multipart/form-data": _object({**common, "video": BINARY, "video[id]": TEXT}, ["prompt"]),
            "application/json": _json({**common, "video": source}, ["prompt", "video"]),
        }
    )


def worker_upload() -> dict[str, Any]:
    """POST /extension/complete: the finished MP4, streamed to disk; `job_id` and `claim_token` may also be
    query parameters."""
    fields = {
        "job_id": TEXT,
        "claim_token": {"type": "string", "description": "The claim's token: only the current lease completes"},
        "grok_post_id": {"type": "string", "description": "The Grok post the video came from (optional)"},
        "video": BINARY,
        "video_hd": {
            **BINARY,
            "description": "Grok's HD upscale of the video: required for a job that asked for HD "
            "(`upscale` in the claim), refused otherwise; after job_id",
        },
        "image": {"type": "array", "items": BINARY, "description": "An image job's images instead of a video"},
    }
    return _body({"multipart/form-data": _object(fields, [])})


IMAGE_OPTIONS = {
    "prompt": PROMPT,
    "model": MODEL,
    "n": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How many images (1 to 10)"},
    "size": {
        "type": "string",
        "pattern": "^([1-9][0-9]{0,4}x[1-9][0-9]{0,4}|auto)?$",
        "description": "WIDTHxHEIGHT or auto: made as the nearest aspect ratio Grok makes",
    },
    "aspect_ratio": {"type": "string", "enum": [*XAI_ASPECT_RATIOS, "auto", ""], "description": "xAI's ratios"},
    "response_format": {"type": "string", "enum": ["url", "b64_json", ""]},
    "quality": {"type": "string", "description": "Accepted; Grok has one quality (said in `adjustments`)"},
    "style": {"type": "string", "description": "Accepted and said in `adjustments`"},
    "output_format": {"type": "string", "description": "Accepted; Grok chooses the format (`content_type`)"},
    "user": {"type": "string"},
}


def image_generation() -> dict[str, Any]:
    """POST /v1/images/generations: OpenAI's and xAI's JSON."""
    return _body({"application/json": _json(IMAGE_OPTIONS, ["prompt"])})


def image_edit() -> dict[str, Any]:
    """POST /v1/images/edits: OpenAI's multipart (`image` or `image[]`), or xAI's JSON with image URLs."""
    source = {
        "anyOf": [
            {"type": "string", "description": "An http(s) URL or a data URL"},
            _object({"url": TEXT}, ["url"]),
            _object({"image_url": _object({"url": TEXT}, ["url"])}, ["image_url"]),
        ]
    }
    multipart = {**IMAGE_OPTIONS, "image": BINARY, "image[]": {"type": "array", "items": BINARY}, "mask": BINARY}
    return _body(
        {
            "multipart/form-data": _object(multipart, ["prompt"]),
            "application/json": _json(
                {**IMAGE_OPTIONS, "image": source, "images": {"type": "array", "items": source, "maxItems": 16}},
                ["prompt"],
            ),
        }
    )
