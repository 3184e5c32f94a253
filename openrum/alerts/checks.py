"""Availability checks (docs/alerts.md "Availability checks"): URLs of an application that the
server fetches every ``every_s`` seconds, the synthetic complement of the RUM data.

A check is configured by administrators only: the server makes the requests, from inside the
network it runs in, so whoever configures a check chooses where the server connects (SSRF).
``run`` is the one I/O step (an HTTP GET through httpx); ``verdict`` judges its answer, pure;
``rule_of`` and ``judge_of`` make a check's runs an alert like any other: its incident opens when
``failures`` runs in a row failed and resolves at the first run that passes.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import time
from typing import Any

import httpx
import msgspec

from openrum import __version__
from openrum.alerts.detectors import Judge
from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import Condition, Rule, Severity
from openrum.query.model import QueryError
from openrum.settings import Settings
from openrum.store.base import CheckResult, Store

MAX_BODY = 1_000_000  # bytes of an answer searched for ``expect_text``; the rest is not read
RULE_PREFIX = "check-"  # the id of a check's rule (and of its incidents' ``rule``)
METRIC = "check_failures"  # what a check's incidents measure: failed runs in a row


class CheckError(QueryError):
    """A check that cannot run as written; the message says why (HTTP 400)."""


class Check(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An availability check as stored and as sent to ``/api/v1/checks``."""

    app: str
    name: str
    url: str
    every_s: int = 300
    timeout_s: float = 10.0
    expect_status: int = 200
    expect_text: str | None = None
    tls_min_days: float = 0.0  # an https answer fails when its certificate expires sooner
    failures: int = 2  # failed runs in a row that open an incident
    severity: Severity = "critical"
    channels: list[str] = []
    enabled: bool = True
    id: str = ""


def decode(raw: bytes | dict[str, Any]) -> Check:
    """A check from JSON (bytes) or builtins. Raises CheckError for a wrong shape."""
    try:
        if isinstance(raw, bytes):
            return msgspec.json.decode(raw, type=Check)
        return msgspec.convert(raw, Check)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise CheckError(f"invalid check: {e}") from None


def validate(check: Check, settings: Settings) -> Check:
    """Check the limits below; return the check. Raises CheckError saying what is wrong."""
    if not check.name.strip() or len(check.name) > 200:
        raise CheckError("a check needs a name of 1 to 200 characters")
    try:
        url = httpx.URL(check.url)
    except httpx.InvalidURL as e:
        raise CheckError(f"invalid url: {e}") from None
    if url.scheme not in ("http", "https") or not url.host or len(check.url) > 2000:
        raise CheckError("the url must be an http or https URL with a host (2000 characters)")
    if not settings.checks_min_every_s <= check.every_s <= 86_400:
        raise CheckError(f"every_s must be between {settings.checks_min_every_s} and 86400")
    if not 0 < check.timeout_s <= min(60, check.every_s):
        raise CheckError("timeout_s must be above 0 and at most 60 and every_s")
    if not 100 <= check.expect_status <= 599:
        raise CheckError("expect_status must be an HTTP status (100 to 599)")
    if check.expect_text is not None and not 0 < len(check.expect_text) <= 1000:
        raise CheckError("expect_text must be 1 to 1000 characters")
    if not 0 <= check.tls_min_days <= 3650:
        raise CheckError("tls_min_days must be between 0 and 3650")
    if not 1 <= check.failures <= 100:
        raise CheckError("failures must be between 1 and 100")
    if check.id and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", check.id):
        raise CheckError("a check id is 1 to 64 letters, digits, '_' or '-'")
    return check


def due(check: Check, last: CheckResult | None, now_ms: int, slack_ms: int) -> bool:
    """Whether the check runs now: never run, or its last run ``every_s`` ago. ``slack_ms`` (half
    the scheduler's interval) keeps a check every minute on a one-minute tick from slipping to
    every other tick."""
    return last is None or now_ms - last.time >= check.every_s * 1000 - slack_ms


def verdict(check: Check, status: int, text: str | None, tls_days: float | None) -> str:
    """Why an answer fails the check, or "" when it passes."""
    if status != check.expect_status:
        return f"HTTP {status}, expected {check.expect_status}"
    if check.expect_text is not None and (text is None or check.expect_text not in text):
        return f"the answer does not contain {check.expect_text!r}"
    if tls_days is not None and tls_days < check.tls_min_days:
        return f"the certificate expires in {tls_days:.1f} days"
    return ""


def run(check: Check, client: httpx.Client, now_ms: int) -> CheckResult:
    """GET the check's URL (redirects followed) and judge the answer: its status, the time to
    the whole answer, the days its TLS certificate has left. A failure to connect, a timeout or
    a TLS error is a failed run with status 0."""
    started = time.perf_counter()
    try:
        with client.stream("GET", check.url, timeout=check.timeout_s) as response:
            tls = tls_days(response, now_ms / 1000)
            text = _text(response) if check.expect_text is not None else None
            status = response.status_code
    except httpx.TimeoutException:
        error, status, tls = f"no answer within {check.timeout_s:g} s", 0, None
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as e:
        error, status, tls = f"{type(e).__name__}: {e}"[:500], 0, None
    else:
        error = verdict(check, status, text, tls)
    latency = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(now_ms, check.id, check.app, not error, status, latency, tls, error)


def _text(response: httpx.Response) -> str:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= MAX_BODY:
            break
    return bytes(body[:MAX_BODY]).decode(response.encoding or "utf-8", errors="replace")


def tls_days(response: httpx.Response, now_s: float) -> float | None:
    """Days until the certificate of an https answer expires (None over plain http)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    # httpcore's sync stream gives the socket's inner SSL object: not an ssl.SSLObject, but
    # with the same getpeercert().
    getpeercert = getattr(ssl_object, "getpeercert", None)
    cert = getpeercert() if callable(getpeercert) else None
    if not cert or not isinstance(cert.get("notAfter"), str):
        return None
    return round((ssl.cert_time_to_seconds(cert["notAfter"]) - now_s) / 86_400, 2)


def client() -> httpx.Client:
    """The HTTP client the checks share in one round (certificates verified)."""
    headers = {"user-agent": f"OpenRUM-check/{__version__}"}
    return httpx.Client(headers=headers, follow_redirects=True, max_redirects=5)


def rule_of(check: Check) -> Rule:
    """The rule a check's incidents carry: ``check_failures`` above ``failures - 1``, judged by
    ``judge_of`` at every evaluation (no lateness: a run is stored as soon as it is done)."""
    return Rule(id=RULE_PREFIX + check.id, app=check.app, name=f"{check.name} is failing",
                metric=METRIC, condition=Condition("above", check.failures - 1),
                window=f"{check.failures} runs", severity=check.severity,
                channels=list(check.channels), lateness_s=0)  # fmt: skip


def judge_of(check: Check) -> Judge:
    """A check's latest runs judged: breached when the last ``failures`` runs all failed, fine
    when the last one passed, not enough data otherwise (fewer failures in a row, no run)."""

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        runs = store.check_results(check.id, limit=check.failures)
        if not runs:
            return Evaluation(end, end, None, 0.0, None)
        failed = next((i for i, r in enumerate(runs) if r.ok), len(runs))
        latest = runs[0]
        breached = False if latest.ok else (True if failed >= check.failures else None)
        first = runs[max(failed - 1, 0)]
        detail = {"check": check.id, "url": check.url, "status": latest.status,
                  "error": latest.error, "latency_ms": latest.latency_ms}  # fmt: skip
        return Evaluation(_time(first.time), _time(latest.time), float(failed),
                          float(len(runs)), breached, None, detail)  # fmt: skip

    return judge


def _time(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)
