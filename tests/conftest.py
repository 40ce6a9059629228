from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import ProcessServer, ThreadServer, settings_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    with ThreadServer(settings_for(tmp_path)) as srv:
        yield srv


@pytest.fixture
def client(server: ThreadServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def api(server: ThreadServer | ProcessServer) -> Iterator[httpx.Client]:
    """A client of whichever `server` is in scope (folders with browser tests start a ProcessServer)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
