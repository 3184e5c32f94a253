"""Releases as stored (the agent's ``data-release``): the list, newest first, each with the
release before it, and the samples of two releases per segment that openrum/regressions.py
compares — read by the Releases page (openrum/web/releases.py) and the release regression
detector (openrum/alerts/release_watch.py).

The previous release is the one first seen most recently before this one was: during a rollout
both have traffic, and the order of first appearance is the order of deployment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openrum.query.sql import iso
from openrum.regressions import METRICS, Sample, Segment, Thresholds
from openrum.settings import Settings
from openrum.store.base import Store

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
