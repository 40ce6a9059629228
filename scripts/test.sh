#!/usr/bin/env bash
# Set up (first run only) and run every check: ruff, mypy --strict, and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
