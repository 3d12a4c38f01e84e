"""Significance tests and intervals for comparing a candidate with the baseline.

- McNemar's exact test for accuracy on paired examples (binomial on the discordant pairs).
- DeLong's test for two correlated ROC AUCs (DeLong, DeLong & Clarke-Pearson 1988), from
  placement values computed with one sort per model.
- Percentile bootstrap of the delta for every other metric (see :mod:`reportgen.resample`).
- Holm's step-down correction across all tests of one report.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

Z95 = float(sps.norm.ppf(0.975))


def mcnemar_exact(baseline_correct: np.ndarray, candidate_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: 2 P(X <= min(b, c)), X ~ Binomial(b + c, 1/2).

    b = baseline right and candidate wrong, c = the reverse.
    """
    b = int(np.count_nonzero(baseline_correct & ~candidate_correct))
    c = int(np.count_nonzero(~baseline_correct & candidate_correct))
    if b + c == 0:
        return 1.0
    return float(min(1.0, 2 * sps.binom.cdf(min(b, c), b + c, 0.5)))


def placements(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's placement values: for each positive, the share of negatives it outranks
    (ties one half); for each negative, the share of positives that outrank it."""
    positive_scores = np.sort(scores[is_positive])
    negative_scores = np.sort(scores[~is_positive])

    def share_below(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
        left = np.searchsorted(sorted_values, queries, side="left")
        right = np.searchsorted(sorted_values, queries, side="right")
        return (left + 0.5 * (right - left)) / len(sorted_values)

    v10 = share_below(negative_scores, scores[is_positive])
    v01 = 1.0 - share_below(positive_scores, scores[~is_positive])
    return v10, v01


def delong(
    is_positive: np.ndarray, baseline_scores: np.ndarray, candidate_scores: np.ndarray
) -> tuple[float, float, float]:
    """DeLong's test for AUC(candidate) - AUC(baseline) on the same examples.

    Returns (delta, its variance, two-sided p-value). Var = (S10 terms)/m + (S01 terms)/n with
    S10, S01 the sample covariances of the placement values over the m positives and n negatives.
    """
    v10_a, v01_a = placements(is_positive, baseline_scores)
    v10_b, v01_b = placements(is_positive, candidate_scores)
    m, n = len(v10_a), len(v01_a)
    delta = float(v10_b.mean() - v10_a.mean())
    if m < 2 or n < 2:
        return delta, math.nan, math.nan
    variance = float(np.var(v10_b - v10_a, ddof=1) / m + np.var(v01_b - v01_a, ddof=1) / n)
    if variance <= 0:
        return delta, 0.0, 1.0 if delta == 0 else 0.0
    z = delta / math.sqrt(variance)
    return delta, variance, float(2 * sps.norm.sf(abs(z)))


def auc_variance(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """DeLong's variance of one AUC: var(V10)/m + var(V01)/n."""
    v10, v01 = placements(is_positive, scores)
    if len(v10) < 2 or len(v01) < 2:
        return math.nan
    return float(np.var(v10, ddof=1) / len(v10) + np.var(v01, ddof=1) / len(v01))


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


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def ovr_auc_variance(
    y_true: np.ndarray,
    classes: list[int],
    weights: np.ndarray,
    scores: np.ndarray,
    minus: np.ndarray | None = None,
) -> float:
    """Variance of a weighted mean of one-vs-rest AUCs (or of its difference from the same
    mean for the scores ``minus``), from each example's influence.

    Example i adds (V10_k(i) - A_k) / m_k to class k's AUC if it is a positive of k, and
    (V01_k(i) - A_k) / n_k if a negative; its influence on the mean is the weighted sum over
    classes, and the variance is the sum of squared influences (DeLong's, across classes).
    """
    influence = np.zeros(len(y_true))
    share = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    models = [(scores, 1.0)] + ([] if minus is None else [(minus, -1.0)])
    for k, w in zip(classes, share, strict=True):
        is_positive = y_true == k
        for model_scores, sign in models:
            v10, v01 = placements(is_positive, model_scores[:, k])
            auc = float(v10.mean())
            influence[is_positive] += sign * w * (v10 - auc) / len(v10)
            influence[~is_positive] += sign * w * (v01 - auc) / len(v01)
    return float(np.sum(influence**2))
