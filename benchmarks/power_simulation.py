"""Is the report honest about what a set can detect? Paired runs with a known true difference,
drawn 400 times, and compared with the report's own machinery: McNemar's exact test and the
paired bootstrap for 0/1 outcomes (accuracy), the paired example bootstrap and its Wald test
for per-example errors (a regression's MAE), ``settle`` for the verdict and the adjusted
interval, ``stats.power`` for the MDE and the examples a margin needs, and ``--fail-if``'s own
evaluation of the bound gate.

    python benchmarks/power_simulation.py            # every setting, 2,000 bootstrap replicates
    python benchmarks/power_simulation.py --quick    # one setting per kind of data, under 2 min

Three checks per setting (issue 35):

1. at a true difference equal to the MDE the report gives, the test rejects in 80% ± 5
   points of the draws;
2. at a true difference of exactly −margin (the candidate really is a margin worse), the
   bound gate passes in at most 5% + 2 points of the draws (non-inferiority's type-I error);
3. at a true difference of 0, on as many examples as the report says the margin needs
   (``n_for_margin``), the bound gate passes in about 80% of the draws (± 7 points).

Exits 1 when a check fails; ``--json PATH`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.gates import evaluate_gates, parse_gate
from reportgen.stats import power
from reportgen.stats import significance as sig
from reportgen.stats.bootstrap import resampled_sums
from reportgen.stats.comparison import ALPHA, Comparison, settle

DRAWS = 400
POWER_TOLERANCE = 0.05
TYPE_I_LIMIT = ALPHA + 0.02
AT_ZERO_TOLERANCE = 0.07


def simulated(metric: str, exact: float, deltas: np.ndarray, n: int, test: str) -> Comparison:
    """A simulated v2-minus-v1 comparison: the exact delta, its bootstrap replicates' interval
    and the Wald standard error (the p-value is the test's own: set by the caller)."""
    wald = sig.wald_p_value(deltas, exact, exact)
    return Comparison(
        "v1",
        "v2",
        metric,
        None,
        None,
        exact,
        sig.percentile_interval(deltas, exact, exact),
        None,
        test,
        n,
        se=None if wald is None else wald[1],
    )


@dataclass(frozen=True)
class Binary:
    """0/1 outcomes of two models on the same examples: d of the pairs are discordant."""

    discordance: float
    n: int
    margin: float
    name: str = "binary"
    metric: str = "accuracy"

    def spread(self, delta: float = 0.0) -> float:
        return math.sqrt(self.discordance)  # what McNemar's MDE reads: the discordant rate

    def draw(self, rng: np.random.Generator, delta: float, n: int, replicates: int) -> Comparison:
        d = self.discordance
        only_base, only_cand = (d - delta) / 2, (d + delta) / 2
        b, c, _ = rng.multinomial(n, [only_base, only_cand, 1 - d])
        exact = (c - b) / n
        # the paired example bootstrap of the accuracy delta: resampling examples resamples
        # the three kinds of pair (only the baseline right, only the candidate, the same)
        cells = rng.multinomial(n, [b / n, c / n, 1 - (b + c) / n], size=replicates)
        deltas = (cells[:, 1] - cells[:, 0]) / n
        found = simulated(self.metric, exact, deltas, n, "mcnemar-exact")
        found.p_value = sig.mcnemar_from_counts(int(b), int(c))
        found.discordance = (b + c) / n
        return found


@dataclass(frozen=True)
class Regression:
    """Absolute errors of two regressors on the same examples: the candidate's error is
    s · (ρ ε + sqrt(1 − ρ²) η) with ε the baseline's, so its MAE is higher by exactly
    (s − 1) · sqrt(2/π) (the true difference)."""

    rho: float
    n: int
    margin: float
    name: str = "regression"
    metric: str = "mae"

    def spread(self, delta: float = 0.0) -> float:
        """SD of |ε_c| − |ε_b| at the true difference ``delta``: Var|ε| = 1 − 2/π, and for a
        bivariate normal E|X||Y| = (2/π)(sqrt(1 − ρ²) + ρ asin ρ)."""
        scale = 1 + delta / math.sqrt(2 / math.pi)
        var_abs = 1 - 2 / math.pi
        cov = 2 / math.pi * (math.sqrt(1 - self.rho**2) + self.rho * math.asin(self.rho) - 1)
        return math.sqrt(var_abs * (1 + scale**2) - 2 * scale * cov)

    def draw(self, rng: np.random.Generator, delta: float, n: int, replicates: int) -> Comparison:
        scale = 1 + delta / math.sqrt(2 / math.pi)
        base = rng.standard_normal(n)
        cand = scale * (self.rho * base + math.sqrt(1 - self.rho**2) * rng.standard_normal(n))
        errors = [np.abs(base), np.abs(cand)]
        exact = float(errors[1].mean() - errors[0].mean())
        sums = resampled_sums(errors, replicates, int(rng.integers(2**31)))
        deltas = (sums[:, 1] - sums[:, 0]) / n
        found = simulated(self.metric, exact, deltas, n, "bootstrap-paired")
        wald = sig.wald_p_value(deltas, exact, exact)
        found.p_value = None if wald is None else wald[0]
        return found


Setting = Binary | Regression


def reported(setting: Setting, n: int, delta: float = 0.0) -> Comparison:
    """The comparison a report shows on a typical draw of ``n`` examples at the true
    difference ``delta`` (its spread at the population value), with the MDE and
    n_for_margin the report gives it."""
    spread = setting.spread(delta)
    c = Comparison("v1", "v2", setting.metric, None, None, 0.0, None, 1.0, "", n, level=ALPHA)
    if isinstance(setting, Binary):
        c.test, c.discordance = "mcnemar-exact", setting.discordance
    else:
        c.test, c.se = "bootstrap-paired", spread / math.sqrt(n)
    power.fill([c], lambda metric: setting.margin)
    return c


def _worse(setting: Setting, size: float) -> float:
    """A true difference ``size`` in the worse direction of the metric."""
    return size if setting.metric == "mae" else -size


def _gate(setting: Setting) -> str:
    if setting.metric == "mae":
        return f"upper(delta(mae)) > {setting.margin}"
    return f"lower(delta({setting.metric})) < -{setting.margin}"


def rate(
    setting: Setting,
    delta: float,
    n: int,
    outcome: Callable[[Comparison], bool],
    seed: int,
    replicates: int,
) -> float:
    """The share of DRAWS draws where ``outcome`` holds, each draw compared as a report does."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(DRAWS):
        c = setting.draw(rng, delta, n, replicates)
        settle([c])  # a family of one: tested at 5%
        power.fill([c], lambda metric: setting.margin)
        hits += outcome(c)
    return hits / DRAWS


def checks(setting: Setting, seed: int, replicates: int) -> list[dict[str, object]]:
    gate = parse_gate(_gate(setting))

    def rejected(c: Comparison) -> bool:
        return c.verdict in ("better", "worse")

    def passes(c: Comparison) -> bool:
        (result,) = evaluate_gates([gate], ["v1", "v2"], "v1", [], [c])
        return result.passed

    at_n = reported(setting, setting.n)
    assert at_n.mde is not None and at_n.n_for_margin is not None
    for _ in range(5):  # the MDE a report gives on draws at a true difference of that MDE
        at_n = reported(setting, setting.n, _worse(setting, at_n.mde))
        assert at_n.mde is not None
    needed = reported(setting, at_n.n_for_margin).n_for_margin
    assert needed is not None
    found = []
    for check, delta, n, outcome, ok in (
        (
            "power at the MDE",
            _worse(setting, at_n.mde),
            setting.n,
            rejected,
            lambda r: abs(r - power.POWER) <= POWER_TOLERANCE,
        ),
        (
            "bound gate at -margin",
            _worse(setting, setting.margin),
            needed,
            passes,
            lambda r: r <= TYPE_I_LIMIT,
        ),
        (
            "bound gate at 0 with n_for_margin",
            0.0,
            needed,
            passes,
            lambda r: abs(r - power.POWER) <= AT_ZERO_TOLERANCE,
        ),
    ):
        started = time.perf_counter()
        measured = rate(setting, delta, n, outcome, seed, replicates)
        found.append(
            {
                "data": setting.name,
                "setting": _describe(setting),
                "check": check,
                "true_delta": delta,
                "n": n,
                "mde": at_n.mde if check == "power at the MDE" else None,
                "margin": setting.margin,
                "draws": DRAWS,
                "rate": measured,
                "ok": bool(ok(measured)),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        seed += 1
    return found


def _describe(setting: Setting) -> str:
    if isinstance(setting, Binary):
        return f"accuracy, {setting.discordance:.0%} discordant pairs"
    return f"MAE, errors correlated {setting.rho}"


QUICK: tuple[Setting, ...] = (
    Binary(discordance=0.1, n=2000, margin=0.02),
    Regression(rho=0.8, n=1000, margin=0.05),
)
FULL: tuple[Setting, ...] = (
    *QUICK,
    Binary(discordance=0.3, n=500, margin=0.05),
    Regression(rho=0.5, n=3000, margin=0.03),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one setting per kind of data")
    parser.add_argument("--replicates", type=int, default=None, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=35)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args(argv)
    replicates = args.replicates or (500 if args.quick else 2000)
    started = time.perf_counter()
    found = []
    for i, setting in enumerate(QUICK if args.quick else FULL):
        found += checks(setting, args.seed + 10 * i, replicates)
    print(f"{'data':<11}{'setting':<34}{'check':<36}{'n':>7}{'true Δ':>10}{'rate':>8}  ok")
    for c in found:
        print(
            f"{c['data']:<11}{c['setting']:<34}{c['check']:<36}{c['n']:>7,}"
            f"{c['true_delta']:>+10.4f}{c['rate']:>8.1%}  {'yes' if c['ok'] else 'NO'}"
        )
    took = time.perf_counter() - started
    print(f"{DRAWS} draws per check, {replicates:,} bootstrap replicates; {took:.0f} s")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"replicates": replicates, "checks": found, "seconds": took}, indent=2)
        )
    return 0 if all(c["ok"] for c in found) else 1


if __name__ == "__main__":
    sys.exit(main())
