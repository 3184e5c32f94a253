"""Release regressions: is a release slower, or more error-prone, than the one before it?

Pure: samples of two releases in, findings out (docs/regressions.md has the method). For each
segment and metric with enough samples in both releases:

- durations and vitals (load and route durations, LCP, INP, CLS): a two-sided Mann–Whitney U test
  on the distributions; the effect is the p75 ratio (release / previous) with a percentile
  bootstrap interval;
- the error share (actions with an error): a two-proportion z-test; the effect is the difference
  with a Wald interval;
- Apdex (each action scores 1, ½ or 0): a z-test on the mean score, effect and interval likewise.

The p-values of every test of the comparison are adjusted together (Benjamini–Hochberg), so the
false discovery rate is controlled across all segments and metrics. A finding is reported when its
q-value is at most ``fdr`` and its effect is material: above both the relative and the absolute
threshold of its metric.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

# The statistics are numpy's and the standard library's, not scipy.stats': the server compares
# releases (alerts, the releases page), and importing scipy.stats cost it ~60 MB of memory for
# good and ~2 s. tests/test_regressions.py checks each against scipy's.
_NORMAL = statistics.NormalDist()

Kind = Literal["p75", "share", "apdex"]
# A segment: its dimensions and values, e.g. (("page", "/cart"), ("device", "mobile")).
Segment = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Metric:
    """A compared metric: ``higher_is_worse`` for all but Apdex."""

    name: str
    kind: Kind
    unit: str
    higher_is_worse: bool = True


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("load_duration", "p75", "ms"),
        Metric("route_duration", "p75", "ms"),
        Metric("lcp", "p75", "ms"),
        Metric("inp", "p75", "ms"),
        Metric("cls", "p75", ""),
        Metric("error_share", "share", ""),
        Metric("apdex", "apdex", "", higher_is_worse=False),
    )
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a significant change is material, and how sure the test must be."""

    fdr: float = 0.05
    min_samples: int = 200
    relative: float = 0.10  # p75 metrics: at least this ratio change …
    ms: float = 100.0  # … and this many ms (load/route duration, LCP)
    inp_ms: float = 20.0
    cls: float = 0.01
    error_points: float = 0.005  # error share difference (0.005 = half a percentage point)
    apdex_points: float = 0.02
    bootstrap: int = 1000
    confidence: float = 0.95


@dataclass(slots=True)
class Sample:
    """One release's data in one segment: values per p75 metric; counts for the shares."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    actions: int = 0
    with_errors: int = 0
    apdex: tuple[int, int, int] = (0, 0, 0)  # satisfied, tolerating, frustrated


@dataclass(frozen=True, slots=True)
class Finding:
    """One tested (segment, metric): both releases' values, the effect with its interval
    (``ratio`` for p75 metrics, a difference for shares), p and BH-adjusted q."""

    segment: Segment
    metric: str
    before: float
    after: float
    effect: float
    low: float
    high: float
    n_before: int
    n_after: int
    p: float
    q: float
    material: bool
    worse: bool

    @property
    def direction(self) -> str | None:
        """ "regressed" or "improved" when material, else None."""
        if not self.material:
            return None
        return "regressed" if self.worse else "improved"


@dataclass(frozen=True, slots=True)
class _Test:
    segment: Segment
    metric: Metric
    before: float
    after: float
    effect: float
    p: float
    n_before: int
    n_after: int
    se: float = 0.0  # shares: the unpooled standard error, for the interval
    a: np.ndarray | None = None  # p75 metrics: the samples, for the bootstrap interval
    b: np.ndarray | None = None


def _p75(x: np.ndarray) -> float:
    return float(np.percentile(x, 75))


def normal_sf(z: float) -> float:
    """The standard normal's survival function, 1 - Φ(z) (``scipy.stats.norm.sf``)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (``scipy.stats.rankdata``'s default)."""
    order = np.argsort(a, kind="mergesort")
    where = np.empty(order.size, dtype=np.intp)
    where[order] = np.arange(order.size)
    ordered = a[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]  # the first of each run of equal values
    dense = first.cumsum()[where]
    bounds = np.r_[np.nonzero(first)[0], first.size]
    return np.asarray(0.5 * (bounds[dense] + bounds[dense - 1] + 1))


def benjamini_hochberg(ps: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg q-values (``scipy.stats.false_discovery_control``, method "bh")."""
    p = np.asarray(ps, dtype=float)
    order = np.argsort(p)
    q = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(p.size)
    out[order] = np.minimum(q, 1.0)
    return out


def mann_whitney(x: np.ndarray, y: np.ndarray) -> float:
    """The two-sided p-value of the Mann–Whitney U test (normal approximation with the tie and
    continuity corrections): scipy.stats.mannwhitneyu's, at a fifth of its cost (its argument
    checking dominates at these sizes, and a comparison runs one test per segment and metric)."""

    n1, n2 = len(x), len(y)
    both = np.concatenate([x, y])
    ranks = rankdata(both)
    u = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2
    _, ties = np.unique(both, return_counts=True)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(var)
    return float(min(1.0, 2 * normal_sf(max(z, 0.0))))


def _absolute(metric: str, t: Thresholds) -> float:
    """The smallest material change of ``metric``, in its unit."""
    special = {
        "inp": t.inp_ms,
        "cls": t.cls,
        "error_share": t.error_points,
        "apdex": t.apdex_points,
    }
    return special.get(metric, t.ms)


def _tests(segment: Segment, a: Sample, b: Sample, t: Thresholds) -> list[_Test]:
    out: list[_Test] = []
    for m in METRICS.values():
        if m.kind == "p75":
            x, y = a.values.get(m.name), b.values.get(m.name)
            if x is None or y is None or min(len(x), len(y)) < t.min_samples:
                continue
            before, after = _p75(x), _p75(y)
            p = mann_whitney(x, y)
            ratio = after / before if before > 0 else (1.0 if after == 0 else math.inf)
            out.append(_Test(segment, m, before, after, ratio, p, len(x), len(y), 0.0, x, y))
        elif min(a.actions, b.actions) >= t.min_samples:
            if m.kind == "share":
                n1, n2 = a.actions, b.actions
                p1, p2 = a.with_errors / n1, b.with_errors / n2
                pooled = (a.with_errors + b.with_errors) / (n1 + n2)
                se_test = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
            else:
                p1, v1, n1 = _apdex(a.apdex)
                p2, v2, n2 = _apdex(b.apdex)
                if min(n1, n2) < t.min_samples:
                    continue
                se_test = se = math.sqrt(v1 / n1 + v2 / n2)
            z = (p2 - p1) / se_test if se_test > 0 else 0.0
            p = float(2 * normal_sf(abs(z)))
            out.append(_Test(segment, m, p1, p2, p2 - p1, p, n1, n2, se))
    return out


def _apdex(counts: tuple[int, int, int]) -> tuple[float, float, int]:
    """Mean score, its variance per action, and the count, of Apdex classes (1, ½, 0)."""
    s, tol, f = counts
    n = s + tol + f
    if n == 0:
        return 0.0, 0.0, 0
    mean = (s + tol / 2) / n
    var = (s * (1 - mean) ** 2 + tol * (0.5 - mean) ** 2 + f * mean**2) / max(n - 1, 1)
    return mean, var, n


def _material(test: _Test, t: Thresholds) -> bool:
    name = test.metric.name
    change = abs(test.after - test.before)
    if test.metric.kind == "p75":
        return abs(test.effect - 1) >= t.relative and change >= _absolute(name, t)
    return change >= _absolute(name, t)


def _interval(test: _Test, t: Thresholds, seed: int) -> tuple[float, float]:
    z = _NORMAL.inv_cdf(0.5 + t.confidence / 2)
    if test.a is None or test.b is None:  # Wald
        return test.effect - z * test.se, test.effect + z * test.se

    def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        px = np.percentile(x, 75, axis=axis)
        py = np.percentile(y, 75, axis=axis)
        return np.asarray(np.where(px > 0, py / np.where(px > 0, px, 1), 1.0))

    # Percentile bootstrap (BCa's jackknife costs n passes over up to 20,000 values): each
    # sample resampled with replacement, 100 resamples at a time, as scipy.stats.bootstrap does.
    rng = np.random.default_rng(seed)
    a, b = test.a, test.b
    ratios = []
    for done in range(0, t.bootstrap, 100):
        k = min(100, t.bootstrap - done)
        ratios.append(
            ratio(a[rng.integers(0, a.size, (k, a.size))], b[rng.integers(0, b.size, (k, b.size))])
        )
    alpha = (1 - t.confidence) / 2
    low, high = np.percentile(np.concatenate(ratios), [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def compare(
    before: Mapping[Segment, Sample],
    after: Mapping[Segment, Sample],
    thresholds: Thresholds,
    seed: int = 0,
) -> tuple[int, list[Finding]]:
    """Test every segment and metric present with enough samples in both releases. Returns the
    number of tests and the significant findings (q ≤ fdr), material or not, regressions first,
    each with its interval. ``seed`` makes the bootstrap intervals repeatable."""
    tests: list[_Test] = []
    for segment in sorted(before.keys() & after.keys(), key=repr):
        tests += _tests(segment, before[segment], after[segment], thresholds)
    if not tests:
        return 0, []
    qs = benjamini_hochberg([x.p for x in tests])
    out: list[Finding] = []
    for test, q in zip(tests, qs, strict=True):
        if q > thresholds.fdr:
            continue
        low, high = _interval(test, thresholds, seed)
        increase = test.after > test.before
        out.append(
            Finding(
                segment=test.segment,
                metric=test.metric.name,
                before=test.before,
                after=test.after,
                effect=test.effect,
                low=low,
                high=high,
                n_before=test.n_before,
                n_after=test.n_after,
                p=test.p,
                q=float(q),
                material=_material(test, thresholds),
                worse=increase == test.metric.higher_is_worse,
            )
        )
    out.sort(key=lambda f: (not f.worse, not f.material, f.q))
    return len(tests), out


def regressions(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that are regressions: significant, material and worse."""
    return [f for f in findings if f.material and f.worse]
