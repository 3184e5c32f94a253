"""The availability checks API (docs/api.md "Availability checks", docs/alerts.md): checks are
created, replaced and deleted by administrators only — the server connects wherever a check
points, from inside its network (SSRF) — and read, with their latest runs, by whoever may read
their application. Changes are audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.alerts import checks
from openrum.alerts.checks import Check
from openrum.alerts.scheduler import load_checks
from openrum.collect.app import Collector
from openrum.collect.writer import BatchWriter
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError, principal, require_admin, require_app


def _json(data: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type="application/json")


def _count(request: Request, name: str, default: int, most: int) -> int:
    try:
        n = int(request.query_params.get(name, str(default)))
    except ValueError:
        raise ApiError(f"{name} must be a number") from None
    if not 0 <= n <= most:
        raise ApiError(f"{name} must be between 0 and {most}")
    return n


def _since(request: Request) -> int:
    raw = request.query_params.get("from")
    if raw is None:
        return 0
    try:
        t = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(f"'from' is not an ISO-8601 time: {raw!r}") from None
    return int((t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp() * 1000)


def routes(
    store: Store, writer: BatchWriter, collector: Collector, settings: Settings
) -> list[Route]:
    """The availability checks routes, bound to one store and writer."""

    async def write(request: Request, fn: Any, action: str, check: Check) -> None:
        actor = principal(request).name
        detail = {"id": check.id, "name": check.name, "url": check.url}

        def both(s: Store) -> None:
            fn(s)
            s.audit(actor, action, check.app, detail)

        await asyncio.wrap_future(writer.call(both))

    async def stored(request: Request) -> Check:
        check_id = request.path_params["check_id"]
        for check in await run_in_threadpool(load_checks, store):
            if check.id == check_id:
                require_app(request, check.app)
                return check
        raise ApiError(f"no check {check_id!r}", 404)

    async def checked(request: Request) -> Check:
        require_admin(request)
        raw = await request.body()
        if len(raw) > 100_000:
            raise ApiError("request body too large", 413)
        check = checks.validate(checks.decode(raw), settings)
        if check.app not in collector.apps:
            raise ApiError(f"no application {check.app!r}", 404)
        known = {c["id"] for c in await run_in_threadpool(store.alert_items, "channels")}
        missing = [c for c in check.channels if c not in known]
        if missing:
            raise ApiError(f"no channel {missing[0]!r}; create it first", 400)
        return check

    async def list_checks(request: Request) -> Response:
        who = principal(request)
        app = request.query_params.get("app")
        if app is not None:
            require_app(request, app)
        n = _count(request, "runs", 30, 1000)

        def found() -> list[dict[str, Any]]:
            return [
                {**msgspec.to_builtins(c),
                 "runs": msgspec.to_builtins(store.check_results(c.id, limit=n)) if n else []}
                for c in load_checks(store)
                if who.may_read(c.app) and (app is None or c.app == app)
            ]  # fmt: skip

        return _json({"checks": await run_in_threadpool(found)})

    async def create_check(request: Request) -> Response:
        check = await checked(request)
        check = msgspec.structs.replace(check, id=check.id or secrets.token_hex(6))
        if any(c.id == check.id for c in await run_in_threadpool(load_checks, store)):
            raise ApiError(f"check {check.id!r} exists", 409)
        body = msgspec.to_builtins(check)
        await write(request, lambda s: s.save_alert_item("checks", check.id, body),
                    "check_created", check)  # fmt: skip
        return _json(body, 201)

    async def replace_check(request: Request) -> Response:
        require_admin(request)
        old = await stored(request)
        check = msgspec.structs.replace(await checked(request), id=old.id)
        body = msgspec.to_builtins(check)
        await write(request, lambda s: s.save_alert_item("checks", check.id, body),
                    "check_changed", check)  # fmt: skip
        return _json(body)

    async def delete_check(request: Request) -> Response:
        require_admin(request)
        check = await stored(request)
        await write(request, lambda s: s.delete_alert_item("checks", check.id),
                    "check_deleted", check)  # fmt: skip
        return Response(status_code=204)

    async def list_runs(request: Request) -> Response:
        check = await stored(request)
        since, n = _since(request), _count(request, "limit", 100, 10_000)
        runs = await run_in_threadpool(store.check_results, check.id, since, n)
        return _json({"check": check.id, "runs": msgspec.to_builtins(runs)})

    return [
        Route("/api/v1/checks", list_checks, methods=["GET"]),
        Route("/api/v1/checks", create_check, methods=["POST"]),
        Route("/api/v1/checks/{check_id}", replace_check, methods=["PUT"]),
        Route("/api/v1/checks/{check_id}", delete_check, methods=["DELETE"]),
        Route("/api/v1/checks/{check_id}/runs", list_runs, methods=["GET"]),
    ]
