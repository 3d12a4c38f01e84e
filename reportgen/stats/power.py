"""What an evaluation set can detect: each comparison's minimum detectable effect (MDE) and
how many paired examples a decision at a margin needs, both at 80% power and at the level
the comparison was tested at after multiplicity (``Comparison.level``).

With z_a = z(1 − level/2) and z_b = z(0.8) = 0.8416 (two-sided tests, normal approximation):

- bootstrap and Wald tests (``bootstrap-paired``, ``bootstrap-unpaired``, the lm-eval
  ``z-test``, tests of means over repeats): MDE = (z_a + z_b) · SE, SE the test's own;
- McNemar: SE = sqrt(d / n) with d the discordant-pair rate (the share of pairs only one
  model gets right), the standard error of the paired difference of proportions under
  "no difference";
- DeLong: SE = sqrt(its variance of the paired AUC difference).

A paired test's per-example spread is SE · sqrt(n), so a margin m is detected (a bound gate
at m passes with 80% power when the true difference is 0) by
n = ((z_a + z_b) · SE · sqrt(n) / m)² paired examples. ``benchmarks/power_simulation.py``
checks both by simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from reportgen.stats.comparison import ALPHA, Comparison
from reportgen.stats.significance import normal_quantile

POWER = 0.8
Z_POWER = normal_quantile(1 - POWER)  # 0.8416: P(Z > z) = 0.2
PAIRED_TESTS = ("mcnemar-exact", "delong", "delong-ovr", "bootstrap-paired")
SE_TESTS = (*PAIRED_TESTS, "bootstrap-unpaired", "bootstrap-paired+repeats", "z-test")


def multiplier(level: float) -> float:
    """z(1 − level/2) + z(0.8): how many standard errors the MDE is."""
    return normal_quantile(level / 2) + Z_POWER


def detecting_se(c: Comparison) -> float | None:
    """The standard error the comparison's test detects changes with, or None."""
    if c.test not in SE_TESTS or c.p_value is None:
        return None
    if c.test == "mcnemar-exact":
        if c.discordance is None or c.n_paired <= 0:
            return None
        se = math.sqrt(c.discordance / c.n_paired)
    else:
        se = c.se
    return se if se is not None and math.isfinite(se) and se > 0 else None


def mde(c: Comparison) -> float | None:
    """The smallest |Δ| the comparison's test detects with 80% power at its own level."""
    se = detecting_se(c)
    return None if se is None else multiplier(c.level or ALPHA) * se


def n_for_margin(c: Comparison, margin: float) -> int | None:
    """Paired examples that detect a change of ``margin`` with 80% power at the comparison's
    level, at its observed per-example spread (None for tests that do not pair examples)."""
    se = detecting_se(c)
    if se is None or c.test not in PAIRED_TESTS or c.n_paired <= 0 or not margin > 0:
        return None
    spread = se * math.sqrt(c.n_paired)
    return max(2, math.ceil((multiplier(c.level or ALPHA) * spread / margin) ** 2))


def fill(comparisons: Sequence[Comparison], margin_of: Callable[[str], float]) -> None:
    """Set ``mde``, ``margin`` and ``n_for_margin`` of every settled comparison."""
    for c in comparisons:
        c.mde = mde(c)
        margin = margin_of(c.metric)
        c.n_for_margin = n_for_margin(c, margin)
        c.margin = margin if c.n_for_margin is not None else None


def about(n: int) -> int:
    """``n`` to two significant digits, never below it by more than rounding: 2,417 → 2,400."""
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return int(round(n / step) * step)
