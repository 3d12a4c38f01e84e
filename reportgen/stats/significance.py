"""Significance tests and intervals for comparing a candidate with the baseline.

- McNemar's exact test for accuracy on paired examples (binomial on the discordant pairs).
- DeLong's test for two correlated ROC AUCs (DeLong, DeLong & Clarke-Pearson 1988), from
  placement values computed with one sort per model.
- Percentile bootstrap of the delta for every other metric (see :mod:`reportgen.resample`).
- Holm's step-down correction across all tests of one report.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (exact to rounding for any n).

    log C(n, i) is built by the ratio C(n, i + 1) / C(n, i) = (n - i) / (i + 1).
    """
    if k >= n:
        return 1.0
    i = np.arange(k)
    log_choose = np.concatenate(([0.0], np.cumsum(np.log((n - i) / (i + 1)))))
    log_terms = log_choose - n * math.log(2)
    peak = float(log_terms.max())
    return float(math.exp(peak) * np.exp(log_terms - peak).sum())


def mcnemar_exact(baseline_correct: np.ndarray, candidate_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: 2 P(X <= min(b, c)), X ~ Binomial(b + c, 1/2).

    b = baseline right and candidate wrong, c = the reverse.
    """
    b = int(np.count_nonzero(baseline_correct & ~candidate_correct))
    c = int(np.count_nonzero(~baseline_correct & candidate_correct))
    return mcnemar_from_counts(b, c)


def discordance(baseline_correct: np.ndarray, candidate_correct: np.ndarray) -> float | None:
    """The discordant-pair rate: the share of pairs exactly one model gets right (None for no
    pairs); McNemar's test detects changes at the scale sqrt(rate / n)."""
    n = len(baseline_correct)
    return float(np.count_nonzero(baseline_correct != candidate_correct)) / n if n else None


def mcnemar_from_counts(b: int, c: int) -> float:
    """The exact McNemar p-value from the discordant counts (b: only the baseline right)."""
    if b + c == 0:
        return 1.0
    return min(1.0, 2 * binomial_half_cdf(min(b, c), b + c))


def placement_values(is_positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """DeLong's placement value of every example, from one sort.

    A positive's is the share of negatives it outranks (V10), a negative's the share of
    positives that outrank it (V01); ties count one half. AUC = mean V10 = mean V01.
    """
    order = np.argsort(scores)  # ties form one group below, so any sort order will do
    ordered = scores[order]
    positive = is_positive[order]
    n_pos = int(np.count_nonzero(positive))
    n_neg = len(scores) - n_pos
    new_group = np.empty(len(scores), dtype=bool)
    new_group[:1] = True
    new_group[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(new_group) - 1
    pos_in = np.bincount(group, weights=positive)
    neg_in = np.bincount(group, weights=~positive)
    neg_below = np.cumsum(neg_in) - neg_in
    pos_above = n_pos - np.cumsum(pos_in)
    with np.errstate(divide="ignore", invalid="ignore"):
        v10 = (neg_below + 0.5 * neg_in) / n_neg
        v01 = (pos_above + 0.5 * pos_in) / n_pos
    values = np.empty(len(scores))
    values[order] = np.where(positive, v10[group], v01[group])
    return values


def auc_influence(is_positive: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """Each example's first-order influence on the AUC: (V - AUC) / m for the m positives,
    (V - AUC) / n for the n negatives; the AUC's variance is the sum of their squares."""
    m = int(np.count_nonzero(is_positive))
    n = len(placement) - m
    auc = float(placement[is_positive].mean())
    return np.where(is_positive, (placement - auc) / m, (placement - auc) / n)


def delong(
    is_positive: np.ndarray, baseline_scores: np.ndarray, candidate_scores: np.ndarray
) -> tuple[float, float, float]:
    """DeLong's test for AUC(candidate) - AUC(baseline) on the same examples.

    Returns (delta, its variance, two-sided p-value). Var = var(D10)/m + var(D01)/n with D the
    difference of the two models' placement values over the m positives and n negatives.
    """
    difference = placement_values(is_positive, candidate_scores) - placement_values(
        is_positive, baseline_scores
    )
    d10, d01 = difference[is_positive], difference[~is_positive]
    m, n = len(d10), len(d01)
    delta = float(d10.mean()) if m else math.nan
    if m < 2 or n < 2:
        return delta, math.nan, math.nan
    variance = float(np.var(d10, ddof=1) / m + np.var(d01, ddof=1) / n)
    if variance <= 0:
        return delta, 0.0, 1.0 if delta == 0 else 0.0
    z = delta / math.sqrt(variance)
    return delta, variance, normal_two_sided_p(z)


def ovr_auc_influences(y_true: np.ndarray, scores: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Classes with positives and negatives, and every example's influence on each of their
    one-vs-rest AUCs (columns). A weighted mean of the AUCs has the weighted sum of the
    columns as influence; its variance is the sum of squares, so covariances between classes
    are kept (DeLong's method across classes)."""
    counts = np.bincount(y_true, minlength=scores.shape[1])
    classes = [k for k, c in enumerate(counts) if 0 < c < len(y_true)]
    influence = np.empty((len(y_true), len(classes)))
    for column, k in enumerate(classes):
        is_positive = y_true == k
        influence[:, column] = auc_influence(
            is_positive, placement_values(is_positive, scores[:, k])
        )
    return classes, influence


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of binomial proportions, elementwise (Wilson 1927):

        centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)

    with p = successes / n and z the normal quantile of (1 + level) / 2. It stays inside
    [0, 1] and is honest for small n, where a bin of 3 examples says little."""
    successes = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = normal_quantile((1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def percentile_interval(
    replicates: np.ndarray, exact: float, on_cells: float, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile interval of bootstrap replicates, moved by (exact - on_cells).

    ``on_cells`` is the estimate on the unresampled cells; it equals ``exact`` when cells hold
    exact scores, and otherwise corrects the binning's bias to first order.
    """
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 0.95 * len(replicates) or len(finite) < 20:
        return None
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    shift = exact - on_cells
    return float(low + shift), float(high + shift)


def bootstrap_p_value(replicates: np.ndarray, exact: float, on_cells: float) -> float | None:
    """Two-sided p-value of "no difference" from bootstrap deltas (the percentile method):
    twice the smaller share of shifted replicates on either side of zero, (k + 1) / (B + 1)."""
    finite = replicates[np.isfinite(replicates)] + (exact - on_cells)
    if len(finite) < 20:
        return None
    below = np.count_nonzero(finite <= 0) + 1
    above = np.count_nonzero(finite >= 0) + 1
    return float(min(1.0, 2 * min(below, above) / (len(finite) + 1)))


def wald_p_value(
    replicates: np.ndarray, exact: float, on_cells: float
) -> tuple[float, float] | None:
    """(p, SE): a Wald test of "no difference", Δ / SE against the normal distribution, with
    SE the standard deviation of the bootstrap deltas. Unlike the percentile p-value its
    resolution does not stop at 1 / (B + 1): a difference 6 SE from zero gets p ≈ 2e-9.
    (``on_cells`` moves the replicates as :func:`percentile_interval` does; it does not change
    their spread.)"""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 20:
        return None
    se = float(np.std(finite, ddof=1))
    if not se > 0:
        return (1.0 if exact == 0 else 0.0), 0.0
    return normal_two_sided_p(exact / se), se


def normal_quantile(tail: float) -> float:
    """z with P(Z > z) = ``tail``: 1.96 for 0.025; large but finite for a tail of 0."""
    if tail >= 0.5:
        return 0.0
    return -NormalDist().inv_cdf(tail) if tail > 0 else 40.0


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
