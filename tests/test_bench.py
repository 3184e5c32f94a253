"""The benchmarks import: each reaches into the package, and none runs in the test suite."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

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
