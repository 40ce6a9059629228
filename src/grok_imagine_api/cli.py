"""`grok-imagine-api serve`, `worker --demo`, and the client: `generate`, `image`, `jobs`, `status`, `cancel`,
`download`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from .config import load_settings
from .demo_args import add_ability_arguments
from .domain.image_options import XAI_ASPECT_RATIOS
from .domain.jobs import MAX_IMAGES, JobStatus
from .domain.options import ACCEPTED_ASPECT_RATIOS, ACCEPTED_RESOLUTIONS, PRESETS
from .domain.segments import CHAIN_SECONDS, MAX_CHAIN_SECONDS, MAX_SEGMENTS


def serve(host: str | None = None, port: int | None = None, reload: bool = False) -> None:
    # The app reads its settings itself (it is built by a factory): pass the overrides on through the environment.
    if host:
        os.environ["SERVER_HOST"] = host
    if port:
        os.environ["SERVER_PORT"] = str(port)
    import uvicorn  # here, so that the client subcommands start quickly

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


# `generate`, `image` and `download` stop waiting after this long by default, so that a job no worker takes does
# not keep a script waiting forever; the job itself goes on, and `download` picks it up again.
WAIT_SECONDS = 900.0

# `generate --duration`: one generation makes up to 15 s; longer is made on the server as a chain of a generation
# and extends, up to its long-video limit (docs/long-videos.md).
GENERATE_SECONDS = CHAIN_SECONDS
# `generate --segment`: the seconds one segment may ask for (the server maps each to a length a worker makes).
SEGMENT_SECONDS = range(1, 21)


def wait_seconds(text: str) -> float:
    seconds = float(text)
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more: {text}")
    return seconds


def whole_seconds(text: str) -> int:
    if not text.strip().isdecimal() or int(text) not in GENERATE_SECONDS:
        first, last = GENERATE_SECONDS[0], GENERATE_SECONDS[-1]
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds from {first} to {last}: {text}")
    return int(text)


class SegmentOption(argparse.Action):
    """`--segment SECONDS PROMPT`, repeatable: a list of (seconds, prompt), the seconds checked as they come."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)
        seconds, prompt = values
        if not seconds.strip().isdecimal() or int(seconds) not in SEGMENT_SECONDS:
            first, last = SEGMENT_SECONDS[0], SEGMENT_SECONDS[-1]
            raise argparse.ArgumentError(
                self, f"SECONDS must be a whole number from {first} to {last}, not {seconds!r}"
            )
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (int(seconds), prompt)])


def add_timeout(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout",
        type=wait_seconds,
        default=WAIT_SECONDS,
        metavar="SECONDS",
        help=f"stop waiting after this long, exit 1; the job goes on (default: {WAIT_SECONDS:g}; 0: no limit)",
    )


def add_client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--server",
        metavar="URL",
        default=os.environ.get("GROK_IMAGINE_SERVER") or "http://localhost:8000",
        help="server base URL (default: $GROK_IMAGINE_SERVER, else http://localhost:8000)",
    )
    connection.add_argument(
        "--api-key",
        metavar="KEY",
        default=os.environ.get("GROK_IMAGINE_API_KEY"),
        help="API key (default: $GROK_IMAGINE_API_KEY)",
    )

    gen = commands.add_parser(
        "generate", parents=[connection], help="make a video: submit, show progress, download the MP4"
    )
    gen.add_argument("prompt", help="what the video should show")
    gen.add_argument("--image", metavar="FILE", help="start from this PNG, JPEG or WebP image (image-to-video)")
    nearest = "what the workers cannot make exactly becomes the nearest they can, and a note says so"
    gen.add_argument("--aspect", "--aspect-ratio", choices=ACCEPTED_ASPECT_RATIOS, help=f"aspect ratio; {nearest}")
    gen.add_argument(
        "--duration",
        type=whole_seconds,
        metavar=f"{GENERATE_SECONDS[0]}..{GENERATE_SECONDS[-1]}",
        help="seconds; Grok Imagine makes 6 or 10 s per generation, and a longer video is made as a chain of a "
        "generation and extends when a connected worker can extend videos (docs/long-videos.md)",
    )
    gen.add_argument(
        "--segment",
        action=SegmentOption,
        nargs=2,
        metavar=("SECONDS", "PROMPT"),
        help=f"one segment of a long video ({SEGMENT_SECONDS[0]}..{SEGMENT_SECONDS[-1]} s, mapped to 6 or 10; an "
        f"empty PROMPT is the video's PROMPT); repeat it, in order, up to {MAX_SEGMENTS} times and "
        f"{MAX_CHAIN_SECONDS} s in all; not with --duration or --hd",
    )
    gen.add_argument("--resolution", choices=ACCEPTED_RESOLUTIONS)
    gen.add_argument("--mode", "--preset", choices=PRESETS, help="Grok Imagine's preset")
    gen.add_argument(
        "--hd",
        action="store_true",
        help="also Grok's HD upscale, saved beside the video as <name>.hd.mp4 (not for long videos)",
    )
    gen.add_argument("--model", default="grok", help="model name recorded with the job (default: grok)")
    gen.add_argument(
        "-o", "--output", metavar="FILE", help="where to save the MP4 (default: ./<job_id>.mp4; a directory works)"
    )
    add_timeout(gen)
    gen.add_argument("--no-download", action="store_true", help="print the video URL instead of downloading")

    img = commands.add_parser(
        "image", parents=[connection], help="make images (or edit one): submit, show progress, save each image"
    )
    img.add_argument("prompt", help="what the images should show (with --edit: what to change)")
    img.add_argument(
        "-n",
        type=int,
        default=1,
        choices=range(1, MAX_IMAGES + 1),
        metavar=f"1..{MAX_IMAGES}",
        help="how many images (default: 1)",
    )
    img.add_argument("--edit", metavar="FILE", help="edit this PNG, JPEG or WebP image instead of starting from none")
    img.add_argument(
        "--aspect", "--aspect-ratio", choices=[*XAI_ASPECT_RATIOS, "auto"], help=f"aspect ratio; {nearest}"
    )
    img.add_argument("--size", metavar="WxH", help="OpenAI's size (1024x1024, 1536x1024, auto): its aspect ratio")
    img.add_argument(
        "--model", default="grok-imagine-image", help="model name recorded with the job (default: grok-imagine-image)"
    )
    img.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=".",
        help="directory to save the images in as <job_id>-<index>.<ext>, created if needed (default: .)",
    )
    add_timeout(img)
    img.add_argument("--no-download", action="store_true", help="print the image URLs instead of downloading")

    jobs = commands.add_parser("jobs", parents=[connection], help="list jobs, newest first")
    jobs.add_argument("--status", choices=[*(status.value for status in JobStatus), "cancelled"])
    jobs.add_argument("--media", choices=["video", "image"], help="only video jobs, or only image jobs")
    jobs.add_argument("-q", "--query", metavar="TEXT", help="text in the prompt, or a job id")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    jobs.add_argument("--cursor", help="next_cursor of the previous page")
    jobs.add_argument("--json", action="store_true", help="print the server's JSON answer")

    status = commands.add_parser("status", parents=[connection], help="everything known about one job")
    status.add_argument("job_id")
    status.add_argument("--json", action="store_true", help="print the server's JSON answer")

    cancel = commands.add_parser("cancel", parents=[connection], help="cancel a queued or running job")
    cancel.add_argument("job_id")

    fetch = commands.add_parser(
        "download", parents=[connection], help="wait for a job made earlier (progress bar) and save its MP4"
    )
    fetch.add_argument("job_id")
    fetch.add_argument(
        "-o", "--output", metavar="FILE", help="where to save the MP4 (default: ./<job_id>.mp4; a directory works)"
    )
    add_timeout(fetch)


def run_client_command(args: argparse.Namespace) -> int:
    from . import commands
    from .client import ServerError, Unreachable

    run = {
        "generate": commands.generate,
        "image": commands.image,
        "jobs": commands.list_jobs,
        "status": commands.show_status,
        "cancel": commands.cancel,
        "download": commands.download,
    }[args.command]
    try:
        return run(args)
    except commands.UsageError as exc:
        commands.say(f"grok-imagine-api {args.command}: error: {exc}")
        return commands.USAGE
    except Unreachable as exc:
        commands.say(f"error: {exc}; is it running? (--server URL or GROK_IMAGINE_SERVER)")
        return commands.FAILED
    except ServerError as exc:
        commands.say(f"error: {exc}")
        if exc.status == 401:
            commands.say("hint: pass --api-key KEY or set GROK_IMAGINE_API_KEY")
        return commands.FAILED
    except KeyboardInterrupt:
        return commands.INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
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
        help="answer every job with a made-up clip or made-up images (a demo, not generation)",
    )
    worker_cmd.add_argument("--server", default="http://localhost:8000", help="server base URL")
    worker_cmd.add_argument("--client-id", default="demo-worker", help="name shown in /health")
    worker_cmd.add_argument("--max-jobs", type=int, default=None, help="stop after this many jobs")
    worker_cmd.add_argument("--delay", type=float, default=0.2, help="seconds between fake progress steps")
    worker_cmd.add_argument(
        "--token", default=os.environ.get("WORKER_TOKEN"), help="worker token (default: $WORKER_TOKEN)"
    )
    add_ability_arguments(worker_cmd)
    add_client_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.reload)
        return 0
    if args.command != "worker":
        return run_client_command(args)
    from .demo_args import abilities_from
    from .demo_worker import run_demo_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return run_demo_worker(
        args.server,
        client_id=args.client_id,
        max_jobs=args.max_jobs,
        delay=args.delay,
        token=args.token,
        abilities=abilities_from(args),
    )


if __name__ == "__main__":
    sys.exit(main())
