"""Rules, their evaluation on a real store, and the incident state machine."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec
import pytest

from openrum.alerts import evaluate as ev
from openrum.alerts import incidents, rules
from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import Condition, Rule
from openrum.query.model import QueryError
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import Store
from tests.store.conftest import Opener
from tests.store.test_contract import action, error, table

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
SETTINGS = Settings.load({"alerts_lateness_s": "300", "alerts_interval_s": "60"}, environ={})


def rule(**kw: Any) -> Rule:
    base: dict[str, Any] = {
        "app": "shop",
        "name": "slow LCP",
        "metric": "lcp:p75",
        "condition": Condition("above", 4000),
        "window": "15m",
    }
    base.update(kw)
    return Rule(**base)


# -- validation --------------------------------------------------------------------------------
BAD = [
    ({"metric": "lcp:p77"}, "unknown metric"),
    ({"filters": [("colour", "is", "red")]}, "unknown dimension"),
    ({"filters": [("country", "like", "DE")]}, "unknown filter operator"),
    ({"filters": [("fingerprint", "is", "x")]}, "not available with metric"),
    ({"window": "2m"}, "unknown window"),
    ({"window": "1m"}, "unknown window"),
    ({"condition": Condition("above", float("nan"))}, "finite"),
    ({"condition": Condition("below", -5, "week")}, "percentage"),
    ({"condition": Condition("below", -5, "median")}, "percentage"),
    ({"consecutive": 0}, "consecutive"),
    ({"min_sample": -1}, "min_sample"),
    ({"name": " "}, "name"),
    ({"id": "a b"}, "rule id"),
    ({"lateness_s": -1}, "lateness_s"),
    ({"lateness_s": 90_000}, "lateness_s"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_rules_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        rules.validate(rule(**change), SETTINGS)


GOOD = [
    {},
    {"metric": "apdex", "condition": Condition("below", 0.7)},
    {"metric": "errors", "filters": [("error_type", "is", "js")], "window": "5m"},
    {"metric": "ux_frustrating_share", "window": "1h"},
    {"metric": "page_views", "condition": Condition("below", 30, "week"), "window": "1d"},
    {"filters": [("country", "in", ["DE", "FR"]), ("browser", "is", "Chrome")]},
]


@pytest.mark.parametrize("change", GOOD)
def test_good_rules_validate(change: dict[str, Any]) -> None:
    r = rule(**change)
    assert rules.validate(r, SETTINGS) is r


def test_decode_refuses_unknown_fields_and_wrong_types() -> None:
    with pytest.raises(rules.RuleError, match="invalid rule"):
        rules.decode(b'{"app": "shop", "name": "x", "metric": "apdex", "colour": 1}')
    with pytest.raises(rules.RuleError, match="invalid rule"):
        rules.decode(b'{"app": "shop", "name": "x", "metric": "apdex", "condition": 3}')


@pytest.mark.parametrize(
    ("metric", "filters", "sample"),
    [
        ("lcp:p75", [], "count"),
        ("ux_frustrating_share", [], "completed_sessions"),
        ("errors", [("page", "is", "/")], "page_views"),
        ("errors", [("fingerprint", "is", "fp1")], "errors"),
    ],
)
def test_the_sample_counts_what_the_metric_is_measured_on(
    metric: str, filters: list[Any], sample: str
) -> None:
    assert rules.sample_metric(rule(metric=metric, filters=filters)) == sample


# -- judging -----------------------------------------------------------------------------------
JUDGE = [
    # condition, min sample, value, sample, baseline, baseline sample → breached
    (Condition("above", 4000), 0, 4001.0, 10, None, 0, True),
    (Condition("above", 4000), 0, 4000.0, 10, None, 0, False),
    (Condition("below", 0.7), 0, 0.5, 10, None, 0, True),
    (Condition("above", 4000), 20, 9000.0, 3, None, 0, None),  # 3 page views: no alert
    (Condition("above", 4000), 0, None, 0, None, 0, None),  # no value
    (Condition("above", 50, "day"), 0, 151.0, 10, 100.0, 10, True),  # +51 %
    (Condition("above", 50, "day"), 0, 150.0, 10, 100.0, 10, False),
    (Condition("below", 30, "week"), 0, 69.0, 10, 100.0, 10, True),  # -31 %
    (Condition("below", 30, "week"), 0, 71.0, 10, 100.0, 10, False),
    (Condition("above", 50, "day"), 0, 151.0, 10, None, 0, None),  # no baseline
    (Condition("above", 50, "day"), 0, 5.0, 10, 0.0, 10, None),  # no change from 0
    (Condition("above", 50, "day"), 5, 151.0, 10, 100.0, 2, None),  # baseline too thin
]


@pytest.mark.parametrize(("cond", "min_n", "value", "n", "base", "base_n", "expected"), JUDGE)
def test_judge(
    cond: Condition, min_n: int, value: float | None, n: float, base: float | None,
    base_n: float, expected: bool | None,
) -> None:  # fmt: skip
    assert ev.judge(rule(condition=cond, min_sample=min_n), value, n, base, base_n) is expected


MEDIAN = Condition("above", 50, "median")


@pytest.mark.parametrize(
    ("points", "min_sample", "expected"),
    [
        ([(100.0, 9), (110.0, 9), (90.0, 9), (5000.0, 9), (95.0, 9), (None, 0), (None, 0)], 0,
         (100.0, 9)),  # one odd day does not move it
        ([(100.0, 9), (110.0, 9), (90.0, 9), (None, 0), (None, 0), (None, 0), (None, 0)], 0,
         (None, 0.0)),  # 3 days of data: too few
        ([(100.0, 9), (110.0, 2), (90.0, 9), (120.0, 9), (95.0, 9), (None, 0), (None, 0)], 5,
         (97.5, 9)),  # a day under the minimum sample is left out
    ],
)  # fmt: skip
def test_median_baseline(
    points: list[tuple[float | None, float]], min_sample: int, expected: tuple[float | None, float]
) -> None:
    r = rule(condition=MEDIAN, min_sample=min_sample)
    assert ev.baseline_of(r, points) == expected


def test_evaluation_windows_end_on_the_interval_grid_lateness_before_now() -> None:
    ends = ev.evaluation_ends(rule(), NOW + dt.timedelta(seconds=42.5), SETTINGS, 3)
    assert ends == [
        dt.datetime(2026, 11, 20, 11, 55),
        dt.datetime(2026, 11, 20, 11, 54),
        dt.datetime(2026, 11, 20, 11, 53),
    ]
    # A round a few seconds late judges the same windows (whose measurements it kept).
    assert ev.evaluation_ends(rule(), NOW + dt.timedelta(seconds=59.9), SETTINGS, 3) == ends
    # A long window moves by 1/60 of itself: a day's by 24 minutes, from a whole minute of its
    # own (drawn from the rule's id) so that many rules' windows do not all move at once.
    moved = set()
    for i in range(40):
        day = rule(window="1d", id=f"r{i}")
        latest, before = ev.evaluation_ends(day, NOW + dt.timedelta(seconds=42.5), SETTINGS, 2)
        assert latest - before == dt.timedelta(minutes=24) and latest.second == 0
        assert NOW - dt.timedelta(minutes=29) < latest <= NOW - dt.timedelta(minutes=5)
        later = NOW + dt.timedelta(minutes=23, seconds=59)
        assert ev.evaluation_ends(day, later, SETTINGS, 1) == [latest + dt.timedelta(minutes=24)]
        moved.add(latest.minute % 24)
    assert len(moved) >= 15
    # A short interval: 15 minutes move by 15 s at least.
    half = dataclasses.replace(SETTINGS, alerts_interval_s=0.5)
    assert rule().window == "15m"
    latest, before = ev.evaluation_ends(rule(), NOW + dt.timedelta(seconds=0.7), half, 2)
    edge = NOW + dt.timedelta(seconds=0.7 - 300)
    assert latest - before == dt.timedelta(seconds=15)
    assert dt.timedelta(0) <= edge - latest < dt.timedelta(seconds=15)
    # A rule's own lateness.
    later = rule(metric="bounce_rate", lateness_s=2400)
    assert ev.evaluation_ends(later, NOW, SETTINGS, 1) == [dt.datetime(2026, 11, 20, 11, 20)]
    # By default, a metric of completed sessions waits for the window's sessions to close too:
    # 300 s, then 30 min without beacons, then a round of the closer (30 s).
    for metric in ("bounce_rate", "ux_frustrating_share", "session_duration:p50"):
        closed = rule(metric=metric)
        assert ev.evaluation_ends(closed, NOW, SETTINGS, 1) == [dt.datetime(2026, 11, 20, 11, 24)]


# -- the incident state machine ----------------------------------------------------------------
def judged(*breached: bool | None, value: float = 5000.0) -> list[Evaluation]:
    """Evaluations one minute apart ending at NOW, oldest first."""
    n = len(breached)
    out = []
    for i, b in enumerate(breached):
        end = NOW - dt.timedelta(minutes=n - 1 - i)
        out.append(Evaluation(end - dt.timedelta(minutes=15), end, value, 10, b))
    return out


@pytest.mark.parametrize(
    ("consecutive", "breached", "expected"),
    [
        (1, [True], ["firing"]),
        (3, [True, True], []),
        (3, [True, True, True], ["firing"]),
        (3, [True, None, True], []),  # too little data is not a breach
        (2, [True, True, None, True, False], ["firing", "resolved"]),  # no data keeps it open
        (1, [True, False, True, False], ["firing", "resolved", "firing", "resolved"]),
    ],
)
def test_step_fires_after_consecutive_breaches_and_resolves_on_a_good_window(
    consecutive: int, breached: list[bool | None], expected: list[str]
) -> None:
    r = rule(consecutive=consecutive, id="r1")
    evaluations = judged(*breached)
    current = None
    events = []
    for i in range(len(evaluations)):
        current, event = incidents.step(r, current, evaluations[: i + 1][::-1])
        if event:
            events.append(event)
    assert events == expected


def test_an_incident_keeps_its_start_values_and_link() -> None:
    r = rule(id="r1", consecutive=2, filters=[("country", "is", "DE")], severity="critical")
    evaluations = judged(True, True)
    incident, event = incidents.step(r, None, evaluations[::-1])
    assert event == "firing" and incident is not None
    assert (incident.rule, incident.app, incident.severity, incident.state) == (
        "r1", "shop", "critical", "firing",
    )  # fmt: skip
    assert incident.start == incidents.ms(evaluations[0].start)
    assert incident.detail["value"] == 5000.0 and incident.detail["sample"] == 10
    assert incident.detail["link"] == (
        "/#/overview?app=shop&range=custom&from=2026-11-20T11%3A44%3A00Z"
        "&to=2026-11-20T12%3A00%3A00Z&f=country%7Cis%7CDE"
    )
    resolved, event = incidents.step(r, incident, judged(False)[::-1])
    assert event == "resolved" and resolved is not None
    assert (resolved.id, resolved.state, resolved.end) == (
        incident.id,
        "resolved",
        incidents.ms(NOW),
    )


# -- evaluation on a real store ----------------------------------------------------------------
@pytest.fixture
def shop(opener: Opener) -> Store:
    """A store (DuckDB, chdb): 20 page loads in the 15 minutes before 11:55 with LCP 5 s, the same
    window a day earlier with LCP 2 s, 2 to 4 days earlier 2, 2.5 and 3 s, and 2 errors."""
    store = opener()
    end = dt.datetime(2026, 11, 20, 11, 55)
    rows = [
        action(i, end - dt.timedelta(minutes=14) + dt.timedelta(seconds=30 * i), lcp=5000.0,
               country="DE" if i % 2 else "FR")
        for i in range(20)
    ] + [
        action(100 + i, end - dt.timedelta(days=1, minutes=14) + dt.timedelta(seconds=30 * i),
               lcp=2000.0)
        for i in range(20)
    ]  # fmt: skip
    rows += [
        action(1000 * day + i, end - dt.timedelta(days=day, minutes=14, seconds=-30 * i),
               lcp=1000.0 + 500 * day)
        for day in (2, 3, 4) for i in range(20)
    ]  # fmt: skip
    errors = [error(500 + i, end - dt.timedelta(minutes=5), page="/") for i in range(2)]
    store.write(Batch(actions=table(rows), errors=table(errors)))
    return store


def test_evaluate_measures_the_window_with_the_query_api(shop: Store) -> None:
    end = dt.datetime(2026, 11, 20, 11, 55)
    e = ev.evaluate(shop, rule(), SETTINGS, end)
    assert (e.value, e.sample, e.breached) == (5000.0, 20, True)
    e = ev.evaluate(shop, rule(filters=[("country", "is", "DE")], min_sample=11), SETTINGS, end)
    assert (e.sample, e.breached) == (10, None)  # 10 page views: under the minimum sample
    e = ev.evaluate(shop, rule(condition=Condition("above", 100, "day")), SETTINGS, end)
    assert (e.value, e.baseline, e.breached) == (5000.0, 2000.0, True)  # +150 %
    e = ev.evaluate(shop, rule(condition=Condition("above", 100, "week")), SETTINGS, end)
    assert (e.baseline, e.breached) == (None, None)  # nothing a week before
    e = ev.evaluate(shop, rule(condition=MEDIAN), SETTINGS, end)
    assert (e.baseline, e.breached) == (2250.0, True)  # the median of 2, 2, 2.5 and 3 s
    e = ev.evaluate(shop, rule(metric="errors", condition=Condition("above", 1)), SETTINGS, end)
    assert (e.value, e.sample, e.breached) == (2.0, 20, True)
    # The window an hour later holds nothing: no value, nothing to judge.
    e = ev.evaluate(shop, rule(), SETTINGS, end + dt.timedelta(hours=1))
    assert (e.value, e.sample, e.breached) == (None, 0, None)


def test_replay_judges_back_to_back_windows_of_seven_days(shop: Store) -> None:
    r = rule(id="r1", condition=Condition("above", 3000), min_sample=5)
    replayed = ev.replay(shop, r, SETTINGS, NOW)
    assert len(replayed) == 7 * 24 * 4
    assert replayed[-1].end == dt.datetime(2026, 11, 20, 11, 45)  # 11:55 floored to 15 min
    late = ev.replay(shop, msgspec.structs.replace(r, lateness_s=3600), SETTINGS, NOW)
    assert late[-1].end == dt.datetime(2026, 11, 20, 11)
    breached = [e for e in replayed if e.breached]
    assert [(e.start, e.value, e.sample) for e in breached] == [
        (dt.datetime(2026, 11, 20, 11, 30), 5000.0, 8),
    ]
    fired = incidents.simulate(r, replayed)
    assert [(i.state, i.start, i.end) for i in fired] == [
        ("firing", incidents.ms(dt.datetime(2026, 11, 20, 11, 30)), None),
    ]
    # The day before was fine: a change against it is seen too.
    r = rule(id="r2", condition=Condition("above", 100, "day"), min_sample=5)
    assert [e.baseline for e in ev.replay(shop, r, SETTINGS, NOW) if e.breached] == [2000.0]
    r = rule(id="r3", condition=MEDIAN, min_sample=5)
    assert [(e.start, e.baseline) for e in ev.replay(shop, r, SETTINGS, NOW) if e.breached] == [
        (dt.datetime(2026, 11, 20, 11, 30), 2250.0),
    ]
