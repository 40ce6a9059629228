from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pg import Cluster, throwaway_cluster
from support import ProcessServer, ThreadServer, settings_for

if TYPE_CHECKING:
    from s3 import Bucket, MotoS3


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session, started by the first test that needs it."""
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def database_url(pg_cluster: Cluster) -> str:
    """A new, empty PostgreSQL database of this test's own."""
    return pg_cluster.fresh_database()


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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3]:
    """moto's S3 server, standing in for a real S3-compatible store (see tests/s3.py)."""
    from s3 import MotoS3  # moto is imported only by the tests that use it

    server = MotoS3().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: MotoS3) -> Bucket:
    return s3_server.fresh_bucket()
