from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Every setting is read from the environment (or a `.env` file) under its upper-case name."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # The founding document's settings, with its defaults.
    server_host: str = "0.0.0.0"
    server_port: int = Field(8000, ge=1, le=65535)
    video_storage_path: Path = Path("./videos")
    log_path: Path = Path("./logs")
    db_path: Path = Path("./jobs.db")
    # postgresql://user:password@host:port/database: the jobs live there instead of DB_PATH (`pip install -e
    # ".[postgres]"`), so several replicas can share them.
    database_url: str | None = None
    max_video_age_days: float = Field(7, gt=0)
    job_timeout_seconds: float = Field(300, gt=0)

    # Added settings.
    public_base_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    max_upload_bytes: int = Field(512 * MIB, gt=0)
    max_image_bytes: int = Field(10 * MIB, gt=0)
    max_request_bytes: int = Field(16 * MIB, gt=0)
    max_buffered_bytes: int | None = Field(None, gt=0)  # default: 4 x MAX_REQUEST_BYTES
    max_prompt_chars: int = Field(4000, gt=0)
    log_retention_days: float = Field(30, gt=0)
    cleanup_interval_seconds: float = Field(60, gt=0)
    worker_seen_seconds: float = Field(120, gt=0)
    max_poll_wait_seconds: float = Field(30, ge=0, le=300)
    log_level: str = "info"
    # This replica's name among several on one database: in its worker rows and its notifications.
    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}", min_length=1)

    # Access control.
    api_keys: Annotated[list[str], NoDecode] = []
    api_keys_file: Path | None = None
    worker_token: str | None = None
    url_signing_secret: str | None = None
    video_url_ttl_seconds: float = Field(86400, gt=0)

    # Clients.
    poll_after_ms: int = Field(2000, ge=0)
    idempotency_ttl_seconds: float = Field(86400, gt=0)
    image_fetch_timeout_seconds: float = Field(15, gt=0)  # the whole fetch, not each read
    image_wait_seconds: float = Field(300, gt=0)  # how long an Images API request waits for the worker
    video_fetch_timeout_seconds: float = Field(120, gt=0)
    allow_private_urls: bool = False

    # What is made: `nearest` maps what was asked onto what workers can make and says so in every answer;
    # `strict` refuses (400) anything the default table cannot make exactly, and fails mismatched videos.
    option_matching: Literal["nearest", "strict"] = "nearest"
    no_capable_worker_seconds: float = Field(600, gt=0)

    # Retries (docs/retries.md): attempts a job may have when a worker's attempt fails with a code known to be safe
    # to retry (a request's `max_attempts` overrides it); extra attempts after a moderation; how long a retried job
    # waits for another worker than those that failed it; a rate-limited worker's rest when the toast names none.
    max_attempts: int = Field(3, ge=1, le=20)
    retry_moderated: int = Field(0, ge=0, le=10)
    retry_other_worker_seconds: float = Field(60, ge=0)
    rate_limit_cooldown_seconds: float = Field(60, gt=0)
    rate_limit_cooldown_max_seconds: float = Field(3600, gt=0)

    # Videos in an S3-compatible object store (the `s3` extra) instead of VIDEO_STORAGE_PATH, which then holds
    # only temp files. `stream` serves video_urls through this server; `redirect` answers 307 to a presigned URL.
    video_storage_url: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str | None = None
    s3_delivery: Literal["stream", "redirect"] = "stream"
    s3_url_ttl_seconds: float = Field(300, gt=0, le=7 * 86400)

    # Webhooks when jobs end (docs/webhooks.md): a server-wide endpoint; API_KEYS_FILE may give a key its own.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout_seconds: float = Field(10, gt=0, le=60)
    webhook_first_retry_seconds: float = Field(15, gt=0, le=30)  # then doubling, for up to 24 h

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Comma-separated (`a,b`) or a JSON list (`["a", "b"]`)."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not a valid JSON list; use a comma-separated list or a JSON array") from None
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("video_storage_url", "s3_endpoint_url", "aws_access_key_id", "aws_region")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("video_storage_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3_url(value)
        return value

    @field_validator("option_matching", "s3_delivery", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug", "trace"}:
            raise ValueError("must be one of critical, error, warning, info, debug, trace")
        return value

    @field_validator("api_keys_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (unset: SQLite at DB_PATH)")
        return value

    @field_validator("worker_token", "url_signing_secret")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return check_webhook_url(value.strip()) if value and value.strip() else None

    @field_validator("webhook_secret")
    @classmethod
    def _blank_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @model_validator(mode="after")
    def _webhooks(self) -> Settings:
        # Here rather than in field validators: their errors would echo the secret.
        from .webhooks.endpoints import check_endpoint

        secret = self.webhook_secret.get_secret_value().strip() if self.webhook_secret else None
        check_endpoint(self.webhook_url, secret, self.allow_private_urls, "WEBHOOK_URL", "WEBHOOK_SECRET")
        for number, (_, options) in enumerate(self.key_file_entries(), start=1):
            if options:
                where = f"API_KEYS_FILE key {number}'s "
                check_endpoint(
                    options.get("webhook_url"),
                    options.get("webhook_secret"),
                    self.allow_private_urls,
                    where + "webhook_url",
                    where + "webhook_secret",
                )
        return self

    def client_keys(self) -> list[str]:
        """API_KEYS plus the keys in API_KEYS_FILE (see key_file_entries)."""
        return list(self.api_keys) + [key for key, _ in self.key_file_entries()]

    def key_file_entries(self) -> list[tuple[str, dict[str, str]]]:
        """API_KEYS_FILE's keys, one a line (blank lines and # comments ignored), each with its options: a line
        `KEY webhook_url=URL webhook_secret=whsec_...` gives that key's jobs a webhook endpoint of their own."""
        entries: list[tuple[str, dict[str, str]]] = []
        if self.api_keys_file is None:
            return entries
        for line in self.api_keys_file.read_text(encoding="utf-8-sig").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append(key_file_line(line, len(entries) + 1))
        return entries

    @property
    def body_budget_bytes(self) -> int:
        """Request bytes all bodies in flight may hold together; never less than one body of MAX_REQUEST_BYTES."""
        return max(self.max_buffered_bytes or 4 * self.max_request_bytes, self.max_request_bytes)

    @property
    def max_video_age_seconds(self) -> float:
        return self.max_video_age_days * 86400

    def prepare_paths(self) -> None:
        self.video_storage_path.mkdir(parents=True, exist_ok=True)
        self.log_path.mkdir(parents=True, exist_ok=True)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)


KEY_OPTIONS = ("webhook_url", "webhook_secret")


def key_file_line(line: str, number: int) -> tuple[str, dict[str, str]]:
    """A key, and the `name=value` options after it; a line without any is all key, as it always was."""
    key, *rest = line.split()
    named = [part.partition("=") for part in rest]
    if not rest or not any(name in KEY_OPTIONS and equals for name, equals, _ in named):
        return line, {}  # a key with spaces (even with an `=` in it) stays a key, as it always was
    options = {}
    for name, equals, value in named:
        if not equals or name not in KEY_OPTIONS:
            # Never the line itself: it holds the key.
            raise ValueError(
                f"API_KEYS_FILE key {number}: after the key, only {' and '.join(KEY_OPTIONS)} (name=value) may follow"
            )
        options[name] = value
    return key, options


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return url


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must look like s3://bucket or s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


def load_settings() -> Settings:
    """Read settings, or stop the process with a message that names every bad value."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["grok-imagine-api: invalid configuration:"]
        for error in exc.errors():
            if not error["loc"]:  # a check of several settings together: its message names them
                lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
                continue
            name = "_".join(str(part) for part in error["loc"]).upper()
            value = error.get("input")
            lines.append(f"  {name}={value!r}: {error['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
