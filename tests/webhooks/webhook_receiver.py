"""A real webhook receiver: an HTTP server in a thread that records every request and answers with the status
the test sets (503 while it plays "down")."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from dataclasses import dataclass
from typing import Any

SECRET = "whsec_" + base64.b64encode(b"grok-imagine-webhook-test-key-32b").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, for one API key only").decode()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self) -> None:
        self.status = 200
        self.hold = threading.Event()  # cleared: every request waits (up to 30 s) before it is answered
        self.hold.set()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.hold.wait(timeout=30)
                with receiver._lock:
                    status = receiver.status
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 256  # the server sends many at once; the default backlog of 5 drops connections
            daemon_threads = True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx: the deliveries that count."""
        return [r for r in self.all() if 200 <= r.status < 300]

    def for_job(self, job_id: str) -> list[Received]:
        return [r for r in self.all() if r.event["data"]["id"] == job_id]
