"""SQL that differs between engines: one Dialect per engine, DuckDB's spelling by default."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrum.query.model import Query
    from openrum.settings import Settings


class Dialect:
    """DuckDB's SQL for the pieces the query compiler needs."""

    name = "duckdb"

    def count_if(self, cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    def quantile(self, column: str, q: float, approximate: bool = True) -> str:
        # approx_quantile is a T-Digest: constant memory per group, so percentiles over tens of
        # millions of rows fit in the store's memory bound; quantile_cont keeps every value.
        return f"approx_quantile({column}, {q})" if approximate else f"quantile_cont({column}, {q})"

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
        return sql, params


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

    def plan(
        self, q: Query, settings: Settings, now: dt.datetime, sql: str, params: list[Any]
    ) -> tuple[str, list[Any]]:
        from openrum.query import rollup

        return rollup.plan(q, settings, now, self.bucket, sql, params) or (sql, params)


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect(), "clickhouse": ClickHouseDialect()}
