"""Releases and their regressions, for the dashboard's Releases page (docs/api.md "Releases").

- ``GET /api/v1/releases?app=ID``: the releases (the agent's ``data-release``) with traffic,
  newest first: first and last seen, actions, and the previous release.
- ``GET /api/v1/releases/{release}/regressions?app=ID&against=OTHER``: the release against
  ``against`` (by default its previous release), per segment and metric (openrum/regressions.py).

The releases and their samples are read by openrum/releases.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.collect.app import Collector
from openrum.regressions import METRICS, compare
from openrum.releases import releases, samples, thresholds
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError, require_app
from openrum.web.scope import json_response


def regressions(
    store: Store, app: str, release: str, against: str | None, settings: Settings
) -> dict[str, Any]:
    """``release`` against ``against`` (default: its previous release): the tests run and the
    significant findings. Raises ApiError when either release has no traffic."""
    known = {r["release"]: r for r in releases(store, app)}
    if release not in known:
        raise ApiError(f"no release {release!r} with traffic", 404)
    against = against or known[release]["previous"]
    if against is None:
        raise ApiError(f"release {release!r} has no previous release: name one in against")
    if against not in known:
        raise ApiError(f"no release {against!r} with traffic", 404)
    if against == release:
        raise ApiError("against must name another release")
    t = thresholds(settings)
    before, after = samples(store, app, (against, release), settings)
    tests, findings = compare(before, after, t)
    return {
        "release": known[release],
        "against": known[against],
        "tests": tests,
        "segments": len(before),
        "settings": {
            k: v for k, v in dataclasses.asdict(t).items() if k not in ("bootstrap", "confidence")
        },
        "findings": [
            {
                "segment": dict(f.segment),
                "metric": f.metric,
                "unit": METRICS[f.metric].unit,
                "direction": f.direction,
                "before": f.before,
                "after": f.after,
                "effect": f.effect,
                "effect_kind": "ratio" if METRICS[f.metric].kind == "p75" else "difference",
                "low": f.low,
                "high": f.high,
                "n_before": f.n_before,
                "n_after": f.n_after,
                "p": f.p,
                "q": f.q,
            }
            for f in findings
        ],
    }


def routes(
    store: Store,
    collector: Collector,
    settings: Settings,
) -> list[Route]:
    """The release endpoints, bound to one store."""

    def app_of(request: Request) -> str:
        app = request.query_params.get("app", "")
        if not app:
            raise ApiError("app is required")
        require_app(request, app)
        if app not in collector.apps:
            raise ApiError(f"no application {app!r}", 404)
        return app

    async def list_releases(request: Request) -> Response:
        app = app_of(request)
        return json_response({"releases": await run_in_threadpool(releases, store, app)})

    async def compared(request: Request) -> Response:
        app = app_of(request)
        against = request.query_params.get("against") or None
        release = request.path_params["release"]
        found = await run_in_threadpool(regressions, store, app, release, against, settings)
        return json_response(found)

    return [
        Route("/api/v1/releases", list_releases, methods=["GET"]),
        Route("/api/v1/releases/{release}/regressions", compared, methods=["GET"]),
    ]
