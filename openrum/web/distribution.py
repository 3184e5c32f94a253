"""Distributions of a measure for the dashboard's histograms (docs/api.md "Distribution").

``GET /api/v1/distribution?app=ID&measure=lcp&from=…&to=…&filters=JSON&buckets=40``: a histogram
of one measure of the actions table in equal buckets from 0 to its p99 (rounded up to a round
width; values above land in the last bucket), with the count and the usual percentiles. Averages
hide the long tail that users feel; a histogram shows it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.collect.app import Collector
from openrum.query import rollup, rollup_duckdb
from openrum.query.dialect import BUCKETS_PER_E, DIALECTS, LOWEST_BUCKET
from openrum.query.model import MEASURES, Query
from openrum.query.sql import iso, run_query
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError
from openrum.web.scope import Scope, json_response, request_scope

QUANTILES = (("p50", 0.5), ("p75", 0.75), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))


def nice_width(top: float, buckets: int) -> float:
    """A round bucket width (1, 2 or 5 × 10^k) so that ``buckets`` buckets cover [0, top]."""
    raw = max(top, 1e-9) / buckets
    power = float(10 ** math.floor(math.log10(raw)))
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * power:
            return step * power
    return 10 * power


def histogram(
    store: Store,
    scope: Scope,
    measure: str,
    buckets: int,
    settings: Settings | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> dict[str, Any]:
    """The histogram of ``measure`` in the scope (see the module docstring). Its percentiles
    are the query API's; both from rollups where they can answer (approximate percentiles on:
    on DuckDB, the counts are then spread from its log-spaced buckets, see ``_spread``)."""
    settings = settings or Settings()
    at = now() if now else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if store.engine != "duckdb":
        return _rolled(store, scope, measure, buckets, settings.query_approximate_percentiles)
    query = Query(
        app=scope.app,
        metrics=[f"{measure}:{name}" for name, _ in QUANTILES],
        filters=list(scope.filters),
        start=iso(scope.start),
        end=iso(scope.end),
        user_type="all",  # the scope's filters say whose traffic
    )
    [row] = run_query(store, query, settings, at)["rows"]
    stats = {name: row[f"{measure}:{name}"] for name, _ in QUANTILES}
    out: dict[str, Any] = {"measure": measure, "count": 0, **stats, "width": None, "buckets": []}
    if stats["p99"] is None:  # no values
        return out
    width = nice_width(stats["p99"] or 0.0, buckets)
    rolled = rollup_duckdb.histogram(query, settings, at, DIALECTS[store.engine], measure)
    if rolled is not None:
        counts = _spread(store.select(*rolled)[1], width, buckets)
    else:
        where, params = scope.where("actions", store.engine)
        counts = _raw_counts(
            store, measure, width, buckets, f"{where} AND {measure} IS NOT NULL", params
        )
    out["count"] = sum(counts.values())
    return _with_buckets(out, counts, width, buckets)


def _spread(rows: list[tuple[Any, ...]], width: float, buckets: int) -> dict[int, int]:
    """Values per bucket from the weights of DuckDB's log-spaced rollup buckets (about 2 %
    wide; openrum/query/dialect.py): each weight spread over the buckets its range overlaps in
    proportion, as if its values were even over it; rounded so that they add up to the total.
    A bucket's count is then off by at most the values within a log bucket of its edges."""
    sums: dict[int, float] = {}
    for b, n in rows:
        zero = b <= LOWEST_BUCKET
        lo, hi = (0.0 if zero else math.exp((b + d) / BUCKETS_PER_E) for d in (-0.5, 0.5))
        first, last = (min(int(v // width), buckets - 1) for v in (lo, hi))
        for i in range(first, last + 1):
            top = hi if i == last else (i + 1) * width
            share = 1.0 if first == last else (top - max(lo, i * width)) / (hi - lo)
            sums[i] = sums.get(i, 0.0) + n * share
    whole = {i: math.floor(max(v, 0.0)) for i, v in sums.items()}
    short = round(sum(sums.values())) - sum(whole.values())
    for i in sorted(sums, key=lambda i: whole[i] - sums[i])[: max(short, 0)]:
        whole[i] += 1  # the largest remainders
    return whole


def _raw_counts(
    store: Store, measure: str, width: float, buckets: int, where: str, params: list[Any]
) -> dict[int, int]:
    """Values per bucket, from the raw rows."""
    _, rows = store.select(
        f"SELECT least(floor(greatest({measure}, 0) / {width!r}), {buckets - 1}) AS b, sum(weight) "
        f"FROM actions WHERE {where} GROUP BY 1 ORDER BY 1",
        params,
    )
    return {int(b): round(n) for b, n in rows}


def _with_buckets(
    out: dict[str, Any], counts: dict[int, int], width: float, buckets: int
) -> dict[str, Any]:
    out["width"] = width
    out["buckets"] = [
        {
            "from": i * width,
            "to": (i + 1) * width if i < buckets - 1 else None,
            "count": counts.get(i, 0),
        }
        for i in range(buckets)
    ]
    return out


def _rolled(
    store: Store, scope: Scope, measure: str, buckets: int, approximate: bool = True
) -> dict[str, Any]:
    """The ClickHouse path: its rollups where they answer, else the raw rows."""
    d = DIALECTS[store.engine]
    where, params = scope.where("actions", store.engine)
    where += f" AND {measure} IS NOT NULL"
    needed = [f"{measure}_n", f"{measure}_q", f"{measure}_bins"]
    rolled = scope.rolled(store.engine, "actions", [], needed) if approximate else None
    if rolled is not None:
        union, rolled_params = rolled
        _, rows = store.select(
            f"SELECT sum({measure}_n), {rollup.merge_digest(measure + '_q')} FROM ({union})",
            rolled_params,
        )
        digest = rows[0][1] if rows and rows[0][1] else [None] * len(QUANTILES)
        values = [rows[0][0], *(digest[rollup.LEVELS.index(q)] for _, q in QUANTILES)]
    else:
        _, rows = store.select(
            "SELECT sum(weight), "
            + ", ".join(d.quantile(measure, q, approximate) for _, q in QUANTILES)
            + f" FROM actions WHERE {where}",
            params,
        )
        values = list(rows[0]) if rows else [0, *([None] * len(QUANTILES))]
    count = round(values[0] or 0)
    stats = {
        name: (None if v is None or not count else float(v))
        for (name, _), v in zip(QUANTILES, values[1:], strict=True)
    }
    out: dict[str, Any] = {
        "measure": measure,
        "count": count,
        **stats,
        "width": None,
        "buckets": [],
    }
    if not count:
        return out
    width = nice_width(stats["p99"] or 0.0, buckets)
    per_bucket = round(width / rollup.BIN_MS)
    if (
        rolled is not None
        and math.isclose(per_bucket * rollup.BIN_MS, width)
        and (buckets - 1) * width <= rollup.BIN_MS * rollup.BINS
    ):  # whole bins per bucket, the last bucket holding the last bin: summed from the rollup
        _, rows = store.select(f"SELECT sumMap({measure}_bins) FROM ({rolled[0]})", rolled[1])
        sums: dict[int, float] = {}
        for b, n in rows[0][0] or []:  # the map's (bin, weight) pairs: the full traffic's counts
            i = min(int(b) // per_bucket, buckets - 1)
            sums[i] = sums.get(i, 0.0) + n
        counts = {i: round(n) for i, n in sums.items()}
    else:
        counts = _raw_counts(store, measure, width, buckets, where, params)
    return _with_buckets(out, counts, width, buckets)


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The distribution endpoint, bound to one store."""

    async def distribution(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "actions", now)
        measure = request.query_params.get("measure", "duration")
        if measure not in MEASURES:
            raise ApiError(f"unknown measure {measure!r}; valid: {', '.join(MEASURES)}")
        try:
            buckets = int(request.query_params.get("buckets", "40"))
        except ValueError:
            raise ApiError("buckets must be a number") from None
        if not 2 <= buckets <= 200:
            raise ApiError("buckets must be between 2 and 200")
        return json_response(
            await run_in_threadpool(histogram, store, scope, measure, buckets, settings, now)
        )

    return [Route("/api/v1/distribution", distribution, methods=["GET"])]
