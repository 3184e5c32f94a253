"""Real Chromium (Debian's package) driven by Playwright, and a page server on its own origin."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.agent_site import CHROMIUM_ARGS
from tests.conftest import free_port


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed for the browser tier: make test installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def ctx(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context of its own (cookies, storage, cache) for one test."""
    c = browser.new_context()
    yield c
    c.close()


class Site:
    """Pages and API endpoints of a test site on http://127.0.0.1:PORT."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.headers: dict[str, dict[str, str]] = {}  # more response headers, by path
        self.requested: list[str] = []  # the paths asked for, in order

    def add(
        self,
        path: str,
        body: str | bytes,
        status: int = 200,
        ctype: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.pages[path] = (status, ctype, body.encode() if isinstance(body, str) else body)
        self.headers[path] = headers or {}


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            s.requested.append(self.path)
            path = self.path.split("?")[0]
            status, ctype, body = s.pages.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("content-type", ctype)
            for name, value in s.headers.get(path, {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", s.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


Poll = Callable[[Callable[[], Any], Callable[[Any], bool]], Any]


def poll(fn: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Call ``fn`` until ``ok`` holds for its result (or the time is up); return the result."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if ok(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)
