"""Beacon bodies for tests: valid ones to build on, as plain dicts (what an agent sends)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

_ids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def load_action(aid: str = "a1", start: int | None = None, **extra: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "kind": "action",
        "id": aid,
        "type": "load",
        "start": start if start is not None else now_ms() - 5000,
        "url": "https://shop.example/products/12345?utm=x#top",
        "duration": 1800.0,
        "nt": {
            "fetchStart": 1,
            "domainLookupStart": 2,
            "domainLookupEnd": 12,
            "connectStart": 12,
            "secureConnectionStart": 20,
            "connectEnd": 40,
            "requestStart": 100,
            "responseStart": 300,
            "responseEnd": 350,
            "domInteractive": 900,
            "domContentLoadedEventEnd": 950,
            "domComplete": 1700,
            "loadEventStart": 1790,
            "loadEventEnd": 1800,
        },
        "vitals": {
            "lcp": {"id": f"l{aid}", "value": 1500, "target": "img.hero"},
            "cls": {"id": f"c{aid}", "value": 0.05},
            "fcp": {"id": f"f{aid}", "value": 900},
            "ttfb": {"id": f"t{aid}", "value": 300},
        },
    }
    action.update(extra)
    return action


def beacon(
    app: str = "shop",
    events: list[dict[str, Any]] | None = None,
    sid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "app": app,
        "sid": sid or f"s{next(_ids)}",
        "page": f"p{next(_ids)}",
        "sent": now_ms(),
        "seq": 1,
        "agent": "0.1.0",
        "url": "https://shop.example/products/12345",
        "env": {"conn": "4g", "release": "1.0.0"},
        "events": events if events is not None else [load_action()],
    }
    body.update(extra)
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
