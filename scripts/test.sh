#!/usr/bin/env bash
# Set up (first run only) and run every check: ruff, mypy --strict, and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
# System packages the tests use: curl, Debian's Chromium for the extension tests (Playwright drives it;
# Playwright's own browser download is never used), Node.js with npm for the Node openai SDK's tests, and
# PostgreSQL's server binaries (tests/pg.py runs a throwaway cluster of its own; no service is started).
missing=""
command -v curl >/dev/null || missing="$missing curl"
command -v npm >/dev/null || missing="$missing nodejs npm"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing="$missing postgresql"
if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The official openai Node package for tests/e2e/test_openai_node.py, as locked in tests/node/package-lock.json.
if [ ! -d tests/node/node_modules/openai ]; then
    (cd tests/node && npm ci --no-audit --no-fund)
fi
.venv/bin/python -m pytest "$@"
