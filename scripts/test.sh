#!/usr/bin/env bash
# Set up (first run only) and run every check: ruff, mypy --strict, and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
# System packages the tests use: curl, and Debian's Chromium for the extension tests (Playwright drives it;
# Playwright's own browser download is never used).
missing=""
command -v curl >/dev/null || missing="$missing curl"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The official openai Node package for tests/e2e/test_openai_node.py, as locked in tests/node/package-lock.json
# (that test skips where Node.js is not installed).
if command -v npm >/dev/null && [ ! -d tests/node/node_modules/openai ]; then
    (cd tests/node && npm ci --no-audit --no-fund)
fi
.venv/bin/python -m pytest "$@"
