"""Request/response logging to `{LOG_PATH}/requests_YYYY-MM-DD.jsonl` (UTC dates), one JSON object a line.

Routes describe what a request was about by setting `request.state.log` (a dict): `job_id`,
`payload`, `status` (the job's), `video_size`, `job_duration`. The middleware writes the two lines.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_FILE_NAME = re.compile(r"^requests_(\d{4}-\d{2}-\d{2})\.jsonl$")
_BASE64ISH = re.compile(r"^(data:[^,]{0,100},)?[A-Za-z0-9+/=_\r\n-]+$")
_LONG_STRING = 256


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def redact(value: Any) -> Any:
    """Replace base64 blobs (images, data URLs) by their size, recursively."""
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and len(value) > _LONG_STRING and _BASE64ISH.match(value[:4096]):
        return f"<base64: {len(value)} chars>"
    return value


class RequestLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._date: str | None = None
        self._file: TextIO | None = None

    def path_for(self, date: str) -> Path:
        return self.directory / f"requests_{date}.jsonl"

    def write(self, *records: dict[str, Any]) -> None:
        now = time.time()
        date = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        lines = "".join(json.dumps(record, separators=(", ", ": "), default=str) + "\n" for record in records)
        with self._lock:
            if date != self._date or self._file is None:
                if self._file is not None:
                    self._file.close()
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path_for(date), "a", encoding="utf-8")  # noqa: SIM115
                self._date = date
            self._file.write(lines)
            self._file.flush()

    def prune(self, *, retention_days: float, now: float) -> list[Path]:
        cutoff = datetime.fromtimestamp(now - retention_days * 86400, UTC).strftime("%Y-%m-%d")
        removed = []
        for path in self.directory.glob("requests_*.jsonl"):
            match = _FILE_NAME.match(path.name)
            if match and match.group(1) < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
                self._date = None


# (method, the route that matched or None, HTTP status, seconds): how a finished request is reported on.
Observer = Callable[[str, Any, int, float], None]


class RequestLogMiddleware:
    """Writes each request to the log and hands its timing to `observe` (the metrics): one wrapper for both."""

    def __init__(self, app: ASGIApp, *, log: RequestLog, observe: Observer | None = None) -> None:
        self.app = app
        self.log = log
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        clock = time.perf_counter()
        http_status = 500
        scope.setdefault("state", {})

        async def capture(message: Message) -> None:
            nonlocal http_status
            if message["type"] == "http.response.start":
                http_status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if self.observe is not None:
                self.observe(scope["method"], scope.get("route"), http_status, time.perf_counter() - clock)
            self._record(scope, started, http_status)

    def _record(self, scope: Scope, started: float, http_status: int) -> None:
        info: dict[str, Any] = scope["state"].get("log") or {}
        query = scope.get("query_string", b"").decode("latin-1")
        request: dict[str, Any] = {
            "timestamp": iso(started),
            "type": "request",
            "method": scope["method"],
            "path": scope["path"] + (f"?{query}" if query else ""),
            "job_id": info.get("job_id"),
        }
        if "payload" in info:
            request["payload"] = redact(info["payload"])
        client = scope.get("client")
        if client:
            request["client"] = client[0]
        finished = time.time()
        response: dict[str, Any] = {
            "timestamp": iso(finished),
            "type": "response",
            "job_id": info.get("job_id"),
            "http_status": http_status,
            "status": info.get("status"),
            "duration": round(finished - started, 4),
        }
        for key in ("video_size", "job_duration", "error_code"):
            if key in info:
                response[key] = info[key]
        self.log.write(request, response)
