"""User experience score (RUM.md "User experience score"), with the worked example as a row."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.scoring.ux import (
    FRUSTRATING,
    SATISFYING,
    TOLERABLE,
    Options,
    Sums,
    classify,
    score,
    weigh,
)


@pytest.mark.parametrize(
    ("sums", "last", "options", "expected"),
    [
        (Sums(f=9, t=9, s=6), None, Options(), FRUSTRATING),  # RUM.md: 37.5 % ≥ 30 %
        (Sums(f=0, t=0, s=6), None, Options(), SATISFYING),
        (Sums(f=0, t=3, s=3), None, Options(), SATISFYING),  # S = 50 %
        (Sums(f=0, t=6, s=3), None, Options(), TOLERABLE),
        (Sums(f=1, t=0, s=30), None, Options(), TOLERABLE),  # a frustrating element: never S
        (Sums(f=3, t=0, s=9), "F", Options(), FRUSTRATING),  # the last action frustrated …
        (Sums(f=3, t=0, s=9), "F", Options(last_action_frustrates=False), TOLERABLE),  # … or not
        (Sums(f=3, t=7, s=0), None, Options(), FRUSTRATING),  # exactly 30 %
        (Sums(f=0, t=0, s=0), None, Options(), None),
    ],
)
def test_classify(sums: Sums, last: str | None, options: Options, expected: str | None) -> None:
    assert classify(sums, last, options) == expected


@pytest.mark.parametrize(
    ("counts", "options", "sums"),
    [
        ((2, 3, 1, 0, 0, 0), Options(), Sums(f=3, t=9, s=6)),  # actions weigh 3
        ((0, 0, 0, 4, 0, 0), Options(), Sums(f=4, t=0, s=0)),  # errors 1
        ((0, 0, 0, 0, 2, 0), Options(), Sums(f=4, t=0, s=0)),  # rage clicks 2
        ((0, 0, 0, 0, 2, 0), Options(rage_clicks=False), Sums(f=0, t=0, s=0)),
        ((1, 0, 0, 0, 0, 1), Options(), Sums(f=5000, t=0, s=3)),  # crashes 5000
    ],
)
def test_weigh(counts: tuple[int, ...], options: Options, sums: Sums) -> None:
    assert weigh(*counts, options=options) == sums


def test_worked_example_from_counts() -> None:
    # F = 9 (2 frustrated actions + 1 error + 1 rage click), T = 9 (3), S = 6 (2).
    assert score(2, 3, 2, errors=1, rage_clicks=1) == FRUSTRATING


_n = st.integers(0, 30)


@given(_n, _n, _n, _n, _n, st.integers(0, 1), st.sampled_from(["S", "T", "F", None]), st.booleans())
def test_a_session_with_a_frustrating_element_is_never_satisfying(
    s: int, t: int, f: int, errors: int, rage: int, crashes: int, last: str | None, opt: bool
) -> None:
    result = score(s, t, f, errors, rage, crashes, last, Options(last_action_frustrates=opt))
    if f or errors or rage or crashes:
        assert result != SATISFYING
    if s + t + f + errors + rage + crashes:
        assert result in (SATISFYING, TOLERABLE, FRUSTRATING)
