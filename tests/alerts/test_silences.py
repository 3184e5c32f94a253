"""Silences: which rules they mute, when, and the scheduler keeping quiet under them."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest

from openrum.alerts import silences
from openrum.alerts.rules import Condition, Rule, RuleError
from openrum.alerts.silences import Silence
from openrum.query.model import QueryError
from tests.alerts.conftest import Receiver
from tests.alerts.test_scheduler import Clock, at, scheduler, setup
from tests.store.conftest import Opener

NOW = dt.datetime(2026, 11, 20, 12, 0, 0)
RULE = Rule(id="r1", app="shop", name="x", metric="apdex", condition=Condition("below", 0.7))


@pytest.mark.parametrize(
    ("silence", "muted"),
    [
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z"), True),
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z", app="shop"), True),
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z", app="blog"), False),
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z", rule="r1"), True),
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T13:00:00Z", rule="r2"), False),
        (Silence(start="2026-11-20T12:00:00Z", end="2026-11-20T13:00:00Z"), True),  # from start
        (Silence(start="2026-11-20T11:00:00Z", end="2026-11-20T12:00:00Z"), False),  # to end
        (Silence(start="2026-11-20T13:00:00+01:00", end="2026-11-20T14:00:00+01:00"), True),
        (Silence(start="2026-11-21T00:00:00Z", end="2026-11-21T06:00:00Z"), False),  # ahead
    ],
)
def test_which_rules_a_silence_mutes(silence: Silence, muted: bool) -> None:
    assert silences.covers(silences.validate(silence), RULE, NOW) is muted


def test_bad_silences_are_refused() -> None:
    with pytest.raises(RuleError, match="before its end"):
        silences.validate(Silence(start="2026-11-20T12:00:00Z", end="2026-11-20T11:00:00Z"))
    with pytest.raises(QueryError, match="ISO-8601"):
        silences.validate(Silence(start="tomorrow", end="2026-11-20T11:00:00Z"))
    assert (
        silences.validate(
            Silence(start="2026-11-20T13:00:00+01:00", end="2026-11-20T12:30:00.5Z")
        ).start
        == "2026-11-20T12:00:00Z"
    )


def test_under_a_silence_incidents_open_and_are_notified_when_it_ends(
    opener: Opener, receiver: Receiver
) -> None:
    store = opener()
    setup(store, receiver)
    quiet = Silence(id="s1", start="2026-11-20T11:00:00Z", end="2026-11-20T12:01:30Z",
                    app="shop", comment="deploy")  # fmt: skip
    store.save_alert_item("silences", "s1", msgspec.to_builtins(quiet))
    clock = Clock()
    s = scheduler(store, clock, "a")
    for minute in (0, 1):
        clock.t = at(minute)
        s.tick()
    [incident] = store.incidents()
    assert (incident.state, incident.notified) == ("firing", 0)
    assert receiver.requests() == [] and s.firing == {"critical": 1}
    clock.t = at(2)  # the silence is over: told now, once
    s.tick()
    clock.t = at(3)
    s.tick()
    [request] = receiver.requests()
    assert json.loads(request["body"])["incident"]["id"] == incident.id
    assert store.incidents()[0].notified == at(2) * 1000
