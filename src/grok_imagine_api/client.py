"""HTTP calls of the command-line client: one method per route it uses, errors as exceptions."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .domain.images import sniff_image_type

DEFAULT_SERVER = "http://localhost:8000"
CHUNK_BYTES = 256 * 1024


class ServerError(Exception):
    """The server answered with an error envelope (or something that is not one)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class Unreachable(Exception):
    def __init__(self, server: str, reason: str) -> None:
        super().__init__(f"cannot reach the server at {server} ({reason})")
        self.server = server


class BadImage(Exception):
    """A local image file the server would refuse anyway."""


def image_file(path: Path) -> tuple[str, bytes, str]:
    """A local image as a multipart file part: its name, bytes and type (recognized by its bytes)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadImage(f"image file not found: {path}") from None
    except OSError as exc:
        raise BadImage(f"cannot read image {path}: {exc.strerror}") from None
    mime = sniff_image_type(data)
    if mime is None:
        raise BadImage(f"{path} is not a PNG, JPEG or WebP image")
    return path.name, data, mime


def image_data_url(path: Path) -> str:
    _, data, mime = image_file(path)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def error_from(reply: httpx.Response) -> ServerError:
    try:
        error = reply.json()["error"]
        return ServerError(reply.status_code, str(error["message"]), error.get("code"))
    except (ValueError, KeyError, TypeError):
        text = reply.text.strip()[:200] or reply.reason_phrase
        return ServerError(reply.status_code, f"HTTP {reply.status_code}: {text}")


class Client:
    def __init__(self, server: str, api_key: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(30.0, connect=10.0)
        self.http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout, transport=transport)
        # For links to another host (PUBLIC_BASE_URL): signed on their own, never given the key.
        self.elsewhere = httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.elsewhere.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(self.server, str(exc) or type(exc).__name__) from None
        if not reply.is_success:
            raise error_from(reply)  # a redirect too: this is not the API (a wrong --server, a proxy)
        try:
            return reply.json()
        except ValueError:
            message = f"{self.server}{path} did not answer with JSON; is --server right?"
            raise ServerError(reply.status_code, message) from None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = self.request("POST", "/v1/videos/generations", json=body)
        return job

    def create_images(
        self, fields: dict[str, Any], source: tuple[str, bytes, str] | None, wait: float | None
    ) -> dict[str, Any]:
        """Ask for images (an edit of `source` if given), answered at once with the job (202, `Prefer:
        respond-async`); a server that holds the request instead is waited for up to `wait` seconds."""
        headers = {"Prefer": "respond-async"}
        timeout = httpx.Timeout(30.0, connect=10.0, read=wait)
        answer: dict[str, Any]
        if source is None:
            answer = self.request("POST", "/v1/images/generations", json=fields, headers=headers, timeout=timeout)
        else:
            form = {name: str(value) for name, value in fields.items()}
            answer = self.request(
                "POST", "/v1/images/edits", data=form, files={"image": source}, headers=headers, timeout=timeout
            )
        return answer

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.request("GET", f"/jobs/{job_id}")
        return job

    def jobs(
        self, *, status: str | None, text: str | None, limit: int, cursor: str | None, media: str | None = None
    ) -> dict[str, Any]:
        params = {"status": status, "q": text, "limit": limit, "cursor": cursor, "media": media}
        page: dict[str, Any] = self.request("GET", "/jobs", params={k: v for k, v in params.items() if v is not None})
        return page

    def cancel(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.request("POST", f"/jobs/{job_id}/cancel")
        return job

    def download(self, url: str, target: Path, on_bytes: Callable[[int, int | None], None]) -> None:
        """Stream `url` into a temporary file beside `target`, renamed only once complete."""
        partial = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            # Not tempfile.mkstemp: its files are private (0600); this one should get the usual permissions.
            with open(partial, "xb") as out:
                self._stream(url, out.write, on_bytes)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _stream(self, url: str, write: Callable[[bytes], object], on_bytes: Callable[[int, int | None], None]) -> None:
        timeout = httpx.Timeout(60.0, connect=10.0)
        # The API key goes only to this server; a link elsewhere (PUBLIC_BASE_URL) is signed on its own.
        where = self.server
        if url.startswith(self.server + "/"):
            opened = self.http.stream("GET", url[len(self.server) :], timeout=timeout)
        else:
            where = str(httpx.URL(url).copy_with(path="/", query=None)).rstrip("/")
            opened = self.elsewhere.stream("GET", url, timeout=timeout)
        try:
            with opened as reply:
                if not reply.is_success:
                    reply.read()
                    raise error_from(reply)
                length = reply.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
                done = 0
                for chunk in reply.iter_bytes(CHUNK_BYTES):
                    write(chunk)
                    done += len(chunk)
                    on_bytes(done, total)
        except httpx.TransportError as exc:
            raise Unreachable(where, str(exc) or type(exc).__name__) from None
