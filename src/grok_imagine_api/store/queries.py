"""Loads `queries.sql`: blocks that start with `-- name: NAME`."""

from __future__ import annotations

from importlib import resources


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


QUERIES = parse_queries(resources.files(__package__).joinpath("queries.sql").read_text(encoding="utf-8"))
