"""Where a job's events go: the server-wide endpoint (WEBHOOK_URL) and its API key's own (API_KEYS_FILE)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..api.auth import owner_of
from ..config import Settings, check_webhook_url
from ..files.remote import is_public
from .signing import parse_secret

SERVER = "server"  # the endpoint name of WEBHOOK_URL; a key's endpoint is named by the key's owner id


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    key: bytes

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def check_endpoint(url: str | None, secret: str | None, allow_private: bool, url_name: str, secret_name: str) -> None:
    """Both or neither; an http(s) URL, not a literal private address (unless allowed); a whsec_ secret."""
    if (url is None) != (secret is None):
        given, missing = (url_name, secret_name) if url is not None else (secret_name, url_name)
        raise ValueError(f"{url_name} and {secret_name} go together: {given} is set but {missing} is not")
    if url is None or secret is None:
        return
    try:
        check_webhook_url(url)
    except ValueError as exc:
        raise ValueError(f"{url_name}: {exc}") from None
    try:
        parse_secret(secret)
    except ValueError as exc:
        raise ValueError(f"{secret_name}: {exc}") from None
    if not allow_private and literal_private(url):
        raise ValueError(
            f"{url_name}: {urlsplit(url).hostname} is a private or local address; set ALLOW_PRIVATE_URLS=true to "
            "allow it"
        )


def literal_private(url: str) -> bool:
    """A URL whose host is an IP address that is not public (a name is checked when sending: DNS may change)."""
    try:
        address = ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return urlsplit(url).hostname == "localhost"
    return not is_public(address)


class Endpoints:
    def __init__(self, server: Endpoint | None = None, per_owner: dict[str, Endpoint] | None = None) -> None:
        self.server = server
        self.per_owner = per_owner or {}

    @classmethod
    def for_settings(cls, settings: Settings) -> Endpoints:
        server = None
        if settings.webhook_url and settings.webhook_secret:
            key = parse_secret(settings.webhook_secret.get_secret_value().strip())
            server = Endpoint(SERVER, settings.webhook_url, key)
        per_owner = {}
        for api_key, options in settings.key_file_entries():
            if options.get("webhook_url") and options.get("webhook_secret"):
                owner = owner_of(api_key)
                per_owner[owner] = Endpoint(owner, options["webhook_url"], parse_secret(options["webhook_secret"]))
        return cls(server, per_owner)

    @property
    def configured(self) -> bool:
        return self.server is not None or bool(self.per_owner)

    def for_owner(self, owner: str | None) -> list[Endpoint]:
        found = [self.server] if self.server is not None else []
        if owner is not None and owner in self.per_owner:
            found.append(self.per_owner[owner])
        return found

    def named(self, name: str) -> Endpoint | None:
        return self.server if name == SERVER else self.per_owner.get(name)
