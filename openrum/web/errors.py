"""Error groups for the dashboard's Errors page (docs/api.md "Errors").

The query API counts errors over any dimension; what it cannot say is what a group *is*: its
latest message and stack, the browsers and releases it hit, when it was first and last seen.

- ``GET /api/v1/errors?app=ID&from=ISO&to=ISO&filters=JSON&user_type=real&limit=N``: groups by
  fingerprint, most frequent first.
- ``GET /api/v1/errors/{fingerprint}?app=…&from=…&to=…&filters=…``: one group in detail:
  breakdowns by browser, release, page and OS, counts over time, and the latest samples.
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
from openrum.enrich.errors import error_message
from openrum.enrich.symbolicate import Symbolicator
from openrum.query import rollup
from openrum.query.dialect import DIALECTS
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError
from openrum.web.scope import Scope, interval_for, iso, json_response, limit_of, request_scope
from openrum.web.traces import add_trace_link

# Errors and affected sessions are estimates of the full traffic: each error counts its session's
# sampling weight; distinct sessions are scaled by the mean weight.
_SESSIONS = "count(DISTINCT session_id) * (sum(weight) / greatest(count(*), 1))"
# The two aggregates the engines spell differently.
_LATEST = {"duckdb": "arg_max({0}, time)", "clickhouse": "argMax({0}, time)"}
_DISTINCT = {"duckdb": "list(DISTINCT {0})", "clickhouse": "groupUniqArray({0})"}
# What an error group shows, from the rollup by fingerprint (openrum/query/rollup.py).
_GROUP = ["latest", "errors", "sessions", "rows", "weight_sum", "first", "last", "releases"]
_DAILY_GROUPS = next(r.daily for r in rollup.ROLLUPS if r.groups)
_SAMPLE_COLUMNS = (
    "time", "error_type", "error_name", "message", "stack", "source", "line", "col", "status",
    "url", "page", "browser", "browser_version", "os", "device", "country", "release",
    "session_id", "trace_id",
)  # fmt: skip


def groups(store: Store, scope: Scope, limit: int = 100) -> list[dict[str, Any]]:
    """Error groups by fingerprint in the scope, most frequent first: latest type, name, message,
    stack and page; errors and affected sessions; first seen (over everything stored) and last
    seen; releases; the top five browsers."""
    latest, distinct = _LATEST[store.engine], _DISTINCT[store.engine]
    where, params = scope.where("errors", store.engine)
    order = f" ORDER BY n DESC, fingerprint LIMIT {int(limit)}"
    rolled = scope.rolled(store.engine, "errors", ["fingerprint"], _GROUP)
    if rolled is not None:
        union, rolled_params = rolled
        _, rows = store.select(
            "SELECT fingerprint, l.1, l.2, l.3, l.4, l.5, n, s, f, t, r FROM (SELECT fingerprint, "
            f"argMaxMerge(latest) AS l, sum(errors) AS n, {rollup.SESSIONS} AS s, "
            "min(first) AS f, max(last) AS t, groupUniqArrayMerge(releases) AS r "
            f"FROM ({union}) GROUP BY fingerprint){order}",
            rolled_params,
        )
    else:
        _, rows = store.select(
            "SELECT fingerprint, "
            + ", ".join(
                latest.format(c) for c in ("error_type", "error_name", "message", "stack", "page")
            )
            + f", sum(count * weight) AS n, {_SESSIONS}, min(time), max(time), "
            + f"{distinct.format('release')} "
            + f"FROM errors WHERE {where} GROUP BY fingerprint{order}",
            params,
        )
    out = [
        {
            "fingerprint": r[0],
            "error_type": r[1],
            "error_name": r[2],
            "message": error_message(r[2], r[3]),
            "stack": r[4],
            "page": r[5],
            "errors": round(r[6]),
            "sessions": round(r[7]),
            "first_seen": iso(r[8]),
            "last_seen": iso(r[9]),
            "releases": sorted(x for x in r[10] if x is not None),
            "browsers": [],
        }
        for r in rows
    ]
    if not out:
        return out
    fps = [g["fingerprint"] for g in out]
    marks = ", ".join("?" * len(fps))
    # First seen over everything stored: on ClickHouse, every day's earliest in the daily rollup.
    table, column = (_DAILY_GROUPS, "first") if rolled is not None else ("errors", "time")
    _, firsts = store.select(
        f"SELECT fingerprint, min({column}) FROM {table} WHERE app = ? "
        f"AND fingerprint IN ({marks}) GROUP BY fingerprint",
        [scope.app, *fps],
    )
    first = {fp: iso(t) for fp, t in firsts}
    narrowed = scope.narrowed("fingerprint", fps, "in")
    by_browser = narrowed.rolled(store.engine, "errors", ["fingerprint", "browser"], ["errors"])
    if by_browser is not None:
        sql = f"SELECT fingerprint, browser, sum(errors) AS n FROM ({by_browser[0]})"
        browser_params = by_browser[1]
    else:
        sql = f"SELECT fingerprint, browser, sum(count * weight) AS n FROM errors WHERE {where} "
        sql += f"AND fingerprint IN ({marks})"
        browser_params = [*params, *fps]
    _, browsers = store.select(f"{sql} GROUP BY 1, 2 ORDER BY 1, n DESC, 2", browser_params)
    by_fp: dict[str, list[dict[str, Any]]] = {}
    for fp, browser, n in browsers:
        by_fp.setdefault(fp, []).append({"browser": browser, "errors": round(n)})
    for g in out:
        g["first_seen"] = first.get(g["fingerprint"], g["first_seen"])
        g["browsers"] = by_fp.get(g["fingerprint"], [])[:5]
    return out


def detail(
    store: Store,
    scope: Scope,
    fingerprint: str,
    symbolicator: Symbolicator | None = None,
    trace_url: str = "",
) -> dict[str, Any] | None:
    """One error group: its summary, breakdowns by browser, release, page and OS, counts over
    time, and the five latest samples, each with its stack's frames resolved through the
    release's source maps (``frames``, the raw ``stack`` kept). None when the group has no
    error in the scope."""
    narrowed = scope.narrowed("fingerprint", fingerprint)
    found = groups(store, narrowed, 1)
    if not found:
        return None
    where, params = narrowed.where("errors", store.engine)
    out: dict[str, Any] = {"group": found[0]}
    for dim in ("browser", "release", "page", "os"):
        _, rows = store.select(
            f"SELECT {dim}, sum(count * weight) AS n, {_SESSIONS} FROM errors "
            f"WHERE {where} GROUP BY 1 ORDER BY n DESC LIMIT 20",
            params,
        )
        out[f"by_{dim}"] = [
            {dim: r[0], "errors": round(r[1]), "sessions": round(r[2])} for r in rows
        ]
    seconds = interval_for(scope)
    bucket = DIALECTS[store.engine].bucket("time", seconds)
    _, rows = store.select(
        f"SELECT {bucket} AS t, sum(count * weight) FROM errors WHERE {where} "
        "GROUP BY 1 ORDER BY 1",
        params,
    )
    out["over_time"] = [{"time": iso(t), "errors": round(n)} for t, n in rows]
    out["interval_s"] = seconds
    _, rows = store.select(
        f"SELECT {', '.join(_SAMPLE_COLUMNS)} FROM errors WHERE {where} ORDER BY time DESC LIMIT 5",
        params,
    )
    out["samples"] = [{c: iso(v) for c, v in zip(_SAMPLE_COLUMNS, r, strict=True)} for r in rows]
    for sample in out["samples"]:
        sample["message"] = error_message(sample["error_name"], sample["message"])
        add_trace_link(sample, trace_url)
        if symbolicator is not None:
            frames = symbolicator.resolve(scope.app, sample["release"], sample["stack"])
            sample["frames"] = [f.to_json() for f in frames]
    return out


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
    symbolicator: Symbolicator | None = None,
) -> list[Route]:
    """The error endpoints, bound to one store; samples resolved by ``symbolicator``."""

    async def list_groups(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "errors", now)
        found = await run_in_threadpool(groups, store, scope, limit_of(request))
        return json_response({"groups": found})

    async def one_group(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "errors", now)
        fingerprint = request.path_params["fingerprint"]
        found = await run_in_threadpool(
            detail, store, scope, fingerprint, symbolicator, settings.trace_url
        )
        if found is None:
            raise ApiError(f"no error {fingerprint!r} in this range", 404)
        return json_response(found)

    return [
        Route("/api/v1/errors", list_groups, methods=["GET"]),
        Route("/api/v1/errors/{fingerprint}", one_group, methods=["GET"]),
    ]
