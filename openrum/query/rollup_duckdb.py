"""Rollups on DuckDB: hourly and daily aggregates per application × a few dimensions.

Each rollup (``ROLLUPS``: by action type; by page; by action name; by country and region; by
browser, version and device; always with the action type and the user type) has four tables
per grain. ``{name}_1h`` holds per (app, hour, dimensions) the row count and the sum of their
sampling weights, Apdex counts, errors on actions, per measure its count, sum, minimum and
maximum, and per Web Vital its good and poor counts: every count but the rows' a sum of weights
(an estimate of the full traffic, as the raw query counts). ``{name}_1h_hist``
holds the percentile state: per measure a histogram over the log-spaced buckets of
openrum/query/dialect.py (about 2 % wide), one row per bucket holding the sum of its values'
sampling weights (percentiles of the full traffic); merging is a sum and a percentile is exact
to the bucket width. ``{name}_1h_sketch`` holds per key the distinct sessions' HyperLogLog
registers, as a list (``sketch_sql``). ``_1d`` tables hold the same per day.

The store keeps them in the transaction that writes the raw rows, in proportion to the batch:
``add_sql`` appends the batch's contribution to the hourly and daily tables as partial rows,
signed (+1 for an action stored now, -1 for the stored version a higher ``seq`` replaces; a
re-sent action is not stored again and adds nothing); every reader sums a key's rows, and every
few writes ``compact_sql`` replaces the partial rows of the hours written since by their sums.
Counts, sums and histograms stay exact; a replaced value may linger in a minimum or maximum, so
those serve only as bounds for percentiles (the ``min``/``max`` metrics come from the raw rows).
Erasure and expiry recount the hours they touch from the raw rows (``refresh_sql``);
``rebuild_sql`` recounts everything (the migration, bulk loads).

``plan`` answers a query from the first rollup holding its dimensions, filters and percentile
measures, when its interval (if any) is whole hours and its percentiles approximate, with the
ClickHouse planner's rules (openrum/query/rollup.py): whole days from the daily table, whole
hours around them from the hourly one, the range's ragged ends from the raw rows through the
same aggregation. Distinct sessions come from HyperLogLog sketches kept the same way (per
rollup, grain and key a list of registers; ``sketch_sql``). Metrics a rollup cannot give (errors,
minimum, maximum, exact distinct sessions) come from the raw query for those metrics alone,
joined on the same keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from openrum.query.compiler import compile_query, order_by, quote
from openrum.query.dialect import Dialect, bucket_quantile, log_bucket
from openrum.query.model import (
    INTERVALS,
    MEASURES,
    STATS,
    VITAL_THRESHOLDS,
    Metric,
    Query,
    resolve_metric,
    time_range,
    with_user_type,
)
from openrum.query.rollup import Rollup, _filters, _up
from openrum.settings import Settings

# The percentiles the dashboard shows by page, country and browser: load time and LCP (and by
# action name: duration). Other percentiles by those dimensions come from the raw rows.
_KEY = ("duration", "lcp")
_ROLLUPS = (  # smallest first: the planner takes the first that answers
    Rollup("actions", "actions", ("action_type",), MEASURES),
    Rollup("actions_page", "actions", ("action_type", "page"), _KEY),
    Rollup("actions_name", "actions", ("action_type", "action_name"), ("duration",)),
    Rollup("actions_geo", "actions", ("action_type", "country", "region"), _KEY),
    Rollup(
        "actions_browser", "actions", ("action_type", "browser", "browser_version", "device"), _KEY
    ),
)
# Every rollup is also by user type: real users by default, synthetic traffic on request
# (openrum/query/model.py's USER_TYPES), both from the rollups.
ROLLUPS = tuple(dataclasses.replace(r, dims=(*r.dims, "user_type")) for r in _ROLLUPS)
GRAINS = ("1h", "1d")  # an hourly table per rollup, and a daily one summed from it
TABLES = tuple(
    f"{r.name}_{g}{h}"
    for r in ROLLUPS
    for g in GRAINS
    for h in ("", "_measures", "_hist", "_sketch")
)
# openrum/store/sql/duckdb/; rebuilt from the raw rows once. 004 made the rollups without a user
# type; 008 dropped them and made them with it; 018 added the distinct sessions' sketches, a row
# per register; 020 keeps a key's registers in a list.
MIGRATION = "020_rollup_sketch_lists.sql"


# Value columns of ``{name}_{grain}``: (column, aggregate over action rows carrying a ``sign``,
# +1 for a row counted in, -1 for a row taken out: a version replaced by a higher seq).
# Every count but ``rows`` is an estimate of the full traffic: a sum of the rows' sampling
# weights (100 / the session's sampling percentage); ``rows`` / ``weight_sum`` is the sampling rate.
COUNTS = (
    ("rows", "coalesce(sum(sign), 0)"),
    ("weight_sum", "coalesce(sum(sign * weight), 0)"),
    ("apdex_s", "coalesce(sum(sign * weight) FILTER (WHERE apdex = 'S'), 0)"),
    ("apdex_t", "coalesce(sum(sign * weight) FILTER (WHERE apdex = 'T'), 0)"),
    ("apdex_n", "coalesce(sum(sign * weight) FILTER (WHERE apdex IS NOT NULL), 0)"),
    ("action_errors", "coalesce(sum(sign * weight * errors), 0)"),
    ("errored", "coalesce(sum(sign * weight) FILTER (WHERE errors > 0), 0)"),
)


def _threshold(which: int) -> str:
    """The good (0) or poor (1) threshold of the row's measure; NULL for a measure without."""
    whens = " ".join(f"WHEN '{v}' THEN {t[which]}" for v, t in VITAL_THRESHOLDS.items())
    return f"CASE measure {whens} END"


# Value columns of ``{name}_{grain}_measures``, one row per measure: its count and sum (exact),
# minimum and maximum (bounds for percentiles: a replaced value may linger in them), and for a
# Web Vital the counts rated good and poor.
MEASURE_STATS = (
    ("n", "coalesce(sum(sign * weight), 0)"),
    ("total", "coalesce(sum(sign * weight * v), 0)"),
    ("low", "min(v) FILTER (WHERE sign > 0)"),
    ("high", "max(v) FILTER (WHERE sign > 0)"),
    ("good", f"coalesce(sum(sign * weight) FILTER (WHERE v <= {_threshold(0)}), 0)"),
    ("poor", f"coalesce(sum(sign * weight) FILTER (WHERE v > {_threshold(1)}), 0)"),
)
_TYPES = {"rows": "BIGINT NOT NULL", "low": "DOUBLE", "high": "DOUBLE"}  # else DOUBLE NOT NULL
_SIGNED = "(SELECT *, 1 AS sign FROM actions WHERE {where})"  # raw rows, each counted in once


def _resum(name: str) -> str:
    """How a value column of finer rows adds up: minimum, maximum or sum."""
    fn = {"low": "min", "high": "max"}.get(name, "sum")
    return f"{fn}({name}) AS {name}"


def _summed(head: list[str], values: tuple[str, ...], source: str) -> str:
    """A SELECT of the rows of ``source`` (a table and its conditions) summed per ``head`` (the
    key columns, expressions named as the columns): their values added up (``_resum``), or for
    a sketch (``regs``) its registers merged, each to its maximum."""
    if values != ("regs",):
        return f"SELECT {', '.join([*head, *map(_resum, values)])} FROM {source} GROUP BY ALL"
    names = ", ".join(h.rsplit(" AS ", 1)[-1] for h in head)
    registers = (
        f"SELECT {names}, packed // {RHO} AS reg, max(packed) AS p "
        f"FROM (SELECT {', '.join(head)}, unnest(regs) AS packed FROM {source}) GROUP BY ALL"
    )
    return f"SELECT {names}, list(p) AS regs FROM ({registers}) GROUP BY ALL"


def ddl() -> str:
    """The tables (migration MIGRATION, after dropping those of an earlier shape; a test checks
    it). The store recounts them from the raw rows once it has run."""
    out = [
        "-- Rollups for dashboard queries (generated by `python -m openrum.query.rollup_duckdb`;",
        "-- do not edit): see openrum/query/rollup_duckdb.py. `hour` is the start of the row's",
        "-- hour (_1h tables) or day (_1d tables). The rollups of an earlier shape are dropped;",
        "-- the store recounts these from the raw rows once this has run.",
        "",
        *(f"DROP TABLE IF EXISTS {t};" for t in TABLES),
        "",
    ]
    for r in ROLLUPS:
        head = ["app VARCHAR NOT NULL", "hour TIMESTAMP NOT NULL"]
        head += [f"{d} VARCHAR{' NOT NULL' if d == 'action_type' else ''}" for d in r.dims]
        counts = [f"{n} {_TYPES.get(n, 'DOUBLE NOT NULL')}" for n, _ in COUNTS]
        stats = ["measure VARCHAR NOT NULL"]
        stats += [f"{n} {_TYPES.get(n, 'DOUBLE NOT NULL')}" for n, _ in MEASURE_STATS]
        hist = ["measure VARCHAR NOT NULL", "bucket SMALLINT NOT NULL", "n DOUBLE NOT NULL"]
        sketch = ["regs USMALLINT[] NOT NULL"]
        parts = (("", counts), ("_measures", stats), ("_hist", hist), ("_sketch", sketch))
        for g in GRAINS:
            for suffix, cols in parts:
                body = ",\n".join(f"    {c}" for c in head + cols)
                out += [f"CREATE TABLE {r.name}_{g}{suffix} (\n{body}\n);", ""]
    return "\n".join(out)


def counts_sql(r: Rollup, where: str, rows: str = _SIGNED, grain: str = "hour") -> str:
    """Rows of ``{r}_{grain}`` from signed action rows: by default the raw actions matching
    ``where``."""
    values = ", ".join(f"{e} AS {n}" for n, e in COUNTS)
    return (
        f"SELECT app, date_trunc('{grain}', time) AS hour, {', '.join(r.dims)}, "
        f"{values} FROM {rows.format(where=where)} GROUP BY ALL"
    )


def _unpivot(r: Rollup, where: str, ms: tuple[str, ...], rows: str, grain: str) -> str:
    cols = ", ".join(f"{m}::DOUBLE AS {m}" for m in ms)
    return (
        f"(UNPIVOT (SELECT app, date_trunc('{grain}', time) AS hour, {', '.join(r.dims)}, sign, "
        "weight, "
        f"{cols} FROM {rows.format(where=where)}) ON {', '.join(ms)} "
        "INTO NAME measure VALUE v)"
    )


def measures_sql(
    r: Rollup,
    where: str,
    measures: tuple[str, ...] | None = None,
    rows: str = _SIGNED,
    grain: str = "hour",
) -> str:
    """Rows of ``{r}_{grain}_measures`` from signed action rows."""
    values = ", ".join(f"{e} AS {n}" for n, e in MEASURE_STATS)
    source = _unpivot(r, where, measures or r.digests, rows, grain)
    return f"SELECT app, hour, {', '.join(r.dims)}, measure, {values} FROM {source} GROUP BY ALL"


def histogram_sql(
    r: Rollup,
    where: str,
    measures: tuple[str, ...] | None = None,
    rows: str = _SIGNED,
    grain: str = "hour",
) -> str:
    """Rows of ``{r}_{grain}_hist`` from signed action rows: per bucket the sum of the rows'
    sampling weights (percentiles are of the full traffic, as on the raw rows)."""
    source = _unpivot(r, where, measures or r.digests, rows, grain)
    return (
        f"SELECT app, hour, {', '.join(r.dims)}, measure, {log_bucket('v')} AS bucket, "
        f"sum(sign * weight) AS n FROM {source} GROUP BY ALL"
    )


# Distinct sessions: a HyperLogLog sketch of the actions' session numbers (``session_key``, 64
# bits of the MD5 of the session id) per key, 2**P registers, those a session fell in listed in
# the key's row (``regs``), each packed as reg * RHO + rho. The low P bits of the number pick the
# register, rho is the position of the first one bit in the rest (at most 65 - P < RHO). Merging
# is a maximum per register, so a sketch adds up over hours and days as the counts do; a key
# with few sessions lists about a register per session. P = 10: 1,024 registers, a standard
# error of 3.3 %. (A row per register, as 018 kept them, repeated the key's dimensions in every
# row: the rollups held twice the rows, and writes of 45,000 events took about a sixth longer.)
P = 10
REGISTERS = 1 << P
RHO = 64  # packed registers fit a USMALLINT


def sketch_sql(
    r: Rollup, where: str, rows: str = _SIGNED, grain: str = "hour", key: str = "session_key"
) -> str:
    """Rows of ``{r}_{grain}_sketch`` from signed action rows (those counted in: a replaced
    version's session is still among the sessions, and its register keeps its maximum); ``key``
    the session number (computed for rows that do not carry it yet)."""
    rest = f"({key} >> {P})"
    rho = f"CASE WHEN {rest} = 0 THEN {65 - P} ELSE {64 - P} - floor(log2({rest})) END"
    head = f"app, date_trunc('{grain}', time) AS hour, {', '.join(r.dims)}"
    registers = (
        f"SELECT {head}, {key} & {REGISTERS - 1} AS reg, greatest(max({rho}), 1) AS rho "
        f"FROM {rows.format(where=where)} WHERE sign > 0 GROUP BY ALL"
    )
    return (
        f"SELECT app, hour, {', '.join(r.dims)}, list((reg * {RHO} + rho)::USMALLINT) AS regs "
        f"FROM ({registers}) GROUP BY ALL"
    )


def hll_estimate() -> str:
    """The number of distinct sessions of a group of merged registers (one row per register
    set): HyperLogLog's estimate (Flajolet et al., 2007); linear counting (from the empty
    registers) while that is at most 2.5 times the registers."""
    m = REGISTERS
    alpha = 0.7213 / (1 + 1.079 / m)
    empty = f"({m} - count(*))"
    raw = f"({alpha * m * m} / (coalesce(sum(pow(2.0, -(rho::INTEGER))), 0) + {empty}))"
    return (
        f"CASE WHEN {raw} <= {2.5 * m} AND {empty} > 0 THEN {m} * ln({m} / {empty}) ELSE {raw} END"
    )


# The four tables of a rollup and grain: suffix, key columns after the dimensions, value
# columns, and the SELECT making their rows from signed action rows.
_PARTS = (
    ("", (), tuple(n for n, _ in COUNTS), counts_sql),
    ("_measures", ("measure",), tuple(n for n, _ in MEASURE_STATS), measures_sql),
    ("_hist", ("measure", "bucket"), ("n",), histogram_sql),
    ("_sketch", (), ("regs",), sketch_sql),
)


def _days_sql(r: Rollup, where: str, source: str | None = None) -> list[str]:
    """INSERTs of daily rows summed from the hourly rows matching ``where`` (of the hourly
    tables, or of ``source``: a table shaped as every part of the rollup in turn)."""
    out = []
    for suffix, keys, values, _ in _PARTS:
        head = ["app", "date_trunc('day', hour) AS hour", *r.dims, *keys]
        rows = f"{source or f'{r.name}_1h{suffix}'} WHERE {where}"
        out.append(f"INSERT INTO {r.name}_1d{suffix} BY NAME {_summed(head, values, rows)}")
    return out


SCRATCH = ("partial",)  # the temporary table of ``add_sql``


def add_sql(delta: str) -> list[str]:
    """Statements appending the contribution of the signed action rows in table ``delta`` (+1
    stored now, -1 replaced) to every rollup, hourly and daily, as partial rows: a key may have
    several rows until ``compact_sql`` sums them (every reader sums them anyway). Per rollup,
    the batch is read once for the counts, once for the sketches, and unpivoted once for the
    measures and once for the histograms (unpivoted once into a temporary table for both, writes
    of 45,000 events took about 12% longer); the daily rows are summed from the hourly ones
    (temporary table ``partial``). The cost of a write follows its batch only."""
    rows = f"(SELECT * FROM {delta} WHERE {{where}})"
    out = []
    for r in ROLLUPS:
        hourly = (
            counts_sql(r, "true", rows=rows),
            measures_sql(r, "true", rows=rows),
            histogram_sql(r, "true", rows=rows),
            sketch_sql(r, "true", rows=rows, key="md5_number_lower(session_id)"),
        )
        days = _days_sql(r, "true", "partial")
        for (suffix, *_), select, day in zip(_PARTS, hourly, days, strict=True):
            out += [
                f"CREATE OR REPLACE TEMP TABLE partial AS {select}",
                f"INSERT INTO {r.name}_1h{suffix} BY NAME SELECT * FROM partial",
                day,
            ]
    return out


def compact_sql() -> list[str]:
    """Statements replacing the partial rows of the hours in table ``hours`` (app, hour) and of
    their days by their sums, each table through the temporary table ``compacted``: as many
    statements for any number of hours."""
    out = [
        "CREATE OR REPLACE TEMP TABLE days AS "
        "SELECT DISTINCT app, date_trunc('day', hour) AS hour FROM hours"
    ]
    for r in ROLLUPS:
        for g, written in (("1h", "hours"), ("1d", "days")):
            for suffix, keys, values, _ in _PARTS:
                table = f"{r.name}_{g}{suffix}"
                rows = f"{table} SEMI JOIN {written} USING (app, hour)"
                summed = _summed(["app", "hour", *r.dims, *keys], values, rows)
                out += [
                    f"CREATE OR REPLACE TEMP TABLE compacted AS {summed}",
                    f"DELETE FROM {table} USING {written} AS w "
                    f"WHERE {table}.app = w.app AND {table}.hour = w.hour",
                    f"INSERT INTO {table} BY NAME SELECT * FROM compacted",
                ]
    return out


def refresh_sql() -> list[str]:
    """Statements recounting the rollups of one hour and its day from the raw actions
    (parameters $app, $hour): after an erasure or expiry."""
    raw = "app = $app AND time >= $hour AND time < $hour + INTERVAL 1 HOUR"
    day = "app = $app AND hour >= date_trunc('day', $hour) "
    day += "AND hour < date_trunc('day', $hour) + INTERVAL 1 DAY"
    out = []
    for r in ROLLUPS:
        for suffix, _, _, select in _PARTS:
            out.append(f"DELETE FROM {r.name}_1h{suffix} WHERE app = $app AND hour = $hour")
            out.append(f"INSERT INTO {r.name}_1h{suffix} BY NAME {select(r, raw)}")
            out.append(
                f"DELETE FROM {r.name}_1d{suffix} WHERE app = $app "
                "AND hour = date_trunc('day', $hour)"
            )
        out += _days_sql(r, day)
    return out


def expire_sql() -> list[str]:
    """Statements dropping rollup rows wholly before an instant (parameters $app, $hour: the
    hour it falls in; the caller then refreshes that hour)."""
    out = []
    for t in TABLES:
        bound = "$hour" if "_1h" in t else "date_trunc('day', $hour)"
        out.append(f"DELETE FROM {t} WHERE app = $app AND hour < {bound}")
    return out


def rebuild_sql() -> tuple[list[str], list[str]]:
    """Statements recounting every rollup from the raw actions: those emptying them, then those
    counting one day of actions in (parameter $day, its first instant), run for each day in
    order. Rows go in in the order of their hour, as writes append them: a range's hours are then
    a few row groups that the zone maps of ``hour`` find (in the order of a hash aggregate,
    reading the ragged hours of a week scanned the whole hourly table; the histograms of the
    browser rollup hold about a row per action). A day at a time, the aggregates fit the store's
    memory: all at once, 166M actions did not in 256 MB (bench/query at 100M)."""
    raw = "time >= $day AND time < $day + INTERVAL 1 DAY"
    hours = "hour >= $day AND hour < $day + INTERVAL 1 DAY"
    day: list[str] = []
    for r in ROLLUPS:
        day += [
            f"INSERT INTO {r.name}_1h{p[0]} BY NAME {p[3](r, raw)} ORDER BY hour, app"
            for p in _PARTS
        ]
        day += [f"{sql} ORDER BY hour, app" for sql in _days_sql(r, hours)]
    return [f"DELETE FROM {t}" for t in TABLES], day


# -- planning --------------------------------------------------------------------------------------
def _merge(m: Metric, settings: Settings) -> str | None:
    """How a metric reads from a rollup's counts and measures rows; "" for a percentile (from
    the histograms); None when rollups do not keep it."""
    if m.kind == "count":
        return "coalesce(sum(weight_sum), 0)"
    if m.kind == "page_views":
        types = "('load', 'route_change')" if settings.route_changes_are_page_views else "('load')"
        return f"coalesce(sum(weight_sum) FILTER (WHERE action_type IN {types}), 0)"
    if m.kind == "apdex":
        return "(sum(apdex_s) + sum(apdex_t) / 2.0) / nullif(sum(apdex_n), 0)"
    if m.kind == "action_errors":
        return "coalesce(sum(action_errors), 0)"
    if m.kind == "action_error_share":
        return "sum(errored) / nullif(sum(weight_sum), 0)"
    if m.kind == "sessions" and settings.query_approximate_sessions:
        # The sketch's estimate, scaled as on the raw rows by the mean sampling weight.
        return "coalesce(k.sessions_ * (v.weight_sum_ / greatest(v.rows_, 1)), 0)"
    if m.kind == "share" and m.measure and m.stat:
        part = {
            "good_share": _of("good", m.measure),
            "needs_improvement_share": f"({_of('n', m.measure)} - {_of('good', m.measure)} "
            f"- {_of('poor', m.measure)})",
            "poor_share": _of("poor", m.measure),
        }[m.stat]
        return f"{part} / nullif({_of('n', m.measure)}, 0)"
    if m.kind == "stat" and m.measure and m.stat:
        if m.stat == "avg":
            return f"{_of('total', m.measure)} / nullif({_of('n', m.measure)}, 0)"
        if STATS[m.stat] is not None and settings.query_approximate_percentiles:
            return ""  # from the histograms (see plan)
    return None


def _of(stat: str, measure: str, fn: str = "sum") -> str:
    """A measure's statistic summed (or ``fn``) over the rows of the measures table."""
    return f"{fn}({stat}) FILTER (WHERE measure = '{measure}')"


def _day_up(t: dt.datetime) -> dt.datetime:
    floor = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + dt.timedelta(days=1)


def _same_keys(keys: list[str], left: str, right: str) -> str:
    """A join condition on the keys that matches NULL to NULL (a NULL country is a group)."""
    if not keys:
        return "true"
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in keys)


@dataclasses.dataclass(frozen=True)
class _Range:
    """A query's range cut for the rollups: whole days [d0, d1) from the daily tables, whole
    hours [h0, d0) and [d1, h1) from the hourly ones, the ragged ends [start, h0) and [h1, end)
    from the raw rows; and the query's filters as conditions on the rollups' dimensions."""

    app: str
    start: dt.datetime
    h0: dt.datetime
    d0: dt.datetime
    d1: dt.datetime
    h1: dt.datetime
    end: dt.datetime
    where: list[str]
    params: list[Any]

    def pieces(self, hourly: str, daily: str, raw: str) -> tuple[str, list[Any]]:
        """The hourly, daily and raw parts of the range, as one UNION of hourly-shaped rows
        (``raw`` a SELECT of the raw rows' contribution, formatted with its ``where``)."""
        w = " AND ".join(["app = ?", "((hour >= ? AND hour < ?) OR (hour >= ? AND hour < ?))"])
        ragged = "app = ? AND ((time >= ? AND time < ?) OR (time >= ? AND time < ?))"
        extra = "".join(f" AND {c}" for c in self.where)
        text = (
            f"SELECT * FROM {hourly} WHERE {w}{extra} UNION ALL BY NAME "
            f"SELECT * FROM {daily} WHERE app = ? AND hour >= ? AND hour < ?{extra} "
            f"UNION ALL BY NAME {raw.format(where=ragged + extra)}"
        )
        return text, [
            *(self.app, self.h0, self.d0, self.d1, self.h1, *self.params),
            *(self.app, self.d0, self.d1, *self.params),
            *(self.app, self.start, self.h0, self.h1, self.end, *self.params),
        ]


def _range(q: Query, settings: Settings, now: dt.datetime, dialect: Dialect) -> _Range | None:
    """``q``'s range cut for the rollups; None when it holds no whole hour or its interval is
    not whole hours."""
    if q.interval is not None and INTERVALS[q.interval] % 3600:
        return None
    start, end = time_range(q, now, settings.query_default_hours)
    h0, h1 = _up(start, dt.timedelta(hours=1)), end.replace(minute=0, second=0, microsecond=0)
    if h0 >= h1:
        return None
    # Whole days from the daily table (unless the interval is finer).
    d0, d1 = _day_up(h0), h1.replace(hour=0)
    if d0 >= d1 or (q.interval is not None and INTERVALS[q.interval] % 86400):
        d0 = d1 = h1
    where, params = _filters(q.filters, dialect.contains)
    return _Range(q.app, start, h0, d0, d1, h1, end, where, params)


def _rollup(q: Query, measures: tuple[str, ...]) -> Rollup | None:
    """The first (smallest) rollup keeping ``q``'s dimensions and filters and ``measures``."""
    used = {*q.dimensions, *(f[0] for f in q.filters)}
    return next(
        (r for r in ROLLUPS if used <= set(r.dims) and set(measures) <= set(r.digests)), None
    )


def histogram(
    q: Query, settings: Settings, now: dt.datetime, dialect: Dialect, measure: str
) -> tuple[str, list[Any]] | None:
    """SQL for ``measure``'s histogram over ``q``'s range and filters, from the rollups: rows of
    (bucket, weight), a bucket the log-spaced one of openrum/query/dialect.py; and its parameters.
    None when the rollups cannot answer (as ``plan``)."""
    if not (settings.query_rollups and settings.query_approximate_percentiles):
        return None
    q = with_user_type(q)
    rollup, cut = _rollup(q, (measure,)), _range(q, settings, now, dialect)
    if rollup is None or cut is None:
        return None
    hist, params = cut.pieces(
        f"{rollup.name}_1h_hist",
        f"{rollup.name}_1d_hist",
        histogram_sql(rollup, "{where}", (measure,)),
    )
    return f"SELECT bucket, sum(n) FROM ({hist}) WHERE measure = ? GROUP BY 1", [*params, measure]


def plan(
    q: Query, settings: Settings, now: dt.datetime, dialect: Dialect, sql: str, params: list[Any]
) -> tuple[str, list[Any]] | None:
    """The SQL and parameters answering ``q`` (validated by the compiler) with rollups, or None."""
    if not settings.query_rollups:
        return None
    q = with_user_type(q)
    metrics = [resolve_metric(name) for name in dict.fromkeys(q.metrics)]
    rolled = [m for m in metrics if m.source == "actions" and _merge(m, settings) is not None]
    pct = [m for m in rolled if _merge(m, settings) == ""]
    measures = tuple(dict.fromkeys(m.measure for m in pct if m.measure))
    stated = tuple(dict.fromkeys(m.measure for m in rolled if m.measure))  # shares, avg too
    rollup, cut = _rollup(q, stated), _range(q, settings, now, dialect)
    if rollup is None or cut is None or not rolled:
        return None
    distinct = [m for m in rolled if m.kind == "sessions"]
    rest = [m for m in metrics if m not in rolled]
    dims = list(dict.fromkeys(q.dimensions))
    keys = (["time"] if q.interval else []) + dims
    time_key = [f"{dialect.bucket('hour', INTERVALS[q.interval])} AS time"] if q.interval else []
    numbered = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    # Counts and sums (the counts rows and the measures' rows, side by side in one union), and
    # each percentile's measure's minimum and maximum.
    sums = [m for m in rolled if m not in pct and m not in distinct]
    sel = [*time_key, *dims, "sum(rows) AS rows_", "sum(weight_sum) AS weight_sum_"]
    sel += [f'{_merge(m, settings)} AS "{m.name}"' for m in sums]
    sel += [
        f"{_of('low', c, 'min')} AS {c}_lo, {_of('high', c, 'max')} AS {c}_hi" for c in measures
    ]
    union, out_params = cut.pieces(
        f"{rollup.name}_1h", f"{rollup.name}_1d", counts_sql(rollup, "{where}")
    )
    if stated:
        stats, stats_params = cut.pieces(
            f"{rollup.name}_1h_measures",
            f"{rollup.name}_1d_measures",
            measures_sql(rollup, "{where}", stated),
        )
        marks = ", ".join("?" * len(stated))
        union += f" UNION ALL BY NAME SELECT * FROM ({stats}) WHERE measure IN ({marks})"
        out_params += [*stats_params, *stated]
    # A group whose rows were all replaced away keeps a row of zeros: not a group.
    having = " HAVING sum(rows) <> 0" if keys else ""
    body = f"SELECT {', '.join(sel)} FROM ({union}){numbered}{having}"

    # Percentiles: the histogram rows merged per key, measure and bucket (a sum), then folded.
    if pct:
        marks = ", ".join("?" * len(measures))
        hist, hist_params = cut.pieces(
            f"{rollup.name}_1h_hist",
            f"{rollup.name}_1d_hist",
            histogram_sql(rollup, "{where}", measures),
        )
        hist = f"SELECT * FROM ({hist}) WHERE measure IN ({marks})"
        out_params += [*hist_params, *measures]
        sel = [*time_key, *dims, "measure", "bucket", "sum(n) AS n"]
        group = ", ".join(map(str, range(1, len(keys) + 3)))
        merged = f"SELECT {', '.join(sel)} FROM ({hist}) GROUP BY {group}"
        # Each key's and measure's histogram as a list of its buckets in order, with their
        # weights, and its total weight; each percentile folded from it as on the raw rows
        # (Dialect.quantile). Ranking the buckets by window functions instead (a running sum per
        # key and measure) took about twice as long: the sparklines by page hold ~300,000 buckets.
        lists = (
            f"SELECT {', '.join([*keys, 'measure'])}, "
            "list_sort(list({'key': bucket, 'value': n})) AS entries, sum(n) AS tot "
            f"FROM ({merged}) GROUP BY ALL"
        )
        sel = list(keys)
        for j, c in enumerate(measures):
            only = f"FILTER (WHERE measure = '{c}')"
            sel += [f"any_value(entries) {only} AS e{j}", f"any_value(tot) {only} AS t{j}"]
        values = []
        for p in pct:
            c, level = str(p.measure), STATS[p.stat or ""] or 0.0
            j = measures.index(c)
            value = bucket_quantile(f"h.e{j}", f"h.t{j}", level, f"v.{c}_lo", f"v.{c}_hi")
            values.append(f"{value} AS {quote(p.name)}")
        grouping = f" GROUP BY {', '.join(keys)}" if keys else ""
        hists = f"SELECT {', '.join(sel)} FROM ({lists}){grouping}"
        body = (
            f"SELECT v.*, {', '.join(values)} FROM ({body}) AS v "
            f"LEFT JOIN ({hists}) AS h ON {_same_keys(keys, 'v', 'h')}"
        )

    # Distinct sessions: the sketches' registers merged per key (a maximum), then estimated.
    if distinct:
        sketch, sketch_params = cut.pieces(
            f"{rollup.name}_1h_sketch", f"{rollup.name}_1d_sketch", sketch_sql(rollup, "{where}")
        )
        group = ", ".join(map(str, range(1, len(keys) + 2)))
        registers = ", ".join(
            [*time_key, *dims, f"packed // {RHO} AS reg", f"max(packed) % {RHO} AS rho"]
        )
        unnested = ", ".join(["hour", *dims, "unnest(regs) AS packed"])  # not the lists
        merged = f"SELECT {registers} FROM (SELECT {unnested} FROM ({sketch})) GROUP BY {group}"
        grouping = f" GROUP BY {', '.join(keys)}" if keys else ""
        estimates = f"SELECT {', '.join([*keys, hll_estimate() + ' AS sessions_'])} "
        estimates += f"FROM ({merged}){grouping}"
        values = [f"{_merge(m, settings)} AS {quote(m.name)}" for m in distinct]
        body = (
            f"SELECT v.*, {', '.join(values)} FROM ({body}) AS v "
            f"LEFT JOIN ({estimates}) AS k ON {_same_keys(keys, 'v', 'k')}"
        )
        out_params += sketch_params

    if rest:
        raw = compile_query(
            Query(
                app=q.app,
                metrics=[m.name for m in rest],
                dimensions=q.dimensions,
                filters=q.filters,
                start=q.start,
                end=q.end,
                interval=q.interval,
                order_by=keys or None,
                limit=settings.query_max_rows,
                user_type=q.user_type,
            ),
            settings,
            now,
            dialect,
        )
        both = [f"coalesce(s0.{k}, s1.{k}) AS {k}" for k in keys]
        names = [quote(m.name) for m in metrics]
        picked = [f"s0.{n}" for n in names if n in [quote(m.name) for m in rolled]]
        picked += [f"s1.{n}" for n in names if n in [quote(m.name) for m in rest]]
        body = (
            f"SELECT {', '.join(both + picked)} FROM ({body}) AS s0 FULL OUTER JOIN "
            f"({raw.sql}) AS s1 ON {_same_keys(keys, 's0', 's1')}"
        )
        out_params += raw.params
    columns = keys + [m.name for m in metrics]
    order = order_by(q, columns, metrics)
    text = (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM ({body}) AS r{order} LIMIT {q.limit}"
    )
    return text, out_params


if __name__ == "__main__":
    import sys

    sys.stdout.write(ddl())
