"""Built-in detectors: rules every application has without writing one (docs/alerts.md
"Detectors"), each switchable in the application's config (``detectors: {"NAME": false}``).

Most are rules of the ordinary model with thresholds from the settings; the vitals add a
baseline that was good, traffic counts a window with no page view at all as 0, a new error
group is its own check (a fingerprint never stored before the window), and so is a regressed one
(a resolved group seen again, openrum/triage.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from openrum import triage
from openrum.alerts import evaluate
from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import BASELINES, WINDOWS, Condition, Rule
from openrum.scoring.vitals import THRESHOLDS
from openrum.settings import Settings
from openrum.store.base import App, Store

# release_regression is in openrum/alerts/release_watch.py: one incident per regression found.
NAMES = (
    "error_spike", "new_error_group", "apdex_drop", "vital_poor", "traffic_drop", "error_regressed",
    "release_regression",
)  # fmt: skip
VITALS = ("lcp", "inp", "cls")
Judge = Callable[[Store, Settings, dt.datetime], Evaluation]
TRAFFIC_SHIFT = dt.timedelta(days=7)  # the same hour of the week, a week before


@dataclass(frozen=True)
class Detector:
    """One detector of one application: the rule its incidents carry (id, app, name, severity,
    channels) and how it judges the window ending at a time."""

    name: str
    rule: Rule
    judge: Judge


def enabled(app: App, name: str) -> bool:
    """Whether the application runs detector ``name`` (all are on unless switched off)."""
    config = app.config.get("detectors") or {}
    return config.get(name, True) is not False


def channels_of(app: App, user_rules: list[Rule]) -> list[str]:
    """Where an application's detectors notify: ``detectors.channels`` of its config, else every
    channel its own rules notify."""
    config = app.config.get("detectors") or {}
    if "channels" in config:
        return list(config["channels"])
    return sorted({c for r in user_rules if r.app == app.id for c in r.channels})


def for_app(app: App, settings: Settings, user_rules: list[Rule]) -> list[Detector]:
    """The application's enabled detectors."""
    s = settings
    chans = channels_of(app, user_rules)
    out: list[Detector] = []

    def rule(
        key: str,
        name: str,
        metric: str,
        condition: Condition,
        window: str = "15m",
        min_sample: int = s.detector_min_actions,
        consecutive: int = s.detector_consecutive,
    ) -> Rule:
        return Rule(id=f"detector-{key}-{app.id}", app=app.id, name=name, metric=metric,
                    condition=condition, window=window, min_sample=min_sample,
                    consecutive=consecutive, channels=chans)  # fmt: skip

    def add(name: str, r: Rule, judge: Judge) -> None:
        def named(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
            e = judge(store, settings, end)
            return replace(e, detail={"detector": name, **e.detail})

        out.append(Detector(name, r, named))

    if enabled(app, "error_spike"):
        above = Condition("above", s.detector_error_spike_pct, "median")
        r = rule("error_spike", "Error share spike", "action_error_share", above)
        add("error_spike", r, ruled(r))
    if enabled(app, "apdex_drop"):
        below = Condition("below", s.detector_apdex_drop_pct, "median")
        r = rule("apdex_drop", "Apdex drop", "apdex", below)
        add("apdex_drop", r, ruled(r))
    if enabled(app, "vital_poor"):
        for vital in VITALS:
            poor = Condition("above", THRESHOLDS[vital][1])
            r = rule(f"vital_poor-{vital}", f"{vital.upper()} p75 poor", f"{vital}:p75", poor)
            add("vital_poor", r, _vital(r, vital))
    if enabled(app, "traffic_drop"):
        drop = Condition("below", s.detector_traffic_drop_pct, "week")
        r = rule("traffic_drop", "Traffic drop", "page_views", drop, "1h",
                 s.detector_traffic_min_page_views, 1)  # fmt: skip
        add("traffic_drop", r, _traffic(r))
    if enabled(app, "new_error_group"):
        r = rule("new_error_group", "New error group", "errors", Condition("above", 0), "15m", 0, 1)
        add("new_error_group", r, _new_errors(r))
    if enabled(app, "error_regressed"):
        r = rule("error_regressed", "Error group regressed", "errors", Condition("above", 0),
                 "15m", 0, 1)  # fmt: skip
        add("error_regressed", r, _regressed(r))
    return out


def ruled(rule: Rule) -> Judge:
    """A rule's judgement of a window: its condition through the query API."""
    return lambda store, settings, end: evaluate.evaluate(store, rule, settings, end)


def _vital(rule: Rule, vital: str) -> Judge:
    """p75 above the poor threshold while the 7-day median of the same window was good."""
    good = THRESHOLDS[vital][0]
    median = msgspec.structs.replace(rule, condition=Condition("above", 0, "median"))

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        e = evaluate.evaluate(store, rule, settings, end)
        if not e.breached:
            return e
        days = evaluate.shifted(rule, settings, e.start, e.end, BASELINES["median"])
        baseline, _ = evaluate.baseline_of(
            median, [evaluate.measure(store, rule, settings, s, e) for s, e in days]
        )
        breached = None if baseline is None else baseline <= good
        return replace(e, breached=breached, baseline=baseline)

    return judge


def _traffic(rule: Rule) -> Judge:
    """Page views more than the threshold percent below the same hour a week before (which had
    at least ``min_sample``); a window without a page view counts 0 (the site is down)."""

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        start = end - dt.timedelta(seconds=WINDOWS[rule.window])
        value, _ = evaluate.measure(store, rule, settings, start, end)
        [(s, e)] = evaluate.shifted(rule, settings, start, end, [TRAFFIC_SHIFT])
        before, _ = evaluate.measure(store, rule, settings, s, e)
        value = value or 0.0
        if before is None or before < rule.min_sample:
            return Evaluation(start, end, value, value, None, before)
        floor = before * (1 - rule.condition.threshold / 100)
        return Evaluation(start, end, value, value, value < floor, before)

    return judge


def _new_errors(rule: Rule) -> Judge:
    """Error fingerprints seen in the window and never before it (in what is stored)."""

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        start = end - dt.timedelta(seconds=WINDOWS[rule.window])
        _, rows = store.select(
            "SELECT fingerprint, sum(count * weight) FROM errors WHERE app = ? AND time >= ? "
            "AND time < ? AND fingerprint IS NOT NULL GROUP BY fingerprint ORDER BY 2 DESC",
            [rule.app, start, end],
        )
        seen: set[Any] = set()
        if rows:
            marks = ", ".join("?" * len(rows))
            _, old = store.select(
                f"SELECT DISTINCT fingerprint FROM errors WHERE app = ? AND time < ? "
                f"AND fingerprint IN ({marks})",
                [rule.app, start, *(r[0] for r in rows)],
            )
            seen = {r[0] for r in old}
        new = [(fp, n) for fp, n in rows if fp not in seen]
        errors = float(sum(n for _, n in new))
        return Evaluation(start, end, float(len(new)), errors, bool(new), None,
                          {"fingerprints": [fp for fp, _ in new[:20]]})  # fmt: skip

    return judge


def _regressed(rule: Rule) -> Judge:
    """Resolved error groups that regressed in the window: their first error after being
    resolved (in a later release, when resolved in one) falls in it."""

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        start = end - dt.timedelta(seconds=WINDOWS[rule.window])
        resolved = [s for s in store.error_statuses(rule.app) if s.status == "resolved"]
        since = triage.activity(store, rule.app, resolved)
        fps = sorted(fp for fp, s in since.items()
                     if s.regressed_at is not None and start <= s.regressed_at < end)  # fmt: skip
        return Evaluation(start, end, float(len(fps)), float(len(fps)), bool(fps), None,
                          {"fingerprints": fps[:20]})  # fmt: skip

    return judge
