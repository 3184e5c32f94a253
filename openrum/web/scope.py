"""What the dashboard's own endpoints ask about: an application, a time range and filters.

The endpoints beside the query API (errors, actions, distributions) take the query API's
vocabulary as query parameters: ``app``, ``from``/``to`` (ISO-8601), ``filters``, the query
API's list as JSON (``[["browser", "is", "Chrome"]]``), and ``user_type`` (real, the default;
synthetic; all), kept as filters. Names are checked against the query catalogue; values are bound
parameters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from openrum.query import rollup
from openrum.query.dialect import DIALECTS
from openrum.query.model import (
    DIMENSIONS,
    Query,
    QueryError,
    Source,
    check_filters,
    time_range,
    user_type_filters,
)
from openrum.settings import Settings
from openrum.web.api import ApiError, require_app


@dataclass(frozen=True)
class Scope:
    """An application, a [start, end) range (naive UTC) and validated filters."""

    app: str
    start: dt.datetime
    end: dt.datetime
    filters: tuple[tuple[str, str, Any], ...]

    def narrowed(self, name: str, value: Any, op: str = "is") -> Scope:
        """The same scope with one more filter: ``name is value`` (or another operator)."""
        return Scope(self.app, self.start, self.end, (*self.filters, (name, op, value)))

    def rolled(
        self, engine: str, source: Source, dims: list[str], needed: list[str]
    ) -> tuple[str, list[Any]] | None:
        """The scope's partial rows by ``dims`` from ClickHouse's rollups (``needed`` columns;
        openrum/query/rollup.py) and their parameters, or None where they cannot answer."""
        if engine != "clickhouse":
            return None
        return rollup.partials(source, self.app, dims, self.filters, self.start, self.end, needed)

    def where(self, source: Source, engine: str) -> tuple[str, list[Any]]:
        """The WHERE clause over ``source`` (actions or errors) and its parameters."""
        dialect = DIALECTS[engine]
        where = ["app = ?", "time >= ?", "time < ?"]
        params: list[Any] = [self.app, self.start, self.end]
        for name, op, value in self.filters:
            col = DIMENSIONS[name][source]
            if op == "is":
                where.append(f"{col} = ?" if value is not None else f"{col} IS NULL")
            elif op == "is_not":
                where.append(
                    f"{col} IS DISTINCT FROM ?" if value is not None else f"{col} IS NOT NULL"
                )
            elif op == "contains":
                where.append(dialect.contains(col))
            elif not value:
                where.append("false")
                continue
            else:
                where.append(dialect.in_list(col, len(value)))
                params += [str(v) for v in value]
                continue
            if value is not None:
                params.append(str(value))
        return " AND ".join(where), params


def parse_scope(
    params: Mapping[str, str],
    settings: Settings,
    source: Source,
    now: dt.datetime | None = None,
    also: tuple[Source, ...] = (),
    users: bool = True,
) -> Scope:
    """Validate ``app``, ``from``, ``to``, ``filters`` (JSON) and ``user_type`` for a query over
    ``source`` (or, for a dimension it lacks, over one of ``also``). With ``users`` false the
    user type is left to the caller. Raises ApiError or QueryError (both HTTP 400) saying what
    is wrong."""
    app = params.get("app", "")
    if not app:
        raise ApiError("app is required")
    try:
        filters = json.loads(params.get("filters") or "[]")
    except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: nested too deep
        raise ApiError(f"filters: malformed JSON: {e}") from None
    try:
        q = msgspec.convert(
            {
                "app": app,
                "metrics": ["count"],
                "filters": filters,
                "from": params.get("from"),
                "to": params.get("to"),
            },
            Query,
        )
    except msgspec.ValidationError as e:
        raise ApiError(f"filters: {e}") from None
    check_filters(q.filters)
    for name, _, _ in q.filters:
        if not {source, *also} & DIMENSIONS[name].keys():
            raise QueryError(f"dimension {name!r} is not available for {source}")
    at = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start, end = time_range(q, at, settings.query_default_hours)
    by_user = user_type_filters(params.get("user_type") or "real") if users else []
    return Scope(app, start, end, (*q.filters, *by_user))


def interval_for(scope: Scope, points: int = 120) -> int:
    """The shortest bucket (s) of the query API's intervals giving at most ``points`` buckets."""
    span = (scope.end - scope.start).total_seconds()
    for seconds in (60, 300, 900, 3600):
        if span / seconds <= points:
            return seconds
    return 86400


def request_scope(
    request: Request,
    settings: Settings,
    apps: Mapping[str, Any],
    source: Source,
    now: Callable[[], dt.datetime] | None = None,
    also: tuple[Source, ...] = (),
    users: bool = True,
) -> Scope:
    """The scope of a dashboard request, checked: the caller may read the app, and it exists.
    Raises ApiError (400, 403, 404) or QueryError."""
    scope = parse_scope(request.query_params, settings, source, now() if now else None, also, users)
    require_app(request, scope.app)
    if scope.app not in apps:
        raise ApiError(f"no application {scope.app!r}", 404)
    return scope


def json_response(data: Any) -> Response:
    """``data`` as a JSON response."""
    return Response(msgspec.json.encode(data), media_type="application/json")


def limit_of(request: Request, default: int = 100, most: int = 1000) -> int:
    """The ``limit`` query parameter. Raises ApiError unless it is 1 to ``most``."""
    try:
        limit = int(request.query_params.get("limit", str(default)))
    except ValueError:
        raise ApiError("limit must be a number") from None
    if not 1 <= limit <= most:
        raise ApiError(f"limit must be between 1 and {most}")
    return limit
