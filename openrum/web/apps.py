"""Changing an application from the dashboard's Settings page: ``PATCH /api/v1/apps/{id}``.

Body: any of ``{"name": str, "origins": [str], "config": {...}}``. ``config`` is merged into the
stored config key by key (a key set to ``null`` is removed). The keys the Settings page edits are
checked here (docs/api.md "Application config"); other keys (page groups, key actions, UX score
options…) pass through to the batch step, which checks them itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.alerts.detectors import NAMES as DETECTORS
from openrum.collect.app import Collector, normalise_origin
from openrum.collect.writer import BatchWriter
from openrum.settings import FRAGMENT_MODES
from openrum.store.base import App, Store
from openrum.web.api import ApiError, new_app, principal, public_url, require_admin, snippet

ACTION_TYPES = ("load", "xhr", "route_change", "custom")
APDEX_METRICS = ("duration", "lcp", "load_event_end", "dom_interactive", "fcp", "inp")


class AppChange(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    origins: list[str] | None = None
    config: dict[str, Any] | None = None


_decoder = msgspec.json.Decoder(AppChange)


def _number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ApiError(f"{what} must be a number from {low:g} to {high:g}")
    return float(value)


def _choice(value: Any, what: str, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise ApiError(f"{what} must be one of {', '.join(map(str, choices))}")


def check_config(config: dict[str, Any]) -> None:
    """Raises ApiError naming the first config value the batch step or the agent would refuse."""
    for key, value in config.items():
        if key in ("sample",):
            _number(value, "sample (% of sessions)", 0.01, 100)
        elif key == "diagnostics":
            _number(value, "diagnostics (% of sessions)", 0, 100)
        elif key == "diagnostics_resources":
            _number(value, "diagnostics_resources", 0, 100)
        elif key in (
            "optin",
            "keep_query",
            "mask_personal_data",
            "apdex_error_frustrates",
            "sourcemap_fetch",
        ):
            if not isinstance(value, bool):
                raise ApiError(f"{key} must be true or false")
        elif key == "keep_fragment":  # true and false, as stored before, mean all and none
            _choice(value, "keep_fragment", (*FRAGMENT_MODES, True, False))
        elif key == "dnt":
            _choice(value, "dnt", ("anonymous", "off", "ignore"))
        elif key == "ip_mask_level":
            _choice(value, "ip_mask_level", (0, 1, 2))
        elif key in ("bots", "synthetic"):
            _choice(value, key, ("drop", "tag"))
        elif key == "apdex":
            if not isinstance(value, dict):
                raise ApiError("apdex must be an object by action type")
            for kind, spec in value.items():
                _choice(kind, "apdex action type", ACTION_TYPES)
                if not isinstance(spec, dict) or not set(spec) <= {"t", "f", "metric"}:
                    raise ApiError(f"apdex.{kind} takes t, f and metric")
                t = _number(spec.get("t", 1), f"apdex.{kind}.t (ms)", 1, 600_000)
                f = _number(spec.get("f", 600_000), f"apdex.{kind}.f (ms)", 1, 600_000)
                if "t" in spec and "f" in spec and f < t:
                    raise ApiError(f"apdex.{kind}: f must be at least t")
                if "metric" in spec:
                    _choice(spec["metric"], f"apdex.{kind}.metric", APDEX_METRICS)
        elif key == "trace_origins":  # the agent compares them as they are with URL.origin
            if not isinstance(value, list) or not all(
                isinstance(o, str) and o and normalise_origin(o) == o for o in value
            ):
                raise ApiError(
                    "trace_origins must be a list of origins like https://api.shop.example "
                    "(lower case, no default port, no path)"
                )
        elif key == "detectors":
            _detectors(value)
        elif key == "retention_days":
            if not isinstance(value, dict):
                raise ApiError("retention_days must be an object by data type")
            for kind, days in value.items():
                _number(days, f"retention_days.{kind}", 1, 3650)


def _detectors(value: Any) -> None:
    """``detectors``: each built-in detector on (true) or off (false), and ``channels`` (the
    channel ids they notify)."""
    if not isinstance(value, dict):
        raise ApiError("detectors must be an object: a detector's name to true or false")
    for name, on in value.items():
        if name == "channels":
            if not isinstance(on, list) or not all(isinstance(c, str) for c in on):
                raise ApiError("detectors.channels must be a list of channel ids")
            continue
        _choice(name, "detector", DETECTORS)
        if not isinstance(on, bool):
            raise ApiError(f"detectors.{name} must be true or false")


def apply_change(app: App, change: AppChange) -> App:
    """The application after ``change``. Raises ApiError for an invalid value."""
    config = dict(app.config)
    for key, value in (change.config or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    check_config(config)
    checked = new_app(
        app.name if change.name is None else change.name,
        app.origins if change.origins is None else change.origins,
        app.id,
        app.created,
    )
    return App(
        id=app.id, name=checked.name, origins=checked.origins, created=app.created, config=config
    )


def routes(store: Store, writer: BatchWriter, collector: Collector) -> list[Route]:
    """The route that changes an application."""

    async def write(fn: Any) -> Any:
        return await asyncio.wrap_future(writer.call(fn))

    async def patch_app(request: Request) -> Response:
        require_admin(request)
        app_id = request.path_params["app_id"]
        current = collector.apps.get(app_id)
        if current is None:
            raise ApiError(f"no application {app_id!r}", 404)
        raw = await request.body()
        if len(raw) > 100_000:
            raise ApiError("request body too large", 413)
        try:
            change = _decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise ApiError(f"invalid request: {e}") from None
        updated = apply_change(current, change)

        def save(s: Store) -> list[App]:
            s.update_app(updated)
            apps = s.list_apps()
            # The batch step reads per-application rules (enrich/pipeline.py) on its own thread.
            refresh = getattr(writer.pipeline, "set_apps", None)
            if callable(refresh):
                refresh(apps)
            return apps

        apps = await write(save)
        collector.set_apps(apps)
        actor = principal(request).name
        detail = {
            "fields": sorted(
                k for k in ("name", "origins", "config") if getattr(change, k) is not None
            )
        }
        await write(lambda s: s.audit(actor, "app_changed", app_id, detail))
        base = public_url(collector.settings)
        return Response(
            msgspec.json.encode(
                dict(
                    msgspec.to_builtins(updated), snippet=snippet(updated.id, base, updated.config)
                )
            ),
            media_type="application/json",
        )

    return [Route("/api/v1/apps/{app_id}", patch_app, methods=["PATCH"])]
