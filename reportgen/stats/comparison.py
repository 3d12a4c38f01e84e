"""A candidate's comparison with its baseline on one metric, and turning p-values into
verdicts: the multiplicity correction within a family of tests, the metric's direction, and
an adjusted interval that crosses zero exactly when the verdict is a tie."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportgen import metrics
from reportgen.stats import significance

ALPHA = 0.05
MULTIPLICITY = ("per-comparison", "report", "none")


@dataclass
class Comparison:
    """One metric of one candidate against the baseline."""

    baseline: str
    candidate: str
    metric: str
    baseline_value: float | None
    candidate_value: float | None
    delta: float | None
    ci: tuple[float, float] | None  # the unadjusted 95% interval
    p_value: float | None
    test: str
    n_paired: int
    p_value_adjusted: float | None = None
    verdict: str = "untested"  # better | worse | tie | untested
    scope: str = ""  # what is compared when not classification: "perplexity", a task, ...
    se: float | None = None  # the standard error behind a normal (Wald, DeLong) test
    ci_adjusted: tuple[float, float] | None = None  # the interval the verdict uses
    family: int = 0  # how many tests the correction counted together with this one

    def summary(self) -> dict[str, object]:
        return {
            **({"scope": self.scope} if self.scope else {}),
            "baseline": self.baseline,
            "candidate": self.candidate,
            "metric": self.metric,
            "baseline_value": self.baseline_value,
            "candidate_value": self.candidate_value,
            "delta": self.delta,
            "ci": list(self.ci) if self.ci else None,
            "ci_adjusted": list(self.ci_adjusted) if self.ci_adjusted else None,
            "p_value": self.p_value,
            "p_value_adjusted": self.p_value_adjusted,
            "family_size": self.family,
            "test": self.test,
            "verdict": self.verdict,
            "n_paired": self.n_paired,
        }


def family_of(method: str) -> Callable[[Comparison], tuple[str, ...]]:
    """Which comparisons are corrected together: one candidate against its baseline over its
    metrics (``per-comparison``, the default), every test of the report (``report``), or
    each test alone (``none``)."""
    if method == "per-comparison":
        return lambda c: (c.scope, c.baseline, c.candidate)
    if method == "report":
        return lambda c: ()
    if method == "none":
        return lambda c: (c.scope, c.baseline, c.candidate, c.metric)
    raise ValueError(f"multiplicity {method!r}: use {', '.join(MULTIPLICITY)}")


def settle(
    comparisons: Sequence[Comparison],
    method: str = "per-comparison",
    key: Callable[[Comparison], tuple[str, ...]] | None = None,
) -> None:
    """Holm-adjust p-values within each family, give each comparison a verdict, and the
    interval that agrees with it.

    Holm's step-down tests the k-th smallest of m p-values at α / (m − k + 1) and stops at the
    first it keeps. Each comparison's adjusted interval is Δ ± z(1 − a/2) · SE at the level a
    it was tested at (the level where the procedure stopped, for those it kept), with SE the
    test's own standard error, or for exact tests the one its p-value implies,
    |Δ| / z(1 − p/2). So the interval excludes zero exactly when the verdict is not a tie.
    """
    key = key or family_of(method)
    families: dict[tuple[str, ...], list[Comparison]] = {}
    for c in comparisons:
        if c.p_value is not None:
            families.setdefault(key(c), []).append(c)
    for members in families.values():
        _holm_family(members)


def _holm_family(members: list[Comparison]) -> None:
    m = len(members)
    ranked = sorted(members, key=lambda c: c.p_value)  # type: ignore[arg-type, return-value]
    for c, adjusted in zip(
        members,
        significance.holm([c.p_value for c in members]),  # type: ignore[misc]
        strict=True,
    ):
        c.p_value_adjusted = adjusted
        c.family = m
    stopped = None
    levels: dict[int, float] = {}
    for k, c in enumerate(ranked):
        level = ALPHA / (m - k)
        if stopped is None and c.p_value < level:  # type: ignore[operator]
            levels[id(c)] = level
        else:
            stopped = level if stopped is None else stopped
            levels[id(c)] = stopped
    for c in members:
        rejected = c.p_value_adjusted < ALPHA and bool(c.delta)  # type: ignore[operator]
        if not rejected:
            c.verdict = "tie"
        else:
            better = (c.delta > 0) == metrics.higher_is_better(c.metric)  # type: ignore[operator]
            c.verdict = "better" if better else "worse"
        c.ci_adjusted = _interval_at(c, levels[id(c)])


def _interval_at(c: Comparison, level: float) -> tuple[float, float] | None:
    """Δ ± w at the level the comparison was tested at. A rejected comparison (p < level)
    takes the standard error its p-value implies, so the interval just excludes zero; a kept
    one takes its own standard error when it has one (a p-value near 1 implies an unbounded
    one), widened to reach zero if need be. Either way it crosses zero exactly for a tie."""
    if c.delta is None or c.p_value is None:
        return None
    z = significance.normal_quantile(level / 2)
    implied = z * abs(c.delta) / max(significance.normal_quantile(c.p_value / 2), 1e-12)
    if c.p_value < level and c.delta != 0:
        half = implied
    elif c.se is not None:
        half = max(z * c.se, abs(c.delta))
    elif c.delta != 0:
        half = max(min(implied, 10 * abs(c.delta)), abs(c.delta))
    else:
        return None
    return (c.delta - half, c.delta + half)
