"""Sampled traffic is scaled back by its weights (RUM.md: every count is an estimate of the full
traffic): the same seeded traffic into an application keeping every session and one keeping a
quarter of them (each kept session weighs 4, as the agent sends it) gives the same totals, within
the sampling error, on every backend, from the rollups and from the raw rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from typing import Any

import msgspec
import pytest

from openrum import sessions
from openrum.collect.beacon import Action, Beacon, Env, Error, Vital
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.query.compiler import compile_query
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web import distribution, errors
from openrum.web.scope import parse_scope
from tests.conftest import UA_CHROME
from tests.store.conftest import Opener
from tests.store.test_contract import DAY, NOW, ms

SESSIONS = 4000
RATE = 0.25
# Kept sessions K ~ Binomial(n, RATE) of the n sessions with what is counted: a total scaled by
# 1 / RATE is off by sqrt((1 - RATE) / (RATE · n)), one standard deviation: 2.7 % for the 4,000
# sessions (a little more for actions: sessions differ in size), 5 % for the 1,200 with an
# error (more for error counts of 1 or 2). The tolerances are about 3.5 of them: a sampled run
# misses them rarely, and this one is seeded (measured: actions +1.3 %, sessions +3.8 %, errors
# +8.7 %). Without the weights the sampled totals are a quarter of the full ones, far outside.
TOLERANCE = {"errors": 0.2, "error_sessions": 0.2}  # else 10 %
SHARE_TOLERANCE = 0.03  # shares and averages: ratios of two estimates, absolute
START, END = "2026-11-20T08:00:00Z", "2026-11-20T12:00:00Z"
METRICS = ["count", "page_views", "sessions", "errors", "error_sessions", "completed_sessions"]
RATIOS = ["apdex", "lcp:good_share", "duration:avg", "bounce_rate", "ux_satisfying_share"]


def _traffic(app: str, keep: float, weight: float) -> list[Raw]:
    """The same sessions for every app (one seed); each kept with probability ``keep`` (the
    agent's decision, once per session), its beacon carrying ``weight``."""
    rng, sampler = random.Random(2026), random.Random(7)
    out = []
    for i in range(SESSIONS):
        start = ms(DAY + dt.timedelta(hours=8, seconds=rng.randrange(4 * 3600 - 600)))
        events: list[Any] = []
        for j in range(rng.choice([1, 1, 2, 3, 5])):
            duration = round(rng.lognormvariate(7.4, 0.6), 1)
            events.append(
                Action(
                    id=f"a{j}",
                    type="load",
                    start=start + j * 60_000,
                    url=f"https://shop.example/p{rng.randrange(8)}",
                    duration=duration,
                    vitals={"lcp": Vital(id=f"l{j}", value=duration * 1.1)},
                )
            )
        if rng.random() < 0.3:
            count = rng.choice([1, 2])
            url = "https://shop.example/p1"
            events.append(Error(id="e1", type="js", time=start + 1000, message="boom",
                                count=count, url=url))  # fmt: skip
        kept = sampler.random() < keep
        if not kept:
            continue
        b = Beacon(v=1, app=app, sid=f"s{i}", page=f"pv{i}", sent=start + 400_000,
                   events=events, env=Env(release="1.0"), weight=weight)  # fmt: skip
        out.append(
            Raw(msgspec.json.encode(b), len(events), start + 400_000, "198.51.100.1", UA_CHROME)
        )
    return out


def _answers(store: Store, app: str, rollups: bool) -> dict[str, Any]:
    settings = dataclasses.replace(
        Settings.load({}, environ={}), query_rollups=rollups, query_approximate_sessions=False
    )
    q = Query(app=app, metrics=METRICS + RATIOS, start=START, end=END)
    if rollups:
        found = run_query(store, q, settings, NOW)
        [row] = found["rows"]
        return {**row, "meta": found["meta"]}
    compiled = compile_query(q, settings, NOW, DIALECTS[store.engine])
    [values] = store.select(compiled.sql, compiled.params)[1]
    return dict(zip(compiled.columns, values, strict=True))


@pytest.fixture
def sampled(opener: Opener) -> Store:
    store = opener()
    pipeline = Pipeline(Settings.load({}, environ={}))
    for app, keep, weight in (("full", 1.0, 1.0), ("quarter", RATE, 1 / RATE)):
        raws = _traffic(app, keep, weight)
        for i in range(0, len(raws), 1000):
            store.write(pipeline.run(raws[i : i + 1000]))
    # Every session due (inactive for 30 min by 14:00): completed, with its weight.
    assert (
        sessions.close_sessions(store, Settings.load({}, environ={}), ms(NOW) + 7_200_000) == 5038
    )
    return store


@pytest.mark.parametrize("rollups", [True, False], ids=["rollups", "raw rows"])
def test_sampled_totals_estimate_the_full_traffic(sampled: Store, rollups: bool) -> None:
    full, quarter = _answers(sampled, "full", rollups), _answers(sampled, "quarter", rollups)
    for m in METRICS:
        assert full[m] > 100, m
        assert quarter[m] == pytest.approx(full[m], rel=TOLERANCE.get(m, 0.1)), m
    for m in RATIOS:
        if m == "duration:avg":
            assert quarter[m] == pytest.approx(full[m], rel=SHARE_TOLERANCE), m
        else:
            assert quarter[m] == pytest.approx(full[m], abs=SHARE_TOLERANCE), m
    if rollups:  # the API says which figures are estimates, and from how much of the traffic
        assert full["meta"]["estimate"] is False and full["meta"]["sampling"] == 1.0
        assert quarter["meta"]["estimate"] is True
        assert quarter["meta"]["sampling"] == pytest.approx(RATE)
        assert all(isinstance(quarter[m], int) for m in METRICS)  # whole numbers


def test_the_dashboard_endpoints_estimate_the_full_traffic(sampled: Store) -> None:
    settings = Settings.load({}, environ={})
    totals = {}
    for app in ("full", "quarter"):
        scope = parse_scope({"app": app, "from": START, "to": END}, settings, "actions", NOW)
        found = distribution.histogram(sampled, scope, "duration", 20, settings)
        groups = errors.groups(sampled, scope)
        totals[app] = (found["count"], sum(b["count"] for b in found["buckets"]),
                       groups[0]["errors"], groups[0]["sessions"])  # fmt: skip
    for a, b, tolerance in zip(
        totals["quarter"], totals["full"], (0.1, 0.1, 0.2, 0.2), strict=True
    ):
        assert a == pytest.approx(b, rel=tolerance)
    assert not math.isclose(totals["quarter"][0], totals["full"][0] * RATE, rel_tol=0.1)


# -- percentiles -----------------------------------------------------------------------------------
# Where the sampling rate changes within a range, the kept rows are no fair sample of the traffic:
# one session kept at 25 % (weight 4) with slow loads next to sessions kept whole with fast ones.
SLOW = [3000.0 + 100 * j for j in range(10)]  # 10 loads standing for 40
FAST = [200.0 + 10 * j for j in range(20)]  # 20 loads, 2 per session
MIXED_RANGES = [(START, END), ("2026-11-20T08:20:00Z", "2026-11-20T11:40:00Z")]


def _mixed(app: str) -> list[Raw]:
    def beacon(sid: str, at: dt.datetime, durations: list[float], weight: float) -> Raw:
        start = ms(at)
        events: list[Any] = [
            Action(id=f"a{j}", type="load", start=start + j * 60_000,
                   url="https://shop.example/p", duration=d)
            for j, d in enumerate(durations)
        ]  # fmt: skip
        b = Beacon(v=1, app=app, sid=sid, page=f"pv-{sid}", sent=start + 900_000,
                   events=events, env=Env(release="1.0"), weight=weight)  # fmt: skip
        return Raw(msgspec.json.encode(b), len(events), start + 900_000, "198.51.100.1", UA_CHROME)

    out = [beacon("slow", DAY + dt.timedelta(hours=9), SLOW, 4.0)]
    for i in range(10):
        at = DAY + dt.timedelta(hours=8, minutes=30 + 17 * i)
        out.append(beacon(f"fast{i}", at, FAST[2 * i : 2 * i + 2], 1.0))
    return out


def _population_r7(q: float) -> float:
    """The percentile of the full traffic: each kept load repeated as many times as it weighs."""
    xs = sorted(FAST + SLOW * 4)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    return xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])


@pytest.mark.parametrize(
    ("rollups", "exact"),
    [(True, False), (False, False), (False, True)],
    ids=["rollups", "raw rows", "raw rows exact"],
)
def test_percentiles_weigh_each_row_by_its_sampling_weight(
    opener: Opener, rollups: bool, exact: bool
) -> None:
    store = opener()
    store.write(Pipeline(Settings.load({}, environ={})).run(_mixed("mixed")))
    settings = dataclasses.replace(
        Settings.load({}, environ={}),
        query_rollups=rollups,
        query_approximate_percentiles=not exact,
    )
    levels = {"duration:p50": 0.5, "duration:p75": 0.75, "duration:p90": 0.9}
    for start, end in MIXED_RANGES:
        q = Query(app="mixed", metrics=list(levels), start=start, end=end)
        if rollups:
            [row] = run_query(store, q, settings, NOW)["rows"]
        else:
            compiled = compile_query(q, settings, NOW, DIALECTS[store.engine])
            [values] = store.select(compiled.sql, compiled.params)[1]
            row = dict(zip(compiled.columns, values, strict=True))
        for name, level in levels.items():
            # Exact, or within the sketch's error: DuckDB's buckets are 2 % wide, and a T-Digest
            # of so few values keeps them all. The kept rows' own p50 is a fast load (≈ 300 ms).
            expected = _population_r7(level)
            assert row[name] == pytest.approx(expected, rel=1e-9 if exact else 0.03), name
