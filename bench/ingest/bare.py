"""The ceiling: a raw ASGI endpoint that reads the body, discards it and answers 202 (``app``);
and the same endpoint decoding each body as the collector does before answering (``decoding``),
which shows what the decode alone costs."""

from __future__ import annotations

from typing import Any

from openrum.collect import beacon as wire
from openrum.settings import Settings

_MAX_EVENTS = Settings().max_events_per_beacon


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await _answer(send, 202)


async def decoding(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await _answer(send, 400 if isinstance(wire.decode(body, _MAX_EVENTS), wire.Drop) else 202)


async def _answer(send: Any, status: int) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})
