"""Releases and their regressions, for the dashboard's Releases page (docs/api.md "Releases").

- ``GET /api/v1/releases?app=ID``: the releases (the agent's ``data-release``) with traffic,
  newest first: first and last seen, actions, and the previous release.
- ``GET /api/v1/releases/{release}/regressions?app=ID&against=OTHER``: the release against
  ``against`` (by default its previous release), per segment and metric (openrum/regressions.py).

The previous release is the one first seen most recently before this one was: during a rollout
both have traffic, and the order of first appearance is the order of deployment.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum.collect.app import Collector
from openrum.regressions import METRICS, Sample, Segment, Thresholds, compare
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError, require_app
from openrum.web.scope import iso, json_response

# Segments are compared within two families: page × device class, and browser family.
FAMILIES: tuple[tuple[str, ...], ...] = (("page", "device"), ("browser",))
# Bots and synthetic monitors are not the users a release is for.
_REAL = "(user_type = 'real' OR user_type IS NULL)"
_COLUMNS = "action_type, duration, lcp, inp, cls, errors, apdex"


def thresholds(settings: Settings) -> Thresholds:
    """The detector's thresholds from the settings."""
    return Thresholds(
        fdr=settings.regression_fdr,
        min_samples=settings.regression_min_actions,
        relative=settings.regression_min_relative,
        ms=settings.regression_min_ms,
        inp_ms=settings.regression_min_inp_ms,
        cls=settings.regression_min_cls,
        error_points=settings.regression_min_error_points,
        apdex_points=settings.regression_min_apdex_points,
    )


def releases(store: Store, app: str) -> list[dict[str, Any]]:
    """The app's releases with actions, newest (last first seen) first, each naming the
    release before it."""
    _, rows = store.select(
        "SELECT release, min(time), max(time), count(*) FROM actions WHERE app = ? "
        f"AND release IS NOT NULL AND release <> '' AND {_REAL} GROUP BY release "
        "ORDER BY 2, 1",
        [app],
    )
    out = [
        {
            "release": r[0],
            "first_seen": iso(r[1]),
            "last_seen": iso(r[2]),
            "actions": int(r[3]),
            "previous": rows[i - 1][0] if i else None,
        }
        for i, r in enumerate(rows)
    ]
    return out[::-1]


def _where(dims: tuple[str, ...], values: tuple[Any, ...]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for dim, value in zip(dims, values, strict=True):
        parts.append(f"{dim} IS NULL" if value is None else f"{dim} = ?")
        params += [] if value is None else [value]
    return " AND ".join(parts), params


def _segments(
    store: Store, app: str, pair: tuple[str, str], dims: tuple[str, ...], settings: Settings
) -> list[tuple[Any, ...]]:
    """The busiest segments of a family with enough actions in both releases."""
    cols = ", ".join(dims)
    _, rows = store.select(
        f"SELECT {cols}, sum(CASE WHEN release = ? THEN 1 ELSE 0 END) AS a, "
        "sum(CASE WHEN release = ? THEN 1 ELSE 0 END) AS b FROM actions "
        f"WHERE app = ? AND release IN (?, ?) AND {_REAL} GROUP BY {cols}",
        [*pair, app, *pair],
    )
    k = len(dims)
    enough = [r for r in rows if min(r[k], r[k + 1]) >= settings.regression_min_actions]
    enough.sort(key=lambda r: (-min(r[k], r[k + 1]), repr(r[:k])))
    return [r[:k] for r in enough[: settings.regression_max_segments]]


def _sample(rows: list[tuple[Any, ...]]) -> Sample:
    values: dict[str, list[float]] = {m: [] for m, d in METRICS.items() if d.kind == "p75"}
    s = Sample(actions=len(rows))
    apdex = {"S": 0, "T": 0, "F": 0}
    for action_type, duration, lcp, inp, cls, errors, klass in rows:
        if duration is not None and action_type in ("load", "route_change"):
            values["load_duration" if action_type == "load" else "route_duration"].append(duration)
        for name, v in (("lcp", lcp), ("inp", inp), ("cls", cls)):
            if v is not None:
                values[name].append(v)
        s.with_errors += errors > 0
        if klass in apdex:
            apdex[klass] += 1
    s.values = {m: np.asarray(v, dtype=float) for m, v in values.items()}
    s.apdex = (apdex["S"], apdex["T"], apdex["F"])
    return s


def samples(
    store: Store, app: str, pair: tuple[str, str], settings: Settings
) -> tuple[dict[Segment, Sample], dict[Segment, Sample]]:
    """Each compared segment's sample of both releases: at most ``regression_sample_limit``
    actions per release and segment, the same ones on every read (ordered by their hashed id)."""
    out: tuple[dict[Segment, Sample], dict[Segment, Sample]] = ({}, {})
    for dims in FAMILIES:
        for values in _segments(store, app, pair, dims, settings):
            where, params = _where(dims, values)
            segment = tuple(zip(dims, values, strict=True))
            for side, release in zip(out, pair, strict=True):
                _, rows = store.select(
                    f"SELECT {_COLUMNS} FROM actions WHERE app = ? AND release = ? AND {_REAL} "
                    f"AND {where} ORDER BY eid LIMIT {int(settings.regression_sample_limit)}",
                    [app, release, *params],
                )
                side[segment] = _sample(rows)
    return out


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
