"""The JSON API (docs/api.md): queries and applications. The dashboard uses only this API."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openrum.collect.app import Collector, normalise_origin
from openrum.collect.writer import BatchWriter
from openrum.query.model import Query, QueryError
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.base import App, Store, StoreError


class ApiError(Exception):
    """An API error with its HTTP status; rendered as ``{"error": message}``."""

    status = 400

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


_query_decoder = msgspec.json.Decoder(Query)


class NewApp(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    origins: list[str] = []
    id: str | None = None


_new_app_decoder = msgspec.json.Decoder(NewApp)


def snippet(app_id: str, base_url: str) -> str:
    """The async <script> tag a site pastes into its <head>."""
    return (
        f'<script async src="{base_url}/openrum.js" data-app="{app_id}" '
        f'data-endpoint="{base_url}/api/v1/beacon"></script>'
    )


def new_app(
    name: str, origins: list[str], app_id: str | None = None, now_ms: int | None = None
) -> App:
    """Validate and build an application. Raises ApiError for an empty name or a bad origin."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ApiError("an application needs a name of 1 to 200 characters")
    clean = []
    for origin in origins:
        if origin == "*":
            clean.append(origin)
            continue
        normal = normalise_origin(origin)
        if not normal:
            raise ApiError(f"{origin!r} is not an origin like https://shop.example")
        clean.append(normal)
    if app_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]{3,64}", app_id):
        raise ApiError("an application id is 3 to 64 letters, digits, '_' or '-'")
    return App(
        id=app_id or secrets.token_urlsafe(9),
        name=name,
        origins=clean,
        created=now_ms if now_ms is not None else int(time.time() * 1000),
    )


def _json(data: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type="application/json")


def routes(
    store: Store,
    writer: BatchWriter,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The API routes, bound to one store and writer."""

    async def body_of(request: Request, decoder: msgspec.json.Decoder[Any]) -> Any:
        raw = await request.body()
        if len(raw) > 1_000_000:
            raise ApiError("request body too large", 413)
        try:
            return decoder.decode(raw)
        except msgspec.ValidationError as e:
            raise ApiError(f"invalid request: {e}") from None
        except (msgspec.DecodeError, RecursionError) as e:
            raise ApiError(f"malformed JSON: {e}") from None

    async def query(request: Request) -> Response:
        q = await body_of(request, _query_decoder)
        if q.app not in collector.apps:
            raise ApiError(f"no application {q.app!r}", 404)
        at = now() if now else None
        result = await run_in_threadpool(run_query, store, q, settings, at)
        return _json(result)

    async def list_apps(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return _json(
            {
                "apps": [
                    dict(msgspec.to_builtins(a), snippet=snippet(a.id, base))
                    for a in collector.apps.values()
                ]
            }
        )

    async def create_app(request: Request) -> Response:
        spec = await body_of(request, _new_app_decoder)
        app = new_app(spec.name, spec.origins, spec.id)
        try:
            await _await(writer.call(lambda s: s.create_app(app)))
        except StoreError as e:
            raise ApiError(str(e), 409) from None
        apps = await _await(writer.call(lambda s: s.list_apps()))
        collector.set_apps(apps)
        base = str(request.base_url).rstrip("/")
        return _json(dict(msgspec.to_builtins(app), snippet=snippet(app.id, base)), 201)

    return [
        Route("/api/v1/query", query, methods=["POST"]),
        Route("/api/v1/apps", list_apps, methods=["GET"]),
        Route("/api/v1/apps", create_app, methods=["POST"]),
    ]


async def _await(future: Future[Any]) -> Any:
    return await asyncio.wrap_future(future)


async def handle_error(request: Request, exc: Exception) -> Response:
    """ApiError and QueryError become ``{"error": ...}`` with their status."""
    status = getattr(exc, "status", 400)
    return JSONResponse({"error": str(exc)}, status_code=status)
