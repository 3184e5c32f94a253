"""User actions for the dashboard's User actions page (docs/api.md "Actions").

``GET /api/v1/actions?app=ID&from=ISO&to=ISO&filters=JSON&user_type=real&limit=N``: one row
per action name and type, most frequent first: count, affected sessions, duration median /
p90 / p99, Apdex with its rating, errors recorded on the actions and the share of actions with
an error: one query of the query API (``action_errors``, ``action_error_share`` among its
metrics).
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
from openrum.query.model import Query
from openrum.query.sql import iso, run_query
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.scope import Scope, json_response, limit_of, request_scope

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
    from rollups where they can answer, on either engine)."""
    query = Query(
        app=scope.app,
        metrics=list(_METRICS),
        dimensions=["action_name", "action_type"],
        filters=list(scope.filters),
        start=iso(scope.start),
        end=iso(scope.end),
        order_by=["-count", "action_name", "action_type"],
        limit=limit,
        user_type="all",  # the scope's filters say whose traffic
    )
    out = []
    for r in run_query(store, query, settings)["rows"]:
        row = {"action_name": r["action_name"], "action_type": r["action_type"]}
        row |= {name: r[metric] for metric, name in _METRICS.items()}
        row["apdex_rating"] = r["apdex_rating"]
        out.append(row)
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
