"""Evaluate a rule: measure its metric and sample with the query API over a window, compare with
its condition. Time arrives as an argument; the only I/O is ``store`` through ``run_query``.

Late data: beacons reach the collector up to the agent's flush delay after the actions they
report (a page sends its events when it is hidden), so a window is judged only once it ended
``alerts_lateness_s`` (or the rule's ``lateness_s``) ago (``evaluation_ends``); data arriving
later still counts in the replay.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openrum.alerts.rules import (
    BASELINES,
    MEDIAN_MIN_DAYS,
    WINDOWS,
    Rule,
    lateness,
    query,
    sample_metric,
)
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.base import Store


@dataclass(frozen=True)
class Evaluation:
    """One judgement of a rule: the window ``[start, end)``, what was measured, and whether the
    condition held (None: not enough data to say — a sample under ``min_sample``, no value, or
    no baseline); ``detail`` adds to the incident's (a detector's name, new fingerprints)."""

    start: dt.datetime
    end: dt.datetime
    value: float | None
    sample: float
    breached: bool | None
    baseline: float | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


def judge(
    rule: Rule,
    value: float | None,
    sample: float,
    baseline: float | None = None,
    baseline_sample: float = 0.0,
) -> bool | None:
    """Whether ``value`` breaches the rule's condition; None when there is too little to judge."""
    if value is None or sample < rule.min_sample:
        return None
    c = rule.condition
    if c.baseline == "none":
        return value > c.threshold if c.op == "above" else value < c.threshold
    if baseline is None or baseline_sample < rule.min_sample or baseline == 0:
        return None
    change = (value - baseline) / abs(baseline) * 100
    return change > c.threshold if c.op == "above" else change < -c.threshold


def baseline_of(rule: Rule, points: list[tuple[float | None, float]]) -> tuple[float | None, float]:
    """The baseline and its sample from the (value, sample) of the windows ``BASELINES`` names:
    the one window's, or the median of the days with a value and enough sample (at least
    ``MEDIAN_MIN_DAYS`` of them)."""
    if rule.condition.baseline != "median":
        return points[0] if points else (None, 0.0)
    usable = [(v, n) for v, n in points if v is not None and n >= rule.min_sample]
    if len(usable) < MEDIAN_MIN_DAYS:
        return None, 0.0
    return statistics.median(v for v, _ in usable), min(n for _, n in usable)


def evaluation_ends(
    rule: Rule, now: dt.datetime, settings: Settings, count: int
) -> list[dt.datetime]:
    """The ends of the ``count`` latest evaluation windows at ``now``, latest first: the whole
    second the rule's lateness before now, then one evaluation interval apart."""
    latest = (now - lateness(rule, settings)).replace(microsecond=0)
    step = dt.timedelta(seconds=settings.alerts_interval_s)
    return [latest - i * step for i in range(count)]


def measure(
    store: Store, rule: Rule, settings: Settings, start: dt.datetime, end: dt.datetime
) -> tuple[float | None, float]:
    """The rule's metric and its sample over ``[start, end)``."""
    [row] = run_query(store, query(rule, start, end), settings, end)["rows"] or [{}]
    return _number(row.get(rule.metric)), _number(row.get(sample_metric(rule))) or 0.0


def evaluate(store: Store, rule: Rule, settings: Settings, end: dt.datetime) -> Evaluation:
    """Judge the rule on the window that ends at ``end``."""
    start = end - dt.timedelta(seconds=WINDOWS[rule.window])
    value, sample = measure(store, rule, settings, start, end)
    baseline, baseline_sample = baseline_of(
        rule,
        [measure(store, rule, settings, start - shift, end - shift)
         for shift in BASELINES[rule.condition.baseline]],
    )  # fmt: skip
    breached = judge(rule, value, sample, baseline, baseline_sample)
    return Evaluation(start, end, value, sample, breached, baseline)


def replay(
    store: Store, rule: Rule, settings: Settings, now: dt.datetime, days: int = 7
) -> list[Evaluation]:
    """The rule judged on the back-to-back windows of the last ``days`` days (aligned to the
    window, the last one ending the rule's lateness before now), oldest first: one bucketed
    query for the values and their baselines."""
    step = WINDOWS[rule.window]
    edge = now - lateness(rule, settings)
    epoch = dt.datetime(1970, 1, 1)
    end = epoch + dt.timedelta(seconds=(edge - epoch) // dt.timedelta(seconds=step) * step)
    start = end - dt.timedelta(days=days)
    shifts = BASELINES[rule.condition.baseline]
    q = query(rule, start - max(shifts, default=dt.timedelta(0)), end, rule.window,
              settings.query_max_rows)  # fmt: skip
    rows = run_query(store, q, settings, now)["rows"]
    sample = sample_metric(rule)
    found: dict[str, tuple[float | None, float]] = {
        r["time"]: (_number(r.get(rule.metric)), _number(r.get(sample)) or 0.0) for r in rows
    }
    out = []
    width = dt.timedelta(seconds=step)
    t = start
    while t < end:
        value, n = found.get(_key(t), (None, 0.0))
        baseline, base_n = baseline_of(rule, [found.get(_key(t - d), (None, 0.0)) for d in shifts])
        out.append(
            Evaluation(t, t + width, value, n, judge(rule, value, n, baseline, base_n), baseline)
        )
        t += width
    return out


def _key(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds") + "Z"


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
