"""Shared fixtures: a real DuckDB file, an in-process server, and a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from openrum.settings import Settings
from openrum.store.duckdb import DuckDBStore

# The machine is shared (2 cores, browsers and servers in other tests): judge properties, not speed.
hypothesis_settings.register_profile(
    "openrum", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("openrum")

UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings() -> Settings:
    return Settings.load({}, environ={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "openrum.duckdb")
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A real `openrum serve` process on 127.0.0.1."""

    url: str
    data: Path
    process: subprocess.Popen[bytes]
    log: Path  # the server's stdout and stderr

    def cli(self, *args: str) -> str:
        """Run an `openrum` CLI command against this server's data directory."""
        out = subprocess.run(
            [sys.executable, "-m", "openrum", *args, "--data", str(self.data)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return out.stdout.decode()

    @property
    def key(self) -> str:
        """The administrator key the server wrote for the CLI (DATA/server.json)."""
        return str(json.loads((self.data / "server.json").read_text())["key"])

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        """An HTTP request; with the administrator key unless ``auth`` is False."""
        sent = {**({"authorization": f"Bearer {self.key}"} if auth else {}), **(headers or {})}
        req = urllib.request.Request(self.url + path, data=body, headers=sent, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None, auth: bool = True
    ) -> tuple[int, dict[str, str], bytes]:
        return self.request("POST", path, body, headers, auth)

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        status, _, raw = self.post(
            "/api/v1/query", json.dumps(body).encode(), {"content-type": "application/json"}
        )
        assert status == 200, raw
        result: dict[str, Any] = json.loads(raw)
        return result


def start_server(
    data: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 30
) -> LiveServer:
    """Start `openrum serve` on a free port and wait until /healthz answers (``timeout`` s)."""
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openrum",
                "serve",
                "--port",
                str(port),
                "--data",
                str(data),
                *extra,
            ],
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return LiveServer(url, data, proc, log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start in {timeout:.0f} s: {log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data")
    yield server
    stop_server(server)
