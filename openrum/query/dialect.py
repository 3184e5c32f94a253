"""SQL that differs between engines: one Dialect per engine, DuckDB's spelling by default."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrum.query.model import Source
    from openrum.store.base import Store


# Approximate percentiles on DuckDB come from a histogram over log-spaced buckets: bucket
# round(ln(x) · BUCKETS_PER_E), about 2 % wide, so a percentile is exact to ±1 % of its value.
# Values at or below LOWEST (zeros) share one bucket, read back as 0. A format, not a tunable:
# the rollups store these buckets (openrum/query/rollup_duckdb.py).
BUCKETS_PER_E = 50
LOWEST = 1e-6
LOWEST_BUCKET = round(math.log(LOWEST) * BUCKETS_PER_E)

# ClickHouse's weighted T-Digest takes whole-number weights: a row's sampling weight (1 / its
# session's sampling rate: 4.0 at 25 %, 3.33… at 30 %) in hundredths, off by at most 0.5 %.
# A format, not a tunable: the rollups keep these T-Digests (openrum/query/rollup.py).
DIGEST_WEIGHT = "toUInt64(round(weight * 100))"


def log_bucket(column: str) -> str:
    """The log-spaced bucket (SMALLINT) of a measure's value; NULL stays NULL."""
    value = (
        f"CASE WHEN {column} > {LOWEST} THEN {column} WHEN {column} IS NOT NULL THEN {LOWEST} END"
    )
    return f"CAST(round(ln({value}) * {BUCKETS_PER_E}) AS SMALLINT)"


def interpolated(lo: str, hi: str, h: str, low: str, high: str) -> str:
    """quantile_cont's value at rank ``h`` from the buckets holding ranks ⌊h⌋ and ⌊h⌋ + 1, each
    read back as its centre clamped to [``low``, ``high``] (the group's minimum and maximum: one
    value, or all equal, comes back exactly)."""

    def value(key: str) -> str:
        centre = (
            f"CASE WHEN {key} <= {LOWEST_BUCKET} THEN 0.0 ELSE exp({key} / {BUCKETS_PER_E}.0) END"
        )
        return f"greatest({low}, least({high}, {centre}))"

    return f"({value(lo)} + ({h} - floor({h})) * ({value(hi)} - {value(lo)}))"


def _at(entries: str, rank: str, key_type: str) -> str:
    """The key of the entry holding 0-based rank ``rank`` in ``entries``, a list of {key, value}
    sorted by key, each value the weight of its key (the number of values it stands for): a fold
    adding the weights to -rank until it turns positive (the last key past the end)."""
    start = f"{{'key': NULL::{key_type}, 'value': -({rank})}}"
    return (
        f"list_reduce(list_prepend({start}, {entries}), lambda a, x: CASE WHEN a.value > 0 "
        "THEN a ELSE {'key': x.key, 'value': a.value + x.value} END).key"
    )


def _let(value: str, name: str, body: str) -> str:
    """``body`` with ``name`` standing for ``value``, written once: DuckDB binds an expression
    each time it is written, and binding the histograms and folds of a percentile costs more
    than running them (a lambda over a one-item list)."""
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def bucket_quantile(entries: str, count: str, q: float, low: str, high: str) -> str:
    """The value at level ``q`` of a histogram, ``entries`` a sorted list of {key: bucket,
    value: weight} (a bucket may come several times), of values of total weight ``count`` lying
    in [``low``, ``high``] (see ``interpolated``), h = (count - 1) · q: the percentile of the
    values each repeated as many times as its weight."""
    h = f"({q!r} * (_q.n - 1))"
    lo, hi = _at("_q.e", f"floor({h})", "SMALLINT"), _at("_q.e", f"floor({h}) + 1", "SMALLINT")
    at_ranks = _let(f"{{'lo': {lo}, 'hi': {hi}}}", "_k",
                    interpolated("_k.lo", "_k.hi", h, "_q.low", "_q.high"))  # fmt: skip
    return _let(f"{{'e': {entries}, 'n': {count}, 'low': {low}, 'high': {high}}}", "_q", at_ranks)


def weighted_quantile(column: str, q: float, weight: str) -> str:
    """The exact percentile at level ``q`` of ``column``, each value counted ``weight`` times
    (a sampled session's rows stand for 1 / its sampling rate of the traffic): quantile_cont's
    interpolation (R-7) over that population, from the values sorted with their weights."""
    known = f"({column}) IS NOT NULL"
    pair = f"{{'key': ({column})::DOUBLE, 'value': {weight}::DOUBLE}}"
    pairs = f"list_sort(list({pair}) FILTER (WHERE {known}))"
    h = f"({q!r} * (_q.n - 1))"
    lo, hi = _at("_q.e", f"floor({h})", "DOUBLE"), _at("_q.e", f"floor({h}) + 1", "DOUBLE")
    at_ranks = _let(f"{{'lo': {lo}, 'hi': {hi}}}", "_k",
                    f"(_k.lo + ({h} - floor({h})) * (_k.hi - _k.lo))")  # fmt: skip
    return _let(f"{{'e': {pairs}, 'n': sum({weight}) FILTER (WHERE {known})}}", "_q", at_ranks)


class Dialect:
    """DuckDB's SQL for the pieces the query compiler needs."""

    name = "duckdb"

    def count_if(self, cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    def weighted(self, cond: str | None = None, value: str = "weight") -> str:
        """The sum of ``value`` (the rows' sampling weights) where ``cond`` holds: a count of the
        full traffic estimated from the sampled rows; 0 without rows."""
        where = f" FILTER (WHERE {cond})" if cond else ""
        return f"coalesce(sum({value}){where}, 0)"

    def quantile(self, column: str, q: float, approximate: bool = True) -> str:
        """The percentile at level ``q`` of ``column``, each row counted its sampling weight:
        of the full traffic, not of the sampled sessions (where the sampling rate changes
        within a range, their kept values are not a fair sample of it)."""
        # A histogram over log-spaced buckets (bounded memory per group, one pass, several
        # levels of one measure share it) keyed by bucket and weight, whose counts times their
        # weights are the buckets' weights; the exact percentile keeps every value.
        if not approximate:
            return weighted_quantile(column, q, "weight")
        known = f"({column}) IS NOT NULL"
        hist = (
            f"histogram({{'key': {log_bucket(column)}, 'value': weight::DOUBLE}}) "
            f"FILTER (WHERE {known})"
        )
        weights = (
            f"list_sort(list_transform(map_entries({hist}), "
            "lambda x: {'key': x.key.key, 'value': x.key.value * x.value}))"
        )
        return bucket_quantile(
            weights, f"sum(weight) FILTER (WHERE {known})", q, f"min({column})", f"max({column})"
        )

    def sessions(self, source: Source, approximate: bool) -> str:
        """The number of distinct sessions among the rows of ``source``."""
        # HyperLogLog: a few per cent off, in constant memory, over the number each action and
        # error carries for its session (a number hashes faster than a text); an exact count
        # keeps every id.
        if not approximate:
            return "count(DISTINCT session_id)"
        key = "session_key" if source in ("actions", "errors") else "session_id"
        return f"approx_count_distinct({key})"

    def actions_in(self, store: Store, app: str, start: dt.datetime, end: dt.datetime) -> int:
        """About how many actions the range holds (its hours', from the rollups)."""
        _, rows = store.select(
            "SELECT coalesce(sum(rows), 0) FROM actions_1h WHERE app = ? "
            "AND hour >= date_trunc('hour', ?::TIMESTAMP) AND hour < ?",
            [app, start, end],
        )
        return int(rows[0][0])

    def sampled(self, store: Store, app: str, start: dt.datetime, end: dt.datetime) -> float:
        """The share of the range's actions (its hours', from the hourly rollup) that sampling
        kept: rows / their weights; 1.0 without actions."""
        hour = "date_trunc('hour', ?::TIMESTAMP)" if self.name == "duckdb" else "toStartOfHour(?)"
        _, rows = store.select(
            f"SELECT sum(rows), sum(weight_sum) FROM actions_1h WHERE app = ? AND hour >= {hour} "
            # Sums need no merged rows: ClickHouse reads without FINAL (the transport's default).
            f"AND hour < ?{' SETTINGS final = 0' if self.name == 'clickhouse' else ''}",
            [app, start, end],
        )
        kept, weight = rows[0] if rows else (None, None)
        return float(kept) / float(weight) if kept and weight else 1.0

    def bucket(self, column: str, seconds: int) -> str:
        return f"time_bucket(INTERVAL '{seconds} seconds', {column})"

    def contains(self, column: str) -> str:
        return f"contains({column}, ?)"

    def in_list(self, column: str, n: int) -> str:
        return f"{column} IN ({', '.join('?' * n)})"

    def source(
        self, source: Source, app: str, start: dt.datetime, end: dt.datetime, closed: bool = False
    ) -> tuple[str, list[Any]]:
        """What a query reads ``source`` from (a table, a view or a subquery with its columns)
        for ``app``'s rows placed in [start, end), and its parameters: a superset of those
        rows; the caller's WHERE keeps them. ``closed``: it reads completed sessions only."""
        return source, []


class ClickHouseDialect(Dialect):
    """ClickHouse's SQL; queries that rollups can answer run on them (openrum/query/rollup.py)."""

    name = "clickhouse"

    def count_if(self, cond: str) -> str:
        return f"countIf({cond})"

    def weighted(self, cond: str | None = None, value: str = "weight") -> str:
        return f"sumIf({value}, {cond})" if cond else f"sum({value})"

    def quantile(self, column: str, q: float, approximate: bool = True) -> str:
        # The T-Digest is the same sketch the rollups keep, with the same whole-number weights.
        if approximate:
            return f"quantileTDigestWeighted({q})({column}, {DIGEST_WEIGHT})"
        # Exact: DuckDB's (``weighted_quantile``), on the values sorted with their weights and
        # the running sums of the weights (quantileExactWeighted takes whole-number weights,
        # which would change the interpolation between ranks).
        known = f"({column}) IS NOT NULL"
        pairs = (
            f"arraySort(groupArrayIf((toFloat64(assumeNotNull({column})), toFloat64(weight)), "
            f"{known}))"
        )
        running = f"arrayCumSum(arrayMap(p -> p.2, {pairs}))"
        h = f"({q!r} * (sumIf(weight, {known}) - 1))"

        def at(rank: str) -> str:  # the value holding a rank (the last one past the end)
            i = f"arrayFirstIndex(c -> c > {rank}, {running})"
            return f"arrayElement({pairs}, if({i} = 0, length({pairs}), {i})).1"

        lo, hi = at(f"floor({h})"), at(f"floor({h}) + 1")
        return f"if(empty({pairs}), NULL, {lo} + ({h} - floor({h})) * ({hi} - {lo}))"

    def bucket(self, column: str, seconds: int) -> str:
        # Always DateTime64 (a DateTime reaches Arrow as a bare number).
        return (
            f"toDateTime64(toStartOfInterval({column}, INTERVAL {int(seconds)} SECOND), 3, 'UTC')"
        )

    def contains(self, column: str) -> str:
        return f"position({column}, ?) > 0"

    def sessions(self, source: Source, approximate: bool) -> str:
        return "count(DISTINCT session_id)"  # the rollups keep uniqCombined64 states instead

    def actions_in(self, store: Store, app: str, start: dt.datetime, end: dt.datetime) -> int:
        return 0  # distinct counts are exact on the raw rows

    def source(
        self, source: Source, app: str, start: dt.datetime, end: dt.datetime, closed: bool = False
    ) -> tuple[str, list[Any]]:
        if source != "sessions":
            return source, []
        range_ = [app, start, end]
        if closed:
            return CLOSED_IN, range_
        return SESSIONS_IN, [*range_, *open_params(app, start, end)]


# ClickHouse's `sessions` view (store/sql/clickhouse/003_sessions.sql) merges every session of
# every application before a WHERE on `app` and `start` can apply: these are its sessions that
# can start in a range only, with the columns queries read. A closed session is its close, kept
# by start in `session_starts` (018_closed_sessions.sql); an open one (no close yet) is in
# `session_open` with the start of each of its touches, the least of which is its start, and its
# state rows are merged. The caller's WHERE keeps the sessions that do start in the range.
_DIMS = ("browser", "browser_version", "os", "os_version", "device", "user_type", "country",
         "region", "city", "connection", "release")  # fmt: skip
_CLOSED = (
    "SELECT app, session_id, start, last_seen, entry_page, exit_page, weight, user_tag, "
    f"{', '.join(_DIMS)}, "
    "true AS closed, end_reason, duration, actions, errors, rage_clicks, bounce, ux_score "
    "FROM session_starts WHERE app = ? AND start >= ? AND start < ?"
)
_OPENING = (
    "SELECT session_id FROM session_open WHERE app = ? AND start >= ? AND start < ? "
    "SETTINGS final = 0"
)
_OPEN = f"""SELECT l.app AS app, l.session_id AS session_id, l.start AS start,
       l.last_seen AS last_seen, l.entry_page AS entry_page, l.exit_page AS exit_page,
       l.weight AS weight, l.user_tag AS user_tag, {", ".join(f"l.d.{d} AS {d}" for d in _DIMS)},
       false AS closed, CAST(NULL AS Nullable(String)) AS end_reason,
       CAST(NULL AS Nullable(Float64)) AS duration, CAST(NULL AS Nullable(Int64)) AS actions,
       CAST(NULL AS Nullable(Int64)) AS errors, CAST(NULL AS Nullable(Int64)) AS rage_clicks,
       CAST(NULL AS Nullable(Bool)) AS bounce, CAST(NULL AS Nullable(String)) AS ux_score
FROM (SELECT s.app AS app, s.session_id AS session_id,
             min(s.start) AS start, max(s.last_seen) AS last_seen,
             argMinMerge(s.entry_page) AS entry_page, argMaxMerge(s.exit_page) AS exit_page,
             argMinMerge(s.weight) AS weight, argMaxMerge(s.user_tag) AS user_tag,
             argMinMerge(s.dims) AS d
      FROM session_state AS s
      WHERE s.app = ? AND s.session_id IN ({_OPENING})
      GROUP BY s.app, s.session_id SETTINGS final = 0) AS l
WHERE l.session_id NOT IN
    (SELECT session_id FROM session_closes WHERE app = ? AND session_id IN ({_OPENING})
     SETTINGS final = 0)"""
# Every session that can start in a range; the completed ones only; the open ones only.
SESSIONS_IN = f"({_CLOSED} UNION ALL {_OPEN}) AS sessions"
CLOSED_IN = f"({_CLOSED}) AS sessions"
OPEN_IN = f"({_OPEN}) AS sessions"


def open_params(app: str, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """The parameters of ``OPEN_IN``."""
    return [app, app, start, end, app, app, start, end]


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect(), "clickhouse": ClickHouseDialect()}
