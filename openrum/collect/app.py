"""The collector: a raw ASGI app for the beacon hot path, /openrum.js, /healthz and /metrics.

The beacon handler does the least possible: size check → decode → stamp → enqueue → reply 202.
No database work, no awaits beyond reading the body. Every rejection is a 4xx (or 503 when the
queue is full) with an ``X-OpenRUM-Reason`` header and a counted reason. Any other path goes to
``fallback`` (the dashboard and JSON API).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import msgspec

from openrum import __version__
from openrum.collect import beacon as wire
from openrum.collect import foreign, spool
from openrum.collect.limits import RateLimiter, inflate
from openrum.collect.metrics import Metrics
from openrum.collect.spool import Raw, Spool
from openrum.collect.writer import BatchWriter
from openrum.encoding import choose
from openrum.enrich.ip import ClientAddress, mask_ip
from openrum.enrich.rules import Detector, page_url
from openrum.settings import Settings
from openrum.store.base import App

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("openrum.collect")

_ACCEPTED_TYPES = (b"text/plain", b"application/json")
_EXPOSE = (b"access-control-expose-headers", b"x-openrum-reason, retry-after")
_EMPTY = (b"content-length", b"0")


@functools.lru_cache(maxsize=4096)
def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; '' if it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


class Agent:
    """An agent bundle (the snippet ``openrum.js`` or the diagnostics module
    ``openrum-diag.js``), loaded once, with its brotli copy (made by agent/build.mjs), a gzip
    variant and an ETag."""

    def __init__(self, name: str = "openrum.js") -> None:
        static = resources.files("openrum.collect") / "static"
        try:
            self.body: bytes | None = (static / name).read_bytes()
        except (FileNotFoundError, OSError):
            self.body = None
        try:
            self.brotli = (static / f"{name}.br").read_bytes() if self.body else b""
        except (FileNotFoundError, OSError):
            self.brotli = b""
        self.gzipped = gzip.compress(self.body, 9) if self.body else b""
        self.etag = (
            b'"' + hashlib.blake2b(self.body, digest_size=8).hexdigest().encode() + b'"'
            if self.body
            else b""
        )


class Collector:
    """The ASGI entry point of ``openrum serve``."""

    def __init__(
        self,
        settings: Settings,
        writer: BatchWriter,
        metrics: Metrics,
        fallback: ASGIApp | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.spool: Spool = writer.spool
        self.ip_limit = RateLimiter(settings.rate_limit_ip_per_s, settings.rate_limit_ip_burst)
        self.app_limit = RateLimiter(settings.rate_limit_app_per_s, settings.rate_limit_app_burst)
        self.metrics = metrics
        self.fallback = fallback
        self.apps: dict[str, App] = {}
        self._origins: dict[str, frozenset[str]] = {}
        self._all_origins: frozenset[str] = frozenset()
        self._cors_cache: dict[str, list[tuple[bytes, bytes]]] = {}
        self.agent = Agent()
        self.formats = foreign.formats()
        self.diag_agent = Agent("openrum-diag.js")
        # Behind trusted proxies the client address comes from headers (enrich/ip.py).
        self.client_address = ClientAddress(settings.trusted_proxies, settings.client_ip_headers)
        self.detector = Detector(settings.app_detection_rules, settings.default_app)
        # Client address → its masked form. In memory only, like the rate limiter's buckets:
        # never written anywhere.
        self._masked: dict[str, str] = {}

    def set_apps(self, apps: list[App]) -> None:
        """Replace the application table the hot path checks (called on start and on change)."""
        self._origins = {
            a.id: frozenset(normalise_origin(o) if o != "*" else "*" for o in a.origins)
            for a in apps
        }
        self._all_origins = frozenset().union(*self._origins.values()) if apps else frozenset()
        self._cors_cache = {}
        self.apps = {a.id: a for a in apps}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/api/v1/beacon":
                await self.beacon(scope, receive, send)
                return
            if path.startswith("/ingest/"):
                found = foreign.route(path, self.formats)
                if found is None:
                    detail = "see docs/ingest.md for the ingest endpoints"
                    await self._reject(send, 404, "unknown_ingest_path", detail, [])
                else:
                    await self.beacon(scope, receive, send, *found)
                return
            if path in ("/openrum.js", "/openrum-diag.js", "/healthz"):
                if scope["method"] not in ("GET", "HEAD"):
                    await _respond(send, 405, b"use GET\n", [(b"allow", b"GET, HEAD")])
                elif path == "/healthz":
                    await self.health(send)
                else:
                    await self.agent_js(scope, send, path == "/openrum-diag.js")
                return
        if self.fallback is not None:
            await self.fallback(scope, receive, send)
        elif scope["type"] == "http":
            await _respond(send, 404, b"not found\n", [])

    async def health(self, send: Send) -> None:
        """200 while beacons are stored; 503 once writes have failed for
        ``health_write_failure_s`` (a supervisor restarts the process: the spool keeps them)."""
        failing = self.writer.failing_for()
        status, answer = 200, {"status": "ok", "version": __version__}
        if failing > self.settings.health_write_failure_s:
            reason = f"store writes failing for {failing:.0f} s: {self.writer.last_error}"
            status, answer = 503, {"status": "failing", "reason": reason, "version": __version__}
        body = msgspec.json.encode(answer)
        await _respond(send, status, body, [(b"content-type", b"application/json")])

    # -- POST /api/v1/beacon, and /ingest/{format}/{app} (docs/ingest.md) ----------------------
    async def beacon(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        fmt: foreign.Format | None = None,
        path_app: str = "",
    ) -> None:
        """A native beacon; or, with ``fmt``, a foreign agent's payload for the application
        ``path_app``, translated into native beacons that then go the native beacon's way."""
        raw_headers = scope["headers"]
        headers = dict(raw_headers)  # a repeated header: the last one counts
        origin = headers.get(b"origin", b"").decode("latin-1")
        # The page's origin for the application's origin check: an image beacon (Boomerang's
        # GET) carries no Origin header, only a Referer.
        page_origin = origin
        if fmt is not None and not origin:
            page_origin = normalise_origin(headers.get(b"referer", b"").decode("latin-1"))
        length_header = headers.get(b"content-length", b"")
        length = int(length_header) if length_header.isdigit() else -1
        ctype = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        encoding = headers.get(b"content-encoding", b"").strip().lower()
        ua = headers.get(b"user-agent", b"").decode("latin-1")[:1024]
        method = scope["method"]
        cors = self._cors(origin)
        methods = fmt.methods if fmt else ("POST",)
        if method == "OPTIONS":
            await self._preflight(send, origin, cors, fmt)
            return
        if method not in methods:
            allow = ", ".join(("OPTIONS", *methods)).encode()
            await self._reject(
                send,
                405,
                "method_not_allowed",
                f"use {' or '.join(methods)}",
                [*cors, (b"allow", allow)],
            )
            return
        client = scope.get("client")
        ip = client[0] if client else ""
        if self.client_address.networks:  # behind a trusted proxy: read only from one
            names = self.client_address.header_bytes  # (enrich/ip.py)
            forwarded = [(name, value) for name, value in raw_headers if name in names]
            ip = self.client_address.resolve(ip, forwarded)
        now = time.time()
        wait = self.ip_limit.allow(ip, now)
        if wait:
            await self._reject(
                send,
                429,
                "rate_limited_ip",
                "too many beacons from this address",
                [*cors, (b"retry-after", str(math.ceil(wait)).encode())],
            )
            return
        limit = self.settings.max_body_bytes
        if length > limit:
            await self._reject(send, 413, "body_too_large", f"body over {limit} bytes", cors)
            return
        accepted: tuple[bytes, ...] = fmt.media_types if fmt else _ACCEPTED_TYPES
        if method == "GET":  # Boomerang's image beacon: the query string is the payload
            ctype = b"application/x-www-form-urlencoded"
        elif ctype not in accepted:
            wanted = " or ".join(t.decode() for t in accepted)
            await self._reject(send, 415, "unsupported_media_type", f"send {wanted}", cors)
            return
        body: bytes | wire.Drop | None
        if method == "GET":
            body = bytes(scope.get("query_string", b""))
            if len(body) > limit:
                body = wire.Drop("body_too_large", 413, f"query string over {limit} bytes")
        else:
            body = await self._read_body(receive, limit)
        if body is not None and not isinstance(body, wire.Drop) and encoding:
            body = inflate(body, encoding, self.settings.max_decompressed_bytes)
        if body is None:
            self.metrics.rejected["client_disconnected"] += 1
            return
        if isinstance(body, wire.Drop):
            await self._reject(send, body.status, body.reason, body.detail, cors)
            return
        beacons = self._decode(body, fmt, ctype, path_app, now)
        if isinstance(beacons, wire.Drop):
            await self._reject(send, beacons.status, beacons.reason, beacons.detail, cors)
            return
        origin = page_origin
        app = beacons[0][1].app if beacons else path_app
        if not app and beacons:
            decoded = beacons[0][1]
            # No application id: detected by the page's URL (cached), so that the origin check
            # and the rate limit below are the detected application's; the batch step detects
            # the same application again from the spooled body.
            url = page_url(decoded)
            app = self.detector.detect(url, origin or None)
            if not app:
                await self._reject(
                    send,
                    403,
                    "app_not_detected",
                    f"no application id, no rule for {url[:200]!r}",
                    cors,
                )
                return
        allowed = self._origins.get(app)
        if allowed is None:
            await self._reject(send, 403, "unknown_app", f"no application {app!r}", cors)
            return
        if origin and "*" not in allowed and normalise_origin(origin) not in allowed:
            await self._reject(
                send,
                403,
                "origin_not_allowed",
                f"origin {origin!r} is not allowed for this application",
                cors,
            )
            return
        wait = self.app_limit.allow(app, now)
        if wait:
            await self._reject(
                send,
                429,
                "rate_limited_app",
                "too many beacons for this app",
                [*cors, (b"retry-after", str(math.ceil(wait)).encode())],
            )
            return
        if not beacons and fmt is not None:
            # Nothing OpenRUM stores (a Boomerang unload beacon): accepted, nothing spooled.
            await _respond(send, fmt.ok, fmt.ok_body(ctype), cors[:1])
            return
        # Masked before it is kept anywhere, even in the spool (the full address stays in memory
        # only, for the rate limit above).
        masked = self._masked.get(ip)
        if masked is None:
            masked = mask_ip(ip, self.settings.ip_mask_level)
            if len(self._masked) >= 65_536:
                self._masked.clear()
            self._masked[ip] = masked
        events = 0
        pending = []
        for native_body, native in beacons:
            events += len(native.events)
            item = Raw(native_body, len(native.events), int(now * 1000), masked, ua, origin or None)
            durable = self.spool.append(spool.encode(item))
            if durable is None:
                await self._reject(
                    send,
                    503,
                    "spool_full",
                    "collector busy, retry later",
                    [*cors, (b"retry-after", b"1")],
                )
                return
            pending.append(durable)
        try:
            for durable in pending:
                await durable
        except OSError:
            log.exception("spool write failed")
            await self._reject(
                send,
                503,
                "spool_error",
                "collector cannot write, retry later",
                [*cors, (b"retry-after", b"5")],
            )
            return
        self.metrics.beacons_accepted += 1
        self.metrics.events_accepted += events
        self.metrics.bytes_accepted += len(body)
        # Accepted: the agent reads only the status, so no header but the origin's is needed.
        if fmt is None:
            await _respond(send, 202, b"", cors[:1])
        else:
            await _respond(send, fmt.ok, fmt.ok_body(ctype), cors[:1])

    def _decode(
        self, body: bytes, fmt: foreign.Format | None, ctype: bytes, app: str, now: float
    ) -> list[tuple[bytes, wire.Beacon]] | wire.Drop:
        """The native beacons of a body with their JSON (what is spooled), or why not."""
        limit = self.settings.max_events_per_beacon
        if fmt is None:
            decoded = wire.decode(body, limit)
            return decoded if isinstance(decoded, wire.Drop) else [(body, decoded)]
        translated = fmt.translate(foreign.Request(body, ctype, app, int(now * 1000)))
        if isinstance(translated, wire.Drop):
            return translated
        # Each native beacon is decoded again, as the batch step will: the same checks as a
        # native beacon's (event counts, numbers the browser can send exactly).
        beacons = []
        for native in translated:
            encoded = msgspec.json.encode(native)
            decoded = wire.decode(encoded, limit)
            if isinstance(decoded, wire.Drop):
                return decoded
            beacons.append((encoded, decoded))
        return beacons

    async def _read_body(self, receive: Receive, limit: int) -> bytes | wire.Drop | None:
        """The request body; a Drop when too large or too slow; None if the client left."""
        message = await receive()
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            # Only a body that arrives in pieces can be slow: bound the time it may take.
            parts = [body]
            size = len(body)
            try:
                async with asyncio.timeout(self.settings.body_timeout_s):
                    while message.get("more_body", False):
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return None
                        parts.append(message.get("body", b""))
                        size += len(parts[-1])
                        if size > limit:
                            return wire.Drop("body_too_large", 413, f"body over {limit} bytes")
            except TimeoutError:
                return wire.Drop("body_timeout", 408, "the body took too long to arrive")
            body = b"".join(parts)
        elif message["type"] == "http.disconnect":
            return None
        if len(body) > limit:
            return wire.Drop("body_too_large", 413, f"body over {limit} bytes")
        return body

    async def _preflight(
        self,
        send: Send,
        origin: str,
        cors: list[tuple[bytes, bytes]],
        fmt: foreign.Format | None = None,
    ) -> None:
        if origin and not cors:
            await self._reject(send, 403, "origin_not_allowed", "origin not allowed", [])
            return
        methods = ", ".join(fmt.methods).encode() if fmt else b"POST"
        allow = fmt.allow_headers if fmt else b"content-type, content-encoding"
        await _respond(
            send,
            204,
            b"",
            [
                *cors,
                (b"access-control-allow-methods", methods),
                (b"access-control-allow-headers", allow),
                (b"access-control-max-age", str(self.settings.cors_max_age_s).encode()),
            ],
        )

    def _cors(self, origin: str) -> list[tuple[bytes, bytes]]:
        """The CORS headers for a request from ``origin`` (allowed origin first); not to be
        changed by the caller: they are kept per origin until the applications change."""
        if not origin:
            return []
        cors = self._cors_cache.get(origin)
        if cors is None:
            cors = []
            if normalise_origin(origin) in self._all_origins or "*" in self._all_origins:
                cors = [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"vary", b"origin"),
                    _EXPOSE,
                ]
            if len(self._cors_cache) >= 4096:
                self._cors_cache.clear()
            self._cors_cache[origin] = cors
        return cors

    async def _reject(
        self, send: Send, status: int, reason: str, detail: str, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.metrics.rejected[reason] += 1
        body = f"{reason}: {detail}\n".encode("utf-8", "replace") if detail else b""
        await _respond(
            send,
            status,
            body,
            [
                *headers,
                (b"x-openrum-reason", reason.encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        )

    # -- GET /openrum.js ----------------------------------------------------------------------
    async def agent_js(self, scope: Scope, send: Send, diag: bool = False) -> None:
        agent = self.diag_agent if diag else self.agent
        if agent.body is None:
            await _respond(send, 404, b"agent not built: run `make agent`\n", [])
            return
        headers = [
            (b"content-type", b"text/javascript; charset=utf-8"),
            (b"cache-control", f"public, max-age={self.settings.agent_cache_s}".encode()),
            (b"etag", agent.etag),
            (b"access-control-allow-origin", b"*"),
            (b"vary", b"accept-encoding"),
        ]
        accept = b""
        for name, value in scope["headers"]:
            if name == b"if-none-match" and value == agent.etag:
                await _respond(send, 304, b"", headers)
                return
            if name == b"accept-encoding":
                accept = value
        coding = choose(accept)
        if coding == "br" and agent.brotli:
            await _respond(send, 200, agent.brotli, [*headers, (b"content-encoding", b"br")])
        elif coding:
            await _respond(send, 200, agent.gzipped, [*headers, (b"content-encoding", b"gzip")])
        else:
            await _respond(send, 200, agent.body, headers)


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode()) if body else _EMPTY],
        }
    )
    await send({"type": "http.response.body", "body": body})
