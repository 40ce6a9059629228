"""OpenAI's Videos API (`client.videos` of the official SDK) under /v1/videos."""

from .routes import router

__all__ = ["router"]
