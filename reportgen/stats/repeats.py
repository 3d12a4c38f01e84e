"""Repeats of one model (seeds): the spread of a metric over them and the seeds' share of the
variance of their mean. The kinds group and test repeats (:mod:`reportgen.kinds.
classification.repeats`, :mod:`reportgen.kinds.sums_repeats`); these are the numbers they
share."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reportgen.stats.comparison import Comparison
from reportgen.stats.significance import Z95, normal_two_sided_p


def values_of(members: Sequence[Any], metric: str) -> list[float] | None:
    """Each repeat's value of ``metric`` (None when any repeat lacks it)."""
    found = [m.metrics.get(metric) for m in members]
    return None if any(v is None for v in found) else [float(v) for v in found]


def spread(values: Sequence[float] | None) -> dict[str, float | None] | None:
    """Mean, min, max and, from three repeats, the standard deviation (ddof 1)."""
    if values is None:
        return None
    return {
        "mean": float(np.mean(values)),
        "min": min(values),
        "max": max(values),
        "sd": float(np.std(values, ddof=1)) if len(values) >= 3 else None,
    }


def seed_variance(values: Sequence[float] | None) -> float:
    """s² / R: the seeds' share of the variance of the mean over R repeats (0 for one)."""
    if values is None or len(values) < 2:
        return 0.0
    return float(np.var(values, ddof=1)) / len(values)


def spread_text(n: int, values: Sequence[float] | None, text: Callable[[float], str]) -> str:
    """ "3 repeats: 0.761–0.779, sd 0.009" (values formatted by ``text``)."""
    found = spread(values)
    if found is None:
        return f"{n} repeats"
    line = f"{n} repeats: {text(found['min'])}–{text(found['max'])}"  # type: ignore[arg-type]
    return line + (f", sd {text(found['sd'])}" if found["sd"] is not None else "")


def mean_standard_error(draws: np.ndarray, seeds: float) -> float | None:
    """SE of a mean over repeats: sqrt(the bootstrap variance of the draws + the seeds' s²/R);
    None with fewer than 20 finite draws."""
    finite = draws[np.isfinite(draws)]
    if len(finite) < 20:
        return None
    return math.sqrt(float(np.var(finite, ddof=1)) + seeds)


def mean_interval(draws: np.ndarray, values: Sequence[float]) -> list[float] | None:
    """95% interval of the mean of ``values`` (one per repeat): M̄ ± 1.96 SE."""
    se = mean_standard_error(draws, seed_variance(values))
    if se is None:
        return None
    mean = float(np.mean(values))
    return [mean - Z95 * se, mean + Z95 * se]


def test_of_means(
    result: Comparison, draws: np.ndarray, base: Sequence[float], cand: Sequence[float]
) -> bool:
    """The Wald test of Δ of two means over repeats, in ``result``: interval, SE and p from
    the joint bootstrap draws of Δ and both sides' seed variance. False when too few draws."""
    se = mean_standard_error(draws, seed_variance(base) + seed_variance(cand))
    if se is None:
        return False
    delta = result.delta
    assert delta is not None
    result.draws = draws
    result.ci = (delta - Z95 * se, delta + Z95 * se)
    if se > 0:
        result.se = se
        result.p_value = normal_two_sided_p(delta / se)
    else:
        result.p_value = 1.0 if delta == 0 else 0.0
    return True


class RepeatValues:
    """What a kind's repeat set knows of its metric values; it needs ``members``, each with
    ``metrics``."""

    members: Sequence[Any]

    @property
    def repeated(self) -> bool:
        return len(self.members) > 1

    def values(self, metric: str) -> list[float] | None:
        return values_of(self.members, metric)

    def spread(self, metric: str) -> dict[str, float | None] | None:
        """Mean, min, max and (R ≥ 3) the standard deviation of ``metric`` over repeats."""
        return spread(self.values(metric))

    def seed_variance(self, metric: str) -> float:
        """s² / R: the seeds' share of the variance of the mean (0 for one run)."""
        return seed_variance(self.values(metric))

    def spread_text(self, metric: str, text: Callable[[float], str]) -> str:
        """ "3 repeats: 0.761–0.779, sd 0.009"."""
        return spread_text(len(self.members), self.values(metric), text)
