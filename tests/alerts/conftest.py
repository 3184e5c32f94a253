"""Real receivers for notifications: a webhook receiver process and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port
from tests.store.conftest import chdb_path, opener  # noqa: F401 -- the stores' fixtures

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["duckdb", "chdb"])
def backend(request: pytest.FixtureRequest) -> str:
    # The rules' queries run on every engine in tests/store/; clickhouse:// (HTTP) adds nothing
    # to them but time. tests/alerts/test_servers.py (collectors sharing a store) runs on it too.
    return str(request.param)


@dataclass
class Receiver:
    """A webhook receiver process (tests/alerts/receiver.py)."""

    url: str
    log: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def wait_for(self, n: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests()


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[[int], Receiver]]:
    """Starts receivers that fail the first N requests with 503."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(fails: int = 0) -> Receiver:
        port = free_port()
        log = tmp_path / f"receiver-{port}.jsonl"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.alerts.receiver", str(port), str(log), str(fails)],
            cwd=ROOT,
        ))  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return Receiver(f"http://127.0.0.1:{port}/hook", log)
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


@pytest.fixture
def receiver(receiver_factory: Callable[[int], Receiver]) -> Receiver:
    return receiver_factory(0)


class Site:
    """A site process (tests/alerts/site.py) on a fixed port, stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.alerts.site", str(self.port)], cwd=ROOT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the site did not start")

    def down(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def site() -> Iterator[Site]:
    """A site that answers 200 ``shop is open`` (up when the test starts)."""
    s = Site()
    s.up()
    yield s
    s.down()


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd) received."""

    port: int
    messages: list[tuple[Envelope, Message]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, message_from_bytes(raw, policy=policy.default)))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("alerts", "s3cret"))


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate,
        auth_require_tls=False,  # the test server offers no TLS
    )  # fmt: skip
    controller.start()
    yield box
    controller.stop()
