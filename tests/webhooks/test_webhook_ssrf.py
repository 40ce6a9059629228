"""The SSRF rules: a webhook URL that is, or resolves to, a private or local address is refused without
ALLOW_PRIVATE_URLS (at start-up for a literal address; at send time for a name, since DNS may change), and the
delivery fails at once with a clear error instead of being retried for a day."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from webhook_receiver import SECRET, Receiver

from grok_imagine_api.clock import FakeClock
from grok_imagine_api.config import Settings
from grok_imagine_api.files.remote import IPAddress
from grok_imagine_api.metrics import Metrics
from grok_imagine_api.store.outbox import outbox_for
from grok_imagine_api.webhooks.delivery import Webhooks
from grok_imagine_api.webhooks.endpoints import Endpoint, Endpoints
from stores import LEASE, NOW, Harness, new

KEY = base64.b64decode(SECRET.removeprefix("whsec_"))


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "jobs.db")
    yield harness
    harness.close()


async def loopback(host: str) -> list[IPAddress]:
    """A resolver that says `hooks.test` is 127.0.0.1: a public-looking name that leads home."""
    assert host == "hooks.test"
    return [ipaddress.ip_address("127.0.0.1")]


def deliver_once(h: Harness, receiver: Receiver, *, allow_private: bool) -> dict[str, Any]:
    job = h.call(h.store.create(new()))
    got = h.call(h.store.claim(worker_id="w", lease_seconds=LEASE, now=NOW))
    assert got is not None
    h.call(h.store.complete(job.id, claim_token=got.job.claim_token, video_size=1, now=NOW))
    outbox = outbox_for(h.store)
    assert outbox is not None
    endpoints = Endpoints(Endpoint("server", f"http://hooks.test:{receiver.port}/hook", KEY))
    settings = Settings(_env_file=None, allow_private_urls=allow_private)  # type: ignore[call-arg]
    clock = FakeClock(NOW)
    metrics = Metrics()
    hooks = Webhooks(outbox, endpoints, clock=clock, settings=settings, metrics=metrics, resolve=loopback)

    async def run() -> None:
        async with hooks.client() as client:
            await hooks.step(client)
            clock.advance(3600)
            await hooks.step(client)  # nothing is due again: a refused address is not retried

    h.call(run())
    [delivery] = h.call(outbox.recent(owner=None, limit=10))
    attempts = h.call(outbox.attempts([delivery.id]))[delivery.id]
    return {"delivery": delivery, "attempts": attempts, "metrics": metrics.exposition().decode()}


def test_a_name_that_resolves_to_a_private_address_is_refused(h: Harness, receiver: Receiver) -> None:
    found = deliver_once(h, receiver, allow_private=False)
    delivery = found["delivery"]
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.last_error == (
        "hooks.test is a private or local address: refused (set ALLOW_PRIVATE_URLS=true to allow it)"
    )
    assert [a.status_code for a in found["attempts"]] == [None]
    assert receiver.all() == []
    assert 'grok_imagine_webhook_deliveries_total{outcome="failed"} 1.0' in found["metrics"]


def test_allow_private_urls_lets_it_through(h: Harness, receiver: Receiver) -> None:
    found = deliver_once(h, receiver, allow_private=True)
    assert found["delivery"].status == "delivered"
    [got] = receiver.delivered()
    assert got.headers["host"] == f"hooks.test:{receiver.port}"  # pinned to the checked address, named as asked


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost/x"]
)
def test_a_literal_private_address_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ValidationError, match="private or local address; set ALLOW_PRIVATE_URLS=true"):
        Settings(_env_file=None, webhook_url=url, webhook_secret=SECRET)  # type: ignore[call-arg]
    allowed = Settings(_env_file=None, webhook_url=url, webhook_secret=SECRET, allow_private_urls=True)  # type: ignore[call-arg]
    assert allowed.webhook_url == url
