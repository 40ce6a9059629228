"""Signed video links: play in a plain <video> tag or curl, without headers, until they expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class UrlSigner:
    def __init__(self, secret: str, ttl_seconds: float) -> None:
        self._secret = secret.encode()
        self.ttl_seconds = ttl_seconds

    def _signature(self, job_id: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{job_id}.{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def query(self, job_id: str, now: float) -> str:
        expires = int(now + self.ttl_seconds)
        return f"expires={expires}&signature={self._signature(job_id, expires)}"

    def valid(self, job_id: str, expires: str | None, signature: str | None, now: float) -> bool:
        if not expires or not signature or not expires.isdigit() or len(expires) > 12:
            return False
        return int(expires) > now and hmac.compare_digest(signature, self._signature(job_id, int(expires)))
