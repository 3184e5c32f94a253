"""The alerts API (docs/api.md "Alerts", docs/alerts.md): rules and channels (create, list,
replace, delete, test), silences, incidents and the delivery log. Changes are audited;
channels' secrets are never returned.

Rules belong to an application: a token scoped to it may manage them, and its silences.
Channels hold secrets and serve every application: administrators only, as are silences of every
application.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.alerts import channels, evaluate, incidents, rules, silences
from openrum.alerts.channels import Channel, ChannelError
from openrum.alerts.rules import Rule
from openrum.alerts.scheduler import load_channels, load_rules, load_silences
from openrum.alerts.silences import Silence
from openrum.collect.app import Collector
from openrum.collect.writer import BatchWriter
from openrum.query.sql import iso
from openrum.settings import Settings
from openrum.store.base import Delivery, Incident, Store
from openrum.web.api import ApiError, principal, require_admin, require_app

_channel_decoder = msgspec.json.Decoder(Channel)
_silence_decoder = msgspec.json.Decoder(Silence)
STATES = ("firing", "resolved")


def _json(data: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type="application/json")


async def _await(future: Future[Any]) -> Any:
    return await asyncio.wrap_future(future)


async def _body(request: Request) -> bytes:
    raw = await request.body()
    if len(raw) > 100_000:
        raise ApiError("request body too large", 413)
    return raw


def _limit(request: Request) -> int:
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise ApiError("limit must be a number") from None
    if not 1 <= limit <= 1000:
        raise ApiError("limit must be between 1 and 1000")
    return limit


def _incident(i: Incident) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(i)
    out.setdefault("end", None)
    return out


def routes(
    store: Store,
    writer: BatchWriter,
    collector: Collector,
    settings: Settings,
    now: Callable[[], dt.datetime] | None = None,
) -> list[Route]:
    """The alerts routes, bound to one store and writer."""

    def clock() -> dt.datetime:
        return now() if now else dt.datetime.now(dt.UTC).replace(tzinfo=None)

    async def write(fn: Callable[[Store], Any]) -> Any:
        return await _await(writer.call(fn))

    async def audit(request: Request, action: str, app: str | None, detail: dict[str, Any]) -> None:
        actor = principal(request).name
        await write(lambda s: s.audit(actor, action, app, detail))

    async def log(delivery: Delivery) -> None:
        await write(lambda s: s.log_delivery(delivery))

    # -- rules ---------------------------------------------------------------------------------
    async def stored_rule(request: Request) -> Rule:
        rule_id = request.path_params["rule_id"]
        for rule in await run_in_threadpool(load_rules, store):
            if rule.id == rule_id:
                require_app(request, rule.app)
                return rule
        raise ApiError(f"no alert rule {rule_id!r}", 404)

    async def checked_rule(request: Request) -> Rule:
        rule = rules.decode(await _body(request))
        require_app(request, rule.app)
        if rule.app not in collector.apps:
            raise ApiError(f"no application {rule.app!r}", 404)
        rules.validate(rule, settings)
        known = {c["id"] for c in await run_in_threadpool(store.alert_items, "channels")}
        missing = [c for c in rule.channels if c not in known]
        if missing:
            raise ApiError(f"no channel {missing[0]!r}; create it first", 400)
        return rule

    async def list_rules(request: Request) -> Response:
        who = principal(request)
        app = request.query_params.get("app")
        found = [msgspec.to_builtins(r) for r in await run_in_threadpool(load_rules, store)
                 if who.may_read(r.app) and (app is None or r.app == app)]  # fmt: skip
        return _json({"rules": found})

    async def create_rule(request: Request) -> Response:
        rule = await checked_rule(request)
        rule = msgspec.structs.replace(rule, id=rule.id or secrets.token_hex(6))
        if any(r.id == rule.id for r in await run_in_threadpool(load_rules, store)):
            raise ApiError(f"alert rule {rule.id!r} exists", 409)
        body = msgspec.to_builtins(rule)
        await write(lambda s: s.save_alert_item("rules", rule.id, body))
        await audit(request, "alert_rule_created", rule.app, {"id": rule.id, "name": rule.name})
        return _json(body, 201)

    async def replace_rule(request: Request) -> Response:
        old = await stored_rule(request)
        rule = msgspec.structs.replace(await checked_rule(request), id=old.id)
        body = msgspec.to_builtins(rule)
        await write(lambda s: s.save_alert_item("rules", rule.id, body))
        await audit(request, "alert_rule_changed", rule.app, {"id": rule.id, "name": rule.name})
        return _json(body)

    async def delete_rule(request: Request) -> Response:
        rule = await stored_rule(request)
        await write(lambda s: s.delete_alert_item("rules", rule.id))
        await audit(request, "alert_rule_deleted", rule.app, {"id": rule.id, "name": rule.name})
        return Response(status_code=204)

    async def test_rule(request: Request) -> Response:
        return await replayed(await stored_rule(request))

    async def test_new_rule(request: Request) -> Response:
        rule = await checked_rule(request)
        return await replayed(rule)

    async def replayed(rule: Rule) -> Response:
        at = clock()
        replayed = await run_in_threadpool(evaluate.replay, store, rule, settings, at)
        fired = incidents.simulate(rule, replayed)
        return _json({
            "rule": rule.id,
            "from": iso(replayed[0].start),
            "to": iso(replayed[-1].end),
            "windows": len(replayed),
            "breached": sum(1 for e in replayed if e.breached),
            "without_data": sum(1 for e in replayed if e.breached is None),
            "would_have_fired": bool(fired),
            "incidents": [_incident(i) for i in fired],
        })  # fmt: skip

    # -- channels ------------------------------------------------------------------------------
    async def stored_channel(request: Request) -> Channel:
        require_admin(request)
        channel_id = request.path_params["channel_id"]
        found = (await run_in_threadpool(load_channels, store)).get(channel_id)
        if found is None:
            raise ApiError(f"no channel {channel_id!r}", 404)
        return found

    async def checked_channel(request: Request) -> Channel:
        require_admin(request)
        try:
            return _channel_decoder.decode(await _body(request))
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise ApiError(f"invalid channel: {e}") from None

    def valid(channel: Channel) -> Channel:
        try:
            return channels.validate(channel)
        except ChannelError as e:
            raise ApiError(str(e)) from None

    async def list_channels(request: Request) -> Response:
        require_admin(request)
        found = await run_in_threadpool(load_channels, store)
        return _json({"channels": [channels.public(c) for c in found.values()]})

    async def create_channel(request: Request) -> Response:
        channel = valid(await checked_channel(request))
        channel = msgspec.structs.replace(channel, id=channel.id or secrets.token_hex(6))
        if channel.id in await run_in_threadpool(load_channels, store):
            raise ApiError(f"channel {channel.id!r} exists", 409)
        body = msgspec.to_builtins(channel)
        await write(lambda s: s.save_alert_item("channels", channel.id, body))
        detail = {"id": channel.id, "name": channel.name, "kind": channel.kind}
        await audit(request, "alert_channel_created", None, detail)
        return _json(channels.public(channel), 201)

    async def replace_channel(request: Request) -> Response:
        old = await stored_channel(request)
        channel = valid(channels.merge(old, await checked_channel(request)))
        body = msgspec.to_builtins(channel)
        await write(lambda s: s.save_alert_item("channels", channel.id, body))
        detail = {"id": channel.id, "name": channel.name, "kind": channel.kind}
        await audit(request, "alert_channel_changed", None, detail)
        return _json(channels.public(channel))

    async def delete_channel(request: Request) -> Response:
        channel = await stored_channel(request)
        users = [r.id for r in await run_in_threadpool(load_rules, store)
                 if channel.id in r.channels]  # fmt: skip
        if users:
            raise ApiError(f"channel {channel.id!r} is used by rules {', '.join(users)}", 409)
        await write(lambda s: s.delete_alert_item("channels", channel.id))
        await audit(request, "alert_channel_deleted", None, {"id": channel.id})
        return Response(status_code=204)

    async def test_channel(request: Request) -> Response:
        channel = await stored_channel(request)
        sample = Incident(
            id="test", rule="test", app="test", severity="info", state="firing",
            start=int(clock().replace(tzinfo=dt.UTC).timestamp() * 1000),
            detail={"rule_name": "test notification", "metric": "page_views", "window": "5m",
                    "condition": {"op": "below", "threshold": 1, "baseline": "none"},
                    "value": 0.0, "sample": 0, "link": "/"},
        )  # fmt: skip
        attempts: list[Delivery] = []
        once = dataclasses.replace(settings, alerts_delivery_attempts=1)  # answer in time
        ok = await run_in_threadpool(
            channels.deliver, channel, "test", sample, once, attempts.append
        )
        for delivery in attempts:
            await log(delivery)
        return _json({"ok": ok, "attempts": [msgspec.to_builtins(d) for d in attempts]})

    async def list_deliveries(request: Request) -> Response:
        require_admin(request)
        incident = request.query_params.get("incident")
        limit = _limit(request)
        found = await run_in_threadpool(store.deliveries, incident, limit)
        return _json({"deliveries": [msgspec.to_builtins(d) for d in found]})

    # -- silences ------------------------------------------------------------------------------
    def may_change(request: Request, silence: Silence) -> None:
        if silence.app is None:
            require_admin(request)  # every application
        else:
            require_app(request, silence.app)

    async def list_silences(request: Request) -> Response:
        who = principal(request)
        found = [msgspec.to_builtins(s) for s in await run_in_threadpool(load_silences, store)
                 if s.app is None or who.may_read(s.app)]  # fmt: skip
        return _json({"silences": found})

    async def create_silence(request: Request) -> Response:
        try:
            silence = _silence_decoder.decode(await _body(request))
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise ApiError(f"invalid silence: {e}") from None
        may_change(request, silence)
        if silence.app is not None and silence.app not in collector.apps:
            raise ApiError(f"no application {silence.app!r}", 404)
        silence = silences.validate(silence)
        silence = msgspec.structs.replace(silence, id=silence.id or secrets.token_hex(6))
        if any(s.id == silence.id for s in await run_in_threadpool(load_silences, store)):
            raise ApiError(f"silence {silence.id!r} exists", 409)
        body = msgspec.to_builtins(silence)
        await write(lambda s: s.save_alert_item("silences", silence.id, body))
        await audit(request, "alert_silence_created", silence.app, body)
        return _json(body, 201)

    async def delete_silence(request: Request) -> Response:
        silence_id = request.path_params["silence_id"]
        found = [s for s in await run_in_threadpool(load_silences, store) if s.id == silence_id]
        if not found:
            raise ApiError(f"no silence {silence_id!r}", 404)
        may_change(request, found[0])
        await write(lambda s: s.delete_alert_item("silences", silence_id))
        await audit(request, "alert_silence_deleted", found[0].app, {"id": silence_id})
        return Response(status_code=204)

    # -- incidents -----------------------------------------------------------------------------
    async def list_incidents(request: Request) -> Response:
        who = principal(request)
        app = request.query_params.get("app")
        if app is not None:
            require_app(request, app)
        elif who.app is not None:
            app = who.app
        state = request.query_params.get("state")
        if state is not None and state not in STATES:
            raise ApiError(f"unknown state {state!r}; valid: {', '.join(STATES)}")
        found = await run_in_threadpool(store.incidents, app, state, _limit(request))
        return _json({"incidents": [_incident(i) for i in found]})

    return [
        Route("/api/v1/alerts/rules", list_rules, methods=["GET"]),
        Route("/api/v1/alerts/rules", create_rule, methods=["POST"]),
        Route("/api/v1/alerts/rules/{rule_id}", replace_rule, methods=["PUT"]),
        Route("/api/v1/alerts/rules/{rule_id}", delete_rule, methods=["DELETE"]),
        Route("/api/v1/alerts/rules/{rule_id}/test", test_rule, methods=["POST"]),
        Route("/api/v1/alerts/test", test_new_rule, methods=["POST"]),
        Route("/api/v1/alerts/channels", list_channels, methods=["GET"]),
        Route("/api/v1/alerts/channels", create_channel, methods=["POST"]),
        Route("/api/v1/alerts/channels/{channel_id}", replace_channel, methods=["PUT"]),
        Route("/api/v1/alerts/channels/{channel_id}", delete_channel, methods=["DELETE"]),
        Route("/api/v1/alerts/channels/{channel_id}/test", test_channel, methods=["POST"]),
        Route("/api/v1/alerts/deliveries", list_deliveries, methods=["GET"]),
        Route("/api/v1/alerts/silences", list_silences, methods=["GET"]),
        Route("/api/v1/alerts/silences", create_silence, methods=["POST"]),
        Route("/api/v1/alerts/silences/{silence_id}", delete_silence, methods=["DELETE"]),
        Route("/api/v1/incidents", list_incidents, methods=["GET"]),
    ]
