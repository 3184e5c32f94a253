"""The release regression detector (openrum/regressions.py): its power and false-alarm rate on
seeded simulations (bench/regressions), and its pieces on small tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.regressions import rates, sample
from openrum.regressions import Sample, Thresholds, compare, mann_whitney, regressions

SEG = (("page", "/checkout"), ("device", "mobile"))


def test_power_at_plus_20_percent_p75_with_500_actions() -> None:
    # docs/regressions.md: +20 % on one segment's p75 at 500 actions per release is found in
    # at least 95 % of runs.
    found, _ = rates(range(100), 500, 1.2)
    assert found >= 0.95


def test_false_alarms_with_no_change_across_all_segments_and_metrics() -> None:
    # 8 segments × 7 metrics per run; a run with any reported regression is a false alarm.
    _, false = rates(range(10_000, 10_200), 500, 1.0)
    assert false <= 0.05


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (np.arange(1.0, 301.0), np.arange(20.0, 320.0)),
        (np.round(np.linspace(0, 5, 400)), np.round(np.linspace(0.5, 5.5, 350))),  # ties
        (np.zeros(50), np.zeros(60)),  # all tied: no evidence, p = 1
        (np.r_[np.zeros(200), np.ones(10)], np.r_[np.zeros(150), np.ones(60)]),  # CLS-like
    ],
)
def test_mann_whitney_matches_scipy(x: np.ndarray, y: np.ndarray) -> None:
    expected = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue
    assert mann_whitney(x, y) == pytest.approx(float(expected), rel=1e-9, abs=1e-12)


def test_a_regression_carries_its_effect_interval_and_sample_sizes() -> None:
    rng = np.random.default_rng(7)
    before, after = sample(rng, 800), sample(rng, 900, 1.5)
    tests, findings = compare({SEG: before}, {SEG: after}, Thresholds())
    assert tests == 7
    (f,) = regressions(findings)
    assert (f.metric, f.segment, f.direction) == ("load_duration", SEG, "regressed")
    assert (f.n_before, f.n_after) == (800, 900)
    assert f.low < f.effect < f.high and f.low > 1.2
    assert f.after / f.before == pytest.approx(f.effect)
    assert f.q <= 0.05 and f.p <= f.q


def test_an_improvement_is_not_a_regression() -> None:
    rng = np.random.default_rng(8)
    _, findings = compare({SEG: sample(rng, 800)}, {SEG: sample(rng, 800, 0.6)}, Thresholds())
    assert regressions(findings) == []
    assert [(f.metric, f.direction) for f in findings] == [("load_duration", "improved")]


def test_significant_but_immaterial_is_not_reported() -> None:
    # 5 % slower on 20,000 actions is significant, but below the 10 % threshold.
    rng = np.random.default_rng(9)
    _, findings = compare(
        {SEG: sample(rng, 20_000)}, {SEG: sample(rng, 20_000, 1.05)}, Thresholds(bootstrap=100)
    )
    (f,) = [f for f in findings if f.metric == "load_duration"]
    assert f.q <= 0.05 and not f.material and f.direction is None
    assert regressions(findings) == []


def test_shares_error_rise_and_apdex_drop() -> None:
    a = Sample(actions=2000, with_errors=40, apdex=(1800, 150, 50))
    b = Sample(actions=2000, with_errors=120, apdex=(1500, 300, 200))
    _, findings = compare({SEG: a}, {SEG: b}, Thresholds())
    by = {f.metric: f for f in findings}
    assert by["error_share"].effect == pytest.approx(0.04)
    assert by["error_share"].low < 0.04 < by["error_share"].high
    assert by["error_share"].direction == "regressed"
    assert by["apdex"].effect < 0 and by["apdex"].direction == "regressed"


def test_too_few_samples_are_not_tested() -> None:
    rng = np.random.default_rng(10)
    tests, findings = compare({SEG: sample(rng, 150)}, {SEG: sample(rng, 150, 3.0)}, Thresholds())
    assert (tests, findings) == (0, [])
