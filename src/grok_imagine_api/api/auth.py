"""Who is calling: a client with an API key, a worker with the worker token, or anyone (open server)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request

from ..config import Settings
from ..domain.errors import APIError
from ..listening import Address, wait_for_listeners

log = logging.getLogger("grok_imagine_api")


class Unauthorized(APIError):
    status_code = 401
    code = "invalid_api_key"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(APIError):
    status_code = 403
    code = "forbidden"


def owner_of(key: str) -> str:
    """A stable, non-secret name for a key: what jobs record as their owner."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class Auth:
    def __init__(self, settings: Settings) -> None:
        self.keys = {key: owner_of(key) for key in settings.client_keys()}
        self.worker_token = settings.worker_token

    @property
    def clients_need_keys(self) -> bool:
        return bool(self.keys)

    def client(self, request: Request) -> str | None:
        """The caller's owner id, or None on an open server."""
        if not self.keys:
            return None
        token = bearer(request)
        if token is None:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
        owner = self._lookup(token)
        if owner is not None:
            return owner
        if self.worker_token is not None and hmac.compare_digest(token, self.worker_token):
            raise Unauthorized("The worker token cannot be used on client routes", code="worker_token_not_allowed")
        raise Unauthorized("Invalid API key")

    def owner_if_valid(self, request: Request) -> str | None:
        token = bearer(request)
        return self._lookup(token) if token else None

    def _lookup(self, token: str) -> str | None:
        for key, owner in self.keys.items():
            if hmac.compare_digest(token, key):
                return owner
        return None

    def worker(self, request: Request) -> None:
        if self.worker_token is None:
            return
        token = bearer(request) or request.headers.get("x-worker-token")
        if token is None:
            raise Unauthorized(
                "Missing worker token: send 'Authorization: Bearer <WORKER_TOKEN>'", code="invalid_worker_token"
            )
        if hmac.compare_digest(token, self.worker_token):
            return
        if self._lookup(token) is not None:
            raise Unauthorized("API keys cannot act as a worker; use the worker token", code="api_key_not_allowed")
        raise Unauthorized("Invalid worker token", code="invalid_worker_token")

    def warnings(self, addresses: Iterable[Address] | None) -> list[str]:
        """What to say about listening on `addresses` (None: not known) without keys or a worker token."""
        if addresses is None:
            where = "listening on an address this process cannot read"
        else:
            exposed = [address for address in addresses if not is_loopback(address[0])]
            if not exposed:
                return []
            where = f"listening on {shown(exposed)}"
        found = []
        if not self.keys:
            found.append(
                f"NO API KEYS: {where}, anyone who can reach this port can create jobs and read "
                "every job and video. Set API_KEYS (or API_KEYS_FILE) to require 'Authorization: Bearer <key>'."
            )
        if self.worker_token is None:
            found.append(
                f"NO WORKER TOKEN: {where}, anyone who can reach this port can claim jobs as a worker "
                "and see their prompts and images. Set WORKER_TOKEN."
            )
        return found


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shown(addresses: Iterable[Address]) -> str:
    """`0.0.0.0:8000, [::]:8000`, each address once."""
    return ", ".join(dict.fromkeys(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in addresses))


async def warn_once_listening(gate: Auth) -> None:
    """Log the start-up warnings once the server listens: uvicorn binds after the app's start-up."""
    addresses = await wait_for_listeners()
    if addresses:
        log.info("start-up: listening on %s", shown(addresses))
    for warning in gate.warnings(addresses):
        log.warning("%s", warning)


def auth(request: Request) -> Auth:
    value: Auth = request.app.state.auth
    return value


# Async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a hop per request.
async def client_owner(request: Request) -> str | None:
    return auth(request).client(request)


async def require_worker(request: Request) -> None:
    auth(request).worker(request)


Viewer = Annotated[str | None, Depends(client_owner)]
