"""The TCP addresses this process listens on, read from its own open sockets.

The start-up warnings need the address really listened on: `uvicorn server:app --host 127.0.0.1` never tells
the app its host (SERVER_HOST is only what `python server.py` uses), and uvicorn binds its sockets only after
the app's start-up has run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import time

Address = tuple[str, int]


def listening_addresses() -> list[Address] | None:
    """The (host, port) of every listening TCP socket of this process; None where open files cannot be listed."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            names = os.listdir(folder)
            break
    else:
        return None
    found: list[Address] = []
    for name in names:
        try:
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=fd)
        except (OSError, ValueError):
            continue  # closed meanwhile (the listing's own fd is), or not a socket Python can wrap
        try:
            if (
                sock.family in (socket.AF_INET, socket.AF_INET6)
                and sock.type == socket.SOCK_STREAM
                and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            ):
                host, port = sock.getsockname()[:2]
                found.append((host, port))
        except OSError:
            pass
        finally:
            sock.detach()  # the fd belongs to whoever opened it: never close it here
    return found


async def wait_for_listeners(within: float = 10.0, interval: float = 0.05) -> list[Address] | None:
    """This process's listening addresses once it has some (uvicorn binds right after start-up); [] if none
    appear `within` seconds (a Unix socket), None if they cannot be known here."""
    deadline = time.monotonic() + within
    while True:
        found = listening_addresses()
        if found is None or found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(interval)
