"""One HTTP connection: uvicorn's httptools protocol with the limits it lacks.

httptools keeps a request's head in memory however large it grows, and uvicorn arms no timer
before a connection's first response: one client could hold hundreds of megabytes with a few huge
headers, or hold connections open by sending their heads a byte at a time (slowloris). This
protocol bounds both, as Elastic APM Server (``max_header_size``, ``read_timeout``) and Go's
``http.Server`` (``MaxHeaderBytes``, ``ReadHeaderTimeout``) do:

- a request head (request line and headers) over ``max_header_bytes`` gets ``431``;
- a head not complete within ``header_timeout_s`` of the connection's opening, or of the previous
  response, gets ``408`` (a connection that sent nothing is closed without a word).

Each refusal is counted by reason (``openrum_requests_refused_total``). The idle keep-alive time
(``keepalive_timeout_s``) and the connection limit (``max_connections``, ``503``) are uvicorn's.
The cost per request is a few attribute updates: no timer per request, one per connection.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from openrum.settings import Settings

# How long a refused client may still send (its bytes are read and dropped) before the
# connection closes: closing with unread bytes resets the connection, and the client would lose
# the answer that says why.
LINGER_S = 2.0


class LimitedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a bounded request head; see the module's docstring."""

    max_head = 65_536
    head_timeout = 10.0
    refused: ClassVar[Counter[str]] = Counter()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        # Bytes received since a head was awaited, and since when (None: not awaiting one).
        self._head_bytes = 0
        self._head_since: float | None = self.loop.time()
        self._watch = self.loop.call_later(self.head_timeout, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        self._watch.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_since is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still no end of the head: refuse before the parser buffers more of it.
        if (
            self._head_since is not None
            and self._head_bytes > self.max_head
            and not self.transport.is_closing()
        ):
            self._refuse(431, "header_too_large", f"request head over {self.max_head} bytes")

    def on_headers_complete(self) -> None:
        self._head_since = None
        # The bytes counted may include the start of a body: measure the head itself.
        if self._head_bytes > self.max_head and self._head_size() > self.max_head:
            self.refused["header_too_large"] += 1
            app, self.app = self.app, _too_large
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Unless a pipelined request (its head complete) has just started, a head is awaited.
        if self.cycle.response_complete and not self.transport.is_closing():
            self._head_bytes = 0
            self._head_since = self.loop.time()

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _check_head(self) -> None:
        if self.transport.is_closing():
            return
        since = self._head_since
        now = self.loop.time()
        if since is not None and now - since >= self.head_timeout:
            if self._head_bytes:
                timeout = self.head_timeout
                self._refuse(408, "header_timeout", f"request head not complete in {timeout:g} s")
            else:
                self.transport.close()  # idle: nothing to answer
            return
        delay = self.head_timeout if since is None else since + self.head_timeout - now
        self._watch = self.loop.call_later(delay, self._check_head)

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` and close; what the client still sends is dropped meanwhile."""
        self.refused[reason] += 1
        body = f"{reason}: {detail}\n".encode()
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"x-openrum-reason: "
            + reason.encode()
            + b"\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + body
        )
        # Out of the server's sight: no longer counted, parsed or timed.
        self.connections.discard(self)
        self._watch.cancel()
        self._unset_keepalive_if_required()
        self.transport.set_protocol(_Drain(self.transport, self.loop))


class _Drain(asyncio.Protocol):
    """Reads and drops what a refused client still sends, then closes (see LINGER_S)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        transport.write_eof()
        transport.resume_reading()
        loop.call_later(LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        pass


async def _too_large(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    body = b"header_too_large: request head too large\n"
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-openrum-reason", b"header_too_large"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def protocol(settings: Settings, refused: Counter[str]) -> type[LimitedProtocol]:
    """The protocol class for uvicorn (its ``http`` option), with ``settings``' limits;
    refusals are counted in ``refused``."""
    attributes: dict[str, Any] = {
        "max_head": settings.max_header_bytes,
        "head_timeout": settings.header_timeout_s,
        "refused": refused,
    }
    return type("OpenRUMProtocol", (LimitedProtocol,), attributes)
