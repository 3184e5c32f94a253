"""Incidents: a rule's condition held for ``consecutive`` evaluations (firing) until an
evaluation finds it does not (resolved). ``step`` is the state machine, pure: the scheduler
and the 7-day test both run it."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from urllib.parse import urlencode

import msgspec

from openrum.alerts.evaluate import Evaluation
from openrum.alerts.rules import Rule
from openrum.store.base import Incident

Event = str  # "firing", "resolved"


def ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp() * 1000)


def link(rule: Rule, start: dt.datetime, end: dt.datetime) -> str:
    """The dashboard view of a rule's application, window and segment (its filters), as a path
    of this server (``/#/overview?…``; docs/dashboard.md)."""
    params: list[tuple[str, str]] = [
        ("app", rule.app),
        ("range", "custom"),
        ("from", start.isoformat(timespec="seconds") + "Z"),
        ("to", end.isoformat(timespec="seconds") + "Z"),
    ]
    for dim, op, value in rule.filters:
        if op in ("is", "is_not", "contains") and not isinstance(value, list):
            params.append(("f", f"{dim}|{op}|{'∅' if value is None else value}"))
    return "/#/overview?" + urlencode(params)


def step(
    rule: Rule, current: Incident | None, recent: Sequence[Evaluation]
) -> tuple[Incident | None, Event | None]:
    """The next state of a rule's incident given its latest evaluations (latest first, at least
    ``rule.consecutive`` of them when none is open, or up to the first that is not breached):
    the incident (new, changed, or as it was)
    and what happened to it (``firing``, ``resolved`` or None)."""
    if not recent:
        return current, None
    latest = recent[0]
    if current is None or current.state == "resolved":
        run = recent[: rule.consecutive]
        if len(run) < rule.consecutive or not all(e.breached for e in run):
            return current, None
        first = run[-1]
        incident = Incident(
            id=secrets.token_hex(8),
            rule=rule.id,
            app=rule.app,
            severity=rule.severity,
            state="firing",
            start=ms(first.start),
            detail=_detail(rule, latest, first.start),
        )
        return incident, "firing"
    if latest.breached is False:
        detail = {
            **current.detail,
            "resolved_value": latest.value,
            "resolved_sample": latest.sample,
        }
        return msgspec.structs.replace(
            current, state="resolved", end=ms(latest.end), detail=detail
        ), "resolved"
    return current, None


def _detail(rule: Rule, e: Evaluation, start: dt.datetime) -> dict[str, object]:
    """What a notification and the incident list show: the rule, the values that triggered it
    and the dashboard link."""
    return {
        "rule_name": rule.name,
        "metric": rule.metric,
        "filters": [list(f) for f in rule.filters],
        "window": rule.window,
        "condition": msgspec.to_builtins(rule.condition),
        "value": e.value,
        "baseline": e.baseline,
        "sample": e.sample,
        "window_start": ms(e.start),
        "window_end": ms(e.end),
        "link": link(rule, start, e.end),
        **e.detail,
    }


def simulate(rule: Rule, evaluations: Sequence[Evaluation]) -> list[Incident]:
    """The incidents ``rule`` would have opened over ``evaluations`` (oldest first)."""
    out: list[Incident] = []
    current: Incident | None = None
    for i in range(len(evaluations)):
        recent = evaluations[max(0, i - rule.consecutive + 1) : i + 1][::-1]
        current, event = step(rule, current, recent)
        if event == "firing":
            assert current is not None
            out.append(current)
        elif event == "resolved":
            assert current is not None
            out[-1] = current
    return out
