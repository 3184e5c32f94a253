"""The scheduler on both engines: two evaluators on one store, one lease, each incident notified
once, to a real webhook receiver."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from typing import Any

import msgspec
import pytest

from openrum.alerts import evaluate
from openrum.alerts.channels import Channel
from openrum.alerts.rules import Condition, Rule
from openrum.alerts.scheduler import Scheduler
from openrum.query.model import Query
from openrum.query.sql import query_rows
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import Store
from tests.alerts.conftest import Receiver
from tests.store.conftest import Opener
from tests.store.test_contract import action, table

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
SETTINGS = Settings.load(
    {"alerts_interval_s": "60", "alerts_lateness_s": "60", "alerts_lease_s": "150",
     "alerts_reminder_s": "0"},
    environ={},
)  # fmt: skip


def at(minutes: float) -> float:
    return (NOW + dt.timedelta(minutes=minutes)).replace(tzinfo=dt.UTC).timestamp()


def loads(first: int, start: dt.datetime, n: int, lcp: float) -> Batch:
    return Batch(actions=table([
        action(first + i, start + dt.timedelta(seconds=30 * i), lcp=lcp) for i in range(n)
    ]))  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = at(0)

    def __call__(self) -> float:
        return self.t


def scheduler(store: Store, clock: Clock, holder: str, settings: Settings = SETTINGS) -> Scheduler:
    return Scheduler(store, settings, lambda fn: fn(store), clock, holder, sleep=lambda s: None)


def setup(store: Store, receiver: Receiver) -> None:
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url, secret="k")
    store.save_alert_item("channels", "c1", msgspec.to_builtins(hook))
    slow = Rule(id="r1", app="shop", name="slow LCP", metric="lcp:p75", window="5m",
                condition=Condition("above", 4000), consecutive=2, min_sample=3,
                severity="critical", channels=["c1"])  # fmt: skip
    store.save_alert_item("rules", "r1", msgspec.to_builtins(slow))
    # Slow pages for the 10 minutes before NOW.
    store.write(loads(0, NOW - dt.timedelta(minutes=10), 20, 6000.0))


def events(receiver: Receiver) -> list[tuple[str, str]]:
    return [(r["headers"]["x-openrum-event"], json.loads(r["body"])["incident"]["id"])
            for r in receiver.requests()]  # fmt: skip


def test_two_evaluators_one_lease_each_incident_notified_once(
    opener: Opener, receiver: Receiver
) -> None:
    one, two = opener(), opener()  # two collectors on one store
    setup(one, receiver)
    clock = Clock()
    a, b = scheduler(one, clock, "a"), scheduler(two, clock, "b")
    for minute in (0, 1, 2):  # both tick, at once, every minute
        clock.t = at(minute)
        threads = [threading.Thread(target=s.tick) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.leader, b.leader].count(True) == 1
    [incident] = one.incidents()
    assert (incident.rule, incident.state, incident.severity) == ("r1", "firing", "critical")
    assert incident.detail["value"] == 6000.0 and incident.notified == at(0) * 1000
    assert events(receiver) == [("firing", incident.id)]
    assert (a.firing, b.firing) == ({"critical": 1}, {"critical": 1})
    # The leader stops; the other takes over once the lease lapses, and resolves the incident
    # when a window is good again (no second firing notification).
    other = b if a.leader else a
    one.write(loads(1000, NOW + dt.timedelta(minutes=20), 10, 1000.0))
    clock.t = at(3)
    other.tick()
    assert not other.leader
    clock.t = at(26)
    other.tick()
    assert other.leader
    [resolved] = two.incidents()
    assert (resolved.id, resolved.state, resolved.end) == (
        incident.id, "resolved", int(at(25) * 1000),
    )  # fmt: skip
    assert events(receiver) == [("firing", incident.id), ("resolved", incident.id)]
    assert other.firing == {}
    deliveries = one.deliveries(incident.id)
    assert [(d.event, d.ok, d.channel) for d in deliveries] == [
        ("resolved", True, "c1"), ("firing", True, "c1"),
    ]  # fmt: skip


def test_reminders_and_removed_rules(opener: Opener, receiver: Receiver) -> None:
    store = opener()
    # A stored rule the catalogues no longer accept is logged and skipped; the others run.
    gone = Rule(
        id="r0", app="shop", name="gone", metric="gone:p75", condition=Condition("above", 1)
    )
    store.save_alert_item("rules", "r0", msgspec.to_builtins(gone))
    setup(store, receiver)
    clock = Clock()
    reminding = dataclasses.replace(SETTINGS, alerts_reminder_s=120.0)
    s = scheduler(store, clock, "a", reminding)
    for minute in (0, 1, 2):
        clock.t = at(minute)
        s.tick()
    [incident] = store.incidents()
    assert events(receiver) == [("firing", incident.id), ("reminder", incident.id)]
    assert s.metrics.alert_evaluation_failures == 3  # r0, at each tick
    assert s.metrics.alert_deliveries == {"ok": 2}
    # A deleted rule's incident is resolved, silently.
    store.delete_alert_item("rules", "r1")
    clock.t = at(3)
    s.tick()
    [resolved] = store.incidents()
    assert (resolved.state, resolved.detail["resolved_because"]) == ("resolved", "rule removed")
    assert len(receiver.requests()) == 2 and s.firing == {}


def test_a_window_is_measured_once_however_many_rounds_judge_it(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = opener()
    rule = Rule(id="r3", app="shop", name="slow", metric="lcp:p75", window="5m",
                condition=Condition("above", 4000), consecutive=3, min_sample=1)  # fmt: skip
    store.save_alert_item("rules", "r3", msgspec.to_builtins(rule))
    # Slow loads from 11:57:30: the windows ending 11:59 and 11:58 are breached, 11:57 empty.
    store.write(loads(0, NOW - dt.timedelta(minutes=2.5), 5, 6000.0))
    measured: list[dt.datetime] = []

    def spy(
        s: Store, q: Query, settings: Settings, now: dt.datetime, hours: Any = None
    ) -> list[dict[str, Any]]:
        if q.app == "shop" and q.metrics[0] == "lcp:p75":
            measured.append(now)
        return query_rows(s, q, settings, now, hours)

    monkeypatch.setattr(evaluate, "query_rows", spy)
    clock = Clock()
    s = scheduler(store, clock, "a")
    s.tick()
    assert measured == [NOW - dt.timedelta(minutes=m) for m in (1, 2, 3)]
    assert store.incidents() == []  # two breached windows of three
    measured.clear()
    clock.t = at(1)
    s.tick()  # the windows ending 12:00, 11:59 and 11:58: only the first is new
    assert measured == [NOW]
    [incident] = store.incidents()
    assert incident.state == "firing"


def test_baselines_are_measured_ahead_a_few_per_round(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = opener()
    rule = Rule(id="r4", app="shop", name="slower than usual", metric="lcp:p75", window="5m",
                condition=Condition("above", 50, "median"))  # fmt: skip
    store.save_alert_item("rules", "r4", msgspec.to_builtins(rule))
    measured: list[tuple[dt.datetime, dt.datetime]] = []

    def spy(
        s: Store, q: Query, settings: Settings, now: dt.datetime, hours: Any = None
    ) -> list[dict[str, Any]]:
        if q.app == "shop" and q.metrics[0] == "lcp:p75":
            measured.append((dt.datetime.fromisoformat(q.start[:-1]), now))
        return query_rows(s, q, settings, now, hours)

    monkeypatch.setattr(evaluate, "query_rows", spy)
    clock = Clock()
    s = scheduler(store, clock, "a")
    days = [dt.timedelta(days=d) for d in range(1, 8)]
    per_round = []
    for minute in range(1, 8):  # windows ending 12:00 (on the 5-minute grid) to 12:06
        clock.t = at(minute)
        measured.clear()
        s.tick()
        per_round.append(len(measured))
        end = NOW + dt.timedelta(minutes=minute - 1)
        grid = NOW + dt.timedelta(minutes=5 * ((minute - 1) // 5))
        # The window itself and, for the baseline, the 5-minute windows ending on the grid.
        assert measured[0] == (end - dt.timedelta(minutes=5), end)
        if minute in (1, 6):  # cold, then the grid's next point: its windows are all kept
            base = [(grid - dt.timedelta(minutes=5) - d, grid - d) for d in days]
            assert measured[1:8] == base if minute == 1 else not set(base) & set(measured)
    # Ahead: the first round three of 12:05's seven, the next four rounds one each, so they are
    # there when it comes; then 12:10's, at most two a round.
    assert per_round == [11, 2, 2, 2, 2, 3, 3]


def test_a_days_window_measures_one_window_a_round_after_the_first(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = opener()
    rule = Rule(id="r5", app="shop", name="slower than usual today", metric="lcp:p75",
                window="1d", condition=Condition("above", 50, "median"))  # fmt: skip
    store.save_alert_item("rules", "r5", msgspec.to_builtins(rule))
    measured: list[str] = []

    def spy(
        s: Store, q: Query, settings: Settings, now: dt.datetime, hours: Any = None
    ) -> list[dict[str, Any]]:
        if q.app == "shop":
            measured.append(q.end)
        return query_rows(s, q, settings, now, hours)

    monkeypatch.setattr(evaluate, "query_rows", spy)
    clock = Clock()
    s = scheduler(store, clock, "a")
    per_round = []
    for minute in range(30):  # the window moves every 24 minutes
        clock.t = at(minute)
        measured.clear()
        s.tick()
        per_round.append(len(measured))
    # Cold: the window, its 7 baselines and the next step's 7 when the step is near, or fewer.
    assert 8 <= per_round[0] <= 15
    # Then one a round: the window when it moves, else one of the next step's baselines.
    assert max(per_round[1:]) == 1 and sum(per_round[1:]) >= 8
