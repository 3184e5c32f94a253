"""Ingest from the agents sites already run: each foreign format is a translator from its payload
to native beacons (openrum/collect/beacon.py), so that everything after the translation (limits,
validation, drop reasons, the spool before the answer, per-application origin checks, the batch
step) is the native path's. docs/ingest.md documents each mapping field by field.

A translator is pure: bytes in, beacons or a ``Drop`` out, never an exception.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from openrum.collect.beacon import Beacon, Drop


@dataclass(frozen=True)
class Request:
    """What a translator reads: the body (a GET's query string for Boomerang), its media type,
    the application id from the path and the collector's clock (epoch ms)."""

    body: bytes
    media_type: bytes
    app: str
    now: int


Translate = Callable[[Request], "list[Beacon] | Drop"]


@dataclass(frozen=True)
class Format:
    """A foreign format: the methods and media types its endpoint takes, and its translator.
    ``ok`` is the status of an accepted request (OTLP/HTTP requires 200, the others take the
    native 202); ``allow_headers`` are the request headers its CORS preflight allows."""

    name: str
    methods: tuple[str, ...]
    media_types: tuple[bytes, ...]
    translate: Translate
    allow_headers: bytes = b"content-type, content-encoding"
    ok: int = 202
    ok_body: Callable[[bytes], bytes] = lambda media_type: b""


def stable_id(*parts: object) -> str:
    """A short id derived from ``parts``: the same payload sent twice yields the same event ids,
    which the store deduplicates on."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=6).hexdigest()


def formats() -> dict[str, Format]:
    """Every foreign format by the first path segment after ``/ingest/``."""
    from openrum.collect.foreign import boomerang, faro, otlp

    return {f.name: f for f in (boomerang.FORMAT, faro.format_(), otlp.TRACES, otlp.LOGS)}


def route(path: str, table: dict[str, Format]) -> tuple[Format, str] | None:
    """The format and application id of an ingest path, or None when it is not one:
    ``/ingest/{format}/{app}`` and, for OTLP, ``/ingest/otlp/{app}/v1/{traces|logs}``."""
    parts = path.split("/")
    if len(parts) < 4 or parts[1] != "ingest" or not parts[3]:
        return None
    name = parts[2] if len(parts) == 4 else f"{parts[2]}/{'/'.join(parts[4:])}"
    fmt = table.get(name)
    return (fmt, parts[3]) if fmt else None


_ROUTE = re.compile(r"#!?/")


def strip_url(url: str) -> str:
    """``url`` without its query string, and without its fragment unless it is a route (``#/``,
    ``#!/``): what the native agent sends (agent/src/lib/url.js), since a foreign agent sends
    the full URL and query strings are not stored (docs/privacy.md)."""
    base, _, fragment = url.partition("#")
    base = base.partition("?")[0]
    return base + ("#" + fragment if _ROUTE.match("#" + fragment) else "")


def stack(frames: list[tuple[str, str, int | None, int | None]]) -> str | None:
    """Frames (function, file URL, line, column) in the native agent's stack format
    (agent/src/lib/stack.js): ``at fn (url:line:col)``, ten at most."""
    lines = [
        f"at {fn[:100] or '?'} ({url[:200]}:{line or 0}:{col or 0})"
        for fn, url, line, col in frames[:10]
    ]
    return "\n".join(lines) or None
