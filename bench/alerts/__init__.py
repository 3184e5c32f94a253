"""The pieces of bench/alerts: a hundred varied rules on the generated application of
bench/query.py, and the scheduler's evaluation rounds over them, timed.

Rules mix what people write: every kind of metric (action, error and session metrics), no filter
or one or two (page group, country, browser, device, release, action name), every window, plain
thresholds and changes against a day, a week or the 7-day median, one to three evaluations in a
row. Each is checked the way the API checks it (``rules.validate``); a combination the metric
cannot take is drawn again. The application's built-in detectors run beside them, as in the
server.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from openrum.alerts.rules import Condition, Rule, RuleError, validate
from openrum.alerts.scheduler import Scheduler
from openrum.query.model import QueryError
from openrum.settings import Settings
from openrum.store.base import App, Store

APP = "bench"
# A typical threshold per metric: "above" and "below" it both happen, so some rules breach and
# are evaluated on several windows (``consecutive``), as in real use.
METRICS: dict[str, float] = {
    "apdex": 0.85, "lcp:p75": 2500, "inp:p75": 200, "cls:p75": 0.1, "duration:p90": 3000,
    "ttfb:p75": 300, "action_error_share": 0.01, "lcp:poor_share": 0.05, "page_views": 100,
    "errors": 10, "sessions": 50, "bounce_rate": 0.3, "ux_frustrating_share": 0.25,
}  # fmt: skip
FILTERS: list[tuple[str, str, str]] = [
    ("page", "is", "/p3"), ("page", "is", "/p120"), ("country", "is", "DE"),
    ("browser", "is", "Safari"), ("device", "is", "mobile"), ("release", "is", "2026.11.3"),
    ("action_name", "is", "action 7"),
]  # fmt: skip
WINDOWS = ("5m", "15m", "1h", "1d")
BASELINES = ("none", "none", "day", "week", "median")


def make_rules(count: int, settings: Settings, seed: int = 7) -> list[Rule]:
    """``count`` valid, varied rules on the application ``bench`` (the same ones for a seed)."""
    rng = random.Random(seed)
    out: list[Rule] = []
    while len(out) < count:
        metric = rng.choice(list(METRICS))
        baseline = rng.choice(BASELINES)
        op = rng.choice(("above", "below"))
        threshold = METRICS[metric] if baseline == "none" else rng.choice((10.0, 25.0, 50.0))
        filters = rng.sample(FILTERS, rng.choice((0, 1, 1, 2)))
        rule = Rule(
            id=f"r{len(out)}", app=APP, name=f"rule {len(out)}", metric=metric,
            filters=[tuple(f) for f in filters], window=rng.choice(WINDOWS),
            condition=Condition(op, threshold, baseline), min_sample=rng.choice((0, 20, 100)),
            consecutive=rng.choice((1, 1, 2, 3)),
        )  # fmt: skip
        try:
            out.append(validate(rule, settings))
        except (RuleError, QueryError):  # e.g. action_name on an error metric: draw again
            continue
    return out


def install(store: Store, rules: list[Rule]) -> None:
    """The application (its detectors on) and the rules, stored as the API stores them."""
    if not any(a.id == APP for a in store.list_apps()):
        store.create_app(App(id=APP, name="Bench", origins=["*"], created=0))
    for rule in rules:
        store.save_alert_item("rules", rule.id, msgspec.to_builtins(rule))


@dataclass
class Round:
    """One evaluation round: its CPU and wall time (s), and each rule's (s), by rule id."""

    cpu_s: float
    wall_s: float
    rules: dict[str, tuple[float, float]] = field(default_factory=dict)  # id → (wall, cpu)


class TimedScheduler(Scheduler):
    """The server's scheduler, timing each rule's evaluation (its queries, its incident step)."""

    costs: dict[str, tuple[float, float]]

    def _evaluate(self, rule: Rule, *args: Any, **kwargs: Any) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        super()._evaluate(rule, *args, **kwargs)
        self.costs[rule.id] = (time.perf_counter() - wall, time.process_time() - cpu)


def rounds(store: Store, settings: Settings, now: dt.datetime, count: int) -> list[Round]:
    """``count`` evaluation rounds one ``alerts_interval_s`` apart from ``now`` (naive UTC), as
    the server's scheduler runs them (lease, rules, detectors, incidents; nothing to notify).
    CPU time is the process's: every thread the engine ran the queries on."""
    start = now.replace(tzinfo=dt.UTC).timestamp()
    clock = [start]
    scheduler = TimedScheduler(store, settings, write=lambda fn: fn(store), clock=lambda: clock[0])
    out = []
    for i in range(count):
        clock[0] = start + i * settings.alerts_interval_s
        scheduler.costs = {}
        wall, cpu = time.perf_counter(), time.process_time()
        scheduler.tick()
        out.append(
            Round(time.process_time() - cpu, time.perf_counter() - wall, dict(scheduler.costs))
        )
    return out


def describe(rule: Rule) -> str:
    """A rule in a few words, for the report."""
    c = rule.condition
    what = f"{c.op} {c.threshold:g}" + ("" if c.baseline == "none" else f" % vs {c.baseline}")
    where = " & ".join(f"{d}={v}" for d, _, v in rule.filters) or "all"
    return f"`{rule.metric}` {what}, {rule.window}, {where}, ×{rule.consecutive}"


def summary(measured: list[Round]) -> dict[str, float]:
    """Round CPU (median, max) and wall time (median); per rule, wall and CPU time (median, p95,
    max) over the rounds."""
    out = {
        "round_cpu_median": statistics.median(r.cpu_s for r in measured),
        "round_cpu_max": max(r.cpu_s for r in measured),
        "round_wall_median": statistics.median(r.wall_s for r in measured),
    }
    for i, kind in enumerate(("wall", "cpu")):
        per_rule = [cost[i] for r in measured for cost in r.rules.values()]
        cuts = statistics.quantiles(per_rule, n=20) if len(per_rule) > 1 else per_rule * 19
        out[f"rule_{kind}_median"] = statistics.median(per_rule)
        out[f"rule_{kind}_p95"] = cuts[18]
        out[f"rule_{kind}_max"] = max(per_rule)
    return out
