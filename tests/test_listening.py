from __future__ import annotations

import asyncio
import socket

from grok_imagine_api.listening import listening_addresses, wait_for_listeners


def test_listening_sockets_are_found_and_others_are_not() -> None:
    with (
        socket.socket() as listening,
        socket.socket() as bound_only,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        bound_only.bind(("127.0.0.1", 0))
        udp.bind(("127.0.0.1", 0))
        found = listening_addresses()
        assert found is not None
        assert listening.getsockname() in found
        assert bound_only.getsockname() not in found
        assert udp.getsockname() not in found
        # Looking did not close anything: the sockets still work.
        with socket.create_connection(listening.getsockname(), timeout=5):
            pass
        udp.sendto(b"still open", udp.getsockname())


def test_waiting_returns_what_already_listens() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        found = asyncio.run(wait_for_listeners(within=5))
        assert found is not None and listening.getsockname() in found
