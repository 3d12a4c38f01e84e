"""A candidate's comparison with its baseline on one metric, and turning p-values into
verdicts: the multiplicity correction and the metric's direction decide better, worse or tie."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen import metrics
from reportgen.stats import significance

ALPHA = 0.05


@dataclass
class Comparison:
    """One metric of one candidate against the baseline."""

    baseline: str
    candidate: str
    metric: str
    baseline_value: float | None
    candidate_value: float | None
    delta: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    test: str
    n_paired: int
    p_value_adjusted: float | None = None
    verdict: str = "untested"  # better | worse | tie | untested
    scope: str = ""  # what is compared when not classification: "perplexity", a task, ...

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
            "p_value": self.p_value,
            "p_value_adjusted": self.p_value_adjusted,
            "test": self.test,
            "verdict": self.verdict,
            "n_paired": self.n_paired,
        }


def settle(comparisons: list[Comparison]) -> None:
    """Holm-adjust every p-value of the report together, then give each a verdict."""
    tested = [c for c in comparisons if c.p_value is not None]
    for comparison, adjusted in zip(
        tested,
        significance.holm([c.p_value for c in tested]),
        strict=True,  # type: ignore[misc]
    ):
        comparison.p_value_adjusted = adjusted
        if adjusted >= ALPHA or not comparison.delta:
            comparison.verdict = "tie"
        else:
            higher = comparison.delta > 0
            better = higher == metrics.higher_is_better(comparison.metric)
            comparison.verdict = "better" if better else "worse"
