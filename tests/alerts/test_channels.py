"""Channels against real receivers: a webhook receiver process and an SMTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable

import msgspec
import pytest

from openrum.alerts import channels
from openrum.alerts.channels import Channel
from openrum.settings import Settings
from openrum.store.base import Delivery, Incident
from tests.alerts.conftest import Mailbox, Receiver

SETTINGS = Settings.load(
    {"public_url": "https://rum.example/", "alerts_delivery_backoff_s": "0.5"}, environ={}
)
INCIDENT = Incident(
    id="i1", rule="r1", app="shop", severity="critical", state="firing", start=1_795_600_800_000,
    detail={"rule_name": "slow LCP", "metric": "lcp:p75", "filters": [["country", "is", "DE"]],
            "window": "15m", "condition": {"op": "above", "threshold": 4000.0, "baseline": "none"},
            "value": 5123.25, "baseline": None, "sample": 40,
            "link": "/#/overview?app=shop&range=custom"},
)  # fmt: skip


class Log:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.sleeps: list[float] = []


def deliver(
    channel: Channel, event: str = "firing", settings: Settings = SETTINGS
) -> tuple[bool, Log]:
    log = Log()
    ok = channels.deliver(channel, event, INCIDENT, settings, log.deliveries.append,
                          sleep=log.sleeps.append)  # fmt: skip
    return ok, log


def test_webhook_posts_the_documented_payload_signed(receiver: Receiver) -> None:
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url, secret="k3y")
    ok, log = deliver(hook)
    assert ok
    [request] = receiver.requests()
    body = request["body"].encode()
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert request["headers"]["x-openrum-signature"] == expected
    assert request["headers"]["x-openrum-event"] == "firing"
    assert json.loads(body) == {
        "version": 1,
        "event": "firing",
        "incident": {
            "id": "i1", "state": "firing", "severity": "critical", "app": "shop",
            "rule": {"id": "r1", "name": "slow LCP"}, "metric": "lcp:p75",
            "filters": [["country", "is", "DE"]], "window": "15m",
            "condition": {"op": "above", "threshold": 4000.0, "baseline": "none"},
            "value": 5123.25, "baseline": None, "sample": 40,
            "start": "2026-11-25T10:00:00Z", "end": None,
            "link": "https://rum.example/#/overview?app=shop&range=custom",
        },
    }  # fmt: skip
    assert [
        (d.incident, d.channel, d.event, d.attempt, d.ok, d.status) for d in log.deliveries
    ] == [
        ("i1", "c1", "firing", 1, True, "200"),
    ]


def test_a_webhook_without_a_secret_is_not_signed(receiver: Receiver) -> None:
    assert deliver(Channel(name="ops", kind="webhook", url=receiver.url))[0]
    assert "x-openrum-signature" not in receiver.requests()[0]["headers"]


def test_deliveries_are_retried_with_backoff_and_each_attempt_logged(
    receiver_factory: Callable[[int], Receiver],
) -> None:
    flaky = receiver_factory(2)  # 503, 503, then 200
    ok, log = deliver(Channel(id="c1", name="ops", kind="webhook", url=flaky.url))
    assert ok and len(flaky.requests()) == 3
    assert [(d.attempt, d.ok, d.status) for d in log.deliveries] == [
        (1, False, "HTTP 503"), (2, False, "HTTP 503"), (3, True, "200"),
    ]  # fmt: skip
    assert log.sleeps == [0.5, 1.0]


def test_a_delivery_gives_up_after_its_attempts(
    receiver_factory: Callable[[int], Receiver],
) -> None:
    down = receiver_factory(100)
    settings = dataclasses.replace(SETTINGS, alerts_delivery_attempts=3)
    ok, log = deliver(Channel(name="ops", kind="webhook", url=down.url), settings=settings)
    assert not ok and len(down.requests()) == 3 and len(log.deliveries) == 3
    assert log.sleeps == [0.5, 1.0]
    # Nobody listening: the error is logged, nothing raises.
    gone = Channel(name="ops", kind="webhook", url="http://127.0.0.1:9/hook")
    ok, log = deliver(gone, settings=settings)
    assert not ok and all("refused" in d.status.lower() for d in log.deliveries)


def test_slack_compatible_webhook_gets_a_text(receiver: Receiver) -> None:
    assert deliver(Channel(name="chat", kind="slack", url=receiver.url), "resolved")[0]
    [request] = receiver.requests()
    assert json.loads(request["body"]) == {
        "text": "[RESOLVED critical] slow LCP (shop): lcp:p75 = 5123 (above 4000) over 15m\n"
        "<https://rum.example/#/overview?app=shop&range=custom|Open in OpenRUM>"
    }


def test_email_over_smtp_with_login(mailbox: Mailbox) -> None:
    mail = Channel(id="m1", name="on call", kind="email", host="127.0.0.1", port=mailbox.port,
                   starttls=False, username="alerts", password="s3cret",
                   sender="rum@example.org", to=["ops@example.org", "dev@example.org"])  # fmt: skip
    ok, log = deliver(mail)
    assert ok and log.deliveries[0].status.startswith("250")
    assert mailbox.logins == [("alerts", "s3cret")]
    [(envelope, message)] = mailbox.messages
    assert envelope.mail_from == "rum@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "dev@example.org"]
    assert message["Subject"].strip() == (
        "[FIRING critical] slow LCP (shop): lcp:p75 = 5123 (above 4000) over 15m"
    )
    text = message.get_payload(decode=True).decode()
    assert "value: 5123.25" in text and "sample: 40" in text
    assert "Open in the dashboard: https://rum.example/#/overview?app=shop&range=custom" in text


def test_email_failures_are_logged(mailbox: Mailbox) -> None:
    settings = dataclasses.replace(
        SETTINGS, alerts_delivery_attempts=2, alerts_delivery_timeout_s=2.0
    )
    wrong = Channel(name="on call", kind="email", host="127.0.0.1", port=mailbox.port,
                    starttls=False, username="alerts", password="wrong",
                    sender="rum@example.org", to=["ops@example.org"])  # fmt: skip
    ok, log = deliver(wrong, settings=settings)
    assert not ok and [d.attempt for d in log.deliveries] == [1, 2]
    assert log.deliveries[0].status and mailbox.messages == []
    # The server offers no STARTTLS: a channel that asks for it does not send in the clear.
    tls = msgspec.structs.replace(wrong, password="s3cret", starttls=True)
    ok, log = deliver(tls, settings=settings)
    assert not ok and "STARTTLS" in log.deliveries[0].status and mailbox.messages == []


BAD = [
    (Channel(name="x", kind="webhook", url="ftp://h/"), "http"),
    (Channel(name="x", kind="slack", url=""), "http"),
    (Channel(name="", kind="webhook", url="http://h/"), "name"),
    (Channel(name="x", kind="email", host="", to=["a@b"], sender="c@d"), "host"),
    (Channel(name="x", kind="email", host="h", to=[], sender="c@d"), "recipients"),
    (Channel(name="x", kind="email", host="h", to=["nobody"], sender="c@d"), "recipients"),
    (Channel(name="x", kind="email", host="h", to=["a@b"], sender=""), "sender"),
]


@pytest.mark.parametrize(("channel", "message"), BAD)
def test_bad_channels_are_refused(channel: Channel, message: str) -> None:
    with pytest.raises(channels.ChannelError, match=message):
        channels.validate(channel)


def test_secrets_are_never_shown_and_kept_when_left_empty() -> None:
    hook = Channel(id="c1", name="ops", kind="webhook", url="https://h/x", secret="k3y")
    assert channels.public(hook) == {"id": "c1", "name": "ops", "kind": "webhook",
                                     "url": "https://h/x", "secrets": ["secret"]}  # fmt: skip
    slack = Channel(id="c2", name="chat", kind="slack", url="https://hooks.example/T0/B0/XYZ")
    assert "url" not in channels.public(slack) and "XYZ" not in json.dumps(channels.public(slack))
    renamed = channels.merge(hook, Channel(name="ops 2", kind="webhook", url="https://h/y"))
    assert (renamed.id, renamed.name, renamed.url, renamed.secret) == (
        "c1",
        "ops 2",
        "https://h/y",
        "k3y",
    )
    rotated = channels.merge(
        hook, Channel(name="ops", kind="webhook", url="https://h/x", secret="new")
    )
    assert rotated.secret == "new"
