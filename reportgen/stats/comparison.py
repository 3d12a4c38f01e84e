"""A candidate's comparison with its baseline on one metric, and turning p-values into
verdicts: the multiplicity correction within a family of tests, the metric's direction, and
an adjusted interval that crosses zero exactly when the verdict is a tie."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reportgen import metrics
from reportgen.parallel import parallel_map
from reportgen.stats import significance, stepdown
from reportgen.stats.bootstrap import MIN_INTERVAL_EXAMPLES

ALPHA = 0.05
MULTIPLICITY = ("per-comparison", "report", "none")
Verdict = Literal["better", "worse", "tie", "untested"]
VERDICTS: tuple[Verdict, ...] = ("better", "worse", "tie", "untested")


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
    test: str  # a name of metrics.TESTS
    n_paired: int
    p_value_adjusted: float | None = None
    verdict: Verdict = "untested"
    scope: str = ""  # what is compared when not classification: "perplexity", a task, ...
    se: float | None = None  # the standard error behind a normal (Wald, DeLong) test
    ci_adjusted: tuple[float, float] | None = None  # the interval the verdict uses
    family: int = 0  # how many tests the correction counted together with this one
    # the bootstrap replicates of the delta, drawn jointly with the other metrics of the same
    # candidate and baseline: they give the tests' correlation to max-T
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    correction: str = ""  # "max-T", "Holm" or "none"; empty when untested
    higher_is_better: bool | None = None  # the file's own direction, if it declares one
    shared_only: bool = False  # Δ is on the paired examples only, fewer than a run holds
    slice_column: str | None = None  # a --slice column, when compared on one of its values
    slice_value: str | None = None
    reason: str = ""  # why it is untested, when it is: said by gates, the JSON and the table
    level: float | None = None  # the level it was tested at after multiplicity (5% alone)
    discordance: float | None = None  # McNemar: the share of pairs only one model gets right
    mde: float | None = None  # the smallest |Δ| the test detects with 80% power (stats.power)
    margin: float | None = None  # the margin n_for_margin is for (a bound gate's, or --margin)
    n_for_margin: int | None = None  # paired examples that detect a change of margin (80%)

    @staticmethod
    def record_columns() -> tuple[str, ...]:
        """The columns of :meth:`record`, in order."""
        return RECORD_COLUMNS

    def record(self) -> dict[str, object]:
        """Every field as a flat row (intervals as their two ends; no replicates)."""
        ci = self.ci or (None, None)
        adjusted = self.ci_adjusted or (None, None)
        return {
            "scope": self.scope,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "metric": self.metric,
            "baseline_value": self.baseline_value,
            "candidate_value": self.candidate_value,
            "delta": self.delta,
            "se": self.se,
            "p_value": self.p_value,
            "p_value_adjusted": self.p_value_adjusted,
            "family": self.family,
            "correction": self.correction,
            "test": self.test,
            "verdict": self.verdict,
            "n_paired": self.n_paired,
            "shared_only": self.shared_only,
            "higher_is_better": self.higher_is_better,
            "slice_column": self.slice_column,
            "slice_value": self.slice_value,
            "reason": self.reason or None,
            "ci_low": ci[0],
            "ci_high": ci[1],
            "ci_adjusted_low": adjusted[0],
            "ci_adjusted_high": adjusted[1],
            "level": self.level,
            "mde": self.mde,
            "margin": self.margin,
            "n_for_margin": self.n_for_margin,
        }

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
            "correction": self.correction,
            "test": self.test,
            "verdict": self.verdict,
            "n_paired": self.n_paired,
            "mde": self.mde,
            "margin": self.margin,
            "n_for_margin": self.n_for_margin,
            **({"on_shared_examples_only": True} if self.shared_only else {}),
            **({"reason": self.reason} if self.verdict == "untested" and self.reason else {}),
        }


RECORD_COLUMNS = (
    "scope",
    "baseline",
    "candidate",
    "metric",
    "baseline_value",
    "candidate_value",
    "delta",
    "se",
    "p_value",
    "p_value_adjusted",
    "family",
    "correction",
    "test",
    "verdict",
    "n_paired",
    "shared_only",
    "higher_is_better",
    "slice_column",
    "slice_value",
    "reason",
    "ci_low",
    "ci_high",
    "ci_adjusted_low",
    "ci_adjusted_high",
    "level",
    "mde",
    "margin",
    "n_for_margin",
)


def verdict_of(delta: float | None, significant: bool | None, higher: bool) -> Verdict:
    """The one rule of a verdict: equal values are a tie (no test can call them apart);
    untested (``significant`` None) stays untested; a difference that is not significant, or
    has no value, is a tie; else better or worse by the metric's direction (``higher``)."""
    if delta == 0:
        return "tie"
    if significant is None:
        return "untested"
    if not significant or delta is None:
        return "tie"
    return "better" if (delta > 0) == higher else "worse"


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
    """Adjust p-values within each family, give each comparison a verdict, and the interval
    that agrees with it.

    A family whose tests come with joint bootstrap replicates is corrected by max-T
    (:func:`reportgen.stats.stepdown.max_t`), which counts correlated metrics for what they
    are, unless it holds more than ``stepdown.MAX_TESTS`` tests; others by Holm. Both step
    down, testing each comparison at a level a (Holm's
    α / (m − k + 1), or max-T's), and each comparison's adjusted interval is Δ ± z(1 − a/2) · SE
    at the level it was tested at (the level where the procedure stopped, for those it kept),
    with SE the test's own standard error, or for exact tests the one its p-value implies,
    |Δ| / z(1 − p/2). So the interval excludes zero exactly when the verdict is not a tie.
    """
    key = key or family_of(method)
    families: dict[tuple[str, ...], list[Comparison]] = {}
    for c in comparisons:
        if c.p_value is not None:
            families.setdefault(key(c), []).append(c)
    groups = list(families.values())
    # max-T simulates 200,000 normal vectors per family, and numpy does that without the GIL
    for members, (outcome, correction) in zip(groups, parallel_map(_outcome, groups), strict=True):
        _settle_family(members, outcome, correction)
    for c in comparisons:
        # untested, but equal values are a tie (the direction does not matter then)
        if c.p_value is None and verdict_of(c.delta, None, True) == "tie":
            c.verdict = "tie"


def _outcome(members: list[Comparison]) -> tuple[stepdown.StepDown, str]:
    """A family's step-down outcome, and the correction's name."""
    p_values = [c.p_value for c in members]
    correlation = _correlation(members) if len(members) > 1 else None
    if correlation is None:
        correction = "Holm" if len(members) > 1 else "none"
        return stepdown.holm(p_values, ALPHA), correction  # type: ignore[arg-type]
    return stepdown.max_t(p_values, correlation, ALPHA), "max-T"  # type: ignore[arg-type]


def _settle_family(members: list[Comparison], outcome: stepdown.StepDown, correction: str) -> None:
    for i, c in enumerate(members):
        c.p_value_adjusted = outcome.adjusted[i]
        c.family = len(members)
        c.correction = correction
        higher = metrics.higher_is_better(c.metric, c.higher_is_better)
        c.verdict = verdict_of(c.delta, bool(outcome.rejected[i]), higher)
        c.level = outcome.levels[i]
        c.ci_adjusted = _interval_at(c, outcome.levels[i])


def _correlation(members: list[Comparison]) -> np.ndarray | None:
    """The family's correlation, block by block: replicates are joint only within one
    candidate and baseline (one resampling); tests in different blocks count as independent."""
    blocks: dict[tuple[str, str, str], list[int]] = {}
    for i, c in enumerate(members):
        blocks.setdefault((c.scope, c.baseline, c.candidate), []).append(i)
    known: dict[tuple[str, str, str], np.ndarray] = {}
    for key, rows in blocks.items():
        if len(rows) > 1:  # a block of one test has no correlation to know
            block = stepdown.correlation_of([members[i].draws for i in rows])
            if block is not None:
                known[key] = block
    if not known or len(members) > stepdown.MAX_TESTS:
        return None  # Holm: tie-aware ranks of many models test one metric per pair
    found = np.eye(len(members))
    for key, block in known.items():
        found[np.ix_(blocks[key], blocks[key])] = block
    return found


def significance_ranks(names: Sequence[str], pairs: Sequence[Comparison]) -> dict[str, int]:
    """Tie-aware ranks from every pair's comparison on one metric: 1 + the number of models
    significantly better, Holm over all pairs (each pair is its own resampling). Models that
    cannot be told apart share a rank, e.g. 1, 1, 3 (HELM's "significance groups")."""
    settle(pairs, key=lambda c: ())
    above = dict.fromkeys(names, 0)
    for c in pairs:
        if c.verdict == "better":
            above[c.baseline] += 1
        elif c.verdict == "worse":
            above[c.candidate] += 1
    return {name: 1 + n for name, n in above.items()}


RANK_NOTE = (
    "Rank, on {metric}: 1 + the number of models significantly better (every pair tested, "
    "Holm over the pairs); models that cannot be told apart share a rank."
)


def _interval_at(c: Comparison, level: float) -> tuple[float, float] | None:
    """Δ ± w at the level the comparison was tested at. A rejected comparison (p < level)
    takes the standard error its p-value implies, so the interval just excludes zero; a kept
    one takes its own standard error when it has one (a p-value near 1 implies an unbounded
    one), widened to reach zero if need be. Either way it crosses zero exactly for a tie."""
    if c.slice_column is None and 0 < c.n_paired < MIN_INTERVAL_EXAMPLES:
        return None  # too few examples for an interval (the verdict still stands)
    return adjusted_interval(c.delta, c.p_value, c.se, level)


def adjusted_interval(
    delta: float | None, p_value: float | None, se: float | None, level: float
) -> tuple[float, float] | None:
    """:func:`_interval_at` from the fields, for kinds that settle their own tests."""
    if delta is None or p_value is None:
        return None
    z = significance.normal_quantile(level / 2)
    implied = z * abs(delta) / max(significance.normal_quantile(p_value / 2), 1e-12)
    if p_value < level and delta != 0:
        half = implied
    elif se is not None:
        half = max(z * se, abs(delta))
    elif delta != 0:
        half = max(min(implied, 10 * abs(delta)), abs(delta))
    else:
        return None
    return (delta - half, delta + half)
