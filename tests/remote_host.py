"""A real HTTP(S) server in a thread, standing in for the hosts that clients name by URL: it serves fixed routes
at once, a byte at a time, or as redirects, and records every request it gets."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    location: str | None = None
    byte_every: float | None = None  # trickle: one byte, then this many seconds, and so on


class RemoteHost:
    def __init__(self, address: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Host header)
        self._stopping = threading.Event()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer((address, 0), Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self.url = f"{'https' if tls else 'http'}://{address}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.path, handler.headers.get("Host")))
        route = self.routes.get(handler.path, Route(b"missing", 404))
        try:
            handler.send_response(route.status)
            if route.location is not None:
                handler.send_header("Location", route.location)
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            if route.byte_every is None:
                handler.wfile.write(route.body)
                return
            for index in range(len(route.body)):
                handler.wfile.write(route.body[index : index + 1])
                if self._stopping.wait(route.byte_every):
                    return
        except OSError:  # the client gave up
            handler.close_connection = True

    def __enter__(self) -> RemoteHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` only, and its key, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
