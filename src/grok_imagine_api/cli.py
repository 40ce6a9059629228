"""`grok-imagine-api serve` and `grok-imagine-api worker --demo`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from .config import load_settings


def serve(host: str | None = None, port: int | None = None, reload: bool = False) -> None:
    # The app reads its settings itself (it is built by a factory): pass the overrides on through the environment.
    if host:
        os.environ["SERVER_HOST"] = host
    if port:
        os.environ["SERVER_PORT"] = str(port)
    settings = load_settings()
    settings.prepare_paths()
    uvicorn.run(
        "grok_imagine_api.app:create_app",
        factory=True,
        host=settings.server_host,
        port=settings.server_port,
        reload=reload,
        log_level=settings.log_level,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grok-imagine-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the API server (settings from the environment / .env)")
    serve_cmd.add_argument("--host", help="overrides SERVER_HOST")
    serve_cmd.add_argument("--port", type=int, help="overrides SERVER_PORT")
    serve_cmd.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    worker_cmd = commands.add_parser("worker", help="run a worker; only --demo exists in Python")
    worker_cmd.add_argument(
        "--demo",
        action="store_true",
        required=True,
        help="answer every job with a bundled sample clip (a demo, not generation)",
    )
    worker_cmd.add_argument("--server", default="http://localhost:8000", help="server base URL")
    worker_cmd.add_argument("--client-id", default="demo-worker", help="name shown in /health")
    worker_cmd.add_argument("--max-jobs", type=int, default=None, help="stop after this many jobs")
    worker_cmd.add_argument("--delay", type=float, default=0.2, help="seconds between fake progress steps")
    worker_cmd.add_argument(
        "--token", default=os.environ.get("WORKER_TOKEN"), help="worker token (default: $WORKER_TOKEN)"
    )

    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.reload)
        return 0
    from .demo_worker import run_demo_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return run_demo_worker(
        args.server, client_id=args.client_id, max_jobs=args.max_jobs, delay=args.delay, token=args.token
    )


if __name__ == "__main__":
    sys.exit(main())
