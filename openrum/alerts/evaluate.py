"""Evaluate a rule: measure its metric and sample with the query API over a window, compare with
its condition. Time arrives as an argument; the only I/O is ``store`` through the query API.

Late data: beacons reach the collector up to the agent's flush delay after the actions they
report (a page sends its events when it is hidden), so a window is judged only once it ended
``alerts_lateness_s`` (or the rule's ``lateness_s``) ago (``evaluation_ends``); data arriving
later still counts in the replay.

What an evaluation costs (docs/alerts.md "What evaluation costs"): a rule's windows end on a
grid, its ``step`` (the evaluation interval, or 1/``alerts_window_steps`` of a long window), so
the window a round judges is the same window in the next rounds: measured once, its value is
kept (``Kept``) for the rounds that judge it again. Baselines are measured to the
``baseline_grid`` (the window's length, 15 minutes at most by default): the same windows for
every round until the grid moves on, and measured ahead of time, a few per round
(``prefetch``), for the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import statistics
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import msgspec

from openrum.alerts.rules import (
    BASELINES,
    MEDIAN_MIN_DAYS,
    WINDOWS,
    Rule,
    lateness,
    query,
    sample_metric,
)
from openrum.query.sql import iso, query_rows
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


EPOCH = dt.datetime(1970, 1, 1)


def step(rule: Rule, settings: Settings) -> dt.timedelta:
    """How far a rule's window moves from one evaluation to the next: the evaluation interval,
    or 1/``alerts_window_steps`` of its window when longer (a day's window moves by 24 minutes:
    a minute changes 0.07 % of it)."""
    # Checks and release regressions judge no window of the query API.
    window = WINDOWS.get(rule.window, 0) / settings.alerts_window_steps
    return dt.timedelta(seconds=max(settings.alerts_interval_s, window))


def baseline_grid(rule: Rule, settings: Settings) -> dt.timedelta:
    """The grid the baseline windows end on: the window's length, at most
    ``alerts_baseline_step_s``, or the rule's step when longer."""
    longest = min(WINDOWS.get(rule.window, 0), settings.alerts_baseline_step_s)
    return max(step(rule, settings), dt.timedelta(seconds=longest))


def _floor(t: dt.datetime, grid: dt.timedelta) -> dt.datetime:
    return EPOCH + (t - EPOCH) // grid * grid


def phase(rule: Rule, settings: Settings) -> dt.timedelta:
    """Where a rule's grid starts within its step, in whole evaluation intervals: drawn from its
    id, so that the day-long windows of many rules do not all move in the same round."""
    interval = dt.timedelta(seconds=settings.alerts_interval_s)
    slots = step(rule, settings) // interval if interval else 0
    if slots <= 1:
        return dt.timedelta(0)
    drawn = int.from_bytes(hashlib.sha256(rule.id.encode()).digest()[:4], "big")
    return drawn % slots * interval


def evaluation_ends(
    rule: Rule, now: dt.datetime, settings: Settings, count: int
) -> list[dt.datetime]:
    """The ends of the ``count`` latest evaluation windows at ``now``, latest first: the latest
    point of the rule's grid (whole steps since the epoch, moved by its ``phase``) the rule's
    lateness before now, then one step apart."""
    every, offset = step(rule, settings), phase(rule, settings)
    latest = _floor(now - lateness(rule, settings) - offset, every) + offset
    return [latest - i * every for i in range(count)]


def shifted(
    rule: Rule,
    settings: Settings,
    start: dt.datetime,
    end: dt.datetime,
    shifts: list[dt.timedelta],
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The windows the baseline of ``[start, end)`` is measured on: as long, ending at the last
    point of the baseline grid at or before ``end``, moved back by each shift."""
    last = _floor(end, baseline_grid(rule, settings))
    return [(last - (end - start) - d, last - d) for d in shifts]


class Kept:
    """Measurements of windows already judged, kept from round to round: a window is judged
    once its lateness has passed, so it is measured once. On ClickHouse, the partial rows of
    the whole hours of windows no rollup answers too (``rollup.kept_partials``): a day's
    window that has moved reads only its new hour. Those no round has read for
    ``keep_rounds`` rounds are dropped (``next_round``)."""

    def __init__(self) -> None:
        self.round = 0
        self.measured = 0  # windows measured (not found kept), for ``prefetch``
        # Windows by their query's JSON, hours by ``rollup.kept_partials``' keys: the round
        # that last read each, and its value.
        self._kept: dict[bytes, tuple[int, Any]] = {}

    def _read(self, key: bytes) -> Any:
        found = self._kept.get(key)
        if found is None:
            return None
        self._kept[key] = (self.round, found[1])
        return found[1]

    def get(self, key: bytes) -> tuple[float | None, float] | None:
        measured: tuple[float | None, float] | None = self._read(key)
        return measured

    def put(self, key: bytes, measured: tuple[float | None, float]) -> None:
        self.measured += 1
        self._kept[key] = (self.round, measured)

    def hour(self, key: bytes) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._read(key)
        return row

    def keep_hour(self, key: bytes, row: tuple[Any, ...]) -> None:
        self._kept[key] = (self.round, row)

    def next_round(self, keep_rounds: int) -> None:
        self.round += 1
        oldest = self.round - keep_rounds
        self._kept = {k: v for k, v in self._kept.items() if v[0] >= oldest}

    def __contains__(self, key: bytes) -> bool:
        return key in self._kept


_KEPT: ContextVar[Kept | None] = ContextVar("openrum_alerts_kept", default=None)


@contextlib.contextmanager
def keeping(kept: Kept) -> Iterator[None]:
    """Within this block, ``measure`` reads and fills ``kept`` (the scheduler's rounds)."""
    token = _KEPT.set(kept)
    try:
        yield
    finally:
        _KEPT.reset(token)


def measure(
    store: Store, rule: Rule, settings: Settings, start: dt.datetime, end: dt.datetime
) -> tuple[float | None, float]:
    """The rule's metric and its sample over ``[start, end)``."""
    q = query(rule, start, end)
    kept = _KEPT.get()
    key = msgspec.json.encode(q) if kept is not None else b""
    if kept is not None and (found := kept.get(key)) is not None:
        return found
    [row] = query_rows(store, q, settings, end, kept) or [{}]
    measured = _number(row.get(rule.metric)), _number(row.get(sample_metric(rule))) or 0.0
    if kept is not None:
        kept.put(key, measured)
    return measured


def evaluate(store: Store, rule: Rule, settings: Settings, end: dt.datetime) -> Evaluation:
    """Judge the rule on the window that ends at ``end``."""
    start = end - dt.timedelta(seconds=WINDOWS[rule.window])
    value, sample = measure(store, rule, settings, start, end)
    windows = shifted(rule, settings, start, end, BASELINES[rule.condition.baseline])
    baseline, baseline_sample = baseline_of(
        rule, [measure(store, rule, settings, s, e) for s, e in windows]
    )
    breached = judge(rule, value, sample, baseline, baseline_sample)
    return Evaluation(start, end, value, sample, breached, baseline)


def prefetch(
    store: Store, rule: Rule, settings: Settings, now: dt.datetime, most: int, busy: bool = False
) -> None:
    """Measure (and keep, within ``keeping``) up to ``most`` of the baseline windows that are
    not kept yet of the rule's first evaluation on the next point of its baseline grid — days
    old already, so the rounds before the grid moves on share the work instead of the one after
    it; none when the evaluation was ``busy`` measuring its own window and rounds enough are
    left."""
    kept = _KEPT.get()
    shifts = BASELINES[rule.condition.baseline]
    if kept is None or not shifts:
        return
    [latest] = evaluation_ends(rule, now, settings, 1)
    every, grid = step(rule, settings), baseline_grid(rule, settings)
    end = _floor(latest, grid) + grid  # the baseline grid's next point
    start = end - dt.timedelta(seconds=WINDOWS[rule.window])
    missing = [(s, e) for s, e in shifted(rule, settings, start, end, shifts)
               if msgspec.json.encode(query(rule, s, e)) not in kept]  # fmt: skip
    # Spread over the rounds left until the first evaluation that needs them (the next step
    # when the rule's step is the grid): a day's window measures one a round.
    first = latest + every if every >= grid else end
    interval = dt.timedelta(seconds=settings.alerts_interval_s or 1)
    rounds_left = max((first - (now - lateness(rule, settings))) / interval, 1)
    if busy and len(missing) < rounds_left:
        return
    # One a round for the rounds left after this one; this one takes the rest (the first round
    # after a start, whose ``most`` is all of them, when the step is near).
    now_or_never = len(missing) - (math.floor(rounds_left) - 1)
    todo = missing[: min(most, max(math.ceil(len(missing) / rounds_left), now_or_never))]
    for s, e in todo:
        measure(store, rule, settings, s, e)


def replay(
    store: Store, rule: Rule, settings: Settings, now: dt.datetime, days: int = 7
) -> list[Evaluation]:
    """The rule judged on the back-to-back windows of the last ``days`` days (aligned to the
    window, the last one ending the rule's lateness before now), oldest first: one bucketed
    query for the values and their baselines."""
    width = dt.timedelta(seconds=WINDOWS[rule.window])
    end = _floor(now - lateness(rule, settings), width)
    start = end - dt.timedelta(days=days)
    shifts = BASELINES[rule.condition.baseline]
    # The baseline grid is a multiple of the window or divides it: its windows are buckets too.
    q = query(rule, start - max(shifts, default=dt.timedelta(0)) - baseline_grid(rule, settings),
              end, rule.window, settings.query_max_rows)  # fmt: skip
    rows = query_rows(store, q, settings, now)
    sample = sample_metric(rule)
    found: dict[str, tuple[float | None, float]] = {
        r["time"]: (_number(r.get(rule.metric)), _number(r.get(sample)) or 0.0) for r in rows
    }
    out = []
    t = start
    while t < end:
        value, n = found.get(iso(t), (None, 0.0))
        windows = shifted(rule, settings, t, t + width, shifts)
        baseline, base_n = baseline_of(rule, [found.get(iso(s), (None, 0.0)) for s, _ in windows])
        out.append(
            Evaluation(t, t + width, value, n, judge(rule, value, n, baseline, base_n), baseline)
        )
        t += width
    return out


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
