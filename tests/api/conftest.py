from __future__ import annotations

from collections.abc import Iterator

import pytest

import backends
import support


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends.parametrize(metafunc)


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[support.Backend]:
    yield from backends.use(request)
