"""Apdex per action (../RUM.md "Apdex").

Apdex = (satisfied + tolerating / 2) / total. An action is satisfied when its key metric is ≤ T,
tolerating when ≤ F, frustrated above F. Thresholds are per application and action type (defaults
T = 3 s / F = 12 s for load and custom actions, T = 2.5 s / F = 10 s for xhr and route changes),
the key metric is selectable per action type with the action duration as the fallback, key user
actions have their own thresholds, and an action with a JavaScript or request error is frustrated
unless the application turns that off.

``classify`` is the rule for one action; the batch step runs the same rule over Arrow columns
(``classify_arrow``), and a test checks that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

SATISFIED, TOLERATING, FRUSTRATED = "S", "T", "F"

# Ratings of an Apdex value, best first: (lowest value, name).
RATINGS = ((0.94, "excellent"), (0.85, "good"), (0.7, "fair"), (0.5, "poor"), (0.0, "unacceptable"))

ACTION_TYPES = ("load", "xhr", "route_change", "custom")
# Measures of an action that may serve as its key metric (columns of the actions table, ms).
KEY_METRICS = (
    "duration",
    "lcp",
    "fcp",
    "ttfb",
    "inp",
    "load_event_end",
    "dom_complete",
    "dom_interactive",
    "dom_content_loaded",
    "server_time",
    "frontend_time",
)


class Thresholds(msgspec.Struct, frozen=True):
    """T and F in ms, and the key metric (``duration`` when the chosen one is missing)."""

    t: float
    f: float
    metric: str = "duration"

    def __post_init__(self) -> None:
        if not 0 <= self.t <= self.f:
            raise ValueError(f"Apdex thresholds need 0 <= T <= F (T={self.t}, F={self.f})")
        if self.metric not in KEY_METRICS:
            raise ValueError(
                f"unknown Apdex key metric {self.metric!r}; valid: {', '.join(KEY_METRICS)}"
            )


def classify(
    value: float | None, t: float, f: float, has_error: bool = False, error_frustrates: bool = True
) -> str | None:
    """The Apdex class of one action: S when value ≤ T, T when ≤ F, F above; None if unmeasured.

    An action with an error is frustrated when ``error_frustrates``.
    """
    if has_error and error_frustrates:
        return FRUSTRATED
    if value is None:
        return None
    if value <= t:
        return SATISFIED
    if value <= f:
        return TOLERATING
    return FRUSTRATED


def key_value(measures: dict[str, float | None], metric: str) -> float | None:
    """The key metric of an action, falling back to its duration when the metric is missing."""
    value = measures.get(metric)
    return value if value is not None else measures.get("duration")


def score(classes: Iterable[str | None]) -> float | None:
    """Apdex of a set of actions: (S + T/2) / counted; unclassified actions are not counted."""
    s = t = n = 0
    for c in classes:
        if c is None:
            continue
        n += 1
        s += c == SATISFIED
        t += c == TOLERATING
    return (s + t / 2) / n if n else None


def rating(apdex: float | None) -> str | None:
    """The rating name of an Apdex value (excellent … unacceptable)."""
    if apdex is None:
        return None
    for floor, name in RATINGS:
        if apdex >= floor:
            return name
    return RATINGS[-1][1]


def classify_arrow(
    value: pa.Array, t: pa.Array, f: pa.Array, has_error: pa.Array, error_frustrates: pa.Array
) -> pa.Array:
    """``classify`` over Arrow columns of the same meaning (the batch step's form)."""
    by_value = pc.if_else(
        pc.less_equal(value, t),
        SATISFIED,
        pc.if_else(pc.less_equal(value, f), TOLERATING, FRUSTRATED),
    )  # null where the value is null
    frustrated = pc.and_(has_error, error_frustrates)
    return pc.if_else(pc.fill_null(frustrated, False), FRUSTRATED, by_value)
