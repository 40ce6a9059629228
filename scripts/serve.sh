#!/usr/bin/env bash
# Set up (first run only) and start the server: SQLite and local files under the current settings.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
# DATABASE_URL (in the environment or ./.env) means PostgreSQL: its driver is the optional extra [postgres].
if [ -n "${DATABASE_URL:-}" ] || grep -qs '^DATABASE_URL=.' .env; then
    "$root/.venv/bin/python" -c "import asyncpg" 2>/dev/null || "$root/.venv/bin/python" -m pip install --quiet -e "$root[postgres]"
fi
# VIDEO_STORAGE_URL means videos in an S3-compatible bucket: its client is the optional extra [s3].
if [ -n "${VIDEO_STORAGE_URL:-}" ] || grep -qs '^VIDEO_STORAGE_URL=.' .env; then
    "$root/.venv/bin/python" -c "import obstore" 2>/dev/null || "$root/.venv/bin/python" -m pip install --quiet -e "$root[s3]"
fi
exec "$root/.venv/bin/python" "$root/server.py" "$@"
