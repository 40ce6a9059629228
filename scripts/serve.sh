#!/usr/bin/env bash
# Set up (first run only) and start the server: SQLite and local files under the current settings.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
exec "$root/.venv/bin/python" "$root/server.py" "$@"
