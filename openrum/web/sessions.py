"""Sessions: the list, and one session's timeline (docs/api.md "Sessions").

- ``GET /api/v1/sessions?app=ID&from=ISO&to=ISO&filters=JSON&limit=N&cursor=C``: sessions that
  started in the range, newest first, a page at a time, with their counts, duration, bounce and
  UX score (live sessions have no duration and no score yet; their counts are read from their
  events). Filters are the query API's: over session dimensions, and over action or error
  dimensions meaning "a session with such an action / error". ``user_type`` (real by default),
  ``with_errors``, ``with_rage_clicks`` and ``live`` narrow it further; all of it runs in SQL
  over the whole range.
- ``GET /api/v1/sessions/{id}?app=ID``: one session, its ordered timeline — actions with their
  Apdex class, errors and user events — and its page views' Web Vitals with their ratings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.collect.app import Collector
from openrum.query.dialect import DIALECTS
from openrum.query.model import DIMENSIONS, Source
from openrum.query.sql import iso
from openrum.scoring import vitals
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError, require_app
from openrum.web.scope import Scope, json_response, limit_of, request_scope
from openrum.web.traces import add_trace_link

SESSION_COLUMNS = (
    "session_id", "start", "last_seen", "closed", "end_reason", "duration", "actions", "errors",
    "rage_clicks", "bounce", "ux_score", "entry_page", "exit_page", "user_tag", "browser",
    "browser_version", "os", "os_version", "device", "user_type", "country", "region", "city",
    "connection", "release", "weight",
)  # fmt: skip
# The sessions table placed in time at each session's start (the scope filters on ``time``).
_SESSIONS = "(SELECT *, start AS time FROM sessions) AS sessions"
# Synthetic traffic (user type bot or synthetic: robots, lab and monitoring tools) is left out
# unless asked for, as in every default number (docs/api.md); a session without a known user
# type is a real one.
USER_TYPES = {
    "real": "coalesce(user_type, 'real') = 'real'",
    "synthetic": "coalesce(user_type, 'real') <> 'real'",
    "all": "true",
}
_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@dataclass(frozen=True)
class Listing:
    """What the sessions list asks for, validated: the scope and its filters, the user type,
    the flags, a page size and where the page starts."""

    scope: Scope
    user_type: str = "real"
    with_errors: bool = False
    with_rage_clicks: bool = False
    live: bool = False
    limit: int = 100
    after: tuple[dt.datetime, str] | None = None  # the last session of the previous page


def encode_cursor(start: dt.datetime, session_id: str) -> str:
    """The opaque cursor after a session: its start (epoch ms) and id, base64url."""
    # In whole milliseconds by integer arithmetic: a float timestamp times 1000 can fall a
    # millisecond short (found by the round-trip property).
    ms = (start.replace(tzinfo=None) - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)
    return base64.urlsafe_b64encode(f"{ms}:{session_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[dt.datetime, str]:
    """The session a cursor points after. Raises ApiError (400) for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        ms, session_id = raw.split(":", 1)
        start = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(ms))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise ApiError("cursor: not a cursor from this endpoint's `next`") from None
    if not session_id:
        raise ApiError("cursor: not a cursor from this endpoint's `next`")
    return start, session_id


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ApiError(f"{name} must be true or false, not {value!r}")


def parse_listing(params: Mapping[str, str], scope: Scope, limit: int) -> Listing:
    """The list's own parameters over a checked scope. Raises ApiError (400) saying why."""
    # A filter on the user type says which sessions are wanted: then all by default.
    chosen = any(name == "user_type" for name, _, _ in scope.filters)
    user_type = params.get("user_type") or ("all" if chosen else "real")
    if user_type not in USER_TYPES:
        raise ApiError(f"user_type must be one of {', '.join(USER_TYPES)}, not {user_type!r}")
    cursor = params.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    if after and not scope.start <= after[0] < scope.end:
        raise ApiError("cursor: from another time range (ask for the first page again)")
    return Listing(
        scope,
        user_type,
        with_errors=_flag(params, "with_errors"),
        with_rage_clicks=_flag(params, "with_rage_clicks"),
        live=_flag(params, "live"),
        limit=limit,
        after=after,
    )


def _row(columns: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    out = {c: iso(v) for c, v in zip(columns, values, strict=True)}
    out["live"] = not out.pop("closed")
    return out


_AFTER = " AND ({0} < ? OR ({0} = ? AND session_id > ?))"  # after a cursor, in list order
_UPTO = " AND ({0} > ? OR ({0} = ? AND session_id <= ?))"  # up to a session, in list order
# On ClickHouse a session's start is an aggregate over all its touches: reading the sessions of
# a range merges every session of the application. The newest ones are found instead among
# the newest closed ones (``session_starts``, by start) and the newest open ones
# (``session_open``, by the least start of each; those closed since left out), CANDIDATES × the
# page each, and only those are read: every session down to the newer of the two lists' last
# candidates is among them. A round that finds too few matches moves past that point; after
# ROUNDS, a narrow filter reads the rest of the range at once.
CANDIDATES, ROUNDS = 4, 4
_CLOSED = (
    "SELECT DISTINCT start, session_id FROM session_starts WHERE app = ? AND start >= ? "
    "AND start < ?{after} ORDER BY start DESC, session_id LIMIT {n}"
)
_OPEN = (
    "SELECT min(start) AS first, session_id FROM session_open WHERE app = ? AND session_id "
    "NOT IN (SELECT session_id FROM session_closes WHERE app = ? AND session_id IN (SELECT "
    "session_id FROM session_open WHERE app = ?)) GROUP BY session_id HAVING first >= ? AND "
    "first < ?{after} ORDER BY first DESC, session_id LIMIT {n}"
)
Position = tuple[dt.datetime, str]  # (start, session_id): a place in the list


def _events_of(
    store: Store, scope: Scope, source: Source, table: str = "", extra: str = ""
) -> tuple[str, list[Any]]:
    """``session_id IN (…)``: sessions with an event in ``table`` (``source``'s by default)
    matching the scope's filters (dimensions of ``source``) and ``extra``."""
    where, params = scope.where(source, store.engine)
    return f"session_id IN (SELECT session_id FROM {table or source} WHERE {where}{extra})", params


def _conditions(store: Store, listing: Listing, settings: Settings) -> tuple[str, list[Any]]:
    """The WHERE clause over the sessions (placed at their start) for everything the listing
    asks but its cursor, and its parameters."""
    scope = listing.scope
    split: dict[Source, list[tuple[str, str, Any]]] = {"sessions": [], "actions": [], "errors": []}
    for f in scope.filters:
        split[next(s for s in split if s in DIMENSIONS[f[0]])].append(f)
    # A session's events lie between its start and its longest life after it.
    longest = dt.timedelta(milliseconds=settings.session_max_ms)
    own = Scope(scope.app, scope.start, scope.end, tuple(split["sessions"]))
    events = Scope(scope.app, scope.start, scope.end + longest, ())
    where, params = own.where("sessions", store.engine)
    where += f" AND {USER_TYPES[listing.user_type]}"
    for source in ("actions", "errors"):
        if split[source]:
            sql, more = _events_of(
                store, Scope(scope.app, events.start, events.end, tuple(split[source])), source
            )
            where, params = f"{where} AND {sql}", params + more
    # A closed session has its counts; a live one has them in its events only.
    for flag, column, table, extra in (
        (listing.with_errors, "errors", "errors", ""),
        (listing.with_rage_clicks, "rage_clicks", "user_events", " AND event_type = 'rage_click'"),
    ):
        if flag:
            sql, more = _events_of(store, events, "errors", table, extra)
            where += f" AND (coalesce({column}, 0) > 0 OR (NOT closed AND {sql}))"
            params += more
    if listing.live:
        where += " AND NOT closed"
    return where, params


def _select(
    store: Store,
    where: str,
    params: list[Any],
    after: Position | None,
    n: int,
    upto: Position | None = None,
    among: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """The first ``n`` sessions matching ``where`` after ``after``, up to ``upto`` and among
    ``among`` (session ids), in list order."""
    params = list(params)
    for cond, at in ((_AFTER, after), (_UPTO, upto)):
        if at:
            where += cond.format("start")
            params += [at[0], at[0], at[1]]
    if among is not None:
        where += f" AND {DIALECTS[store.engine].in_list('session_id', len(among))}"
        params += among
    _, rows = store.select(
        f"SELECT {', '.join(SESSION_COLUMNS)} FROM {_SESSIONS} WHERE {where} "
        f"ORDER BY start DESC, session_id LIMIT {int(n)}",
        params,
    )
    return rows


def _newest(store: Store, listing: Listing, where: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """``_select`` for a page on ClickHouse, from the newest candidates (see CANDIDATES)."""
    scope, need = listing.scope, listing.limit + 1
    n = CANDIDATES * need
    after, found = listing.after, list[tuple[Any, ...]]()
    for _ in range(ROUNDS):
        cond = _AFTER if after else ""
        at = [after[0], after[0], after[1]] if after else []
        _, closed = store.select(
            _CLOSED.format(after=cond.format("start"), n=n),
            [scope.app, scope.start, scope.end, *at],
        )
        _, open_ = store.select(
            _OPEN.format(after=cond.format("first"), n=n),
            [*[scope.app] * 3, scope.start, scope.end, *at],
        )
        # Every session down to the newer of the full lists' last ones is a candidate.
        lasts: list[Position] = [(r[0], r[1]) for r in (closed[-1:] if len(closed) == n else [])]
        lasts += [(r[0], r[1]) for r in (open_[-1:] if len(open_) == n else [])]
        upto = min(lasts, key=lambda p: (dt.datetime.max - p[0], p[1])) if lasts else None
        among = [r[1] for r in closed + open_]
        if among:
            found += _select(store, where, params, after, need - len(found), upto, among)
        if len(found) >= need or upto is None:
            return found
        after = upto
    return found + _select(store, where, params, after, need - len(found))


def list_sessions(
    store: Store, listing: Listing, settings: Settings
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the sessions that started in the scope, newest first, and the cursor of the
    next page (None on the last)."""
    where, params = _conditions(store, listing, settings)
    if store.engine == "clickhouse":
        rows = _newest(store, listing, where, params)
    else:
        rows = _select(store, where, params, listing.after, listing.limit + 1)
    found = [_row(SESSION_COLUMNS, r) for r in rows[: listing.limit]]
    live_counts(store, listing.scope.app, found)
    if len(rows) <= listing.limit:
        return found, None
    last = rows[listing.limit - 1]
    return found, encode_cursor(last[1], last[0])


def live_counts(store: Store, app: str, found: list[dict[str, Any]]) -> None:
    """Fill in the actions, errors and rage clicks of the live sessions among ``found`` from
    their events (the closer stores a session's counts only when it ends)."""
    live = {s["session_id"]: s for s in found if s["live"]}
    if not live:
        return
    since = min(dt.datetime.fromisoformat(s["start"].rstrip("Z")) for s in live.values())
    ids = sorted(live)
    dialect = DIALECTS[store.engine]
    for column, table, measure, extra in (
        ("actions", "actions", "count(*)", ""),
        ("errors", "errors", "sum(count)", ""),
        ("rage_clicks", "user_events", "count(*)", " AND event_type = 'rage_click'"),
    ):
        _, rows = store.select(
            f"SELECT session_id, {measure} FROM {table} WHERE app = ? AND time >= ? AND "
            f"{dialect.in_list('session_id', len(ids))}{extra} GROUP BY session_id",
            [app, since, *ids],
        )
        counted = {sid: int(n) for sid, n in rows}
        for sid, s in live.items():
            s[column] = counted.get(sid, 0)


VITALS = ("lcp", "inp", "cls", "fcp", "ttfb")


def timeline(store: Store, app: str, session_id: str, trace_url: str = "") -> dict[str, Any] | None:
    """One session, its events in time order and its page views' Web Vitals (each with its
    rating); None when there is no such session. Actions and request errors with a backend
    trace link to it through ``trace_url`` (the setting)."""
    _, rows = store.select(
        f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE app = ? AND session_id = ?",
        [app, session_id],
    )
    if not rows:
        return None
    session = _row(SESSION_COLUMNS, rows[0])
    live_counts(store, app, [session])
    events: list[dict[str, Any]] = []
    queries = (
        (
            "action",
            "SELECT time, event_id, action_type, action_name, page, url, duration, apdex, "
            "errors, lcp, inp, cls, trigger, trace_id, page_view_id FROM actions WHERE app = ? AND "
            "session_id = ?",
            (
                "time", "id", "type", "name", "page", "url", "duration", "apdex", "errors",
                "lcp", "inp", "cls", "trigger", "trace_id", "page_view",
            ),
        ),
        (
            "error",
            "SELECT time, event_id, error_type, error_name, message, page, status, count, "
            "action_event_id, trace_id FROM errors WHERE app = ? AND session_id = ?",
            ("time", "id", "type", "name", "message", "page", "status", "count", "action",
             "trace_id"),
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
        add_trace_link(e, trace_url)
    return {"session": session, "timeline": events, "vitals": page_vitals(store, app, session_id)}


def page_vitals(store: Store, app: str, session_id: str) -> list[dict[str, Any]]:
    """The Web Vitals of a session's actions that have any (its page views), in time order,
    each value with its rating (good, needs-improvement, poor: scoring/vitals.py)."""
    has = " OR ".join(f"{v} IS NOT NULL" for v in VITALS)
    _, rows = store.select(
        f"SELECT time, event_id, action_type, page, {', '.join(VITALS)} FROM actions "
        f"WHERE app = ? AND session_id = ? AND ({has}) ORDER BY time, event_id",
        [app, session_id],
    )
    out = []
    for time, event_id, action_type, page, *values in rows:
        view: dict[str, Any] = {
            "time": iso(time),
            "id": event_id,
            "type": action_type,
            "page": page,
        }
        for name, value in zip(VITALS, values, strict=True):
            view[name] = value
            view[f"{name}_rating"] = vitals.rate(name, value)
        out.append(view)
    return out


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The session endpoints, bound to one store."""

    async def list_route(request: Request) -> Response:
        # The list reads user_type itself (parse_listing): its newest-first shortcut on
        # ClickHouse needs a scope without filters.
        scope = request_scope(
            request, settings, collector.apps, "sessions", now, ("actions", "errors"), users=False
        )
        listing = parse_listing(request.query_params, scope, limit_of(request))
        found, cursor = await run_in_threadpool(list_sessions, store, listing, settings)
        return json_response({"sessions": found, "next": cursor})

    async def one_route(request: Request) -> Response:
        app = request.query_params.get("app", "")
        if not app:
            raise ApiError("app is required")
        require_app(request, app)
        if app not in collector.apps:
            raise ApiError(f"no application {app!r}", 404)
        session_id = request.path_params["session_id"]
        found = await run_in_threadpool(timeline, store, app, session_id, settings.trace_url)
        if found is None:
            raise ApiError(f"no session {session_id!r}", 404)
        return json_response(found)

    return [
        Route("/api/v1/sessions", list_route, methods=["GET"]),
        Route("/api/v1/sessions/{session_id}", one_route, methods=["GET"]),
    ]
