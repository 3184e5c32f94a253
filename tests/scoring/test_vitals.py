"""Web Vitals ratings (RUM.md "Web Vitals"): Google's thresholds, good ≤, poor >."""

from __future__ import annotations

import duckdb
import pytest

from openrum.query.model import VITAL_THRESHOLDS
from openrum.scoring.vitals import THRESHOLDS, rate, rating_sql


@pytest.mark.parametrize(
    ("metric", "value", "rating"),
    [
        ("lcp", 2500, "good"), ("lcp", 2501, "needs-improvement"),
        ("lcp", 4000, "needs-improvement"), ("lcp", 4001, "poor"),
        ("inp", 200, "good"), ("inp", 500, "needs-improvement"), ("inp", 501, "poor"),
        ("cls", 0.1, "good"), ("cls", 0.25, "needs-improvement"), ("cls", 0.26, "poor"),
        ("fcp", 1800, "good"), ("fcp", 3000, "needs-improvement"), ("fcp", 3001, "poor"),
        ("ttfb", 800, "good"), ("ttfb", 1800, "needs-improvement"), ("ttfb", 1801, "poor"),
        ("lcp", None, None),
    ],
)  # fmt: skip
def test_rate(metric: str, value: float | None, rating: str | None) -> None:
    assert rate(metric, value) == rating
    got = duckdb.sql(
        f"SELECT {rating_sql(metric, 'x')} FROM (SELECT ?::DOUBLE AS x)", params=[value]
    )
    assert got.fetchall() == [(rating,)]


def test_the_query_catalogue_uses_the_same_thresholds() -> None:
    assert VITAL_THRESHOLDS is THRESHOLDS
