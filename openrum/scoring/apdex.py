"""Apdex per action (../RUM.md "Apdex")."""

from __future__ import annotations

SATISFIED, TOLERATING, FRUSTRATED = "S", "T", "F"

# Ratings of an Apdex value, best first: (lowest value, name).
RATINGS = ((0.94, "excellent"), (0.85, "good"), (0.7, "fair"), (0.5, "poor"), (0.0, "unacceptable"))


def classify(
    value: float | None, t: float, f: float, has_error: bool = False, error_frustrates: bool = True
) -> str | None:
    """The Apdex class of one action: S when value ≤ T, T when ≤ F, F above; None if unmeasured."""
    if has_error and error_frustrates:
        return FRUSTRATED
    if value is None:
        return None
    if value <= t:
        return SATISFIED
    if value <= f:
        return TOLERATING
    return FRUSTRATED


def rating(apdex: float | None) -> str | None:
    """The rating name of an Apdex value (excellent … unacceptable)."""
    if apdex is None:
        return None
    for floor, name in RATINGS:
        if apdex >= floor:
            return name
    return RATINGS[-1][1]
