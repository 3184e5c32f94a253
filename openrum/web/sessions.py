"""Sessions: the list, and one session's timeline (docs/api.md "Sessions").

- ``GET /api/v1/sessions?app=ID&from=ISO&to=ISO&filters=JSON&limit=N``: sessions that started in
  the range, newest first, with their counts, duration, bounce and UX score (live sessions have
  no duration and no score yet). Filters are the query API's, over session dimensions.
- ``GET /api/v1/sessions/{id}?app=ID``: one session and its ordered timeline — actions with their
  Apdex class, errors and user events.
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
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError, require_app
from openrum.web.scope import Scope, iso, json_response, limit_of, request_scope

SESSION_COLUMNS = (
    "session_id", "start", "last_seen", "closed", "end_reason", "duration", "actions", "errors",
    "rage_clicks", "bounce", "ux_score", "entry_page", "exit_page", "user_tag", "browser",
    "browser_version", "os", "os_version", "device", "user_type", "country", "region", "city",
    "connection", "release", "weight",
)  # fmt: skip
# The sessions table placed in time at each session's start (the scope filters on ``time``).
_SESSIONS = "(SELECT *, start AS time FROM sessions) AS sessions"


def _row(columns: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    out = {c: iso(v) for c, v in zip(columns, values, strict=True)}
    out["live"] = not out.pop("closed")
    return out


# On ClickHouse, the newest sessions of a range without filters are among the newest closed ones
# (``session_starts``, by start) and the newest open ones (``session_open``, by the least start
# of each; sessions closed since their last touch left out): only those are read.
_NEWEST = (
    "session_id IN (SELECT session_id FROM (SELECT DISTINCT start, session_id FROM "
    "session_starts WHERE app = ? AND start >= ? AND start < ? ORDER BY start DESC "
    "LIMIT {limit} WITH TIES) UNION ALL SELECT session_id FROM (SELECT session_id, "
    "min(start) AS first FROM session_open WHERE app = ? AND session_id NOT IN (SELECT "
    "session_id FROM session_closes WHERE app = ? AND session_id IN (SELECT session_id FROM "
    "session_open WHERE app = ?)) GROUP BY session_id HAVING first >= ? AND first < ? "
    "ORDER BY first DESC LIMIT {limit} WITH TIES))"
)


def list_sessions(store: Store, scope: Scope, limit: int = 100) -> list[dict[str, Any]]:
    """Sessions that started in the scope, newest first."""
    where, params = scope.where("sessions", store.engine)
    if store.engine == "clickhouse" and not scope.filters:
        where += " AND " + _NEWEST.format(limit=int(limit))
        params += [scope.app, scope.start, scope.end, *[scope.app] * 3, scope.start, scope.end]
    _, rows = store.select(
        f"SELECT {', '.join(SESSION_COLUMNS)} FROM {_SESSIONS} WHERE {where} "
        f"ORDER BY start DESC, session_id LIMIT {int(limit)}",
        params,
    )
    return [_row(SESSION_COLUMNS, r) for r in rows]


def timeline(store: Store, app: str, session_id: str) -> dict[str, Any] | None:
    """One session and its events in time order; None when there is no such session."""
    _, rows = store.select(
        f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE app = ? AND session_id = ?",
        [app, session_id],
    )
    if not rows:
        return None
    events: list[dict[str, Any]] = []
    queries = (
        (
            "action",
            "SELECT time, event_id, action_type, action_name, page, url, duration, apdex, "
            "errors, lcp, inp, cls, trigger FROM actions WHERE app = ? AND session_id = ?",
            (
                "time", "id", "type", "name", "page", "url", "duration", "apdex", "errors",
                "lcp", "inp", "cls", "trigger",
            ),
        ),
        (
            "error",
            "SELECT time, event_id, error_type, error_name, message, page, status, count, "
            "action_event_id FROM errors WHERE app = ? AND session_id = ?",
            ("time", "id", "type", "name", "message", "page", "status", "count", "action"),
        ),
        (
            "user",
            "SELECT time, event_id, event_type, value, page, count, action_event_id "
            "FROM user_events WHERE app = ? AND session_id = ?",
            ("time", "id", "type", "value", "page", "count", "action"),
        ),
    )  # fmt: skip
    for kind, sql, columns in queries:
        _, found = store.select(sql, [app, session_id])
        for r in found:
            events.append({"kind": kind, **dict(zip(columns, r, strict=True))})
    order = {"action": 0, "user": 1, "error": 2}
    events.sort(key=lambda e: (e["time"], order[e["kind"]], e["id"]))
    for e in events:
        e["time"] = iso(e["time"])
    return {"session": _row(SESSION_COLUMNS, rows[0]), "timeline": events}


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The session endpoints, bound to one store."""

    async def list_route(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "sessions", now)
        found = await run_in_threadpool(list_sessions, store, scope, limit_of(request))
        return json_response({"sessions": found})

    async def one_route(request: Request) -> Response:
        app = request.query_params.get("app", "")
        if not app:
            raise ApiError("app is required")
        require_app(request, app)
        if app not in collector.apps:
            raise ApiError(f"no application {app!r}", 404)
        session_id = request.path_params["session_id"]
        found = await run_in_threadpool(timeline, store, app, session_id)
        if found is None:
            raise ApiError(f"no session {session_id!r}", 404)
        return json_response(found)

    return [
        Route("/api/v1/sessions", list_route, methods=["GET"]),
        Route("/api/v1/sessions/{session_id}", one_route, methods=["GET"]),
    ]
