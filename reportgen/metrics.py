"""Metrics as pure functions of sufficient statistics (see :mod:`reportgen.stats`).

Each function returns a float or raises :class:`UndefinedMetric` with a one-line reason.
Definitions follow scikit-learn's ``sklearn.metrics`` so results agree with it; the tests use
scikit-learn as the oracle.
"""

from __future__ import annotations

import numpy as np

from reportgen.errors import UndefinedMetric
from reportgen.stats import CalibrationCounts, ConfusionCounts, ProbabilitySums, RankCounts


def _ratio(numerator: float, denominator: float, reason: str) -> float:
    if denominator == 0:
        raise UndefinedMetric(reason)
    return float(numerator) / float(denominator)


def binary_counts(cm: ConfusionCounts, positive: int) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) for one class against the rest."""
    m = cm.matrix
    tp = int(m[positive, positive])
    fn = int(m[positive].sum()) - tp
    fp = int(m[:, positive].sum()) - tp
    return tp, fp, fn, cm.n - tp - fp - fn


def accuracy(cm: ConfusionCounts) -> float:
    """Fraction correct: trace(C) / n."""
    return _ratio(np.trace(cm.matrix), cm.n, "no examples")


def balanced_accuracy(cm: ConfusionCounts) -> float:
    """Mean recall over the classes that occur in the labels."""
    support = cm.support
    present = support > 0
    if not present.any():
        raise UndefinedMetric("no examples")
    return float(np.mean(cm.correct[present] / support[present]))


def precision(cm: ConfusionCounts, positive: int) -> float:
    """tp / (tp + fp)."""
    tp, fp, _, _ = binary_counts(cm, positive)
    return _ratio(tp, tp + fp, "no positive predictions")


def recall(cm: ConfusionCounts, positive: int) -> float:
    """tp / (tp + fn), the true-positive rate."""
    tp, _, fn, _ = binary_counts(cm, positive)
    return _ratio(tp, tp + fn, "no positive labels")


def specificity(cm: ConfusionCounts, positive: int) -> float:
    """tn / (tn + fp), the true-negative rate."""
    _, fp, _, tn = binary_counts(cm, positive)
    return _ratio(tn, tn + fp, "no negative labels")


def f1(cm: ConfusionCounts, positive: int) -> float:
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall."""
    tp, fp, fn, _ = binary_counts(cm, positive)
    return _ratio(2 * tp, 2 * tp + fp + fn, "no positive labels and no positive predictions")


def matthews_corrcoef(cm: ConfusionCounts) -> float:
    """Multiclass MCC (Gorodkin 2004): (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)).

    c = correct, s = n, t = true counts per class, p = predicted counts per class.
    """
    t, p = cm.support.astype(np.float64), cm.predicted.astype(np.float64)
    c, s = float(np.trace(cm.matrix)), float(cm.n)
    denominator = np.sqrt((s * s - p @ p) * (s * s - t @ t))
    if denominator == 0:
        raise UndefinedMetric("labels or predictions hold a single class")
    return float((c * s - t @ p) / denominator)


def cohen_kappa(cm: ConfusionCounts) -> float:
    """(p_o - p_e) / (1 - p_e), p_e the agreement expected from the marginals."""
    n = float(cm.n)
    if n == 0:
        raise UndefinedMetric("no examples")
    observed = np.trace(cm.matrix) / n
    expected = float(cm.support.astype(np.float64) @ cm.predicted.astype(np.float64)) / (n * n)
    return _ratio(observed - expected, 1 - expected, "chance agreement is already perfect")


def per_class_scores(cm: ConfusionCounts) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support; 0 where a ratio has no denominator.

    The zeros follow scikit-learn's ``zero_division`` default, so averages agree with it.
    """
    tp = cm.correct.astype(np.float64)
    predicted = cm.predicted.astype(np.float64)
    support = cm.support.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(predicted > 0, tp / predicted, 0.0)
        rec = np.where(support > 0, tp / support, 0.0)
        denominator = predicted + support
        f1_score = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    return {"precision": prec, "recall": rec, "f1": f1_score, "support": cm.support}


def averaged(cm: ConfusionCounts, name: str, average: str) -> float:
    """Macro, weighted or micro average of ``precision``, ``recall`` or ``f1``.

    Averages run over the classes present in labels or predictions, as scikit-learn's do.
    """
    present = (cm.support > 0) | (cm.predicted > 0)
    if not present.any():
        raise UndefinedMetric("no examples")
    if average == "micro":
        tp = cm.correct[present].sum()
        fp = cm.predicted[present].sum() - tp
        fn = cm.support[present].sum() - tp
        denominator = {"precision": tp + fp, "recall": tp + fn, "f1": 2 * tp + fp + fn}[name]
        numerator = 2 * tp if name == "f1" else tp
        return _ratio(numerator, denominator, "no examples")
    values = per_class_scores(cm)[name][present]
    if average == "macro":
        return float(values.mean())
    if average == "weighted":
        weights = cm.support[present]
        return _ratio(float(values @ weights), weights.sum(), "no labels")
    raise ValueError(f"unknown average {average!r}")


def roc_points(rank: RankCounts) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) at every distinct threshold, starting at (0, 0)."""
    tps, fps = rank.cumulative
    p, n = rank.n_positive, rank.n_negative
    if p == 0 or n == 0:
        raise UndefinedMetric(
            "only one class present in labels" if p + n else "no examples with scores"
        )
    return np.concatenate(([0.0], fps / n)), np.concatenate(([0.0], tps / p))


def roc_auc(rank: RankCounts) -> float:
    """Area under the ROC curve by the trapezoidal rule (ties count one half)."""
    fpr, tpr = roc_points(rank)
    return float(np.trapezoid(tpr, fpr))


def precision_recall_points(rank: RankCounts) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at every distinct threshold, descending scores."""
    tps, fps = rank.cumulative
    if rank.n_positive == 0:
        raise UndefinedMetric("no positive labels")
    return tps / rank.n_positive, tps / (tps + fps)


def average_precision(rank: RankCounts) -> float:
    """AP = sum_k (R_k - R_{k-1}) P_k over thresholds k (no interpolation), as scikit-learn."""
    recall_at, precision_at = precision_recall_points(rank)
    return float(np.sum(np.diff(recall_at, prepend=0.0) * precision_at))


def log_loss(sums: ProbabilitySums) -> float:
    """Mean of -log p(true class), p clipped to [eps, 1 - eps] as scikit-learn does."""
    return _ratio(sums.log_loss_sum, sums.n, "no examples")


def brier_score(sums: ProbabilitySums) -> float:
    """Mean of (p - y)^2 for the positive-class probability p."""
    if sums.brier_sum is None:
        raise UndefinedMetric("the Brier score here is defined for binary runs")
    return _ratio(sums.brier_sum, sums.n, "no examples")


def expected_calibration_error(cal: CalibrationCounts) -> float:
    """ECE = sum_b (n_b / n) |mean confidence_b - mean outcome_b| (Guo et al. 2017)."""
    n = cal.count.sum()
    if n == 0:
        raise UndefinedMetric("no examples")
    return float(np.abs(cal.confidence_sum - cal.outcome_sum).sum() / n)
