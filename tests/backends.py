"""The API and end-to-end suites run on both backends: SQLite with local files, and PostgreSQL with an
S3-compatible store (moto's server stands in for S3 here). A test marked `one_backend` runs on the first only:
it is about local files or SQLite themselves (a full disk, the data-directory lock, the default start-up)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import support

NAMES = ["sqlite+files", "postgres+s3"]


def parametrize(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("one_backend") is None:
        metafunc.parametrize("backend", NAMES, indirect=True)


def use(request: pytest.FixtureRequest) -> Iterator[support.Backend]:
    name = getattr(request, "param", NAMES[0])
    if name == NAMES[0]:
        chosen = support.LOCAL
    else:
        bucket = request.getfixturevalue("s3_bucket")
        chosen = support.Backend(
            name, {"database_url": request.getfixturevalue("database_url"), **bucket.settings()}, bucket
        )
    support.BACKEND = chosen
    try:
        yield chosen
    finally:
        support.BACKEND = support.LOCAL
