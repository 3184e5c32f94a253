"""The query model: metrics × dimensions × filters × time range × interval (docs/api.md).

Names come from catalogues; anything else is a ``QueryError`` listing the valid names. Values are
never part of SQL text: the compiler binds them as parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from openrum.scoring import ux, vitals

STATS: dict[str, float | None] = {
    "avg": None,
    "min": None,
    "max": None,
    "p50": 0.5,
    "median": 0.5,
    "p75": 0.75,
    "p90": 0.9,
    "p95": 0.95,
    "p99": 0.99,
}

# Measures of the actions table (ms, CLS unitless) usable as MEASURE:STAT.
MEASURES: tuple[str, ...] = (
    "duration",
    "lcp",
    "cls",
    "inp",
    "fcp",
    "ttfb",
    "fid",
    "inp_input_delay",
    "inp_processing",
    "inp_presentation",
    "redirect",
    "dns",
    "tcp",
    "tls",
    "request",
    "response",
    "dom_processing",
    "dom_interactive",
    "dom_content_loaded",
    "dom_complete",
    "load_event_end",
    "server_time",
    "network_time",
    "frontend_time",
    "long_tasks",
    "long_task_ms",
    "requests",
)

# Web Vitals thresholds (good ≤, poor >): one table, in scoring/vitals.py.
VITAL_THRESHOLDS: dict[str, tuple[float, float]] = vitals.THRESHOLDS
SHARES = ("good_share", "needs_improvement_share", "poor_share")
# Errors recorded on the actions themselves: how many, and the share of actions with one.
ACTION_ERRORS = ("action_errors", "action_error_share")

Source = Literal["actions", "errors", "sessions", "diagnostics"]
# The time a row is placed at for ranges and intervals: a session at its start.
TIME_COLUMN: dict[Source, str] = {
    "actions": "time",
    "errors": "time",
    "sessions": "start",
    "diagnostics": "time",
}
# Measures of completed sessions usable as session_MEASURE:STAT (sessions table columns).
SESSION_MEASURES: dict[str, str] = {
    "session_duration": "duration",
    "session_actions": "actions",
    "session_errors": "errors",
}
# Diagnostics (docs/agent.md "Diagnostics"): rows of the diagnosed sessions only, not scaled to
# the full traffic. Counts of items and of the page views they came from, sums of their time and
# bytes, and DIAG_MEASURE:STAT.
DIAG_METRICS = ("diag_count", "diag_page_views", "diag_total_ms", "diag_bytes")
DIAG_MEASURES: dict[str, str] = {
    "diag_duration": "duration",
    "diag_style_layout": "style_layout",
    "diag_interaction_ms": "interaction_ms",
    "diag_start": "start_ms",
    "diag_end": "(start_ms + duration)",
    "diag_dns": "dns",
    "diag_connect": "connect",
    "diag_tls": "tls",
    "diag_request": "request",
    "diag_response": "response",
    "diag_transfer_size": "transfer_size",
}
SESSION_METRICS = (
    "live_sessions",
    "completed_sessions",
    "bounce_rate",
    *(f"ux_{score}_share" for score in ux.SCORES),
)

# Dimension name → column, per source table that has it.
DIMENSIONS: dict[str, dict[Source, str]] = {
    name: {"actions": name, "errors": name, "sessions": name, "diagnostics": name}
    for name in (
        "page",
        "browser",
        "browser_version",
        "os",
        "os_version",
        "device",
        "user_type",
        "country",
        "region",
        "city",
        "connection",
        "release",
    )
}
DIMENSIONS["action_type"] = {"actions": "action_type"}
DIMENSIONS["action_name"] = {"actions": "action_name"}
DIMENSIONS["trigger"] = {"actions": "trigger"}  # the input that started an action
DIMENSIONS["apdex_class"] = {"actions": "apdex"}
DIMENSIONS["page"] = {"actions": "page", "errors": "page", "diagnostics": "page"}
DIMENSIONS["session_id"] = {
    "actions": "session_id",
    "errors": "session_id",
    "sessions": "session_id",
    "diagnostics": "session_id",
}
# Sessions: their UX score, entry and exit page, user tag and how they ended.
for _name in ("ux_score", "entry_page", "exit_page", "user_tag", "end_reason"):
    DIMENSIONS[_name] = {"sessions": _name}
# Web Vitals ratings of each action (good, needs-improvement, poor).
for _vital in VITAL_THRESHOLDS:
    DIMENSIONS[f"{_vital}_rating"] = {"actions": f"({vitals.rating_sql(_vital, _vital)})"}
# Web Vitals attribution (the agent's CSS selector): the element the LCP painted, the target of
# the interaction behind the INP, the element that shifted most in the CLS.
for _vital in ("lcp", "inp", "cls"):
    DIMENSIONS[f"{_vital}_target"] = {"actions": f"{_vital}_target"}
# Diagnostics: what an item is and whose (script attribution, waterfall, third parties).
for _name, _col in (
    ("diag_kind", "kind"),  # interaction, script, resource, origin
    ("diag_item", "item"),  # a script's source or a resource's URL
    ("script_source", "item"),
    ("function_name", "function_name"),
    ("invoker", "invoker"),
    ("invoker_type", "invoker_type"),
    ("interaction", "interaction"),
    ("party", "party"),
    ("origin", "origin"),
    ("third_party", "provider"),
    ("third_party_category", "category"),
    ("initiator", "initiator"),
    ("cache", "cache"),
    ("render_blocking", "render_blocking"),
    ("lcp_resource", "lcp"),
    ("inp_interaction", "inp"),
):
    DIMENSIONS[_name] = {"diagnostics": _col}
# A page view: its actions (load, route changes) and its diagnostics.
DIMENSIONS["page_view_id"] = {"actions": "page_view_id", "diagnostics": "page_view_id"}
DIMENSIONS["error_type"] = {"errors": "error_type"}
DIMENSIONS["fingerprint"] = {"errors": "fingerprint"}
DIMENSIONS["message"] = {"errors": "message"}

OPS = ("is", "is_not", "contains", "in")
# Whose traffic a figure counts (RUM.md: synthetic monitors and bots are not users). `real` is
# every row not known to be synthetic or a bot (a row without a user type is a user's); the
# filters below say so in the query's own vocabulary, so that rollups (keyed by user type)
# answer them like the raw rows.
USER_TYPES: dict[str, list[tuple[str, str, Any]]] = {
    "real": [("user_type", "is_not", "synthetic"), ("user_type", "is_not", "bot")],
    "synthetic": [("user_type", "in", ["synthetic", "bot"])],
    "all": [],
}
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}


class QueryError(Exception):
    """A query that cannot run as written; the message says why (HTTP 400)."""

    status = 400


class Query(msgspec.Struct, forbid_unknown_fields=True, rename={"start": "from", "end": "to"}):
    """A query as POSTed to /api/v1/query."""

    app: str
    metrics: list[str]
    dimensions: list[str] = []
    filters: list[tuple[str, str, str | float | bool | list[str | float] | None]] = []
    start: str | None = None
    end: str | None = None
    interval: str | None = None
    order_by: str | list[str] | None = None
    limit: int = 100
    user_type: str = "real"  # real (default), synthetic (and bots) or all: USER_TYPES


@dataclass(frozen=True)
class Metric:
    """A metric resolved against the catalogue: its source table and how to compute it."""

    name: str
    source: Source
    # count, page_views, sessions, apdex, errors, error_sessions, stat, share, or a session
    # metric (live_sessions, completed_sessions, bounce_rate, ux_*_share, session_stat)
    kind: str
    measure: str | None = None
    stat: str | None = None

    @property
    def of_completed_sessions(self) -> bool:
        """A metric of completed sessions only (every session metric but the counts of live
        sessions and of every session): judged once sessions close, read from their closes."""
        return self.source == "sessions" and self.kind not in ("sessions", "live_sessions")


def resolve_metric(name: str) -> Metric:
    """Look a metric name up in the catalogue. Raises QueryError listing the valid names."""
    if name in ("count", "page_views", "sessions", "apdex", *ACTION_ERRORS):
        return Metric(name, "actions", name)
    if name in ("errors", "error_sessions"):
        return Metric(name, "errors", name)
    if name in SESSION_METRICS:
        return Metric(name, "sessions", name)
    if name in DIAG_METRICS:
        return Metric(name, "diagnostics", name)
    if ":" in name:
        measure, stat = name.split(":", 1)
        if measure in DIAG_MEASURES and stat in STATS:
            return Metric(name, "diagnostics", "diag_stat", DIAG_MEASURES[measure], stat)
        if measure in SESSION_MEASURES and stat in STATS:
            return Metric(name, "sessions", "session_stat", SESSION_MEASURES[measure], stat)
        if measure in MEASURES and stat in STATS:
            return Metric(name, "actions", "stat", measure, stat)
        if measure in VITAL_THRESHOLDS and stat in SHARES:
            return Metric(name, "actions", "share", measure, stat)
    raise QueryError(
        f"unknown metric {name!r}; valid: count, page_views, sessions, apdex, "
        f"{', '.join(ACTION_ERRORS)}, errors, "
        f"error_sessions, {', '.join(SESSION_METRICS)}, {', '.join(DIAG_METRICS)}, "
        f"{'/'.join(DIAG_MEASURES)}:STAT, "
        f"{'/'.join(SESSION_MEASURES)}:STAT, "
        f"MEASURE:STAT with MEASURE in {', '.join(MEASURES)} and STAT in "
        f"{', '.join(STATS)}, and VITAL:SHARE with VITAL in {', '.join(VITAL_THRESHOLDS)} and "
        f"SHARE in {', '.join(SHARES)}"
    )


def check_dimension(name: str) -> None:
    """Raises QueryError listing the valid dimensions when ``name`` is not one."""
    if name not in DIMENSIONS:
        raise QueryError(f"unknown dimension {name!r}; valid: {', '.join(DIMENSIONS)}")


def user_type_filters(user_type: str) -> list[tuple[str, str, Any]]:
    """The filters selecting ``user_type``'s traffic (USER_TYPES). Raises QueryError."""
    if user_type not in USER_TYPES:
        raise QueryError(f"unknown user_type {user_type!r}; valid: {', '.join(USER_TYPES)}")
    return list(USER_TYPES[user_type])


def with_user_type(q: Query) -> Query:
    """``q`` with its user type as filters (and ``user_type`` all): what compilers and planners
    read. Raises QueryError for an unknown user type."""
    if q.user_type == "all":
        return q
    extra = user_type_filters(q.user_type)
    return msgspec.structs.replace(q, filters=[*q.filters, *extra], user_type="all")


# The instants a query may name: no event is older than the Unix epoch, and ClickHouse's
# DateTime64 ends in 2299. Bounds well inside Python's years 1 to 9999 also keep a range's
# arithmetic (the default 24 hours back, interval buckets) from overflowing.
EARLIEST = dt.datetime(1970, 1, 1)
LATEST = dt.datetime(2200, 1, 1)


def parse_time(value: str, field: str) -> dt.datetime:
    """An ISO-8601 instant as naive UTC. Raises QueryError when it does not parse or is outside
    EARLIEST to LATEST."""
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if t.tzinfo is not None:
            t = t.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: the offset moves it past year 9999
        raise QueryError(f"{field!r} is not an ISO-8601 time: {value!r}") from None
    if not EARLIEST <= t <= LATEST:
        raise QueryError(
            f"{field!r} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}: {value!r}"
        )
    return t


def time_range(q: Query, now: dt.datetime, default_hours: int) -> tuple[dt.datetime, dt.datetime]:
    """The [from, to) range of a query, defaulting to the last ``default_hours`` hours."""
    end = parse_time(q.end, "to") if q.end else now
    start = parse_time(q.start, "from") if q.start else end - dt.timedelta(hours=default_hours)
    if start >= end:
        raise QueryError("'from' must be before 'to'")
    return start, end


def check_filters(filters: list[tuple[str, str, Any]]) -> None:
    """Raises QueryError for an unknown dimension or operator, or a value of the wrong shape."""
    for dim, op, value in filters:
        check_dimension(dim)
        if op not in OPS:
            raise QueryError(f"unknown filter operator {op!r}; valid: {', '.join(OPS)}")
        if op == "in" and not isinstance(value, list):
            raise QueryError(f"filter {dim} in: the value must be a list")
        if op != "in" and isinstance(value, list):
            raise QueryError(f"filter {dim} {op}: the value must be a single value")
        if op == "contains" and not isinstance(value, str):
            raise QueryError(f"filter {dim} contains: the value must be a string")
