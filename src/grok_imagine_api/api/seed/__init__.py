"""The founding document's dialect: `/v1/videos/generations` and `/v1/video/generations`."""

from .routes import PREFIXES, router

__all__ = ["PREFIXES", "router"]
