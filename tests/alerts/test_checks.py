"""Availability checks: the verdict on an answer, the limits of a check, and a check against a
real site process that goes down and comes back — its runs stored, an incident opened and
notified to a real webhook receiver after two failures, resolved when the site is back (both
engines)."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import msgspec
import pytest

from openrum.alerts import checks
from openrum.alerts.channels import Channel
from openrum.alerts.checks import Check, CheckError
from openrum.settings import Settings
from openrum.store.base import CheckResult
from tests.alerts.conftest import Receiver, Site
from tests.alerts.site import PAGE
from tests.alerts.test_scheduler import Clock, at, scheduler
from tests.store.conftest import Opener

CHECK = Check(id="home", app="shop", name="Home page", url="https://shop.example/",
              expect_text="shop is open", tls_min_days=14)  # fmt: skip


@pytest.mark.parametrize(
    ("status", "text", "tls_days", "why"),
    [
        (200, "<p>shop is open</p>", 60.0, ""),
        (200, "<p>shop is open</p>", None, ""),  # plain http: no certificate
        (503, "<p>shop is open</p>", 60.0, "HTTP 503, expected 200"),
        (200, "<p>closed for maintenance</p>", 60.0, "the answer does not contain 'shop is open'"),
        (200, None, 60.0, "the answer does not contain 'shop is open'"),
        (200, "shop is open", 3.5, "the certificate expires in 3.5 days"),
        (200, "shop is open", -2.0, "the certificate expires in -2.0 days"),
    ],
)
def test_verdict(status: int, text: str | None, tls_days: float | None, why: str) -> None:
    assert checks.verdict(CHECK, status, text, tls_days) == why


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"url": "ftp://shop.example/"}, "http or https"),
        ({"url": "https:///nohost"}, "http or https"),
        ({"every_s": 10}, "every_s must be between 60 and 86400"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 90}, "timeout_s"),
        ({"expect_status": 42}, "expect_status"),
        ({"expect_text": ""}, "expect_text"),
        ({"failures": 0}, "failures"),
        ({"name": " "}, "name"),
        ({"id": "a b"}, "check id"),
    ],
)
def test_validate_refuses(change: dict[str, object], error: str) -> None:
    bad = checks.decode({**msgspec.to_builtins(CHECK), **change})
    with pytest.raises(CheckError, match=error):
        checks.validate(bad, Settings.load({}, environ={}))


def test_due() -> None:
    last = CheckResult(1_000_000, "home", "shop", True, 200, 5.0)
    every = CHECK.every_s * 1000
    assert checks.due(CHECK, None, 0, 0)
    assert not checks.due(CHECK, last, last.time + every - 30_001, 30_000)
    assert checks.due(CHECK, last, last.time + every - 30_000, 30_000)


def test_site_down_and_back(opener: Opener, receiver: Receiver, site: Site) -> None:
    store = opener()
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url)
    store.save_alert_item("channels", "c1", msgspec.to_builtins(hook))
    check = Check(id="home", app="shop", name="Home page", url=site.url, every_s=60,
                  timeout_s=2, expect_text="shop is open", failures=2, channels=["c1"])  # fmt: skip
    store.save_alert_item("checks", "home", msgspec.to_builtins(check))
    clock = Clock()
    s = scheduler(store, clock, "a")

    def tick(minute: int) -> None:
        clock.t = at(minute)
        s.tick()

    tick(0)
    site.down()
    tick(1)
    assert store.incidents() == []  # one failure: not yet
    tick(2)
    [incident] = store.incidents()
    assert (incident.rule, incident.state, incident.severity) == (
        "check-home",
        "firing",
        "critical",
    )
    assert incident.start == at(1) * 1000  # the first failed run
    assert incident.detail["url"] == site.url and incident.detail["status"] == 0
    [fired] = receiver.wait_for(1)
    payload = json.loads(fired["body"])["incident"]
    assert (fired["headers"]["x-openrum-event"], payload["metric"], payload["value"]) == (
        "firing", "check_failures", 2.0,
    )  # fmt: skip
    assert s.firing == {"critical": 1}
    tick(2)  # a tick within the minute: not due, nothing run or sent again
    assert len(store.check_results("home")) == 3 and len(receiver.requests()) == 1
    site.up()
    tick(3)
    [resolved] = store.incidents()
    assert (resolved.id, resolved.state, resolved.end) == (incident.id, "resolved", at(3) * 1000)
    assert [r["headers"]["x-openrum-event"] for r in receiver.wait_for(2)] == [
        "firing", "resolved",
    ]  # fmt: skip
    runs = store.check_results("home")[::-1]
    assert [(r.time, r.ok, r.status) for r in runs] == [
        (at(0) * 1000, True, 200), (at(1) * 1000, False, 0), (at(2) * 1000, False, 0),
        (at(3) * 1000, True, 200),
    ]  # fmt: skip
    assert runs[1].error.startswith("ConnectError") and runs[0].tls_days is None
    assert all(0 < r.latency_ms < 2000 for r in runs)
    assert s.firing == {}


def test_tls_days_of_a_real_certificate(tmp_path: Path) -> None:
    # A certificate for 127.0.0.1 valid 30 days, made by the openssl command line tool, on an
    # https server in this process; the check's client trusts it.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "30", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/"
    try:
        check = msgspec.structs.replace(CHECK, url=url, tls_min_days=14)
        with httpx.Client(verify=ssl.create_default_context(cafile=cert)) as client:
            now = int(time.time() * 1000)
            result = checks.run(check, client, now)
            assert result.ok and result.status == 200, result.error
            assert result.tls_days is not None and 29.9 < result.tls_days <= 30
            strict = msgspec.structs.replace(check, tls_min_days=45)
            late = checks.run(strict, client, now)
            assert not late.ok and late.error.startswith("the certificate expires in 30")
        # The server's own client verifies against the system's authorities: refused.
        with checks.client() as client:
            refused = checks.run(check, client, now)
        assert (refused.ok, refused.status) == (False, 0)
        assert "CERTIFICATE_VERIFY_FAILED" in refused.error
    finally:
        server.shutdown()
        server.server_close()


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass
