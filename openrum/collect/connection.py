"""One HTTP connection: uvicorn's httptools protocol with the limits it lacks.

httptools keeps a request's head in memory however large it grows, and uvicorn arms no timer
before a connection's first response: one client could hold hundreds of megabytes with a few huge
headers, or hold connections open by sending their heads a byte at a time (slowloris). This
protocol bounds both, as Elastic APM Server (``max_header_size``, ``read_timeout``) and Go's
``http.Server`` (``MaxHeaderBytes``, ``ReadHeaderTimeout``) do:

- a request head (request line and headers) over ``max_header_bytes`` gets ``431``;
- a head not complete within ``header_timeout_s`` (to 1.5 times it) of the connection's opening,
  or of the previous response, gets ``408`` (a connection that sent nothing is closed silently).

Each refusal is counted by reason (``openrum_requests_refused_total``). The idle keep-alive time
(``keepalive_timeout_s``) and the connection limit (``max_connections``, ``503``) are uvicorn's.
The cost per request is one call and a few comparisons: no timer per request, one per connection.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from openrum.settings import Settings

# How long a refused client may still send (its bytes are read and dropped) before the
# connection closes: closing with unread bytes resets the connection, and the client would lose
# the answer that says why.
LINGER_S = 2.0


class LimitedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a bounded request head; see the module's docstring.

    Only ``data_received`` is overridden, and the head's time is watched by a timer per
    connection, not per request: the cost per request is one call and a few comparisons."""

    # Slots, not the instance's dict: CPython shares the keys of at most 30 instance attributes
    # per class (uvicorn's protocol sets 28), and past that every attribute of the protocol
    # is looked up more slowly (4,600 more instructions a request, measured with callgrind).
    __slots__ = ("_max", "_room", "_seen", "_waits", "_watch")

    max_head = 65_536
    head_timeout = 10.0
    refused: ClassVar[Counter[str]] = Counter()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._max = self.max_head
        self._room = self._max  # bytes the next head may still take
        # The timer's last look: the request then, and how many looks in a row found the
        # connection waiting for a head with no new request since.
        self._seen: object = None
        self._waits = 0
        self._watch = self.loop.call_later(self.head_timeout / 2, self._look)

    def connection_lost(self, exc: Exception | None) -> None:
        self._watch.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_complete:
            _data_received(self, data)  # a body the application reads (flow-controlled)
            return
        room = self._room
        if len(data) <= room:
            self._room = room - len(data)
            _data_received(self, data)
            if self.cycle is not cycle:  # a head ended: a new request
                self._room = self._max
            return
        # More than the head may still take: feed that much, and see whether the head ends in it.
        _data_received(self, data[:room])
        if self.cycle is cycle:
            self._too_large()
        else:
            self._room = self._max
            self.data_received(data[room:])

    def _too_large(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.more_body:
            # The rest of a body the application answered without reading: no head to speak of.
            self.transport.close()
            return
        self._refuse(431, "header_too_large", f"request head over {self.max_head} bytes")

    def _look(self) -> None:
        """Every head_timeout_s / 2: close a connection that has waited for a head, with no new
        request, at three looks in a row (so for head_timeout_s to 1.5 times it)."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if (cycle is None or cycle.response_complete) and cycle is self._seen:
            self._waits += 1
        else:
            self._waits = 1 if cycle is None or cycle.response_complete else 0
        self._seen = cycle
        if self._waits >= 3:
            if self._room < self._max:  # part of a head came
                timeout = self.head_timeout
                self._refuse(408, "header_timeout", f"request head not complete in {timeout:g} s")
            else:
                self.transport.close()  # idle: nothing to answer
            return
        self._watch = self.loop.call_later(self.head_timeout / 2, self._look)

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` and close; what the client still sends is dropped meanwhile."""
        if self.transport.is_closing():  # the parser refused the request already (400)
            return
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


_data_received = HttpToolsProtocol.data_received  # called directly: cheaper than super()


class _Drain(asyncio.Protocol):
    """Reads and drops what a refused client still sends, then closes (see LINGER_S)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        transport.write_eof()
        transport.resume_reading()
        loop.call_later(LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        pass


def protocol(settings: Settings, refused: Counter[str]) -> type[LimitedProtocol]:
    """The protocol class for uvicorn (its ``http`` option), with ``settings``' limits;
    refusals are counted in ``refused``."""
    attributes: dict[str, Any] = {
        "max_head": settings.max_header_bytes,
        "head_timeout": settings.header_timeout_s,
        "refused": refused,
    }
    return type("OpenRUMProtocol", (LimitedProtocol,), attributes)
