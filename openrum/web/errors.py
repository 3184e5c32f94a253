"""Error groups for the dashboard's Errors page (docs/api.md "Errors").

The query API counts errors over any dimension; what it cannot say is what a group *is*: its
latest message and stack, the browsers and releases it hit, when it was first and last seen.

- ``GET /api/v1/errors?app=ID&from=ISO&to=ISO&filters=JSON&user_type=real&limit=N&sort=S&status=L``:
  groups by fingerprint with their triage status (openrum/triage.py), most frequent first (or by
  affected sessions, frustrated sessions, last seen), of some statuses only.
- ``GET /api/v1/errors/{fingerprint}?app=…&from=…&to=…&filters=…``: one group in detail:
  breakdowns by browser, release, page, OS and device, counts over time and per release, the
  latest samples with the user actions before each, the sessions, the status history.
- ``POST /api/v1/errors/status``: set the status of several groups at once (audited).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum import triage
from openrum.collect.app import Collector, normalise_origin
from openrum.collect.writer import BatchWriter
from openrum.enrich.errors import error_message
from openrum.enrich.symbolicate import Symbolicator
from openrum.query import rollup
from openrum.query.dialect import DIALECTS
from openrum.query.model import parse_time
from openrum.query.sql import counting_sessions, iso
from openrum.settings import Settings
from openrum.store.base import App, ErrorStatus, Store
from openrum.web.api import ApiError, principal, require_app
from openrum.web.scope import Scope, interval_for, json_response, limit_of, request_scope
from openrum.web.traces import add_trace_link

# Errors and affected sessions are estimates of the full traffic: each error counts its session's
# sampling weight; distinct sessions are scaled by the mean weight.
_SESSIONS_BY = "{} * (sum(weight) / greatest(count(*), 1))"  # over a count of distinct sessions
_SESSIONS = _SESSIONS_BY.format("count(DISTINCT session_id)")
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
# How the list can be sorted: the column of the groups' query to order by (``frustrated`` is
# counted after it), highest first.
SORTS = {"errors": "n", "sessions": "s", "frustrated": "n", "last_seen": "t"}
# The most groups read before a status filter or the frustrated sort picks the page.
_CANDIDATES = 10_000
BREADCRUMBS = 10  # user actions shown before an error
AUDIT_ACTION = "error_status_changed"
# How an error names its session, and the completed sessions scored frustrating with errors
# that start in a range. Both engines keep them apart by start (their migrations 019), and match
# them by a 64-bit hash of the id each error keeps, which reads and sets of millions take faster
# than strings (a collision, one session miscounted, is less likely than one in a million at
# 100M actions); ClickHouse reads any of a session's rows (no FINAL).
_FRUSTRATED = {
    "duckdb": (
        "session_key",
        "SELECT session_key FROM session_frustrated WHERE app = ? AND start >= ? AND start < ?",
    ),
    "clickhouse": (
        "session_key",
        "SELECT cityHash64(session_id) FROM session_frustrated WHERE app = ? AND start >= ? "
        "AND start < ? SETTINGS final = 0",
    ),
}
DEFAULTS = Settings()  # for a caller that gives none (the endpoints give the server's)


def _ms(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp() * 1000)


def frustrated(store: Store, scope: Scope, settings: Settings) -> dict[str, float]:
    """Affected sessions that were frustrating (their UX score, RUM.md), by fingerprint: of the
    completed sessions that start in the scope or at most a session's longest life
    (``session_max_ms``) before it, with errors when they closed (an error arriving after its
    session closed stays at event level, as everything does)."""
    where, params = scope.where("errors", store.engine)
    key, sessions = _FRUSTRATED[store.engine]
    distinct = f"count(DISTINCT {key})"
    if settings.query_approximate_sessions:
        distinct = DIALECTS[store.engine].sessions("errors", approximate=True)
    longest = dt.timedelta(milliseconds=settings.session_max_ms)
    _, rows = store.select(
        f"SELECT fingerprint, {_SESSIONS_BY.format(distinct)} FROM errors "
        f"WHERE {where} AND {key} IN ({sessions}) GROUP BY fingerprint",
        [*params, scope.app, scope.start - longest, scope.end],
    )
    return {fp: float(n) for fp, n in rows}


def groups(
    store: Store,
    scope: Scope,
    limit: int = 100,
    sort: str = "errors",
    status: frozenset[str] | None = None,
    now_ms: int | None = None,
    settings: Settings = DEFAULTS,
) -> list[dict[str, Any]]:
    """Error groups by fingerprint in the scope, highest ``sort`` first (SORTS), of the
    statuses in ``status`` (all when None): latest type, name, message, stack and page; errors,
    affected and frustrated sessions (exact over few actions, else estimates, as the query
    API's: ``counting_sessions``); first seen (over everything stored) and last seen;
    releases; the top five browsers; the triage status (``triage.shown``)."""
    latest, distinct = _LATEST[store.engine], _DISTINCT[store.engine]
    where, params = scope.where("errors", store.engine)
    settings = counting_sessions(store, settings, scope.app, scope.start, scope.end)
    picked = status is not None or sort == "frustrated"
    order = f" ORDER BY {SORTS[sort]} DESC, fingerprint LIMIT {_CANDIDATES if picked else limit}"
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
        sessions = DIALECTS[store.engine].sessions("errors", settings.query_approximate_sessions)
        _, rows = store.select(
            "SELECT fingerprint, "
            + ", ".join(
                latest.format(c) for c in ("error_type", "error_name", "message", "stack", "page")
            )
            + f", sum(count * weight) AS n, {_SESSIONS_BY.format(sessions)} AS s, "
            + "min(time) AS f, max(time) AS t, "
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
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    statuses = triage.statuses(store, scope.app, now_ms)
    frustrating = frustrated(store, scope, settings) if out else {}
    for g in out:
        g["frustrated_sessions"] = round(frustrating.get(g["fingerprint"], 0))
        g.update(statuses.get(g["fingerprint"]) or {"status": "unresolved"})
    if status is not None:
        out = [g for g in out if g["status"] in status]
    if sort == "frustrated":
        out.sort(key=lambda g: (-g["frustrated_sessions"], -g["errors"], g["fingerprint"]))
    out = out[:limit]
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


def fetch_from(app: App | None) -> Callable[[str], bool] | None:
    """Which script URLs the source map fetcher may download for ``app``: those on its own
    origins, when its config turns ``sourcemap_fetch`` on (off by default: docs/errors.md)."""
    if app is None or app.config.get("sourcemap_fetch") is not True:
        return None
    own = {normalise_origin(o) for o in app.origins if o != "*"} - {""}
    return lambda url: normalise_origin(url) in own


def detail(
    store: Store,
    scope: Scope,
    fingerprint: str,
    symbolicator: Symbolicator | None = None,
    fetching: Callable[[str], bool] | None = None,
    trace_url: str = "",
    settings: Settings = DEFAULTS,
) -> dict[str, Any] | None:
    """One error group: its summary, breakdowns by browser, release, page and OS, counts over
    time, and the five latest samples, each with its stack's frames resolved through the
    release's source maps (``frames``, the raw ``stack`` kept; maps missing are fetched where
    ``fetching`` accepts the script's URL). None when the group has no error in the scope."""
    narrowed = scope.narrowed("fingerprint", fingerprint)
    found = groups(store, narrowed, 1, settings=settings)
    if not found:
        return None
    where, params = narrowed.where("errors", store.engine)
    out: dict[str, Any] = {"group": found[0]}
    for dim in ("browser", "release", "page", "os", "device"):
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
            frames = symbolicator.resolve(
                scope.app, sample["release"], sample["stack"], fetch_from=fetching
            )
            sample["frames"] = [f.to_json() for f in frames]
        sample["breadcrumbs"] = breadcrumbs(store, scope.app, sample["session_id"], sample["time"])
    out.update(releases_of(store, scope.app, fingerprint))
    out["users"] = users(store, narrowed)
    out["sessions"] = sessions_of(store, narrowed)
    out["history"] = history(store, scope.app, fingerprint)
    return out


def releases_of(store: Store, app: str, fingerprint: str) -> dict[str, Any]:
    """Over everything stored: the group's first and last release, and per release its errors
    and first and last seen, oldest first."""
    _, rows = store.select(
        "SELECT release, sum(count * weight), min(time), max(time) FROM errors "
        "WHERE app = ? AND fingerprint = ? AND release IS NOT NULL GROUP BY release ORDER BY 3, 1",
        [app, fingerprint],
    )
    per = [{"release": r, "errors": round(n), "first_seen": iso(f), "last_seen": iso(t)}
           for r, n, f, t in rows]  # fmt: skip
    last = max(rows, key=lambda r: (r[3], r[0]))[0] if rows else None
    return {"first_release": per[0]["release"] if per else None, "last_release": last,
            "per_release": per}  # fmt: skip


def users(store: Store, scope: Scope) -> int:
    """Distinct users (user tags of the sessions) the group's errors in the scope affected."""
    where, params = scope.where("errors", store.engine)
    _, rows = store.select(
        "SELECT count(DISTINCT user_tag) FROM sessions WHERE app = ? AND user_tag IS NOT NULL "
        f"AND session_id IN (SELECT session_id FROM errors WHERE {where})",
        [scope.app, *params],
    )
    return int(rows[0][0]) if rows else 0


def sessions_of(store: Store, scope: Scope, limit: int = 20) -> list[dict[str, Any]]:
    """The latest sessions the group's errors in the scope affected: id, errors, last seen."""
    where, params = scope.where("errors", store.engine)
    _, rows = store.select(
        f"SELECT session_id, sum(count), max(time) AS t FROM errors WHERE {where} "
        f"GROUP BY session_id ORDER BY t DESC, session_id LIMIT {int(limit)}",
        params,
    )
    return [{"session_id": sid, "errors": int(n), "last_seen": iso(t)} for sid, n, t in rows]


def breadcrumbs(store: Store, app: str, session_id: str, at: str) -> list[dict[str, Any]]:
    """The user actions and events of the session up to the error at ``at`` (ISO), the last
    BREADCRUMBS of them, oldest first: what the user did before it."""
    t = parse_time(at, "time")
    _, rows = store.select(
        "SELECT time, kind, type, name, page FROM ("
        "SELECT time, 'action' AS kind, action_type AS type, action_name AS name, page "
        "FROM actions WHERE app = ? AND session_id = ? AND time <= ? UNION ALL "
        "SELECT time, 'user' AS kind, event_type AS type, value AS name, page "
        "FROM user_events WHERE app = ? AND session_id = ? AND time <= ?) "
        f"ORDER BY time DESC, kind LIMIT {BREADCRUMBS}",
        [app, session_id, t, app, session_id, t],
    )
    return [{"time": iso(r[0]), "kind": r[1], "type": r[2], "name": r[3], "page": r[4]}
            for r in reversed(rows)]  # fmt: skip


def history(store: Store, app: str, fingerprint: str, limit: int = 20) -> list[dict[str, Any]]:
    """The group's status changes from the audit log, newest first: who, when, from, to."""
    _, rows = store.select(
        "SELECT time, actor, detail FROM audit_log WHERE action = ? AND app = ? "
        "ORDER BY time DESC LIMIT 10000",
        [AUDIT_ACTION, app],
    )
    out = []
    for t, actor, raw in rows:
        detail = json.loads(raw)
        if detail.get("fingerprint") == fingerprint:
            out.append({"time": iso(t), "actor": actor, **detail})
    return out[:limit]


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/errors/status``: the groups, and the status they get."""

    app: str
    fingerprints: list[str]
    status: str
    release: str | None = None
    until: str | None = None  # ISO-8601
    events: int | None = None
    sessions: int | None = None


_change_decoder = msgspec.json.Decoder(StatusChange)
MAX_GROUPS = 1000  # groups changed by one request


def known(store: Store, app: str, fingerprints: list[str]) -> set[str]:
    """Which of ``fingerprints`` the application has errors of."""
    marks = ", ".join("?" * len(fingerprints))
    _, rows = store.select(
        f"SELECT DISTINCT fingerprint FROM errors WHERE app = ? AND fingerprint IN ({marks})",
        [app, *fingerprints],
    )
    return {r[0] for r in rows}


def apply_changes(store: Store, changes: list[tuple[ErrorStatus, str]]) -> None:
    """Store each new status and audit it with the status it replaces (the writer's thread)."""
    for new, before in changes:
        store.save_error_status(new)
        detail: dict[str, Any] = {"fingerprint": new.fingerprint, "from": before, "to": new.status}
        for key in ("release", "until", "events", "sessions"):
            if getattr(new, key) is not None:
                detail[key] = getattr(new, key)
        store.audit(new.actor, AUDIT_ACTION, new.app, detail)


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
    symbolicator: Symbolicator | None = None,
    writer: BatchWriter | None = None,
) -> list[Route]:
    """The error endpoints, bound to one store; samples resolved by ``symbolicator``; status
    changes written through ``writer``."""

    def now_ms() -> int:
        return _ms(now()) if now else int(time.time() * 1000)

    async def list_groups(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "errors", now)
        sort = request.query_params.get("sort") or "errors"
        if sort not in SORTS:
            raise ApiError(f"sort must be one of {', '.join(SORTS)}")
        status = None
        if request.query_params.get("status"):
            status = frozenset(request.query_params["status"].split(","))
            if not status <= set(triage.SHOWN):
                raise ApiError(f"status must be a list of {', '.join(triage.SHOWN)}")
        found = await run_in_threadpool(
            groups, store, scope, limit_of(request), sort, status, now_ms(), settings
        )
        return json_response({"groups": found})

    async def set_status(request: Request) -> Response:
        if writer is None:
            raise ApiError("this server cannot change statuses", 503)
        raw = await request.body()
        if len(raw) > 1_000_000:
            raise ApiError("request body too large", 413)
        try:
            spec = _change_decoder.decode(raw)
        except msgspec.ValidationError as e:
            raise ApiError(f"invalid request: {e}") from None
        except (msgspec.DecodeError, RecursionError) as e:
            raise ApiError(f"malformed JSON: {e}") from None
        require_app(request, spec.app)
        if spec.app not in collector.apps:
            raise ApiError(f"no application {spec.app!r}", 404)
        fps = list(dict.fromkeys(spec.fingerprints))
        if not 1 <= len(fps) <= MAX_GROUPS:
            raise ApiError(f"fingerprints: 1 to {MAX_GROUPS} error groups")
        if any(not fp or len(fp) > 200 for fp in fps):
            raise ApiError("fingerprints: each is 1 to 200 characters")
        at = now_ms()
        until = None if spec.until is None else _ms(parse_time(spec.until, "until"))
        actor = principal(request).name
        try:
            new = [triage.change(spec.app, fp, spec.status, actor, at, spec.release, until,
                                 spec.events, spec.sessions) for fp in fps]  # fmt: skip
        except triage.TriageError as e:
            raise ApiError(str(e)) from None
        have = await run_in_threadpool(known, store, spec.app, fps)
        missing = [fp for fp in fps if fp not in have]
        if missing:
            raise ApiError(f"no error group {missing[0]!r} in application {spec.app!r}", 404)
        before = await run_in_threadpool(triage.statuses, store, spec.app, at)
        changes = [(n, before.get(n.fingerprint, {}).get("status", "unresolved")) for n in new]
        await asyncio.wrap_future(writer.call(lambda s: apply_changes(s, changes)))
        return json_response(
            {
                "changed": [
                    {"fingerprint": n.fingerprint, "from": b, "to": n.status} for n, b in changes
                ]
            }
        )

    async def one_group(request: Request) -> Response:
        scope = request_scope(request, settings, collector.apps, "errors", now)
        fingerprint = request.path_params["fingerprint"]
        fetching = fetch_from(collector.apps.get(scope.app))
        found = await run_in_threadpool(
            detail, store, scope, fingerprint, symbolicator, fetching, settings.trace_url, settings
        )
        if found is None:
            raise ApiError(f"no error {fingerprint!r} in this range", 404)
        return json_response(found)

    return [
        Route("/api/v1/errors", list_groups, methods=["GET"]),
        Route("/api/v1/errors/status", set_status, methods=["POST"]),
        Route("/api/v1/errors/{fingerprint}", one_group, methods=["GET"]),
    ]
