"""The release regression detector (openrum/regressions.py): its power and false-alarm rate on
seeded simulations (bench/regressions), and its pieces on small tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.regressions import rates, sample
from openrum.regressions import (
    METRICS,
    Sample,
    Thresholds,
    _interval,
    _Test,
    benjamini_hochberg,
    compare,
    mann_whitney,
    normal_sf,
    rankdata,
    regressions,
)

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


def test_the_statistics_match_scipy() -> None:
    rng = np.random.default_rng(3)
    tied = np.round(rng.normal(0, 2, 500))
    assert np.array_equal(rankdata(tied), stats.rankdata(tied))
    for z in (0.0, 0.5, 1.96, 4.0, 9.0):
        assert normal_sf(z) == pytest.approx(float(stats.norm.sf(z)), rel=1e-12, abs=1e-300)
    ps = np.r_[rng.uniform(0, 1, 40), [0.001, 0.001, 0.04]]
    expected = stats.false_discovery_control(ps, method="bh")
    assert np.allclose(benjamini_hochberg(list(ps)), expected, rtol=1e-12)


def test_the_bootstrap_interval_is_scipys_percentile_interval() -> None:
    """The same resampling scheme and seed as scipy.stats.bootstrap: the same interval."""
    rng = np.random.default_rng(11)
    a, b = rng.lognormal(7, 0.5, 700), rng.lognormal(7.2, 0.5, 900)
    test = _Test(SEG, METRICS["load_duration"], 0.0, 0.0, 0.0, 0.0, 700, 900, 0.0, a, b)
    t = Thresholds()

    def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.percentile(y, 75, axis=axis) / np.percentile(x, 75, axis=axis))

    res = stats.bootstrap(
        (a, b),
        ratio,
        n_resamples=t.bootstrap,
        batch=100,
        confidence_level=t.confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(5),
    )
    low, high = _interval(test, t, 5)
    assert low == pytest.approx(res.confidence_interval.low, rel=1e-3)
    assert high == pytest.approx(res.confidence_interval.high, rel=1e-3)


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
