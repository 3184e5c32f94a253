"""Seeded simulations of two releases, for the regression detector's power and false alarms.

Each segment's actions follow shapes seen in real traffic: durations and vitals log-normal
(σ = 0.5 around realistic medians), CLS zero for 40 % of page loads, a 3 % error share, Apdex
classes 85/12/3 %. ``effect`` multiplies one segment's load durations (so its p75 rises by that
factor) in the newer release.
"""

from __future__ import annotations

import numpy as np

from openrum.regressions import Sample, Segment, Thresholds, compare

# metric: (median, sigma) of its log-normal
SHAPES = {
    "load_duration": (2000.0, 0.5),
    "route_duration": (600.0, 0.5),
    "lcp": (2200.0, 0.5),
    "inp": (120.0, 0.6),
    "cls": (0.05, 1.0),
}
SEGMENTS: list[Segment] = [
    *(
        (("page", p), ("device", d))
        for p in ("/", "/cart", "/checkout")
        for d in ("desktop", "mobile")
    ),
    (("browser", "Chrome"),),
    (("browser", "Safari"),),
]


def sample(rng: np.random.Generator, n: int, scale: float = 1.0) -> Sample:
    """One release's ``n`` actions in one segment; load durations multiplied by ``scale``."""
    s = Sample(actions=n)
    for name, (median, sigma) in SHAPES.items():
        x = rng.lognormal(np.log(median), sigma, n)
        if name == "cls":
            x[rng.random(n) < 0.4] = 0.0
        if name == "load_duration":
            x *= scale
        s.values[name] = x
    s.with_errors = int(rng.binomial(n, 0.03))
    counts = rng.multinomial(n, [0.85, 0.12, 0.03])
    s.apdex = (int(counts[0]), int(counts[1]), int(counts[2]))
    return s


def run(seed: int, n: int, effect: float, segments: int = len(SEGMENTS)) -> tuple[bool, bool]:
    """One simulated comparison: (the changed segment's load duration was found to regress,
    any other regression was reported). With ``effect`` 1.0 nothing changed."""
    rng = np.random.default_rng(seed)
    chosen = SEGMENTS[:segments]
    before = {seg: sample(rng, n) for seg in chosen}
    after = {seg: sample(rng, n, effect if i == 0 else 1.0) for i, seg in enumerate(chosen)}
    # The intervals do not decide anything: a smaller bootstrap keeps thousands of runs quick.
    _, findings = compare(before, after, Thresholds(bootstrap=200), seed)
    hit = other = False
    for f in findings:
        if not (f.material and f.worse):
            continue
        if f.segment == chosen[0] and f.metric == "load_duration" and effect != 1.0:
            hit = True
        else:
            other = True
    return hit, other


def rates(seeds: range, n: int, effect: float) -> tuple[float, float]:
    """Over ``seeds``: the detection rate of the changed segment and the share of runs with a
    false regression."""
    found = false = 0
    for seed in seeds:
        hit, other = run(seed, n, effect)
        found += hit
        false += other
    return found / len(seeds), false / len(seeds)
