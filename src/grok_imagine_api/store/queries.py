"""Loads the query files (`queries.sql` for SQLite, `postgres.sql`): blocks that start with `-- name: NAME`."""

from __future__ import annotations

import functools
import re
from importlib import resources

# `:name`, but not the `::type` of a PostgreSQL cast.
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def parse_queries(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name:"):
            if name:
                queries[name] = "\n".join(lines).strip()
            name, lines = line.split(":", 1)[1].strip(), []
        elif name and not line.startswith("--"):
            lines.append(line)
    if name:
        queries[name] = "\n".join(lines).strip()
    return queries


def load_queries(filename: str) -> dict[str, str]:
    return parse_queries(resources.files(__package__).joinpath(filename).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters as PostgreSQL's `$1, $2, ...`, and the names in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


QUERIES = load_queries("queries.sql")
