"""SQL that differs between engines: one Dialect per engine, DuckDB's spelling by default."""

from __future__ import annotations


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


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect()}
