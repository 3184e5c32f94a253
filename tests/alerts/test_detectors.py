"""The built-in detectors on both engines, on data written through the store: each fires on a
constructed case and stays quiet on a normal one, switched off it does not run, and the
scheduler evaluates them beside the rules and notifies the application's channels."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest

from openrum import triage
from openrum.alerts import detectors
from openrum.alerts.channels import Channel
from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import Condition, Rule, RuleError, validate
from openrum.alerts.scheduler import Scheduler
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import App, Store
from openrum.web.api import ApiError
from openrum.web.apps import check_config
from tests.alerts.conftest import Receiver
from tests.store.conftest import Opener
from tests.store.test_contract import action, error, ms, table

END = dt.datetime(2026, 11, 20, 12, 0, 0)
SETTINGS = Settings.load(
    {"alerts_interval_s": "60", "alerts_lateness_s": "0", "alerts_reminder_s": "0"}, environ={}
)
NORMAL: dict[str, Any] = {"apdex": "S", "lcp": 1500.0, "inp": 120.0, "cls": 0.02}


class Rows:
    """Actions and errors to write, with distinct event ids."""

    def __init__(self) -> None:
        self.actions: list[Any] = []
        self.errors: list[Any] = []

    def window(self, app: str, end: dt.datetime, n: int, span_s: float = 600, **kw: Any) -> None:
        """``n`` page loads spread over the ``span_s`` seconds before ``end``; ``kw`` for each,
        or a function of the index."""
        for i in range(n):
            eid = len(self.actions) + len(self.errors)
            t = end - dt.timedelta(seconds=span_s * (i + 1) / (n + 1))
            fields = {k: v(i) if callable(v) else v for k, v in {**NORMAL, **kw}.items()}
            self.actions.append(action(eid, t, app=app, session_id=f"{app}{eid}", **fields))

    def error(self, app: str, t: dt.datetime, fingerprint: str) -> None:
        eid = len(self.actions) + len(self.errors)
        self.errors.append(error(eid, t, app=app, fingerprint=fingerprint))

    def write(self, store: Store) -> None:
        store.write(Batch(actions=table(self.actions)))
        if self.errors:
            store.write(Batch(errors=table(self.errors)))


def baseline_week(rows: Rows, apps: tuple[str, ...] = ("shop", "calm")) -> None:
    """The same 30 minutes on each of the 7 days before (the baseline windows of the last two
    15-minute windows, to the quarter hour): 600 good loads, 2% with an error."""
    for app in apps:
        for d in range(1, 8):
            rows.window(app, END - dt.timedelta(days=d), 600, 1800,
                        errors=lambda i: int(i % 50 == 0))  # fmt: skip


def app(name: str, **config: Any) -> App:
    return App(id=name, name=name, origins=[f"https://{name}.example"], created=0, config=config)


def judged(store: Store, a: App, name: str, end: dt.datetime = END) -> list[Evaluation]:
    return [
        d.judge(store, SETTINGS, end) for d in detectors.for_app(a, SETTINGS, []) if d.name == name
    ]


def test_error_spike_and_apdex_drop(opener: Opener) -> None:
    store, rows = opener(), Rows()
    baseline_week(rows)
    # shop: a third of the loads fail and are frustrated; calm: as every day.
    rows.window("shop", END, 200, errors=lambda i: int(i % 3 == 0),
                apdex=lambda i: "F" if i % 3 == 0 else "S")  # fmt: skip
    rows.window("calm", END, 200, errors=lambda i: int(i % 50 == 0))
    rows.write(store)
    [spike] = judged(store, app("shop"), "error_spike")
    assert spike.breached is True and spike.baseline == pytest.approx(0.02)
    assert spike.value is not None and spike.value > 0.3
    assert spike.detail["detector"] == "error_spike"
    [drop] = judged(store, app("shop"), "apdex_drop")
    assert drop.breached is True and drop.baseline == 1.0
    assert [e.breached for e in judged(store, app("calm"), "error_spike")] == [False]
    assert [e.breached for e in judged(store, app("calm"), "apdex_drop")] == [False]
    # Switched off, they are not run.
    off = app("shop", detectors={"error_spike": False, "apdex_drop": False})
    assert {d.name for d in detectors.for_app(off, SETTINGS, [])} == {
        "vital_poor", "traffic_drop", "new_error_group", "error_regressed",
    }  # fmt: skip


def test_vital_poor_only_when_the_baseline_was_good(opener: Opener) -> None:
    store, rows = opener(), Rows()
    baseline_week(rows, ("shop", "calm"))
    # slow: poor LCP every day, so poor now is no change.
    for d in range(0, 8):
        rows.window("slow", END - dt.timedelta(days=d), 200, lcp=6000.0)
    rows.window("shop", END, 200, lcp=6000.0, inp=800.0)
    rows.window("calm", END, 200)
    rows.write(store)
    lcp, inp, cls = judged(store, app("shop"), "vital_poor")  # detectors.VITALS' order
    assert (lcp.breached, lcp.value, lcp.baseline) == (True, 6000.0, 1500.0)
    assert (inp.breached, cls.breached) == (True, False)
    assert [e.breached for e in judged(store, app("calm"), "vital_poor")] == [False] * 3
    [slow_lcp, _, _] = judged(store, app("slow"), "vital_poor")
    assert slow_lcp.breached is False


def test_traffic_drop_against_the_same_hour_a_week_before(opener: Opener) -> None:
    store, rows = opener(), Rows()
    # A week and a day of hourly traffic: 60 page views an hour, 20 at night.
    for h in range(1, 8 * 24 + 1):
        end = END - dt.timedelta(hours=h)
        for a in ("shop", "calm"):
            rows.window(a, end, 60 if 8 <= end.hour <= 22 else 20, span_s=3600)
    # The last hour: shop's snippet broke (2 page views), calm as usual.
    rows.window("shop", END, 2, span_s=3600)
    rows.window("calm", END, 58, span_s=3600)
    rows.write(store)
    [drop] = judged(store, app("shop"), "traffic_drop")
    assert (drop.breached, drop.value, drop.baseline) == (True, 2.0, 60.0)
    assert [e.breached for e in judged(store, app("calm"), "traffic_drop")] == [False]
    # No page view at all is a drop too (the site is down).
    [down] = judged(store, app("shop"), "traffic_drop", END + dt.timedelta(hours=1))
    assert (down.breached, down.value) == (True, 0.0)
    # A quiet hour a week before (20 page views, under the minimum) is not judged.
    [night] = judged(store, app("shop"), "traffic_drop", END.replace(hour=4))
    assert night.breached is None


def test_new_error_group(opener: Opener) -> None:
    store, rows = opener(), Rows()
    rows.window("shop", END, 10)
    for a in ("shop", "calm"):
        rows.error(a, END - dt.timedelta(days=3), "old")
        rows.error(a, END - dt.timedelta(minutes=5), "old")
    rows.error("shop", END - dt.timedelta(minutes=4), "brand-new")
    rows.error("shop", END - dt.timedelta(minutes=3), "brand-new")
    rows.write(store)
    [new] = judged(store, app("shop"), "new_error_group")
    assert (new.breached, new.value, new.sample) == (True, 1.0, 2.0)
    assert new.detail == {"detector": "new_error_group", "fingerprints": ["brand-new"]}
    assert [e.breached for e in judged(store, app("calm"), "new_error_group")] == [False]


def test_error_regressed(opener: Opener) -> None:
    store, rows = opener(), Rows()
    rows.window("shop", END, 2)
    resolved_at = END - dt.timedelta(hours=1)
    for fp in ("back", "quiet", "earlier"):
        rows.error("shop", END - dt.timedelta(hours=2), fp)
        store.save_error_status(triage.change("shop", fp, "resolved", "admin", ms(resolved_at)))
    rows.error("shop", END - dt.timedelta(minutes=30), "earlier")  # regressed before the window
    rows.error("shop", END - dt.timedelta(minutes=5), "earlier")
    rows.error("shop", END - dt.timedelta(minutes=4), "back")  # regressed in it
    rows.error("calm", END - dt.timedelta(minutes=4), "back")  # another app's group
    rows.write(store)
    [regressed] = judged(store, app("shop"), "error_regressed")
    assert (regressed.breached, regressed.value) == (True, 1.0)
    assert regressed.detail == {"detector": "error_regressed", "fingerprints": ["back"]}
    assert [e.breached for e in judged(store, app("calm"), "error_regressed")] == [False]
    # A window later: nothing new regressed, the incident resolves.
    [later] = judged(store, app("shop"), "error_regressed", END + dt.timedelta(minutes=20))
    assert later.breached is False


def test_a_regressed_group_notifies_the_apps_channels(opener: Opener, receiver: Receiver) -> None:
    store, rows = opener(), Rows()
    store.create_app(app("shop", detectors={"channels": ["c1"]}))
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url)
    store.save_alert_item("channels", "c1", msgspec.to_builtins(hook))
    rows.window("shop", END, 2)
    rows.error("shop", END - dt.timedelta(hours=2), "back")
    rows.error("shop", END - dt.timedelta(minutes=2), "back")
    rows.write(store)
    resolved_at = ms(END - dt.timedelta(hours=1))
    store.save_error_status(triage.change("shop", "back", "resolved", "admin", resolved_at))
    clock = END.replace(tzinfo=dt.UTC).timestamp()
    s = Scheduler(store, SETTINGS, lambda fn: fn(store), lambda: clock, "a", sleep=lambda s: None)
    s.tick()
    [incident] = [i for i in store.incidents() if i.rule == "detector-error_regressed-shop"]
    assert incident.state == "firing" and incident.detail["fingerprints"] == ["back"]
    sent = [json.loads(r["body"]) for r in receiver.wait_for(1)]
    assert incident.id in {b["incident"]["id"] for b in sent}


def test_the_scheduler_runs_them_and_notifies_the_apps_channels(
    opener: Opener, receiver: Receiver
) -> None:
    store, rows = opener(), Rows()
    for a in ("shop", "calm"):
        store.create_app(app(a))
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url)
    store.save_alert_item("channels", "c1", msgspec.to_builtins(hook))
    # shop's own rule notifies c1, so its detectors do too; calm has none.
    mine = Rule(id="r1", app="shop", name="very slow", metric="lcp:p75",
                condition=Condition("above", 60_000), channels=["c1"])  # fmt: skip
    store.save_alert_item("rules", "r1", msgspec.to_builtins(mine))
    baseline_week(rows)
    rows.window("shop", END, 200, errors=lambda i: int(i % 3 == 0))
    rows.window("calm", END, 200, errors=lambda i: int(i % 50 == 0))
    rows.write(store)
    clock = END.replace(tzinfo=dt.UTC).timestamp()
    s = Scheduler(store, SETTINGS, lambda fn: fn(store), lambda: clock, "a", sleep=lambda s: None)
    s.tick()
    [incident] = store.incidents()
    assert (incident.rule, incident.app, incident.state) == (
        "detector-error_spike-shop", "shop", "firing",
    )  # fmt: skip
    assert incident.detail["detector"] == "error_spike"
    assert incident.detail["rule_name"] == "Error share spike"
    [sent] = receiver.wait_for(1)
    assert json.loads(sent["body"])["incident"]["id"] == incident.id
    # Switched off in the app's config, its incident ends (silently) at the next tick.
    store.update_app(app("shop", detectors={"error_spike": False}))
    s.tick()
    [ended] = store.incidents()
    assert (ended.id, ended.state) == (incident.id, "resolved")
    assert len(receiver.requests()) == 1


def test_the_app_config_key_is_checked() -> None:
    check_config({"detectors": {"traffic_drop": False, "channels": ["c1"]}})
    for bad, reason in [
        ([], "detectors must be an object"),
        ({"traffic": False}, "detector must be one of error_spike"),
        ({"traffic_drop": "no"}, "detectors.traffic_drop must be true or false"),
        ({"channels": "c1"}, "detectors.channels must be a list"),
    ]:
        with pytest.raises(ApiError, match=reason):
            check_config({"detectors": bad})


def test_user_rules_cannot_take_a_detectors_id() -> None:
    rule = Rule(id="detector-traffic_drop-shop", app="shop", name="mine", metric="page_views",
                condition=Condition("below", 1))  # fmt: skip
    with pytest.raises(RuleError, match="built-in detectors"):
        validate(rule, SETTINGS)
    check = msgspec.structs.replace(rule, id="check-home")  # an availability check's incidents
    with pytest.raises(RuleError, match="availability checks"):
        validate(check, SETTINGS)
