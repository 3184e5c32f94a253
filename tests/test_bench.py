"""The benchmarks import (none runs in the test suite), and the pieces they measure with work."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.beacons import beacon, encode

BENCH = Path(__file__).parents[1] / "bench"
MODULES = sorted(
    [f"bench.{p.stem}" for p in BENCH.glob("*.py") if p.stem != "__init__"]
    + [f"bench.{p.parent.name}.__main__" for p in BENCH.glob("*/__main__.py")]
)


def test_every_benchmark_is_listed() -> None:
    assert {"bench.query", "bench.store_growth", "bench.ingest.__main__"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_a_benchmark_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert callable(getattr(module, "main", None)) or name in (
        "bench.harness",
        "bench.plot",
        "bench.report",
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status"),
    [(encode(beacon()), 202), (b'{"v": 1, "events": [', 400), (encode(beacon(events=[])), 400)],
)
async def test_the_decoding_endpoint_answers_as_the_decode_does(body: bytes, status: int) -> None:
    """bench/ingest's decoding endpoint decodes each body: a beacon the collector would refuse
    gets a 400 there, so its throughput is the decode's, not a read's."""
    from bench.ingest.bare import decoding

    parts = [body[:10], body[10:]]  # a body that arrives in two pieces
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await decoding({"type": "http"}, receive, send)
    assert sent[0]["status"] == status
    assert not parts


def test_loop_cpu_counts_this_process_main_thread() -> None:
    from bench.harness import loop_cpu_s

    before = loop_cpu_s(os.getpid())
    sum(i * i for i in range(2_000_000))  # about 0.1 s of CPU
    assert loop_cpu_s(os.getpid()) - before > 0.02
