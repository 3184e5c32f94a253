"""Web Vitals ratings: good, needs improvement or poor (../RUM.md "Web Vitals").

Thresholds (good ≤, poor >) as Google's web-vitals library exports them (``LCPThresholds`` etc. in
https://github.com/GoogleChrome/web-vitals/tree/main/src, and https://web.dev/articles/vitals).
The query API's ``VITAL:good_share`` and ``VITAL_rating`` use these same numbers.
"""

from __future__ import annotations

GOOD, NEEDS_IMPROVEMENT, POOR = "good", "needs-improvement", "poor"

THRESHOLDS: dict[str, tuple[float, float]] = {
    "lcp": (2500, 4000),
    "inp": (200, 500),
    "cls": (0.1, 0.25),
    "fcp": (1800, 3000),
    "ttfb": (800, 1800),
    "fid": (100, 300),  # retired by Google in favour of INP; kept for old data
}


def rate(metric: str, value: float | None) -> str | None:
    """The rating of one value: good when ≤ the first threshold, poor above the second.

    Raises KeyError for a metric that is not a Web Vital.
    """
    good, poor = THRESHOLDS[metric]
    if value is None:
        return None
    if value <= good:
        return GOOD
    if value <= poor:
        return NEEDS_IMPROVEMENT
    return POOR


def rating_sql(metric: str, column: str) -> str:
    """``rate`` as a SQL expression over ``column``."""
    good, poor = THRESHOLDS[metric]
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} <= {good} THEN '{GOOD}' "
        f"WHEN {column} <= {poor} THEN '{NEEDS_IMPROVEMENT}' ELSE '{POOR}' END"
    )
