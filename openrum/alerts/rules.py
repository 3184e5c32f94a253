"""The rule model: what to watch (a metric of the query API, filtered), over which window, and
when it is bad (a threshold, or a change against the same window a day or a week earlier)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Literal

import msgspec

from openrum.query.compiler import compile_query
from openrum.query.dialect import DIALECTS
from openrum.query.model import DIMENSIONS, INTERVALS, Query, QueryError, resolve_metric
from openrum.query.sql import iso
from openrum.settings import Settings

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
# Windows are the query API's intervals from 5 minutes up: the 7-day test replays a rule on
# back-to-back windows with one bucketed query.
WINDOWS: dict[str, int] = {name: s for name, s in INTERVALS.items() if s >= 300}
BASELINES: dict[str, list[dt.timedelta]] = {
    "none": [],
    "day": [dt.timedelta(days=1)],
    "week": [dt.timedelta(days=7)],
    # The median of the same window on each of the 7 days before: a rolling baseline that one
    # odd day (a sale, an outage) does not move.
    "median": [dt.timedelta(days=d) for d in range(1, 8)],
}
MEDIAN_MIN_DAYS = 4  # days with enough data for a median baseline
FilterValue = str | float | bool | list[str | float] | None


class RuleError(QueryError):
    """A rule that cannot be evaluated as written; the message says why (HTTP 400)."""


class Condition(msgspec.Struct, forbid_unknown_fields=True):
    """``above``/``below`` a threshold; with a ``baseline`` (``day``, ``week``, ``median``) the
    threshold is a change in percent against the same window a day or a week before, or the
    median of the same window on the 7 days before."""

    op: Literal["above", "below"]
    threshold: float
    baseline: Literal["none", "day", "week", "median"] = "none"


class Rule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An alert rule as stored and as sent to ``/api/v1/alerts/rules``."""

    app: str
    name: str
    metric: str
    condition: Condition
    filters: list[tuple[str, str, FilterValue]] = []
    window: str = "15m"
    min_sample: int = 0
    consecutive: int = 1
    severity: Severity = "warning"
    channels: list[str] = []
    enabled: bool = True
    lateness_s: float | None = None  # None: the server's (``lateness``)
    id: str = ""


def lateness(rule: Rule, settings: Settings) -> dt.timedelta:
    """How long after a window ends the rule judges it (docs/alerts.md "late data"): its own
    ``lateness_s``, or the server's ``alerts_lateness_s`` — and for a metric of completed
    sessions, the time a session of the window takes to close as well (``session_inactivity_ms``
    after its last action, and a round of the closer): judged sooner, a window would hold only
    the few sessions already ended."""
    if rule.lateness_s is not None:
        return dt.timedelta(seconds=rule.lateness_s)
    seconds = settings.alerts_lateness_s
    if resolve_metric(rule.metric).of_completed_sessions:
        seconds += settings.session_inactivity_ms / 1000 + settings.session_close_interval_s
    return dt.timedelta(seconds=seconds)


def sample_metric(rule: Rule) -> str:
    """The metric that counts a rule's sample in a window: actions for action metrics, completed
    sessions for session metrics, page views for error metrics (errors when a filter is on an
    error-only dimension such as ``fingerprint``)."""
    source = resolve_metric(rule.metric).source
    if source == "actions":
        return "count"
    if source == "sessions":
        return "completed_sessions"
    if all("actions" in DIMENSIONS.get(f[0], {}) for f in rule.filters):
        return "page_views"
    return "errors"


def query(
    rule: Rule,
    start: dt.datetime,
    end: dt.datetime,
    interval: str | None = None,
    limit: int = 1,
) -> Query:
    """The query of the query API that measures ``rule`` over ``[start, end)``: its metric and
    its sample, with its filters (bucketed by ``interval`` when given, ``limit`` buckets)."""
    return Query(
        app=rule.app,
        metrics=[rule.metric, sample_metric(rule)],
        filters=list(rule.filters),
        start=iso(start),
        end=iso(end),
        interval=interval,
        # Latest first: a limit under the number of buckets drops the oldest.
        order_by="-time" if interval else None,
        limit=limit,
    )


def validate(rule: Rule, settings: Settings) -> Rule:
    """Check a rule against the query catalogues and the limits below; return it. Raises
    RuleError (or QueryError for an unknown metric or filter) saying what is wrong."""
    if not rule.name.strip() or len(rule.name) > 200:
        raise RuleError("a rule needs a name of 1 to 200 characters")
    if rule.window not in WINDOWS:
        raise RuleError(f"unknown window {rule.window!r}; valid: {', '.join(WINDOWS)}")
    if not math.isfinite(rule.condition.threshold):
        raise RuleError("the threshold must be a finite number")
    if rule.condition.baseline != "none" and rule.condition.threshold < 0:
        raise RuleError("a change against a baseline is a percentage of at least 0")
    if not 0 <= rule.min_sample <= 1_000_000_000:
        raise RuleError("min_sample must be between 0 and 1000000000")
    if rule.lateness_s is not None and not 0 <= rule.lateness_s <= 86_400:
        raise RuleError("lateness_s must be between 0 and 86400 (a day)")
    if not 1 <= rule.consecutive <= 100:
        raise RuleError("consecutive must be between 1 and 100")
    if rule.id and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", rule.id):
        raise RuleError("a rule id is 1 to 64 letters, digits, '_' or '-'")
    # The built-in detectors' and the availability checks' incidents carry these.
    if rule.id.startswith(("detector-", "check-")):
        raise RuleError(
            "rule ids starting with 'detector-' or 'check-' are the built-in detectors' and the "
            "availability checks'"
        )
    # The query API's own checks: the metric, the filters, and that they fit together.
    end = dt.datetime(2000, 1, 2)
    compile_query(query(rule, end - dt.timedelta(hours=1), end), settings, end, DIALECTS["duckdb"])
    return rule


def decode(raw: bytes | dict[str, Any]) -> Rule:
    """A rule from JSON (bytes) or builtins. Raises RuleError for a wrong shape."""
    try:
        if isinstance(raw, bytes):
            return msgspec.json.decode(raw, type=Rule)
        return msgspec.convert(raw, Rule)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise RuleError(f"invalid rule: {e}") from None
