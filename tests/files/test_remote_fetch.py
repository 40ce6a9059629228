from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from grok_imagine_api.domain.errors import InvalidRequest
from grok_imagine_api.domain.jobs import InputImage
from grok_imagine_api.files.remote import IPAddress, Resolve, fetch_image, fetch_video, is_public, resolve_host
from grok_imagine_api.files.storage import LocalVideoStorage
from remote_host import RemoteHost, Route, self_signed
from support import DEMO_MP4, PNG_1PX

PUBLIC = "93.184.215.14"


class Resolver:
    """Answers each lookup of a name with the next of its answers (the last one again once they run out)."""

    def __init__(self, **answers: Sequence[str] | str) -> None:
        self.answers = {name.replace("_", "."): [a] if isinstance(a, str) else list(a) for name, a in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[IPAddress]:
        self.asked.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise OSError(f"no such host {host}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ipaddress.ip_address(part) for part in answer.split(",")]


class Recorder(httpx.AsyncBaseTransport):
    """Where the pinned requests really go: answers every one with a PNG, or with what `replies` says."""

    def __init__(self, replies: dict[str, httpx.Response] | None = None) -> None:
        self.sent: list[httpx.Request] = []
        self.replies = replies or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        reply = self.replies.get(request.url.path)
        return reply if reply is not None else httpx.Response(200, content=PNG_1PX)


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    seconds: float = 5,
    resolve: Resolve = resolve_host,
    transport: httpx.AsyncBaseTransport | None = None,
) -> InputImage:
    coro = fetch_image(
        url,
        param="image.url",
        max_bytes=10_000,
        fetch_seconds=seconds,
        allow_private=allow_private,
        resolve=resolve,
        transport=transport,
    )
    return asyncio.run(coro)


def refused(url: str, code: str, **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as err:
        fetch(url, **kwargs)
    assert (err.value.code, err.value.param) == (code, "image.url"), err.value.message
    return err.value


def test_a_rebound_name_is_fetched_from_the_address_that_was_checked() -> None:
    resolver = Resolver(rebind_test=[PUBLIC, "127.0.0.1"])
    sent = Recorder()
    assert fetch("https://rebind.test:8443/cat.png", resolve=resolver, transport=sent).data == PNG_1PX
    assert resolver.asked == ["rebind.test"]  # looked up once, so the second (loopback) answer is never used
    [request] = sent.sent
    assert (request.url.host, request.url.port, request.url.path) == (PUBLIC, 8443, "/cat.png")
    assert request.headers["host"] == "rebind.test:8443"
    assert request.extensions["sni_hostname"] == "rebind.test"  # TLS names and verifies the host, not the address


def test_a_rebound_name_never_reaches_the_second_answer_over_real_sockets() -> None:
    with RemoteHost("127.0.0.1") as checked, RemoteHost("127.0.0.2") as rebound:
        checked.routes["/cat.png"] = rebound.routes["/cat.png"] = Route(PNG_1PX)
        resolver = Resolver(images_test=["127.0.0.1", "127.0.0.2"])
        assert fetch(f"http://images.test:{checked.port}/cat.png", allow_private=True, resolve=resolver).data == PNG_1PX
        assert checked.requests == [("/cat.png", f"images.test:{checked.port}")]
        assert rebound.requests == []


def test_a_name_with_any_private_answer_is_refused_before_connecting() -> None:
    sent = Recorder()
    resolver = Resolver(mixed_test=f"{PUBLIC},127.0.0.1")
    refused("http://mixed.test/cat.png", "invalid_image_url", resolve=resolver, transport=sent)
    assert sent.sent == []


REFUSED = [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::127.0.0.1", "::169.254.169.254",  # IPv4-compatible
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1",  # IPv4-translated
    "64:ff9b::127.0.0.1", "64:ff9b::192.168.1.1",  # NAT64
    "64:ff9b:1::808:808", "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::", "2002:c0a8:101::1", "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1, 192.168.1.1, 169.254.169.254
]  # fmt: skip
ALLOWED = [PUBLIC, "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_addresses_in_every_form_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    sent = Recorder()
    literal = f"[{address}]" if ":" in address else address
    refused(f"http://{literal}:8080/cat.png", "invalid_image_url", transport=sent)
    refused("http://evil.test/cat.png", "invalid_image_url", resolve=Resolver(evil_test=address), transport=sent)
    assert sent.sent == []


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_fetched(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
    sent = Recorder()
    fetch("http://fine.test/cat.png", resolve=Resolver(fine_test=address), transport=sent)
    assert [request.url.host for request in sent.sent] == [str(ipaddress.ip_address(address))]


def test_allow_private_urls_allows_private_addresses() -> None:
    sent = Recorder()
    fetch("http://[::ffff:127.0.0.1]/cat.png", allow_private=True, transport=sent)
    fetch(
        "http://intranet.test/cat.png", allow_private=True, resolve=Resolver(intranet_test="10.0.0.7"), transport=sent
    )
    assert [request.url.host for request in sent.sent] == ["::ffff:7f00:1", "10.0.0.7"]


def test_each_redirect_is_checked_and_pinned_again() -> None:
    resolver = Resolver(start_test=PUBLIC, cdn_test="2606:4700::1111", inside_test="10.0.0.5")
    moved = {
        "/to-cdn": httpx.Response(302, headers={"location": "https://cdn.test/cat.png"}),
        "/to-inside": httpx.Response(302, headers={"location": "http://inside.test/secret"}),
        "/to-literal": httpx.Response(301, headers={"location": "http://[::ffff:127.0.0.1]/secret"}),
    }
    sent = Recorder(moved)
    fetch("http://start.test/to-cdn", resolve=resolver, transport=sent)
    assert [(r.url.host, r.headers["host"]) for r in sent.sent] == [
        (PUBLIC, "start.test"),
        ("2606:4700::1111", "cdn.test"),
    ]
    for path in ("/to-inside", "/to-literal"):
        sent.sent.clear()
        refused(f"http://start.test{path}", "invalid_image_url", resolve=resolver, transport=sent)
        assert [r.url.path for r in sent.sent] == [path]  # the first hop only


def test_an_unreachable_first_address_falls_back_to_the_next_checked_one() -> None:
    with RemoteHost("127.0.0.1") as host:
        host.routes["/cat.png"] = Route(PNG_1PX)
        resolver = Resolver(images_test="127.0.0.3,127.0.0.1")  # nothing listens on 127.0.0.3
        assert fetch(f"http://images.test:{host.port}/cat.png", allow_private=True, resolve=resolver).data == PNG_1PX


class TimesOut(Recorder):
    """The first address never answers a connection attempt."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.sent:
            self.sent.append(request)
            raise httpx.ConnectTimeout("timed out", request=request)
        return await super().handle_async_request(request)


def test_an_address_that_times_out_falls_back_to_the_next_checked_one() -> None:
    sent = TimesOut()
    resolver = Resolver(fine_test=f"{PUBLIC},2606:4700::1111")
    assert fetch("http://fine.test/cat.png", resolve=resolver, transport=sent).data == PNG_1PX
    assert [request.url.host for request in sent.sent] == [PUBLIC, "2606:4700::1111"]


def test_https_to_a_pinned_address_still_verifies_the_hosts_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "images.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)
    trusting = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
    with RemoteHost("127.0.0.1", tls=server_tls) as host:
        host.routes["/cat.png"] = Route(PNG_1PX)
        resolver = Resolver(images_test="127.0.0.1", other_test="127.0.0.1")
        url = f"https://images.test:{host.port}/cat.png"
        assert fetch(url, allow_private=True, resolve=resolver, transport=trusting).data == PNG_1PX
        assert names == ["images.test"]
        # The same address under another name: the certificate does not name it, so no connection is trusted.
        trusting = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
        other = f"https://other.test:{host.port}/cat.png"
        error = refused(other, "image_fetch_failed", allow_private=True, resolve=resolver, transport=trusting)
        assert "certificate" in error.message.lower()


def test_a_slow_body_is_cut_off_at_the_deadline_for_the_whole_fetch() -> None:
    with RemoteHost() as host:
        host.routes["/slow.png"] = Route(PNG_1PX, byte_every=0.2)  # 69 bytes: about 14 s in all
        started = time.monotonic()
        error = refused(f"{host.url}/slow.png", "image_fetch_failed", allow_private=True, seconds=0.5)
        took = time.monotonic() - started
    assert "IMAGE_FETCH_TIMEOUT_SECONDS" in error.message
    assert 0.5 <= took < 10, took  # all of it takes 14 s (the image) or 100 s (the video)


def test_a_slow_video_is_cut_off_too(tmp_path: Path) -> None:
    storage = LocalVideoStorage(tmp_path)
    upload = storage.begin_upload()
    with RemoteHost() as host:
        host.routes["/slow.mp4"] = Route(DEMO_MP4[:2000], byte_every=0.05)
        started = time.monotonic()
        with pytest.raises(InvalidRequest) as err:
            coro = fetch_video(
                f"{host.url}/slow.mp4",
                upload,
                param="video.url",
                max_bytes=10**6,
                fetch_seconds=0.5,
                allow_private=True,
            )
            asyncio.run(coro)
        took = time.monotonic() - started
    upload.discard()
    assert (err.value.code, err.value.param) == ("video_fetch_failed", "video.url")
    assert "VIDEO_FETCH_TIMEOUT_SECONDS" in err.value.message
    assert 0.5 <= took < 10, took  # all of it takes 14 s (the image) or 100 s (the video)


def test_a_truncated_image_is_refused() -> None:
    with RemoteHost() as host:
        host.routes["/cut.png"] = Route(PNG_1PX[:-20])
        refused(f"{host.url}/cut.png", "invalid_image", allow_private=True)
