"""WEBHOOK_URL / WEBHOOK_SECRET, a key's own endpoint in API_KEYS_FILE, the default retry schedule, and the
signature against the reference implementation."""

from __future__ import annotations

import base64
import datetime
import itertools
import json
from pathlib import Path

import pytest
import standardwebhooks
from webhook_receiver import OTHER_SECRET, SECRET

from grok_imagine_api.api.auth import owner_of
from grok_imagine_api.config import Settings, load_settings
from grok_imagine_api.webhooks import signing
from grok_imagine_api.webhooks.endpoints import Endpoints
from grok_imagine_api.webhooks.schedule import GIVE_UP_SECONDS, next_attempt


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stop:
        load_settings()
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_defaults() -> None:
    plain = settings()
    assert plain.webhook_url is None and plain.webhook_secret is None
    assert plain.webhook_timeout_seconds == 10 and plain.webhook_first_retry_seconds <= 30
    assert not Endpoints.for_settings(plain).configured


def test_url_and_secret_go_together(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(monkeypatch, capsys, WEBHOOK_URL="https://hooks.example/in")
    assert "WEBHOOK_URL and WEBHOOK_SECRET go together: WEBHOOK_URL is set but WEBHOOK_SECRET is not" in err
    monkeypatch.delenv("WEBHOOK_URL")
    err = refused(monkeypatch, capsys, WEBHOOK_SECRET=SECRET)
    assert "WEBHOOK_SECRET is set but WEBHOOK_URL is not" in err
    assert SECRET not in err


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("c2VjcmV0", "must start with whsec_"),
        ("whsec_not base64!", "not valid (padded) base64"),
        ("whsec_", "is empty"),
    ],
)
def test_a_bad_secret_is_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str, message: str
) -> None:
    err = refused(monkeypatch, capsys, WEBHOOK_URL="https://hooks.example/in", WEBHOOK_SECRET=secret)
    assert "WEBHOOK_SECRET: " in err and message in err
    assert secret not in err.replace("whsec_ followed", "").replace("after whsec_", "")


def test_the_url_must_be_http(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(monkeypatch, capsys, WEBHOOK_URL="ftp://hooks.example/in", WEBHOOK_SECRET=SECRET)
    assert "WEBHOOK_URL='ftp://hooks.example/in': Value error, must be an http:// or https:// URL" in err


def test_a_key_may_have_its_own_endpoint(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(
        "# one key a line\n"
        f"sk-alpha  webhook_url=https://alpha.example/hook webhook_secret={OTHER_SECRET}\n"
        "sk-beta\n"
        "\n"
        "sk with spaces\n"
        "sk with an = sign==\n"
    )
    loaded = settings(api_keys_file=keys, webhook_url="https://all.example/in", webhook_secret=SECRET)
    # Words after a key that name no endpoint option are the key's own, as before keys could have endpoints.
    assert loaded.client_keys() == ["sk-alpha", "sk-beta", "sk with spaces", "sk with an = sign=="]
    endpoints = Endpoints.for_settings(loaded)
    assert [e.url for e in endpoints.for_owner(owner_of("sk-alpha"))] == [
        "https://all.example/in",
        "https://alpha.example/hook",
    ]
    assert [e.url for e in endpoints.for_owner(owner_of("sk-beta"))] == ["https://all.example/in"]
    assert endpoints.for_owner(owner_of("sk-alpha"))[1].key == base64.b64decode(OTHER_SECRET[6:])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("sk-a webhook_url=https://a.example/h", "key 1's webhook_url and API_KEYS_FILE key 1's webhook_secret go"),
        (f"sk-a webhook_secret={SECRET}", "webhook_secret is set but API_KEYS_FILE key 1's webhook_url is not"),
        (f"sk-a webhook_url=https://a.example/h webhook_secret={SECRET} colour=red", "only webhook_url and"),
        (f"sk-a webhook_url=http://192.168.1.9/h webhook_secret={SECRET}", "private or local address"),
        ("sk-a webhook_url=https://a.example/h webhook_secret=oops", "key 1's webhook_secret: must start with whsec_"),
    ],
)
def test_a_bad_key_line_stops_start_up_without_showing_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(line + "\n")
    err = refused(monkeypatch, capsys, API_KEYS_FILE=str(keys))
    assert message in err
    assert "sk-a" not in err


def test_the_default_schedule_retries_within_30_s_then_doubles_for_a_day() -> None:
    first = settings().webhook_first_retry_seconds
    at, times = 0.0, []
    for attempts in range(1, 100):
        following = next_attempt(created_at=0.0, attempts=attempts, now=at, first_retry=first)
        if following is None:
            break
        times.append(following)
        at = following
    assert times[0] <= 30
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(gaps[:-1]))
    assert times[-1] == GIVE_UP_SECONDS == 24 * 3600
    assert 10 <= len(times) <= 20


def test_the_signature_is_the_reference_implementation_s() -> None:
    key = base64.b64decode(SECRET[6:])
    body = json.dumps({"id": "evt_1", "object": "event"}).encode()
    headers = signing.headers(key, "evt_1", 1_800_000_000, body)
    reference = standardwebhooks.Webhook(SECRET)
    expected = reference.sign("evt_1", datetime.datetime.fromtimestamp(1_800_000_000, tz=datetime.UTC), body.decode())
    assert headers["webhook-signature"] == expected
    assert headers["webhook-id"] == "evt_1" and headers["webhook-timestamp"] == "1800000000"
