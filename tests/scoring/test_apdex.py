"""Apdex (RUM.md "Apdex"): the class rule, the score, the ratings; Arrow agrees with Python."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.scoring.apdex import (
    Thresholds,
    classify,
    classify_arrow,
    key_value,
    rating,
    score,
)


@pytest.mark.parametrize(
    ("value", "t", "f", "error", "error_frustrates", "expected"),
    [
        (3000, 3000, 12000, False, True, "S"),  # ≤ T
        (3001, 3000, 12000, False, True, "T"),
        (12000, 3000, 12000, False, True, "T"),  # ≤ F
        (12001, 3000, 12000, False, True, "F"),
        (2500, 2500, 10000, False, True, "S"),  # xhr defaults
        (10001, 2500, 10000, False, True, "F"),
        (100, 3000, 12000, True, True, "F"),  # an error frustrates …
        (100, 3000, 12000, True, False, "S"),  # … unless turned off
        (None, 3000, 12000, False, True, None),  # unmeasured
        (None, 3000, 12000, True, True, "F"),
    ],
)
def test_classify(
    value: float | None, t: float, f: float, error: bool, error_frustrates: bool, expected: str
) -> None:
    assert classify(value, t, f, error, error_frustrates) == expected


@pytest.mark.parametrize(
    ("classes", "apdex"),
    [
        (["S", "S", "T", "F"], 0.625),  # (2 + 1/2) / 4
        (["S"], 1.0),
        (["F", "F"], 0.0),
        (["T"], 0.5),
        ([None, "S"], 1.0),  # unclassified actions do not count
        ([], None),
    ],
)
def test_score(classes: list[str | None], apdex: float | None) -> None:
    assert score(classes) == apdex


@pytest.mark.parametrize(
    ("value", "name"),
    [(1.0, "excellent"), (0.94, "excellent"), (0.93, "good"), (0.85, "good"), (0.7, "fair"),
     (0.69, "poor"), (0.5, "poor"), (0.49, "unacceptable"), (0.0, "unacceptable"), (None, None)],
)  # fmt: skip
def test_rating(value: float | None, name: str | None) -> None:
    assert rating(value) == name


def test_key_metric_falls_back_to_the_duration() -> None:
    assert key_value({"duration": 900.0, "lcp": 1200.0}, "lcp") == 1200.0
    assert key_value({"duration": 900.0, "lcp": None}, "lcp") == 900.0


def test_bad_thresholds_explain_themselves() -> None:
    with pytest.raises(ValueError, match="T <= F"):
        Thresholds(5000, 1000)
    with pytest.raises(ValueError, match="key metric"):
        Thresholds(1, 2, "nonsense")


_values = st.lists(st.floats(0, 60_000, allow_nan=False), min_size=1, max_size=50)


@given(_values, st.floats(0, 30_000), st.floats(0, 30_000))
def test_apdex_is_within_0_and_1_and_monotone_in_t(
    values: list[float], t1: float, t2: float
) -> None:
    lo, hi = sorted((t1, t2))
    f = 4 * hi
    low = score(classify(v, lo, f) for v in values)
    high = score(classify(v, hi, f) for v in values)
    assert low is not None and high is not None
    assert 0.0 <= low <= high <= 1.0


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.floats(0, 20_000)), st.booleans(), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_the_arrow_rule_is_the_python_rule(rows: list[tuple[float | None, bool, bool]]) -> None:
    values, errors, frustrates = (list(c) for c in zip(*rows, strict=True))
    n = len(rows)
    got = classify_arrow(
        pa.array(values, pa.float64()),
        pa.array([3000.0] * n),
        pa.array([12000.0] * n),
        pa.array(errors),
        pa.array(frustrates),
    ).to_pylist()
    assert got == [classify(v, 3000, 12000, e, ef) for v, e, ef in rows]
