"""bench/regressions: the release regression detector's power curve and false-alarm rate.

Run: ``.venv/bin/python -m bench.regressions [--runs 40] [--null-runs 200]``. Seeded simulations
(bench/regressions/__init__.py): for each effect (one segment's p75 load duration multiplied by
it) and sample size (actions per release and segment), the share of runs in which the detector
reports that segment's regression; with no change, the share of runs with any false regression
across all 8 segments × 7 metrics.
"""

from __future__ import annotations

import argparse
import time

from bench.plot import lines
from bench.regressions import SEGMENTS, rates
from bench.report import PLOTS, machine, write_section

EFFECTS = (1.05, 1.10, 1.15, 1.20, 1.30)
SIZES = (200, 500, 1000, 2000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--null-runs", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    began = time.monotonic()
    curve: dict[int, list[tuple[float, float]]] = {}
    for n in SIZES:
        for effect in EFFECTS:
            found, _ = rates(range(args.runs), n, effect)
            curve.setdefault(n, []).append((100 * (effect - 1), 100 * found))
            print(f"n={n} effect=+{effect - 1:.0%}: detected {found:.0%}", flush=True)
    power, _ = rates(range(10_000, 10_000 + 100), 500, 1.2)
    _, false = rates(range(20_000, 20_000 + args.null_runs), 500, 1.0)
    print(f"power at +20 %, 500 actions: {100 * power:.0f} %; false alarms: {100 * false:.1f} %")
    if args.no_write:
        return 0
    PLOTS.mkdir(parents=True, exist_ok=True)
    (PLOTS / "regressions-power.svg").write_text(
        lines(
            "Regression detection rate by p75 change and actions per release",
            "p75 change of one segment (%)",
            "runs detected (%)",
            [(f"{n} actions", pts) for n, pts in curve.items()],
            y_max=120,  # room above 100 % for the legend
        )
    )
    rows = "\n".join(
        f"| {n:,} | " + " | ".join(f"{y:.0f} %" for _, y in pts) + " |" for n, pts in curve.items()
    )
    head = " | ".join(f"+{100 * (e - 1):.0f} %" for e in EFFECTS)
    write_section(
        "regressions",
        f"""## Release regressions: power and false alarms

`python -m bench.regressions` — seeded simulations of two releases over {len(SEGMENTS)} segments
× 7 metrics (docs/regressions.md has the method); {args.runs} runs per cell, one segment's load
durations multiplied by the effect; {machine()}; {time.monotonic() - began:.0f} s.

- **Detection** at +20 % on one segment's p75 with 500 actions per release: **{100 * power:.0f} %** of
  100 runs.
- **False alarms** with no change: **{100 * false:.1f} %** of {args.null_runs} runs reported any
  regression.

| actions per release | {head} |
|---|{"---|" * len(EFFECTS)}
{rows}

![power curve](benchmarks/regressions-power.svg)
""",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
