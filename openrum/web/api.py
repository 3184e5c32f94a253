"""The JSON API (docs/api.md): queries and applications. The dashboard uses only this API."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
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

from openrum import privacy
from openrum.collect.app import Collector, normalise_origin
from openrum.collect.metrics import Metrics
from openrum.collect.writer import BatchWriter
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.settings import Settings
from openrum.store.base import App, Store, StoreError
from openrum.web.auth import Auth, Principal, new_token


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


# App config keys the agent reads from its script tag (docs/agent.md "Options").
_SNIPPET_OPTIONS = {
    "sample": "data-sample",
    "optin": "data-optin",
    "dnt": "data-dnt",
    "keep_query": "data-query",
    "keep_fragment": "data-hash",
    "trace_origins": "data-trace",
    "diagnostics": "data-diag",
    "diagnostics_resources": "data-diag-resources",
}


# keep_fragment → data-hash: which fragments the agent keeps and treats as routes (its default:
# those of hash routers, `#/…` and `#!/…`).
_HASH_OPTION: dict[Any, Any] = {"all": True, "none": "0", "routes": None}


def snippet(app_id: str, base_url: str, config: dict[str, Any] | None = None) -> str:
    """The async <script> tag a site pastes into its <head>, with the app's agent options."""
    options = ""
    for key, attr in _SNIPPET_OPTIONS.items():
        value = (config or {}).get(key)
        if key == "keep_fragment":
            value = "0" if value is False else _HASH_OPTION.get(value, value)
        elif key == "trace_origins":  # space-separated in the attribute
            value = " ".join(value or ()) or None
        if value is None or value is False or (key == "sample" and value == 100):
            continue
        text = "1" if value is True else f"{value:g}" if isinstance(value, float) else str(value)
        options += f' {attr}="{html.escape(text)}"'
    return (
        f'<script async src="{base_url}/openrum.js" data-app="{app_id}" '
        f'data-endpoint="{base_url}/api/v1/beacon"{options}></script>'
    )


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"  # where `openrum serve` listens by default


def public_url(settings: Settings) -> str:
    """The base URL of snippets: the ``public_url`` setting (``openrum serve`` sets it to its
    listening address when it is empty), never the request's Host header, which the client
    chooses (a snippet for ``Host: evil.example`` would send a site's beacons there)."""
    return (settings.public_url or DEFAULT_PUBLIC_URL).rstrip("/")


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


def principal(request: Request) -> Principal:
    """Who made the request (the auth layer let it through, so there is someone)."""
    who: Principal = request.scope["state"]["principal"]
    return who


def require_app(request: Request, app_id: str) -> None:
    """Raises 403 unless the request may read ``app_id``."""
    if not principal(request).may_read(app_id):
        raise ApiError(f"this token is for another application than {app_id!r}", 403)


def require_admin(request: Request) -> None:
    """Raises 403 unless the request may administer every application."""
    if not principal(request).admin:
        raise ApiError("this needs an administrator (a login or an unscoped token)", 403)


class Erasure(msgspec.Struct, forbid_unknown_fields=True):
    app: str
    session_id: str | None = None
    user_tag: str | None = None


_erasure_decoder = msgspec.json.Decoder(Erasure)


class NewToken(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    app: str | None = None
    read_only: bool = False


_new_token_decoder = msgspec.json.Decoder(NewToken)


def routes(
    store: Store,
    writer: BatchWriter,
    collector: Collector,
    settings: Settings,
    auth: Auth,
    metrics: Metrics,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The API routes, bound to one store and writer."""

    async def body_of(request: Request, decoder: msgspec.json.Decoder[Any]) -> Any:
        try:
            async with asyncio.timeout(settings.body_timeout_s):
                raw = await request.body()
        except TimeoutError:
            raise ApiError("the request body took too long to arrive", 408) from None
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
        require_app(request, q.app)
        if q.app not in collector.apps:
            raise ApiError(f"no application {q.app!r}", 404)
        at = now() if now else None
        result = await run_in_threadpool(run_query, store, q, settings, at)
        return _json(result)

    async def list_apps(request: Request) -> Response:
        base = public_url(settings)
        return _json(
            {
                "apps": [
                    dict(msgspec.to_builtins(a), snippet=snippet(a.id, base, a.config))
                    for a in collector.apps.values()
                    if principal(request).may_read(a.id)
                ]
            }
        )

    async def create_app(request: Request) -> Response:
        require_admin(request)
        spec = await body_of(request, _new_app_decoder)
        app = new_app(spec.name, spec.origins, spec.id)
        try:
            await _await(writer.call(lambda s: s.create_app(app)))
        except StoreError as e:
            raise ApiError(str(e), 409) from None
        apps = await _await(writer.call(lambda s: s.list_apps()))
        collector.set_apps(apps)
        actor = principal(request).name
        await _await(writer.call(lambda s: s.audit(actor, "app_created", app.id, {})))
        base = public_url(settings)
        return _json(dict(msgspec.to_builtins(app), snippet=snippet(app.id, base)), 201)

    async def me(request: Request) -> Response:
        who = principal(request)
        return _json(
            {
                "name": who.name,
                "kind": who.kind,
                "app": who.app,
                "read_only": who.read_only,
                "csrf": who.csrf,
            }
        )

    async def logout(request: Request) -> Response:
        cookie = await auth.logout(request.scope)
        return Response(status_code=204, headers={"set-cookie": cookie.decode()})

    async def list_tokens(request: Request) -> Response:
        require_admin(request)
        tokens = await _await(writer.call(lambda s: s.list_tokens()))
        return _json(
            {
                "tokens": [
                    {
                        "id": t.id,
                        "name": t.name,
                        "app": t.app,
                        "read_only": t.read_only,
                        "created": t.created,
                    }
                    for t in tokens
                ]
            }
        )

    async def create_token(request: Request) -> Response:
        require_admin(request)
        spec = await body_of(request, _new_token_decoder)
        if spec.app is not None and spec.app not in collector.apps:
            raise ApiError(f"no application {spec.app!r}", 404)
        secret, token = new_token(spec.name, spec.app, spec.read_only)
        actor = principal(request).name
        await _await(writer.call(lambda s: s.save_token(token)))
        detail = {"id": token.id, "name": token.name}
        await _await(writer.call(lambda s: s.audit(actor, "token_created", token.app, detail)))
        auth.tokens[token.token_hash] = token
        return _json(
            {
                "id": token.id,
                "name": token.name,
                "app": token.app,
                "read_only": token.read_only,
                "token": secret,
            },
            201,
        )

    async def revoke_token(request: Request) -> Response:
        require_admin(request)
        token_id = request.path_params["token_id"]
        if not await _await(writer.call(lambda s: s.delete_token(token_id))):
            raise ApiError(f"no token {token_id!r}", 404)
        auth.tokens = {h: t for h, t in auth.tokens.items() if t.id != token_id}
        actor = principal(request).name
        await _await(writer.call(lambda s: s.audit(actor, "token_revoked", None, {"id": token_id})))
        return Response(status_code=204)

    async def erase(request: Request) -> Response:
        spec = await body_of(request, _erasure_decoder)
        require_app(request, spec.app)
        actor = principal(request).name
        try:
            counts = await _await(
                writer.call(
                    lambda s: privacy.erase(s, spec.app, spec.session_id, spec.user_tag, actor)
                )
            )
        except ValueError as e:
            raise ApiError(str(e)) from None
        return _json({"deleted": counts})

    async def export(request: Request) -> Response:
        app = request.query_params.get("app", "")
        if not app:
            raise ApiError("app is required")
        require_app(request, app)
        actor = principal(request).name
        session_id = request.query_params.get("session_id")
        user_tag = request.query_params.get("user_tag")
        try:
            data = await _await(
                writer.call(lambda s: privacy.export(s, app, session_id, user_tag, actor))
            )
        except ValueError as e:
            raise ApiError(str(e)) from None
        return Response(
            msgspec.json.encode(data),
            media_type="application/json",
            headers={"content-disposition": "attachment; filename=export.json"},
        )

    async def metrics_text(request: Request) -> Response:
        return Response(
            metrics.render(writer.depth, writer.spool.size),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    return [
        Route("/metrics", metrics_text, methods=["GET"]),
        Route("/api/v1/me", me, methods=["GET"]),
        Route("/api/v1/logout", logout, methods=["POST"]),
        Route("/api/v1/tokens", list_tokens, methods=["GET"]),
        Route("/api/v1/tokens", create_token, methods=["POST"]),
        Route("/api/v1/tokens/{token_id}", revoke_token, methods=["DELETE"]),
        Route("/api/v1/query", query, methods=["POST"]),
        Route("/api/v1/erase", erase, methods=["POST"]),
        Route("/api/v1/export", export, methods=["GET"]),
        Route("/api/v1/apps", list_apps, methods=["GET"]),
        Route("/api/v1/apps", create_app, methods=["POST"]),
    ]


async def _await(future: Future[Any]) -> Any:
    return await asyncio.wrap_future(future)


async def handle_store_error(request: Request, exc: Exception) -> Response:
    """The store could not answer (out of memory, engine down): 503, said plainly."""
    return JSONResponse(
        {"error": f"the store could not answer: {exc}"},
        status_code=503,
        headers={"retry-after": "5"},
    )


async def handle_error(request: Request, exc: Exception) -> Response:
    """ApiError and QueryError become ``{"error": ...}`` with their status."""
    status = getattr(exc, "status", 400)
    return JSONResponse({"error": str(exc)}, status_code=status)
