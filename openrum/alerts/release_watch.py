"""The release regression detector (docs/alerts.md "Detectors"): each application's newest
release compared with the one before it, as on the Releases page (openrum/regressions.py), and
each significant, material regression an incident of its own — one per release × segment ×
metric, opened once and kept while the comparison still finds it.

A comparison reads up to ``regression_sample_limit`` actions per release and segment: it runs at
most every ``detector_regression_interval_s`` for an application, its findings kept in between.
A regression of the newest release that a later comparison no longer finds (more traffic made it
insignificant) resolves, notified; those of a release no longer the newest resolve silently, as a
removed rule's (the scheduler)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import msgspec

from openrum import releases
from openrum.alerts import detectors
from openrum.alerts.detectors import Detector
from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import Condition, Rule
from openrum.regressions import METRICS, Finding, compare, regressions
from openrum.settings import Settings
from openrum.store.base import App, Incident, Store

NAME = "release_regression"
PREFIX = f"detector-{NAME}-"


class Watch:
    """The latest comparison of each application, with when it ran."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[int, str | None, list[Detector]]] = {}

    def detectors(
        self,
        store: Store,
        app: App,
        settings: Settings,
        user_rules: list[Rule],
        now_ms: int,
        firing: dict[str, Incident],
    ) -> list[Detector]:
        """One detector per regression of the app's newest release, and one resolving each
        firing incident of that release no longer found."""
        if not detectors.enabled(app, NAME):
            self._found.pop(app.id, None)
            return []
        chans = detectors.channels_of(app, user_rules)
        at, release, found = self._found.get(app.id, (None, None, []))
        if at is None or now_ms - at >= settings.detector_regression_interval_s * 1000:
            release, found = _compare(store, app, settings, chans)
            self._found[app.id] = (now_ms, release, found)
        ids = {d.rule.id for d in found}
        gone = [_resolving(i, chans) for i in firing.values()
                if i.app == app.id and i.rule.startswith(PREFIX) and i.rule not in ids
                and i.detail.get("release") == release]  # fmt: skip
        return found + gone


def _compare(
    store: Store, app: App, settings: Settings, chans: list[str]
) -> tuple[str | None, list[Detector]]:
    known = releases.releases(store, app.id)
    if not known or known[0]["previous"] is None:
        return None, []
    newest = known[0]
    pair = (newest["previous"], newest["release"])
    before, after = releases.samples(store, app.id, pair, settings)
    _, findings = compare(before, after, releases.thresholds(settings))
    start = dt.datetime.fromisoformat(newest["first_seen"].removesuffix("Z"))
    return newest["release"], [_detector(app, pair, f, chans, start) for f in regressions(findings)]


def _detector(
    app: App, pair: tuple[str, str], f: Finding, chans: list[str], start: dt.datetime
) -> Detector:
    against, release = pair
    key = hashlib.sha256(json.dumps([release, f.segment, f.metric]).encode()).hexdigest()[:16]
    segment = ", ".join(f"{d} {'(none)' if v is None else v}" for d, v in f.segment)
    rule = Rule(
        id=f"{PREFIX}{app.id}-{key}",
        app=app.id,
        name=f"Release {release}: {f.metric} regressed ({segment})",
        metric=f.metric,
        # The link opens the dashboard on the release and the segment.
        filters=[("release", "is", release), *((d, "is", v) for d, v in f.segment)],
        condition=Condition("above" if METRICS[f.metric].higher_is_worse else "below", f.before),
        window=f"release {release} vs {against}",
        lateness_s=0,
        channels=chans,
    )
    detail = {"detector": NAME, "release": release, "against": against,
              "segment": dict(f.segment), "effect": f.effect, "low": f.low, "high": f.high,
              "q": f.q, "n_before": f.n_before}  # fmt: skip

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        return Evaluation(start, end, f.after, float(f.n_after), True, f.before, detail)

    return Detector(NAME, rule, judge)


def _resolving(incident: Incident, chans: list[str]) -> Detector:
    """A firing regression the latest comparison no longer finds: judged fine, so it resolves."""
    d = incident.detail
    rule = Rule(id=incident.rule, app=incident.app, name=str(d.get("rule_name")),
                metric=str(d.get("metric")), window=str(d.get("window")),
                condition=msgspec.convert(d.get("condition"), Condition),
                severity="warning", lateness_s=0, channels=chans)  # fmt: skip

    def judge(store: Store, settings: Settings, end: dt.datetime) -> Evaluation:
        return Evaluation(end, end, None, 0.0, False)

    return Detector(NAME, rule, judge)
