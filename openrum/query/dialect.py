"""SQL that differs between engines: one Dialect per engine, DuckDB's spelling by default."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrum.query.model import Query
    from openrum.settings import Settings


# Approximate percentiles on DuckDB come from a histogram over log-spaced buckets: bucket
# round(ln(x) · BUCKETS_PER_E), about 2 % wide, so a percentile is exact to ±1 % of its value.
# Values at or below LOWEST (zeros) share one bucket, read back as 0. A format, not a tunable:
# the rollups store these buckets (openrum/query/rollup.py).
BUCKETS_PER_E = 50
LOWEST = 1e-6
LOWEST_BUCKET = round(math.log(LOWEST) * BUCKETS_PER_E)


def log_bucket(column: str) -> str:
    """The log-spaced bucket (SMALLINT) of a measure's value; NULL stays NULL."""
    return f"CAST(round(ln(greatest({column}, {LOWEST})) * {BUCKETS_PER_E}) AS SMALLINT)"


def bucket_quantile(histogram: str, count: str, q: float) -> str:
    """The value at level ``q`` of a histogram ``MAP(bucket, count)`` of ``count`` values: the
    bucket holding the value of rank (count - 1) · q (quantile_cont's rank), read back as its
    centre. The cumulative count is a fold over the sorted buckets, started at -rank."""
    entries = (
        f"list_transform(list_sort(map_entries({histogram})), "
        "lambda x: {'key': x.key, 'value': x.value::DOUBLE})"
    )
    start = f"{{'key': NULL::SMALLINT, 'value': -{q!r} * ({count} - 1)}}"
    key = (
        f"list_reduce(list_prepend({start}, {entries}), lambda a, x: CASE WHEN a.value > 0 "
        "THEN a ELSE {'key': x.key, 'value': a.value + x.value} END).key"
    )
    return f"(CASE WHEN {key} <= {LOWEST_BUCKET} THEN 0.0 ELSE exp({key} / {BUCKETS_PER_E}.0) END)"


class Dialect:
    """DuckDB's SQL for the pieces the query compiler needs."""

    name = "duckdb"

    def count_if(self, cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    def quantile(self, column: str, q: float, approximate: bool = True) -> str:
        # A histogram over log-spaced buckets (bounded memory per group, one pass, several
        # levels of one measure share it); quantile_cont keeps every value.
        if not approximate:
            return f"quantile_cont({column}, {q})"
        return bucket_quantile(f"histogram({log_bucket(column)})", f"count({column})", q)

    def distinct(self, column: str, approximate: bool) -> str:
        # HyperLogLog: a few per cent off, in constant memory; an exact count keeps every value.
        return f"approx_count_distinct({column})" if approximate else f"count(DISTINCT {column})"

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

    def plan(
        self, q: Query, settings: Settings, now: dt.datetime, sql: str, params: list[Any]
    ) -> tuple[str, list[Any]]:
        from openrum.query import rollup

        return rollup.plan(q, settings, now, self.bucket, sql, params) or (sql, params)


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect(), "clickhouse": ClickHouseDialect()}
