"""Channels: where notifications go. A generic webhook (the JSON payload of docs/alerts.md,
signed with HMAC-SHA256 in ``X-OpenRUM-Signature``), a Slack-compatible incoming webhook
(``{"text": …}``), and e-mail over SMTP (STARTTLS and login optional). A delivery is retried
with a doubling backoff, and every attempt is logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from openrum.settings import Settings
from openrum.store.base import Delivery, Incident

# Fields holding secrets, per kind: stored, used, never returned by the API. A Slack incoming
# webhook's URL is its secret.
SECRETS: dict[str, tuple[str, ...]] = {
    "webhook": ("secret",),
    "slack": ("url",),
    "email": ("password",),
}
_ADDRESS = re.compile(r"[^@\s<>,]+@[^@\s<>,]+")


class ChannelError(ValueError):
    """A channel that cannot work as written; the message says why (HTTP 400)."""

    status = 400


class Channel(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A notification channel as stored and as sent to ``/api/v1/alerts/channels``."""

    name: str
    kind: Literal["webhook", "slack", "email"]
    url: str = ""  # webhook, slack
    secret: str = ""  # webhook: the HMAC key
    host: str = ""  # email: the SMTP server
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = ""
    sender: str = ""
    to: list[str] = []
    id: str = ""


def validate(channel: Channel) -> Channel:
    """Check a channel; return it. Raises ChannelError saying what is wrong."""
    if not channel.name.strip() or len(channel.name) > 200:
        raise ChannelError("a channel needs a name of 1 to 200 characters")
    if channel.id and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", channel.id):
        raise ChannelError("a channel id is 1 to 64 letters, digits, '_' or '-'")
    if channel.kind in ("webhook", "slack"):
        parts = urlsplit(channel.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelError(f"a {channel.kind} channel needs an http(s) url")
    else:
        if not channel.host or not 0 < channel.port < 65536:
            raise ChannelError("an email channel needs an SMTP host and port")
        if not channel.to or not all(_ADDRESS.fullmatch(a) for a in channel.to):
            raise ChannelError("an email channel needs recipients: to, a list of addresses")
        if not _ADDRESS.fullmatch(channel.sender):
            raise ChannelError("an email channel needs a sender address")
    return channel


def public(channel: Channel) -> dict[str, Any]:
    """A channel as the API shows it: its secrets left out, ``secrets`` naming those set."""
    out: dict[str, Any] = msgspec.to_builtins(channel)
    hidden = [name for name in SECRETS[channel.kind] if out.pop(name, "")]
    out["secrets"] = hidden
    return out


def merge(stored: Channel, change: Channel) -> Channel:
    """A channel changed through the API: a secret left empty keeps the stored one."""
    kept = {name: getattr(stored, name) for name in SECRETS[change.kind]
            if not getattr(change, name) and change.kind == stored.kind}  # fmt: skip
    return msgspec.structs.replace(change, id=stored.id, **kept)


# -- messages ----------------------------------------------------------------------------------
def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")[:-6] + "Z"


def payload(event: str, incident: Incident, base_url: str) -> dict[str, Any]:
    """The generic webhook's JSON document (docs/alerts.md "Payload")."""
    d = incident.detail
    return {
        "version": 1,
        "event": event,
        "incident": {
            "id": incident.id,
            "state": incident.state,
            "severity": incident.severity,
            "app": incident.app,
            "rule": {"id": incident.rule, "name": d.get("rule_name")},
            "metric": d.get("metric"),
            "filters": d.get("filters", []),
            "window": d.get("window"),
            "condition": d.get("condition"),
            "value": d.get("value"),
            "baseline": d.get("baseline"),
            "sample": d.get("sample"),
            "start": _iso(incident.start),
            "end": _iso(incident.end),
            "link": base_url + str(d.get("link", "")),
        },
    }


def summary(event: str, incident: Incident) -> str:
    """One line saying what happened: the subject of a mail, the text of a Slack message."""
    d = incident.detail
    c = d.get("condition") or {}
    change = " %" if c.get("baseline", "none") != "none" else ""
    against = f" vs {c.get('baseline')} before" if change else ""
    head = {"firing": "FIRING", "reminder": "STILL FIRING", "resolved": "RESOLVED"}.get(
        event, event.upper()
    )
    return (
        f"[{head} {incident.severity}] {d.get('rule_name')} ({incident.app}): "
        f"{d.get('metric')} = {_number(d.get('value'))} ({c.get('op')} "
        f"{_number(c.get('threshold'))}{change}{against}) over {d.get('window')}"
    )


def _number(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def body_text(event: str, incident: Incident, base_url: str) -> str:
    """The text of a notification mail."""
    p = payload(event, incident, base_url)["incident"]
    lines = [summary(event, incident), ""]
    for key in ("app", "severity", "state", "metric", "filters", "window", "value", "baseline",
                "sample", "start", "end"):  # fmt: skip
        if p[key] not in (None, []):
            lines.append(f"{key}: {p[key]}")
    lines += ["", f"Open in the dashboard: {p['link']}", ""]
    return "\n".join(lines)


def sign(secret: str, body: bytes) -> str:
    """``X-OpenRUM-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- sending -----------------------------------------------------------------------------------
def send(channel: Channel, event: str, incident: Incident, base_url: str, timeout: float) -> str:
    """Send one notification; the receiver's answer (HTTP status, SMTP reply). Raises OSError or
    smtplib.SMTPException when it fails."""
    if channel.kind == "email":
        return _mail(channel, event, incident, base_url, timeout)
    if channel.kind == "slack":
        data: dict[str, Any] = {
            "text": f"{summary(event, incident)}\n<{base_url}{incident.detail.get('link', '')}"
            "|Open in OpenRUM>"
        }
    else:
        data = payload(event, incident, base_url)
    body = msgspec.json.encode(data)
    headers = {"content-type": "application/json", "user-agent": "OpenRUM-alerts"}
    if channel.kind == "webhook":
        headers["x-openrum-event"] = event
        if channel.secret:
            headers["x-openrum-signature"] = sign(channel.secret, body)
    request = urllib.request.Request(channel.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(response.status)
    except urllib.error.HTTPError as e:
        raise OSError(f"HTTP {e.code}") from None


def _mail(channel: Channel, event: str, incident: Incident, base_url: str, timeout: float) -> str:
    message = EmailMessage()
    message["Subject"] = summary(event, incident)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(body_text(event, incident, base_url))
    with smtplib.SMTP(channel.host, channel.port, timeout=timeout) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if channel.username:
            smtp.login(channel.username, channel.password)
        refused = smtp.send_message(message)
        code, reply = smtp.noop()
    if refused:
        raise smtplib.SMTPException(f"recipients refused: {', '.join(refused)}")
    return f"{code} {reply.decode(errors='replace')}"


def deliver(
    channel: Channel,
    event: str,
    incident: Incident,
    settings: Settings,
    log: Callable[[Delivery], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Send with up to ``alerts_delivery_attempts`` attempts, waiting
    ``alerts_delivery_backoff_s`` and twice as long each time between them; ``log`` receives
    every attempt. Whether one succeeded."""
    base_url = settings.public_url.rstrip("/")
    wait = settings.alerts_delivery_backoff_s
    for attempt in range(1, settings.alerts_delivery_attempts + 1):
        try:
            status = send(channel, event, incident, base_url, settings.alerts_delivery_timeout_s)
            ok = True
        except (OSError, smtplib.SMTPException, ValueError) as e:
            status, ok = (str(e) or type(e).__name__)[:500], False
        log(Delivery(int(clock() * 1000), incident.id, channel.id, event, attempt, ok, status))
        if ok:
            return True
        if attempt < settings.alerts_delivery_attempts:
            sleep(wait)
            wait *= 2
    return False
