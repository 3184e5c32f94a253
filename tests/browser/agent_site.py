"""Helpers of the agent's Chromium tests: a test site on its own origin, and reading back.

The site serves the test pages plus endpoints that are slow, fail (404/500), answer an image
slowly (for LCP), serve Google's web-vitals build from agent/node_modules, and a beacon sink
that records what it is sent (for the transport tests that need to answer 429).
"""

from __future__ import annotations

import html
import http.server
import json
import shutil
import struct
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer, free_port

ROOT = Path(__file__).resolve().parents[2]
WEB_VITALS = (
    ROOT / "agent" / "node_modules" / "web-vitals" / "dist" / "web-vitals.attribution.iife.js"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium() -> str:
    """Debian's chromium (Playwright cannot download its own browsers here)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A solid-colour PNG image."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


IMAGE = png(600, 300)


class Site:
    """Pages and endpoints on http://127.0.0.1:PORT, another origin than the collector's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}
        self.files: dict[str, tuple[str, str]] = {}  # path → (body, content type)
        self.sink: list[bytes] = []  # bodies POSTed to /sink
        self.sink_answers: list[tuple[int, dict[str, str]]] = []  # answers for /sink, in order
        # Every request the site got: (method, path with query, headers, lower-case names).
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    def add(self, path: str, body: str, headers: dict[str, str] | None = None) -> str:
        """Serve ``body`` as HTML at ``path``; returns the page's URL."""
        self.pages[path] = (body, headers or {})
        return self.origin + path

    def add_file(self, path: str, body: str, ctype: str) -> str:
        """Serve ``body`` as ``ctype`` at ``path`` (``?ms=N`` delays it too); returns its URL."""
        self.files[path] = (body, ctype)
        return self.origin + path

    # -- the server -----------------------------------------------------------------------
    def start(self) -> None:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def reply(
                self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                # Not cached unless a page says otherwise (its headers replace these).
                headers = {"content-type": ctype, "cache-control": "no-store", **(headers or {})}
                headers["content-length"] = str(len(body))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def seen(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                site.requests.append((self.command, self.path, headers))

            def do_OPTIONS(self) -> None:
                # A CORS preflight: another origin's page may send a traceparent header.
                self.seen()
                self.reply(204, b"", "text/plain", {
                    "access-control-allow-origin": "*",
                    "access-control-allow-methods": "GET, POST",
                    "access-control-allow-headers": "traceparent",
                })  # fmt: skip

            def do_GET(self) -> None:
                self.seen()
                url = urllib.parse.urlsplit(self.path)
                args = dict(urllib.parse.parse_qsl(url.query))
                time.sleep(int(args.get("ms", "0")) / 1000)
                path = url.path
                if path in site.pages:
                    body, headers = site.pages[path]
                    self.reply(200, body.encode(), "text/html; charset=utf-8", headers)
                elif path in site.files:
                    body, ctype = site.files[path]
                    self.reply(200, body.encode(), ctype)
                elif path == "/img.png":
                    self.reply(200, IMAGE, "image/png")
                elif path == "/web-vitals.js":
                    self.reply(200, WEB_VITALS.read_bytes(), "text/javascript")
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    self.reply(code, b'{"error": "test"}', "application/json")
                elif path == "/api":
                    # Readable from another origin's pages (without custom headers).
                    cors = {"access-control-allow-origin": "*"}
                    self.reply(
                        200, json.dumps({"ok": True, **args}).encode(), "application/json", cors
                    )
                else:
                    self.reply(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                self.seen()
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if self.path.startswith("/sink"):
                    site.sink.append(body)
                    status, headers = site.sink_answers.pop(0) if site.sink_answers else (202, {})
                    cors = {
                        "access-control-allow-origin": "*",
                        "access-control-expose-headers": "retry-after",
                    }
                    self.reply(status, b"", "text/plain", {**cors, **headers})
                elif self.path.startswith("/status/"):
                    code = int(urllib.parse.urlsplit(self.path).path.rsplit("/", 1)[1])
                    self.reply(code, b'{"error": "test"}', "application/json")
                else:
                    self.reply(404, b"", "text/plain")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the browser left while it was answered (about:blank after a beacon)

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


def snippet(collector: str, app: str, **options: str) -> str:
    """The snippet as `openrum apps create` prints it, with extra data-* options. The
    diagnostics module is off unless asked for (``diag="100"``): its own beacon would make the
    tests that count beacons depend on a 10 % draw."""
    options = {"diag": "0", **options}
    extra = "".join(f' data-{k.replace("_", "-")}="{html.escape(v)}"' for k, v in options.items())
    return (
        f'<script async src="{collector}/openrum.js" data-app="{app}" '
        f'data-endpoint="{collector}/api/v1/beacon"{extra}></script>'
    )


def page(head: str, body: str, title: str = "Test") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body>{body}</body></html>"
    )


def create_app(server: LiveServer, app: str, origin: str) -> None:
    status, _, raw = server.post(
        "/api/v1/apps",
        json.dumps({"name": app, "origins": [origin], "id": app}).encode(),
        {"content-type": "application/json"},
    )
    assert status == 201, raw


def query(
    server: LiveServer,
    app: str,
    metrics: list[str],
    dims: list[str] | None = None,
    filters: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the query API (POST /api/v1/query) over all time and every user type (headless
    Chromium is tagged synthetic, which the API leaves out by default)."""
    body = {
        "app": app,
        "user_type": "all",
        "metrics": metrics,
        "dimensions": dims or [],
        "filters": filters or [],
        "from": "2000-01-01T00:00:00Z",
        "limit": 1000,
    }
    rows: list[dict[str, Any]] = server.query(body)["rows"]
    return rows


def stored(server: LiveServer, app: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of ``app`` (actions, errors, user_events, sessions), via the export API."""
    ids = {r["session_id"] for r in query(server, app, ["count"], ["session_id"])}
    ids |= {r["session_id"] for r in query(server, app, ["errors"], ["session_id"])}
    out: dict[str, list[dict[str, Any]]] = {}
    for sid in sorted(ids):
        status, _, raw = server.request(
            "GET", f"/api/v1/export?app={app}&session_id={urllib.parse.quote(sid)}"
        )
        assert status == 200, raw
        for table, rows in json.loads(raw)["data"].items():
            out.setdefault(table, []).extend(rows)
    return out


def poll(fn: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Call ``fn`` until ``ok`` holds for its result or the time is up; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if ok(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def sink_beacons(site: Site) -> Iterator[dict[str, Any]]:
    for body in site.sink:
        yield json.loads(body)
