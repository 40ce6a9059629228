"""The one error shape every route answers with (api/errors.py builds it; docs/errors.md lists every code)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Error(BaseModel):
    message: str
    type: Literal["invalid_request_error", "server_error"] = Field(description="server_error for 500 and 503")
    param: str | None = Field(description="The parameter at fault, when there is one")
    code: str = Field(description="What went wrong, for programs: every code is in docs/errors.md")


class ErrorResponse(BaseModel):
    """OpenAI's error envelope."""

    error: Error
