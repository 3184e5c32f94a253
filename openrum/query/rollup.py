"""Rollups on ClickHouse: hourly and daily aggregates that answer dashboard queries without the
raw rows.

Each rollup is an AggregatingMergeTree table per application × hour × a few dimensions, filled
by a materialized view on every insert into ``actions`` (``errors``; ``session_closes``, placing
each closed session at its start), and a daily table with the same columns filled from the
hourly one (a view on the view): counts and sums as plain sums (counts of sampling weights,
estimates of the full traffic, as the raw query counts), minimum and maximum, a T-Digest
state per measure for its percentiles (each value weighing its row's sampling weight), a
HyperLogLog-style state (``uniqCombined64(12)``, exact for small sets) for distinct sessions,
counts in fixed bins for the histograms' measures, and for error groups their latest error and
first and last seen; a rollup without the action type keeps the counts of loads and route
changes that page views need. Every rollup is also by user
type (real users are the default of every query). Their DDL is generated here (``python -m
openrum.query.rollup MIGRATION`` writes a migration of MIGRATIONS, such as
``openrum/store/sql/clickhouse/009_rollups_user_type.sql``, which drops the rollups of an earlier
shape and fills its own from the events stored; a test checks that they are current).

``plan`` swaps a compiled query for one on rollups when they can answer it: every metric is one a
rollup keeps, every dimension and filter is a column of one rollup, the interval (if any) is a
whole number of hours, and percentiles may be approximate. A range's whole days come from the
daily table (unless the interval is shorter than a day), its other whole hours from the hourly
one, its ragged ends (a range from 09:41 to 17:12) from the raw table, merged into the same
states, so the answer covers exactly the range asked. Anything else runs on the raw tables.
``partials`` is that union of partial rows, for the dashboard endpoints that merge it themselves.

The store keeps rollups exact for counts and sums: an event re-sent is not inserted again, and an
action replaced by a higher ``seq`` takes its older version's counts and sums out first
(``retract_sql``). Its minimum, maximum and percentile state cannot be taken out: a superseded
value may linger there (a T-Digest is an estimate anyway). Sessions are rolled up when closed,
and a session is closed once (the closer skips closed ones) — as for events, two writers racing
on the same session in the same instant could both insert it. Live sessions are counted from
``session_open``, never rolled up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from openrum.query.compiler import order_by, quote
from openrum.query.dialect import DIGEST_WEIGHT, OPEN_IN, open_params
from openrum.query.model import (
    DIMENSIONS,
    INTERVALS,
    MEASURES,
    SESSION_MEASURES,
    STATS,
    VITAL_THRESHOLDS,
    Metric,
    Query,
    Source,
    resolve_metric,
    time_range,
    with_user_type,
)
from openrum.settings import Settings

LEVELS = (0.5, 0.75, 0.9, 0.95, 0.99)  # percentile levels a T-Digest state answers
# Each value weighs its row's sampling weight, in hundredths (openrum/query/dialect.py): the
# percentiles are of the full traffic.
_DIGEST = f"quantilesTDigestWeighted({', '.join(map(str, LEVELS))})"
# Distinct sessions: exact for small sets, then a HyperLogLog of 2^12 cells (about 1.6 % error),
# whose states merge several times faster than the default 2^17 when a panel merges thousands.
_UNIQ = "uniqCombined64(12)"


def _state(fn: str, combinator: str = "State") -> str:
    """``fn`` (its parameters kept) with an aggregate combinator: uniqCombined64State(12)."""
    head, paren, params = fn.partition("(")
    return f"{head}{combinator}{paren}{params}"


# Histogram bins kept for the histograms' measures (ms): part of the schema, not a setting. A
# histogram whose bucket width is a multiple of the bin and whose last bucket starts below
# BIN_MS × BINS is summed exactly from them (openrum/web/distribution.py); any other runs raw.
BIN_MS = 5
BINS = 12_000  # values from 60 s up share the last bin

Filter = tuple[str, str, Any]


# The table a source's rollups aggregate and the time that places its rows: sessions are
# rolled up once closed (their values are final then), at their start.
RAW: dict[Source, tuple[str, str]] = {
    "actions": ("actions", "time"),
    "errors": ("errors", "time"),
    "sessions": ("session_closes", "start"),
}


@dataclass(frozen=True)
class Rollup:
    name: str  # the hourly table; the daily one is ``daily``
    source: Source
    dims: tuple[str, ...]  # after app and hour
    # Measures with a T-Digest state (the costly column: a few kB per row and per insert).
    digests: tuple[str, ...] = ()
    histograms: tuple[str, ...] = ()  # measures with binned counts
    groups: bool = False  # keeps what an error group shows: latest error, first and last seen
    # The migration that creates it (and fills it from the events): 004 and 007 made the rollups
    # without a user type, 009 remade them all with it.
    migration: str = "009_rollups_user_type"

    @property
    def daily(self) -> str:
        return self.name.replace("_1h", "_1d")


# The percentiles the dashboard shows by page, action, browser and place: load time and LCP
# (duration only by action name). Other percentiles by those dimensions come from the raw table.
_KEY = ("duration", "lcp")
_SESSION_MEASURES = tuple(SESSION_MEASURES.values())
_ROLLUPS = (  # smallest first: the first that can answer a query does
    Rollup("actions_1h", "actions", ("action_type",), MEASURES, _KEY),
    Rollup("actions_1h_name", "actions", ("action_type", "action_name"), ("duration",)),
    Rollup("actions_1h_geo", "actions", ("action_type", "country", "region"), _KEY),
    Rollup("actions_1h_env", "actions", ("action_type", "browser", "device", "country"), _KEY),
    Rollup("actions_1h_page", "actions", ("action_type", "page"), _KEY),
    # Without the action type: half the rows (and states) to merge for a browser comparison.
    Rollup("actions_1h_client", "actions", ("browser", "browser_version", "device"), _KEY),
    Rollup(
        "actions_1h_browser",
        "actions",
        ("action_type", "browser", "browser_version", "device"),
        _KEY,
    ),
    Rollup("errors_1h", "errors", ("error_type",)),
    Rollup("errors_1h_group", "errors", ("fingerprint",), groups=True),
    Rollup("errors_1h_group_browser", "errors", ("fingerprint", "browser")),
    # Closed sessions (every session measure with its T-Digest).
    Rollup("sessions_1h", "sessions", ("ux_score", "end_reason"), _SESSION_MEASURES),
)
# Every rollup is also by user type: figures count real users by default, synthetic traffic
# on request (openrum/query/model.py's USER_TYPES), both from the rollups.
ROLLUPS = tuple(dataclasses.replace(r, dims=(*r.dims, "user_type")) for r in _ROLLUPS)
TABLES = tuple(t for r in ROLLUPS for t in (r.name, r.daily))
MIGRATIONS = tuple(dict.fromkeys(r.migration for r in ROLLUPS))
# Keys every partial row of a source carries, for the metrics merged from it: UX shares count
# scores.
_KEYS: dict[Source, list[str]] = {"sessions": ["ux_score"]}
# Page views count loads (and route changes, per `route_changes_are_page_views`): a rollup without
# the action type keeps their counts; one with it reads them from its rows of that type.
_TYPE_COUNTS = {"loads": "load", "route_changes": "route_change"}
# Columns NOT NULL in the event tables; every other dimension is nullable (a NULL in a key of
# the wrong type would make the view fail, and with it the insert).
_NOT_NULL_DIMS = {"action_type", "action_name", "page", "error_type", "fingerprint"}


# -- DDL -------------------------------------------------------------------------------------------
def _bin(m: str, one: int) -> str:
    """The raw rows' binned counts of ``m`` (``one`` per row: 1, or -1 to take them out)."""
    key = f"toUInt16(least(floor(greatest(ifNull({m}, 0), 0) / {BIN_MS}), {BINS}))"
    return f"sumMapIf(map({key}, toFloat64({one} * weight)), {m} IS NOT NULL)"


# Counts are estimates of the full traffic: each row counts its sampling weight (openrum/rows.py:
# 100 / the session's sampling percentage), summed as Float64.
_WSUM = "SimpleAggregateFunction(sum, Float64)"


def _weighted(cond: str | None = None) -> str:
    """The sum of the rows' weights (where ``cond`` holds)."""
    return f"toFloat64(sumIf(weight, {cond}))" if cond else "toFloat64(sum(weight))"


# The rows themselves and their weights: distinct sessions (a HyperLogLog of the sampled ones)
# are scaled by their mean weight, and the sampling rate of a range is rows / weight_sum (not
# named `weight`: in the views' SELECT that alias would stand for the column in every expression).
_SAMPLED = [
    ("rows", "SimpleAggregateFunction(sum, Int64)", "toInt64(count())"),
    ("weight_sum", _WSUM, _weighted()),
]


def _columns(r: Rollup) -> list[tuple[str, str, str]]:
    """(name, type, expression over the raw table) of a rollup's value columns."""
    if r.source == "sessions":
        cols = [
            ("closed", _WSUM, _weighted()),
            ("bounces", _WSUM, _weighted("bounce")),
        ]
        return cols + [c for m in r.digests for c in _measure_columns(r, m)]
    cols = [("sessions", f"AggregateFunction({_UNIQ}, String)", f"{_state(_UNIQ)}(session_id)")]
    if r.source == "errors":
        cols = [("errors", _WSUM, "toFloat64(sum(count * weight))"), *cols, *_SAMPLED]
        return cols + (_GROUP_COLUMNS if r.groups else [])
    cols += [
        *_SAMPLED,
        ("apdex_s", _WSUM, _weighted("apdex = 'S'")),
        ("apdex_t", _WSUM, _weighted("apdex = 'T'")),
        ("apdex_n", _WSUM, _weighted("apdex IS NOT NULL")),
        ("action_errors", _WSUM, "toFloat64(sum(errors * weight))"),
        ("errored", _WSUM, _weighted("errors > 0")),
    ]
    if "action_type" not in r.dims:
        cols += [(n, _WSUM, _weighted(f"action_type = '{t}'")) for n, t in _TYPE_COUNTS.items()]
    for m in MEASURES:
        cols += _measure_columns(r, m)
    for v, (good, poor) in VITAL_THRESHOLDS.items():
        cols += [
            (f"{v}_good", _WSUM, _weighted(f"{v} <= {good}")),
            (f"{v}_poor", _WSUM, _weighted(f"{v} > {poor}")),
        ]
    return cols


_TIME = "DateTime64(3, 'UTC')"
_LATEST = "Tuple(String, Nullable(String), String, Nullable(String), String)"
# An error group's latest type, name, message, stack and page, first and last seen, releases.
_GROUP_COLUMNS = [
    (
        "latest",
        f"AggregateFunction(argMax, {_LATEST}, {_TIME})",
        "argMaxState(CAST(tuple(error_type, error_name, message, stack, page), "
        f"'{_LATEST}'), time)",
    ),
    ("first", f"SimpleAggregateFunction(min, {_TIME})", "min(time)"),
    ("last", f"SimpleAggregateFunction(max, {_TIME})", "max(time)"),
    (
        "releases",
        "AggregateFunction(groupUniqArray, Nullable(String))",
        "groupUniqArrayState(CAST(release, 'Nullable(String)'))",
    ),
]


def _measure_columns(r: Rollup, m: str) -> list[tuple[str, str, str]]:
    """Count, sum, minimum and maximum of measure ``m``; its T-Digest and bins if ``r`` keeps
    them."""
    cols = [
        (f"{m}_n", _WSUM, _weighted(f"{m} IS NOT NULL")),
        (f"{m}_sum", _WSUM, f"toFloat64(sum(ifNull({m}, 0) * weight))"),
        (
            f"{m}_min",
            "SimpleAggregateFunction(min, Nullable(Float64))",
            f"min(toNullable(toFloat64({m})))",
        ),
        (
            f"{m}_max",
            "SimpleAggregateFunction(max, Nullable(Float64))",
            f"max(toNullable(toFloat64({m})))",
        ),
    ]
    if m in r.digests:  # the costly column: a few kB per row
        value = f"toNullable(toFloat64({m}))"
        cols.append(
            (
                f"{m}_q",
                f"AggregateFunction({_DIGEST}, Nullable(Float64), UInt64)",
                f"{_state(_DIGEST)}({value}, {DIGEST_WEIGHT})",
            )
        )
    if m in r.histograms:
        cols.append(
            (f"{m}_bins", "SimpleAggregateFunction(sumMap, Map(UInt16, Float64))", _bin(m, 1))
        )
    return cols


def _empty(name: str, type_: str) -> str:
    """A value of a rollup column that adds nothing when merged: zero, NULL, an empty state."""
    if _DIGEST in type_:  # first: its type ends in UInt64 (the weights)
        return f"{_state(_DIGEST)}(CAST(NULL, 'Nullable(Float64)'), toUInt64(0)) AS {name}"
    if type_.endswith("Int64)"):
        return f"toInt64(0) AS {name}"
    if type_.endswith(", Float64)"):
        return f"toFloat64(0) AS {name}"
    if "Nullable(Float64))" in type_ and type_.startswith("Simple"):
        return f"CAST(NULL AS Nullable(Float64)) AS {name}"
    if _UNIQ in type_:
        return f"{_state(_UNIQ, 'StateIf')}('', false) AS {name}"
    raise ValueError(f"no empty value for {name} {type_}")


def _fold(name: str, type_: str) -> str:
    """The aggregate that folds a rollup column's rows into one row of the same type."""
    inner, depth = type_[type_.index("(") + 1 : -1], 0
    fn = inner
    for i, c in enumerate(inner):  # the function: up to the first comma outside parentheses
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "," and not depth:
            fn = inner[:i]
            break
    if type_.startswith("SimpleAggregateFunction("):
        return f"{fn}({name})"
    return f"{_state(fn, 'MergeState')}({name})"


def _dim_type(d: str) -> str:
    return "LowCardinality(String)" if d in _NOT_NULL_DIMS else "LowCardinality(Nullable(String))"


def hourly_sql(r: Rollup, where: str = "", stored: bool = False) -> str:
    """The SELECT aggregating ``r``'s source rows into hourly rows (``where`` narrows it and
    reads the rows as stored: their latest versions). ``stored``: the rows stored before the
    rollup existed; closed sessions from the ``sessions`` view, which knows every session's
    user type (closes stored before it had none)."""
    keys = ", ".join(("app", "hour", *r.dims))
    table, tcol = RAW[r.source]
    source = f"{table}" + (f" FINAL WHERE {where}" if where else "")
    if stored and r.source == "sessions":
        source = f"(SELECT * FROM sessions WHERE closed) WHERE {where}"
    return "\n".join(
        [
            f"SELECT app, toStartOfHour({tcol}) AS hour, {', '.join(r.dims)},",
            ",\n".join(f"       {e} AS {n}" for n, _, e in _columns(r)),
            f"FROM {source}",
            f"GROUP BY {keys}",
        ]
    )


def daily_sql(r: Rollup, where: str = "") -> str:
    """The SELECT folding ``r``'s hourly rows into daily ones (``where`` narrows it)."""
    keys = ", ".join(("app", "hour", *r.dims))
    folds = ", ".join(f"{_fold(n, t)} AS {n}" for n, t, _ in _columns(r))
    return (
        f"SELECT app, toStartOfDay(hour) AS hour, {', '.join(r.dims)}, {folds} "
        f"FROM {r.name}{f' WHERE {where}' if where else ''} GROUP BY {keys}"
    )


def ddl(migration: str = MIGRATIONS[0]) -> str:
    """The migration (a name in MIGRATIONS) that creates its rollups and their materialized
    views: it drops the rollups of an earlier shape (and their views), creates them, fills them
    from the events stored (once: while they are empty), then creates the views, before any
    collector writes."""
    out = [
        "-- Rollups for dashboard queries (generated by `python -m openrum.query.rollup "
        f"{migration}`;",
        "-- do not edit): see openrum/query/rollup.py. Hourly aggregates per application and a few",
        "-- dimensions, filled by materialized views as events are inserted, and daily ones",
        "-- filled from the hourly. Rollups of an earlier shape are dropped, and these filled",
        "-- from the events stored (once: while they are empty) before their views are created.",
        "",
        "-- Closed sessions keep their user type (real, synthetic, bot) and sampling weight, and",
        "-- errors their session's weight: the rollups are keyed by the one and count the other.",
        "-- Errors stored before have none (1: counted as if every session was kept).",
        "ALTER TABLE session_closes ADD COLUMN IF NOT EXISTS user_type Nullable(String);",
        "ALTER TABLE session_closes ADD COLUMN IF NOT EXISTS weight Float64 DEFAULT 1;",
        "ALTER TABLE errors ADD COLUMN IF NOT EXISTS weight Float64 DEFAULT 1 CODEC(ZSTD(1));",
        "",
    ]
    for r in (r for r in ROLLUPS if r.migration == migration):
        cols = _columns(r)
        keys = ", ".join(("app", "hour", *r.dims))
        defs = ["    app LowCardinality(String)", "    hour DateTime('UTC')"]
        defs += [f"    {d} {_dim_type(d)}" for d in r.dims]
        defs += [f"    {n} {t}" for n, t, _ in cols]
        out += [
            f"DROP VIEW IF EXISTS {r.daily}_mv;",
            f"DROP VIEW IF EXISTS {r.name}_mv;",
            f"DROP TABLE IF EXISTS {r.daily};",
            f"DROP TABLE IF EXISTS {r.name};",
            "",
        ]
        for table, partition in ((r.name, "toYYYYMM(hour)"), (r.daily, "toYear(hour)")):
            out += [
                f"CREATE TABLE IF NOT EXISTS {table} (",
                ",\n".join(defs),
                ") ENGINE = AggregatingMergeTree",
                f"PARTITION BY {partition}",
                f"ORDER BY ({keys})",
                "TTL hour + INTERVAL 400 DAY DELETE",
                "SETTINGS allow_nullable_key = 1;",
                "",
            ]
        out += [
            f"INSERT INTO {r.name}",
            hourly_sql(r, f"(SELECT count() FROM {r.name}) = 0", stored=True) + ";",
            "",
            f"INSERT INTO {r.daily}",
            daily_sql(r, f"(SELECT count() FROM {r.daily}) = 0") + ";",
            "",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {r.name}_mv TO {r.name} AS",
            hourly_sql(r) + ";",
            "",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {r.daily}_mv TO {r.daily} AS",
            daily_sql(r) + ";",
            "",
        ]
    return "\n".join(out)


def retract_sql() -> list[str]:
    """Statements taking the stored version of the actions whose eids are the one parameter
    (an array) out of every actions rollup's counts and sums (the daily rollups follow)."""
    out = []
    for r in ROLLUPS:
        if r.source != "actions":
            continue
        exprs = []
        for n, t, e in _columns(r):
            if n.endswith("_bins"):
                exprs.append(f"{_bin(n.removesuffix('_bins'), -1)} AS {n}")
            elif t.startswith("SimpleAggregateFunction(sum,"):
                exprs.append(f"-{e} AS {n}")
            else:  # a minimum, maximum or state cannot be taken out
                exprs.append(_empty(n, t))
        keys = ", ".join(("app", "hour", *r.dims))
        out.append(
            f"INSERT INTO {r.name} SELECT app, toStartOfHour(time) AS hour, {', '.join(r.dims)}, "
            + ", ".join(exprs)
            + f" FROM actions FINAL WHERE eid IN ? GROUP BY {keys}"
        )
    return out


# -- planning --------------------------------------------------------------------------------------
# Distinct sessions, scaled by the mean weight of the rows (exact for one sampling rate).
SESSIONS = f"{_state(_UNIQ, 'Merge')}(sessions) * (sum(weight_sum) / greatest(sum(rows), 1))"
APDEX = "(sum(apdex_s) + sum(apdex_t) / 2.0) / nullif(sum(apdex_n), 0)"


def merge_digest(column: str) -> str:
    """The merged T-Digest of a ``_q`` column: an array of the LEVELS' percentiles."""
    return f"{_state(_DIGEST, 'Merge')}({column})"


def _merge(m: Metric, settings: Settings) -> str | None:
    """How a metric reads from rollup columns, or None when no rollup keeps it."""
    if m.source == "sessions":
        return _merge_session(m, settings)
    if m.source == "diagnostics":
        return None  # no rollup: diagnostics are read raw
    if m.kind == "count":
        return "sum(weight_sum)"
    if m.kind == "page_views":
        return "sum(loads)" + (
            " + sum(route_changes)" if settings.route_changes_are_page_views else ""
        )
    if m.kind in ("sessions", "error_sessions"):
        return SESSIONS
    if m.kind == "apdex":
        return APDEX
    if m.kind == "errors":
        return "sum(errors)"
    if m.kind == "action_errors":
        return "sum(action_errors)"
    if m.kind == "action_error_share":
        return "sum(errored) / nullif(sum(weight_sum), 0)"
    if m.kind == "share" and m.measure and m.stat:
        v = m.measure
        part = {
            "good_share": f"sum({v}_good)",
            "needs_improvement_share": f"(sum({v}_n) - sum({v}_good) - sum({v}_poor))",
            "poor_share": f"sum({v}_poor)",
        }[m.stat]
        return f"{part} / nullif(sum({v}_n), 0)"
    if m.kind == "stat" and m.measure and m.stat:
        c, q = m.measure, STATS[m.stat]
        if m.stat == "avg":
            return f"sum({c}_sum) / nullif(sum({c}_n), 0)"
        if m.stat in ("min", "max"):
            return f"{m.stat}({c}_{m.stat})"
        if q in LEVELS and settings.query_approximate_percentiles:
            return f"{merge_digest(c + '_q')}[{LEVELS.index(q) + 1}]"
    return None


def _merge_session(m: Metric, settings: Settings) -> str | None:
    """How a session metric reads from the rows of closed sessions (a rollup's) and the count
    of live ones (``live``): sessions are one or the other."""
    if m.kind == "sessions":
        return "sum(closed) + sum(live)"
    if m.kind == "live_sessions":
        return "sum(live)"
    if m.kind == "completed_sessions":
        return "sum(closed)"
    if m.kind == "bounce_rate":
        return "sum(bounces) / nullif(sum(closed), 0)"
    if m.kind.startswith("ux_") and m.kind.endswith("_share"):
        score = m.kind[len("ux_") : -len("_share")]
        return (
            f"sumIf(closed, ux_score = '{score}') / nullif(sumIf(closed, ux_score IS NOT NULL), 0)"
        )
    if m.kind == "session_stat":  # completed sessions only, as on the raw table
        return _merge(Metric(m.name, "actions", "stat", m.measure, m.stat), settings)
    return None


def _needs(m: Metric) -> list[str]:
    """The rollup columns a metric reads."""
    if m.source == "sessions" and m.kind != "session_stat":
        return {"live_sessions": [], "bounce_rate": ["closed", "bounces"]}.get(m.kind, ["closed"])
    if m.kind == "count":
        return ["weight_sum"]
    if m.kind == "page_views":
        return list(_TYPE_COUNTS)
    if m.kind in ("sessions", "error_sessions"):
        return ["sessions", "rows", "weight_sum"]
    if m.kind == "apdex":
        return ["apdex_s", "apdex_t", "apdex_n"]
    if m.kind == "errors":
        return ["errors"]
    if m.kind == "action_errors":
        return ["action_errors"]
    if m.kind == "action_error_share":
        return ["errored", "weight_sum"]
    assert m.measure is not None
    if m.kind == "share":
        return [f"{m.measure}_n", f"{m.measure}_good", f"{m.measure}_poor"]
    suffix = {"avg": ["_sum", "_n"], "min": ["_min"], "max": ["_max"]}.get(m.stat or "", ["_q"])
    return [m.measure + s for s in suffix]


def _reads(r: Rollup) -> dict[str, str]:
    """What a partial row of ``r`` reads for each column it can give: the column, or for the
    counts of an action type, its rows of that type."""
    out = {n: n for n, _, _ in _columns(r)}
    if "action_type" in r.dims:
        out |= {n: f"if(action_type = '{t}', weight_sum, 0)" for n, t in _TYPE_COUNTS.items()}
    return out


def _raw_columns(source: Source, names: Sequence[str]) -> bool:
    """Whether every dimension named is a column of the source's raw table."""
    return all(DIMENSIONS.get(n, {}).get(source) == n for n in names)


def _choose(source: Source, names: set[str], needed: list[str]) -> Rollup | None:
    for r in ROLLUPS:  # smallest first
        if r.source == source and names <= set(r.dims) and set(needed) <= _reads(r).keys():
            return r
    return None


def _floor(t: dt.datetime, step: dt.timedelta) -> dt.datetime:
    return dt.datetime.min + (t - dt.datetime.min) // step * step


def _up(t: dt.datetime, step: dt.timedelta) -> dt.datetime:
    floor = _floor(t, step)
    return floor if floor == t else floor + step


def partials(
    source: Source,
    app: str,
    dims: Sequence[str],
    filters: Sequence[Filter],
    start: dt.datetime,
    end: dt.datetime,
    needed: Sequence[str],
    interval: int | None = None,
    bucket: Callable[[str, int], str] | None = None,
    extra: Sequence[str] = (),
) -> tuple[str, list[Any]] | None:
    """SQL for partial rows of ``app``'s ``source`` in [start, end) — a ``time`` bucket of
    ``interval`` seconds (``bucket(column, seconds)`` is the dialect's), ``dims`` (and
    ``ux_score`` for sessions) and the rollup columns ``needed`` — from the daily and hourly
    rollups and the raw rows of the ragged ends, and its parameters; the caller merges the rows
    of each group; ``extra`` expressions end every part's columns. None when no rollup keeps
    these dimensions, filters and columns, the interval is not whole hours, or the range holds no
    whole hour."""
    if interval is not None and interval % 3600:
        return None
    used = [*dims, *(f[0] for f in filters)]
    if not _raw_columns(source, used):
        return None  # a computed dimension (lcp_rating) or one the source does not have
    rollup = _choose(source, set(used), list(needed))
    if rollup is None:
        return None
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    h0, h1 = _up(start, hour), _floor(end, hour)
    if h0 >= h1:
        return None
    d0, d1 = _up(h0, day), _floor(h1, day)
    if d0 >= d1 or (interval is not None and interval % 86400):
        d0 = d1 = h1  # no whole day, or buckets shorter than a day: hours only
    where, where_params = _filters(filters)
    keys = list(dict.fromkeys([*_KEYS.get(source, []), *dims]))
    by_name = {n: e for r in ROLLUPS if r.source == source for n, _, e in _columns(r)}
    reads = _reads(rollup)
    raw, tcol = RAW[source]
    if source == "sessions":  # the ragged ends: the same closes, by start (`session_starts`)
        raw = "session_starts"
    parts: list[str] = []
    params: list[Any] = []
    for table, column, ranges in (
        (rollup.name, "hour", [(h0, d0), (d1, h1)]),
        (rollup.daily, "hour", [(d0, d1)]),
        (raw, tcol, [(start, h0), (h1, end)]),
    ):
        ranges = [(lo, hi) for lo, hi in ranges if lo < hi]
        if not ranges:
            continue
        sel = [f"{bucket(column, interval)} AS time"] if interval and bucket else []
        sel += keys
        tail = ""
        if table == raw:
            if sel:
                tail = f" GROUP BY {', '.join(map(str, range(1, len(sel) + 1)))}"
            sel += [f"{by_name[c]} AS {c}" for c in needed]
        else:
            sel += [c if reads[c] == c else f"{reads[c]} AS {c}" for c in needed]
            # The caller merges these rows: FINAL, the reads' default (openrum/store/transport.py),
            # would merge their states once more, read in one stream and keep the filters out
            # of PREWHERE.
            tail = " SETTINGS final = 0"
        sel += extra
        when = " OR ".join(f"({column} >= ? AND {column} < ?)" for _ in ranges)
        cond = " AND ".join(["app = ?", f"({when})", *where])
        parts.append(f"SELECT {', '.join(sel)} FROM {table} WHERE {cond}{tail}")
        params += [app, *(t for r in ranges for t in r), *where_params]
    return " UNION ALL ".join(parts), params


class Hours(Protocol):
    """Partial rows of whole hours kept from query to query (the alert scheduler's
    ``evaluate.Kept``), by key: ``()`` for an hour without rows, None for one not kept."""

    def hour(self, key: bytes) -> tuple[Any, ...] | None: ...

    def keep_hour(self, key: bytes, row: tuple[Any, ...]) -> None: ...


Select = Callable[[str, list[Any]], list[tuple[Any, ...]]]


def kept_partials(
    source: Source,
    app: str,
    filters: Sequence[Filter],
    start: dt.datetime,
    end: dt.datetime,
    needed: Sequence[str],
    hours: Hours,
    select: Select,
) -> tuple[str, list[Any]] | None:
    """SQL for the partial rows of [start, end), as ``partials`` (without dimensions or
    buckets), for a range no rollup answers: its whole hours from the partial rows kept in
    ``hours`` (those not kept yet are read from the raw rows first, with ``select``, and
    kept), its ragged ends from the raw rows. A window measured again and again as it moves
    (an alert rule's) reads only its newest hour raw. States travel as hex text. None when
    a column or filter has no raw form, or the range holds no whole hour."""
    if source == "sessions" or not _raw_columns(source, [f[0] for f in filters]):
        return None
    types = {n: (t, e) for r in ROLLUPS if r.source == source for n, t, e in _columns(r)}
    kinds = {c: _value_type(types[c][0]) if c in types else None for c in needed}
    if None in kinds.values():
        return None
    hour = dt.timedelta(hours=1)
    h0, h1 = _up(start, hour), _floor(end, hour)
    if h0 >= h1:
        return None
    where, where_params = _filters(filters)
    raw, tcol = RAW[source]
    prefix = repr((app, source, [tuple(f) for f in filters], list(needed)))

    def key(h: dt.datetime) -> bytes:
        return f"{prefix} {h.isoformat()}".encode()

    every = [h0 + i * hour for i in range((h1 - h0) // hour)]
    missing = [h for h in every if hours.hour(key(h)) is None]
    if missing:
        cols = [
            f"hex({types[c][1]}) AS {c}" if kinds[c] == "String" else f"{types[c][1]} AS {c}"
            for c in needed
        ]
        cond = " AND ".join(["app = ?", f"{tcol} >= ?", f"{tcol} < ?", *where])
        sql = (
            f"SELECT toUInt32(toStartOfHour({tcol})) AS hour_of, {', '.join(cols)} "
            f"FROM {raw} WHERE {cond} GROUP BY hour_of"
        )
        lo, hi = missing[0], missing[-1] + hour
        found = {r[0]: tuple(r[1:]) for r in select(sql, [app, lo, hi, *where_params])}
        for h in every:
            if lo <= h < hi:
                epoch = int(h.replace(tzinfo=dt.UTC).timestamp())
                hours.keep_hour(key(h), found.get(epoch, ()))
    kept = [r for h in every if (r := hours.hour(key(h)))]
    parts: list[str] = []
    params: list[Any] = []
    if kept:
        spec = ", ".join(f"{c} {kinds[c]}" for c in needed)
        rows = ", ".join(f"({', '.join(map(_literal, r))})" for r in kept)
        cols = [
            f"CAST(unhex({c}) AS {types[c][0]}) AS {c}" if kinds[c] == "String" else c
            for c in needed
        ]
        parts.append(f"SELECT {', '.join(cols)} FROM values('{spec}', {rows})")
    ragged = [(lo, hi) for lo, hi in ((start, h0), (h1, end)) if lo < hi]
    if ragged or not kept:
        when = " OR ".join(f"({tcol} >= ? AND {tcol} < ?)" for _ in ragged) or "false"
        cond = " AND ".join(["app = ?", f"({when})", *where])
        cols = [f"{types[c][1]} AS {c}" for c in needed]
        parts.append(f"SELECT {', '.join(cols)} FROM {raw} WHERE {cond}")
        params += [app, *(t for r in ragged for t in r), *where_params]
    return " UNION ALL ".join(parts), params


def _value_type(column_type: str) -> str | None:
    """How a kept partial row holds a rollup column's value: the type of a plain sum, minimum
    or maximum, String (hex) for a state; None for one it cannot (binned counts)."""
    if column_type.startswith("AggregateFunction("):
        return "String"
    inner = column_type.removeprefix("SimpleAggregateFunction(").partition(", ")[2][:-1]
    return inner if inner in ("Float64", "Int64", "Nullable(Float64)") else None


def _literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):  # a state in hex
        return f"'{v}'"
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def _live(
    q: Query, keys: list[str], needed: list[str], start: dt.datetime, end: dt.datetime,
    interval: int | None, bucket: Callable[[str, int], str],
) -> tuple[str, list[Any]]:  # fmt: skip
    """Partial rows of the live sessions (no close yet) that started in [start, end), in the
    columns of the closed sessions' (nothing in theirs) and ``live``: the open sessions are
    found in ``session_open`` (``OPEN_IN``), not among every session."""
    types = {n: t for r in ROLLUPS if r.source == "sessions" for n, t, _ in _columns(r)}
    sel = [f"{bucket('start', interval)} AS time"] if interval else []
    group = list(range(1, len(sel) + len(keys) + 1))
    sel += [*keys, *(_empty(c, types[c]) for c in needed), "toFloat64(sum(weight)) AS live"]
    where, where_params = _filters(q.filters)
    cond = ["start >= ?", "start < ?", *where]
    grouping = f" GROUP BY {', '.join(map(str, group))}" if group else ""
    sql = f"SELECT {', '.join(sel)} FROM {OPEN_IN} WHERE {' AND '.join(cond)}{grouping}"
    return sql, [*open_params(q.app, start, end), start, end, *where_params]


def plan(
    q: Query,
    settings: Settings,
    now: dt.datetime,
    bucket: Any,
    sql: str,
    params: list[Any],
    hours: Hours | None = None,
    select: Select | None = None,
) -> tuple[str, list[Any]] | None:
    """The SQL and parameters answering ``q`` (already validated by the compiler) from rollups,
    or None when they cannot. ``bucket(column, seconds)`` is the dialect's time bucket. With
    ``hours`` (and ``select`` to fill them), a query without dimensions or buckets that no
    rollup answers reads its whole hours from those kept there (``kept_partials``)."""
    q = with_user_type(q)
    metrics = [resolve_metric(name) for name in dict.fromkeys(q.metrics)]
    used = list(q.dimensions) + [f[0] for f in q.filters]
    # As the compiler: by a session-only dimension, `sessions` counts the sessions table.
    if any("actions" not in DIMENSIONS[n] for n in used) and all(
        "sessions" in DIMENSIONS[n] for n in used
    ):
        metrics = [
            Metric(m.name, "sessions", m.kind) if m.kind == "sessions" else m for m in metrics
        ]
    start, end = time_range(q, now, settings.query_default_hours)
    interval = INTERVALS[q.interval] if q.interval is not None else None
    dims = list(dict.fromkeys(q.dimensions))
    keys = (["time"] if q.interval else []) + dims
    sources: dict[Source, list[Metric]] = {}
    for m in metrics:
        sources.setdefault(m.source, []).append(m)
    subqueries: list[str] = []
    out_params: list[Any] = []
    for source, ms in sources.items():
        merged = [_merge(m, settings) for m in ms]
        if None in merged:
            return None
        needed = list(dict.fromkeys(c for m in ms for c in _needs(m)))
        extra = ["toFloat64(0) AS live"] if source == "sessions" else []
        found = partials(
            source, q.app, dims, q.filters, start, end, needed, interval, bucket, extra
        )
        if found is None and hours is not None and select and not dims and interval is None:
            found = kept_partials(source, q.app, q.filters, start, end, needed, hours, select)
        if found is None:
            return None
        union, union_params = found
        if source == "sessions" and not all(m.of_completed_sessions for m in ms):
            keys_of = list(dict.fromkeys([*_KEYS["sessions"], *dims]))
            live, live_params = _live(q, keys_of, needed, start, end, interval, bucket)
            union, union_params = f"{union} UNION ALL {live}", union_params + live_params
        out_params += union_params
        outputs = [*keys, *(f'{e} AS "{m.name}"' for m, e in zip(ms, merged, strict=True))]
        group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
        subqueries.append(f"SELECT {', '.join(outputs)} FROM ({union}){group_by}")
    if len(subqueries) == 1:
        body = subqueries[0]
    else:
        join = f"FULL OUTER JOIN {{}} USING ({', '.join(keys)})" if keys else "CROSS JOIN {}"
        body = "SELECT * FROM (" + subqueries[0] + ") AS s0"
        for i, sub in enumerate(subqueries[1:], 1):
            body += " " + join.format(f"({sub}) AS s{i}")
    columns = keys + [m.name for m in metrics]
    order = order_by(q, columns, metrics)
    text = (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM ({body}) AS r{order} LIMIT {q.limit}"
    )
    return text, out_params


def _filters(filters: Sequence[Filter], contains: Any = None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for name, op, value in filters:
        if op == "is":
            where.append(f"{name} = ?" if value is not None else f"{name} IS NULL")
        elif op == "is_not":
            where.append(
                f"{name} IS DISTINCT FROM ?" if value is not None else f"{name} IS NOT NULL"
            )
        elif op == "contains":
            where.append(contains(name) if contains else f"position({name}, ?) > 0")
        else:
            assert isinstance(value, list)
            if not value:
                where.append("false")
                continue
            where.append(f"{name} IN ({', '.join('?' * len(value))})")
            params += [str(v) for v in value]
            continue
        if value is not None:
            params.append(str(value))
    return where, params


if __name__ == "__main__":
    sys.stdout.write(ddl(*sys.argv[1:]))
