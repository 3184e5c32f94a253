"""User actions for the dashboard's User actions page (docs/api.md "Actions").

``GET /api/v1/actions?app=ID&from=ISO&to=ISO&filters=JSON&limit=N``: one row per action name and
type, most frequent first: count, affected sessions, duration median / p90 / p99, Apdex with its
rating, errors recorded on the actions and the share of actions with an error: one query of the
query API (``action_errors``, ``action_error_share`` among its metrics).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.collect.app import Collector
from openrum.query import rollup
from openrum.query.dialect import DIALECTS
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.scoring.apdex import rating
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.scope import Scope, iso, json_response, limit_of, request_scope


# The query API's metric → the column this endpoint names it.
_METRICS = {
    "count": "count",
    "sessions": "sessions",
    "duration:p50": "duration:p50",
    "duration:p90": "duration:p90",
    "duration:p99": "duration:p99",
    "apdex": "apdex",
    "action_errors": "errors",
    "action_error_share": "error_share",
}


def table(store: Store, scope: Scope, settings: Settings, limit: int = 100) -> list[dict[str, Any]]:
    """Actions by name and type in the scope, most frequent first (the query API's metrics:
    from rollups where they can answer)."""
    if store.engine != "duckdb":
        return _rolled(store, scope, settings, limit)
    query = Query(
        app=scope.app,
        metrics=list(_METRICS),
        dimensions=["action_name", "action_type"],
        filters=list(scope.filters),
        start=iso(scope.start),
        end=iso(scope.end),
        order_by=["-count", "action_name", "action_type"],
        limit=limit,
    )
    out = []
    for r in run_query(store, query, settings)["rows"]:
        row = {"action_name": r["action_name"], "action_type": r["action_type"]}
        row |= {name: r[metric] for metric, name in _METRICS.items()}
        row["apdex_rating"] = r["apdex_rating"]
        out.append(row)
    return out


def _rolled(store: Store, scope: Scope, settings: Settings, limit: int = 100) -> list[dict[str, Any]]:
    """The ClickHouse path: its rollups where they answer, else the raw rows."""
    d = DIALECTS[store.engine]
    approx = settings.query_approximate_percentiles
    order = f" ORDER BY n DESC, 1, 2 LIMIT {int(limit)}"
    needed = ["rows", "sessions", "duration_q", "apdex_s", "apdex_t", "apdex_n", "action_errors"]
    dims = ["action_name", "action_type"]
    found = scope.rolled(store.engine, "actions", dims, [*needed, "errored"]) if approx else None
    if found is not None:
        union, params = found
        levels = ", ".join(f"q[{rollup.LEVELS.index(q) + 1}]" for q in (0.5, 0.9, 0.99))
        sql = (
            f"SELECT action_name, action_type, n, s, {levels}, a, e, x FROM ("
            f"SELECT action_name, action_type, sum(rows) AS n, {rollup.SESSIONS} AS s, "
            f"{rollup.merge_digest('duration_q')} AS q, {rollup.APDEX} AS a, "
            f"sum(action_errors) AS e, sum(errored) AS x FROM ({union}) GROUP BY 1, 2){order}"
        )
    else:
        where, params = scope.where("actions", store.engine)
        satisfied, tolerating = d.count_if("apdex = 'S'"), d.count_if("apdex = 'T'")
        sql = (
            "SELECT action_name, action_type, count(*) AS n, count(DISTINCT session_id), "
            + ", ".join(d.quantile("duration", q, approx) for q in (0.5, 0.9, 0.99))
            + f", ({satisfied} + {tolerating} / 2.0) / nullif(count(apdex), 0), sum(errors), "
            + d.count_if("errors > 0")
            + f" FROM actions WHERE {where} GROUP BY 1, 2{order}"
        )
    _, rows = store.select(sql, params)
    out = []
    for r in rows:
        apdex = None if r[7] is None else float(r[7])
        out.append(
            {
                "action_name": r[0],
                "action_type": r[1],
                "count": int(r[2]),
                "sessions": int(r[3]),
                "duration:p50": None if r[4] is None else float(r[4]),
                "duration:p90": None if r[5] is None else float(r[5]),
                "duration:p99": None if r[6] is None else float(r[6]),
                "apdex": apdex,
                "apdex_rating": rating(apdex),
                "errors": int(r[8] or 0),
                "error_share": int(r[9]) / int(r[2]) if r[2] else 0.0,
            }
        )
    return out


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The actions endpoint, bound to one store."""

    async def list_actions(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "actions", now)
        rows = await run_in_threadpool(table, store, scope, settings, limit_of(request))
        return json_response({"actions": rows})

    return [Route("/api/v1/actions", list_actions, methods=["GET"])]
