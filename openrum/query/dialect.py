"""SQL that differs between engines: one Dialect per engine, DuckDB's spelling by default."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrum.query.model import Query
    from openrum.settings import Settings
    from openrum.store.base import Store


# Approximate percentiles on DuckDB come from a histogram over log-spaced buckets: bucket
# round(ln(x) · BUCKETS_PER_E), about 2 % wide, so a percentile is exact to ±1 % of its value.
# Values at or below LOWEST (zeros) share one bucket, read back as 0. A format, not a tunable:
# the rollups store these buckets (openrum/query/rollup_duckdb.py).
BUCKETS_PER_E = 50
LOWEST = 1e-6
LOWEST_BUCKET = round(math.log(LOWEST) * BUCKETS_PER_E)


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


def bucket_quantile(histogram: str, count: str, q: float, low: str, high: str) -> str:
    """The value at level ``q`` of a histogram ``MAP(bucket, count)`` of ``count`` values lying
    in [``low``, ``high``] (see ``interpolated``), h = (count - 1) · q. A bucket's rank is found
    by a fold over the sorted buckets adding their counts to -rank until it turns positive."""
    entries = (
        f"list_transform(list_sort(map_entries({histogram})), "
        "lambda x: {'key': x.key, 'value': x.value::DOUBLE})"
    )
    h = f"({q!r} * ({count} - 1))"

    def at(rank: str) -> str:
        start = f"{{'key': NULL::SMALLINT, 'value': -({rank})}}"
        return (
            f"list_reduce(list_prepend({start}, {entries}), lambda a, x: CASE WHEN a.value > 0 "
            "THEN a ELSE {'key': x.key, 'value': a.value + x.value} END).key"
        )

    return interpolated(at(f"floor({h})"), at(f"floor({h}) + 1"), h, low, high)


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
        # A histogram over log-spaced buckets (bounded memory per group, one pass, several
        # levels of one measure share it); quantile_cont keeps every value.
        if not approximate:
            return f"quantile_cont({column}, {q})"
        hist = f"histogram({log_bucket(column)})"
        return bucket_quantile(hist, f"count({column})", q, f"min({column})", f"max({column})")

    def distinct(self, column: str, approximate: bool) -> str:
        # HyperLogLog: a few per cent off, in constant memory; an exact count keeps every value.
        return f"approx_count_distinct({column})" if approximate else f"count(DISTINCT {column})"

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

    def plan(
        self, q: Query, settings: Settings, now: dt.datetime, sql: str, params: list[Any]
    ) -> tuple[str, list[Any]]:
        """The SQL to run for a compiled query: the engine may answer it another way (from
        rollups) with the same columns and rows."""
        from openrum.query import rollup_duckdb

        return rollup_duckdb.plan(q, settings, now, self, sql, params) or (sql, params)


class ClickHouseDialect(Dialect):
    """ClickHouse's SQL; queries that rollups can answer run on them (openrum/query/rollup.py)."""

    name = "clickhouse"

    def count_if(self, cond: str) -> str:
        return f"countIf({cond})"

    def weighted(self, cond: str | None = None, value: str = "weight") -> str:
        return f"sumIf({value}, {cond})" if cond else f"sum({value})"

    def quantile(self, column: str, q: float, approximate: bool = True) -> str:
        # quantileExactInclusive interpolates like DuckDB's quantile_cont; the T-Digest is
        # the same sketch the rollups keep.
        fn = "quantileTDigest" if approximate else "quantileExactInclusive"
        return f"{fn}({q})({column})"

    def bucket(self, column: str, seconds: int) -> str:
        # Always DateTime64 (a DateTime reaches Arrow as a bare number).
        return (
            f"toDateTime64(toStartOfInterval({column}, INTERVAL {int(seconds)} SECOND), 3, 'UTC')"
        )

    def contains(self, column: str) -> str:
        return f"position({column}, ?) > 0"

    def distinct(self, column: str, approximate: bool) -> str:
        return f"count(DISTINCT {column})"  # the rollups keep uniqCombined64 states instead

    def actions_in(self, store: Store, app: str, start: dt.datetime, end: dt.datetime) -> int:
        return 0  # distinct counts are exact on the raw rows

    def plan(
        self, q: Query, settings: Settings, now: dt.datetime, sql: str, params: list[Any]
    ) -> tuple[str, list[Any]]:
        from openrum.query import rollup

        return rollup.plan(q, settings, now, self.bucket, sql, params) or (sql, params)


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect(), "clickhouse": ClickHouseDialect()}
