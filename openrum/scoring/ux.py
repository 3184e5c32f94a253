"""User experience score of a completed session (../RUM.md "User experience score", Dynatrace).

Every element of a session carries a weight and a class: a user action weighs 3 and takes its
Apdex class (S, T or F; unclassified actions do not count), an error weighs 1 and is frustrating,
a rage click weighs 2 and is frustrating (unless rage clicks are turned off), a crash weighs 5000
and is frustrating. With F, T and S the weight sums per class and total = F + T + S:

* frustrating when F / total ≥ 30 %, or — an option, on by default — when the last action is
  frustrated;
* satisfying when S / total ≥ 50 % and no element is frustrating;
* tolerable otherwise.

Worked example (a test): F = 9, T = 9, S = 6 → F / total = 37.5 % ≥ 30 % → frustrating.
``classify`` is the rule; the session closer computes the weight sums in SQL and calls it.
"""

from __future__ import annotations

import msgspec

SATISFYING, TOLERABLE, FRUSTRATING = "satisfying", "tolerable", "frustrating"
SCORES = (SATISFYING, TOLERABLE, FRUSTRATING)


class Options(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Weights, thresholds and options of the score (settings ``ux_*``; apps may override)."""

    action_weight: float = 3.0
    error_weight: float = 1.0
    rage_click_weight: float = 2.0
    crash_weight: float = 5000.0
    frustrating_share: float = 0.3
    satisfying_share: float = 0.5
    last_action_frustrates: bool = True
    rage_clicks: bool = True


DEFAULT = Options()


class Sums(msgspec.Struct, frozen=True):
    """Weight sums per class."""

    f: float
    t: float
    s: float


def weigh(
    satisfied: int,
    tolerating: int,
    frustrated: int,
    errors: int = 0,
    rage_clicks: int = 0,
    crashes: int = 0,
    options: Options = DEFAULT,
) -> Sums:
    """The weight sums of a session's elements: actions by Apdex class, errors, rage clicks and
    crashes (all frustrating)."""
    o = options
    f = (
        frustrated * o.action_weight
        + errors * o.error_weight
        + (rage_clicks * o.rage_click_weight if o.rage_clicks else 0)
        + crashes * o.crash_weight
    )
    return Sums(f=f, t=tolerating * o.action_weight, s=satisfied * o.action_weight)


def classify(sums: Sums, last_action: str | None = None, options: Options = DEFAULT) -> str | None:
    """The session's score from its weight sums and the Apdex class of its last action; None for
    a session with nothing to score."""
    total = sums.f + sums.t + sums.s
    if total <= 0:
        return None
    if sums.f / total >= options.frustrating_share:
        return FRUSTRATING
    if options.last_action_frustrates and last_action == "F":
        return FRUSTRATING
    if sums.f == 0 and sums.s / total >= options.satisfying_share:
        return SATISFYING
    return TOLERABLE


def score(
    satisfied: int,
    tolerating: int,
    frustrated: int,
    errors: int = 0,
    rage_clicks: int = 0,
    crashes: int = 0,
    last_action: str | None = None,
    options: Options = DEFAULT,
) -> str | None:
    """``classify(weigh(...))``: the score of a session from its counts."""
    sums = weigh(satisfied, tolerating, frustrated, errors, rage_clicks, crashes, options)
    return classify(sums, last_action, options)
