"""A bounded fuzz run of the whole ingest path: `python -m tests.fuzz --seconds 20`.

Valid beacons are mutated (bytes flipped, cut, spliced; values swapped for NaN, huge or negative
numbers, deep nesting, odd Unicode, wrong types) and posted to the collector in-process. Every
answer must be 202 or a 4xx/503 with a reason; every accepted beacon must then go through the
batch step and into a real DuckDB file without an error. `make test` runs it for a bounded time.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon, load_action, now_ms

ODD_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**63,
    -(2**63),
    2**64 + 1,
    1e308,
    -1e308,
    1e-308,
    "",
    "x" * 5000,
    "\u0000",
    "\ud7ff\ue000",
    "💥" * 50,
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    '=HYPERLINK("http://evil")',
    "'; DROP TABLE actions; --",
    [],
    {},
    [[[[[]]]]],
]


def seed_bodies() -> list[dict[str, Any]]:
    t = now_ms()
    return [
        beacon("shop", events=[load_action()]),
        beacon(
            "shop",
            events=[
                load_action("a2", type="xhr", name='click on "Pay"', duration=640),
                {
                    "kind": "error",
                    "id": "e",
                    "type": "js",
                    "time": t - 100,
                    "message": "boom",
                    "stack": "at f (https://x/app.js:1:2)",
                    "action": "a2",
                    "count": 3,
                },
                {
                    "kind": "user",
                    "id": "u",
                    "type": "rage_click",
                    "time": t - 50,
                    "x": 1,
                    "y": 2,
                    "count": 4,
                },
                {"kind": "user", "id": "t", "type": "user_tag", "time": t - 40, "value": "bob"},
            ],
        ),
    ]


def mutate_value(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    if isinstance(obj, dict) and obj and depth < 6:
        key = rng.choice(list(obj))
        obj[key] = (
            mutate_value(rng, obj[key], depth + 1)
            if rng.random() < 0.6
            else copy.deepcopy(rng.choice(ODD_VALUES))
        )
        if rng.random() < 0.1:
            del obj[rng.choice(list(obj))]
    elif isinstance(obj, list) and obj and depth < 6:
        i = rng.randrange(len(obj))
        obj[i] = mutate_value(rng, obj[i], depth + 1)
        if rng.random() < 0.1:
            obj.extend(copy.deepcopy(obj[: rng.randint(1, 3)]))
    else:
        return copy.deepcopy(rng.choice(ODD_VALUES))
    return obj


def mutate(rng: random.Random, seed: dict[str, Any]) -> bytes:
    body = json.loads(json.dumps(seed))
    for _ in range(rng.randint(0, 3)):
        body = mutate_value(rng, body)
    data = json.dumps(body).encode()
    roll = rng.random()
    if roll < 0.15 and data:  # flip bytes
        b = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        data = bytes(b)
    elif roll < 0.25:  # cut
        data = data[: rng.randrange(len(data) + 1)]
    elif roll < 0.3:  # literal NaN / Infinity / deep nesting
        data = data.replace(
            b"1800.0", rng.choice([b"NaN", b"Infinity", b"-Infinity", b"[" * 3000 + b"]" * 3000])
        )
    return data


async def run(seconds: float, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "fuzz.duckdb")
        store.create_app(App(id="shop", name="Shop", origins=[], created=0))
        settings = Settings.load({"rate_limit_ip_per_s": "0"}, environ={})
        server = Server(store, settings, Path(tmp))
        server.writer.start()
        statuses: dict[int, int] = {}
        transport = httpx.ASGITransport(app=server.app)
        seeds = seed_bodies()
        began = time.monotonic()
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
            while time.monotonic() - began < seconds:
                data = mutate(rng, rng.choice(seeds))
                ctype = rng.choice(["text/plain", "application/json", "text/plain;charset=UTF-8"])
                r = await client.post(
                    "/api/v1/beacon", content=data, headers={"content-type": ctype}
                )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code >= 500 and r.status_code != 503:
                    raise AssertionError(f"{r.status_code} for {data[:300]!r}")
                if r.status_code != 202 and "x-openrum-reason" not in r.headers:
                    raise AssertionError(f"{r.status_code} without a reason for {data[:300]!r}")
        assert server.writer.flush(60), "the batch writer did not keep up"
        failures = server.metrics.flush_failures
        server.writer.stop()
        store.close()
        if failures:
            raise AssertionError(f"{failures} batch writes failed on accepted beacons")
        return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"fuzzing the ingest path for {args.seconds:.0f} s (seed {args.seed})")
    try:
        statuses = asyncio.run(run(args.seconds, args.seed))
    except AssertionError as e:
        print(f"FAILED (seed {args.seed}): {e}", file=sys.stderr)
        return 1
    total = sum(statuses.values())
    print(f"{total} bodies: " + ", ".join(f"{n} × {s}" for s, n in sorted(statuses.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
