"""bench/alerts works at a tiny size: its rules are valid and varied, and its rounds are the
server's scheduler evaluating all of them and the detectors (no timing asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.alerts import describe, install, make_rules, rounds, summary
from bench.alerts.__main__ import row
from bench.query import NOW, fill
from bench.query_clickhouse import fill_clickhouse
from openrum.alerts.rules import validate
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.store.clickhouse import open_clickhouse
from openrum.store.duckdb import DuckDBStore

SETTINGS = Settings.load({}, environ={})


def test_the_rules_are_valid_varied_and_the_same_for_a_seed() -> None:
    made = make_rules(100, SETTINGS)
    assert len({r.id for r in made}) == 100
    assert made == make_rules(100, SETTINGS)
    for rule in made:
        validate(rule, SETTINGS)
    assert {r.window for r in made} == {"5m", "15m", "1h", "1d"}
    assert {r.condition.baseline for r in made} == {"none", "day", "week", "median"}
    assert len({r.metric for r in made}) >= 10
    assert {len(r.filters) for r in made} == {0, 1, 2}
    assert "`lcp:p75` above 2500" in " ".join(describe(r) for r in made)


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_a_round_evaluates_every_rule_and_detector(tmp_path: Path, engine: str) -> None:
    store: Store
    if engine == "duckdb":
        store = duck = DuckDBStore(tmp_path / "bench.duckdb")
        fill(duck, 5_000)
    else:  # bench/query_clickhouse's generator, which bench/alerts --chdb runs on
        store = ch = open_clickhouse(f"chdb:///{tmp_path}")
        fill_clickhouse(ch, 5_000)
    try:
        install(store, make_rules(10, SETTINGS))
        done = rounds(store, SETTINGS, NOW, 3)
        detectors = {k for k in done[0].rules if k.startswith("detector-")}
        assert {k for k in done[0].rules if not k.startswith("detector-")} == {
            f"r{i}" for i in range(10)
        }
        # Error spike, Apdex drop, the three vitals, traffic drop, new and regressed error groups;
        # and a release regression's watch when one opened (the generated data is random).
        assert len({k for k in detectors if "release_regression" not in k}) == 8
        assert all(r.cpu_s > 0 and r.wall_s > 0 for r in done)
        assert set(done[1].rules) == set(done[0].rules)  # still the lease holder
    finally:
        store.close()
    figures = summary(done[1:])
    assert figures["rule_wall_max"] >= figures["rule_wall_median"] > 0
    line = row("DuckDB", 5_000, done, {}, warmup=1)
    assert line.startswith(f"| DuckDB | 5,000 | {10 + len(detectors)} |")
    assert line.count("|") == 11  # a cell for the first round, the warm-up, the steady state
