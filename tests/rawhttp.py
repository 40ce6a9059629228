"""HTTP/1.1 requests on a bare socket, for what httpx will not do: stop halfway through a body, or keep on
sending a body the server has already answered."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawRequest:
    """Sends the request line and headers (with `Content-Length: declared`, or chunked when None) at once;
    the body goes only as `send` is called."""

    def __init__(
        self, port: int, method: str, path: str, headers: dict[str, str] | None = None, *, declared: int | None
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.chunked = declared is None
        lines = [f"{method} {path} HTTP/1.1", "Host: test"]
        lines.append("Transfer-Encoding: chunked" if declared is None else f"Content-Length: {declared}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> bool:
        """False once the server has hung up (what it answered first can still be read)."""
        if self.chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def end(self) -> None:
        if self.chunked:
            self.sock.sendall(b"0\r\n\r\n")

    def reply(self, timeout: float = 10) -> Reply:
        self.sock.settimeout(timeout)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        body = response.read()
        return Reply(response.status, {name.lower(): value for name, value in response.getheaders()}, body)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawRequest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def assert_envelope(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
