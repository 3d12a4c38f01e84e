"""Metrics as pure functions of sufficient statistics (see :mod:`reportgen.stats`).

Definitions follow scikit-learn's ``sklearn.metrics`` so results agree with it; the tests use
scikit-learn as the oracle.

Every function also accepts *batched* statistics, arrays with leading replicate axes (a
bootstrap's resampled counts), and then returns an array with NaN where the metric is
undefined. On plain statistics it returns a float, or raises :class:`UndefinedMetric` with a
one-line reason.
"""

from __future__ import annotations

import numpy as np

from reportgen.errors import UndefinedMetric
from reportgen.kinds.classification.statistics import (
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
)

Value = float | np.ndarray


def _result(value: np.ndarray, undefined: np.ndarray, reason: str) -> Value:
    """A float, or raise, for one set of statistics; an array with NaN for a batch."""
    if np.ndim(value) == 0:
        if bool(undefined):
            raise UndefinedMetric(reason)
        return float(value)
    return np.where(undefined, np.nan, value)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, reason: str) -> Value:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    zero = denominator == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = numerator / np.where(zero, 1.0, denominator)
    return _result(value, zero, reason)


def binary_counts(cm: ConfusionCounts, positive: int) -> tuple[np.ndarray, ...]:
    """(tp, fp, fn, tn) for one class against the rest."""
    tp = cm.correct[..., positive]
    fn = cm.support[..., positive] - tp
    fp = cm.predicted[..., positive] - tp
    return tp, fp, fn, cm.n - tp - fp - fn


def accuracy(cm: ConfusionCounts) -> Value:
    """Fraction correct: trace(C) / n."""
    return _ratio(cm.correct.sum(axis=-1), cm.n, "no examples")


def balanced_accuracy(cm: ConfusionCounts) -> Value:
    """Mean recall over the classes that occur in the labels."""
    support = cm.support.astype(np.float64)
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall_k = np.where(present, cm.correct / np.where(present, support, 1.0), 0.0)
    classes = present.sum(axis=-1)
    return _ratio(recall_k.sum(axis=-1), classes, "no examples")


def precision(cm: ConfusionCounts, positive: int) -> Value:
    """tp / (tp + fp)."""
    tp, fp, _, _ = binary_counts(cm, positive)
    return _ratio(tp, tp + fp, "no positive predictions")


def recall(cm: ConfusionCounts, positive: int) -> Value:
    """tp / (tp + fn), the true-positive rate."""
    tp, _, fn, _ = binary_counts(cm, positive)
    return _ratio(tp, tp + fn, "no positive labels")


def specificity(cm: ConfusionCounts, positive: int) -> Value:
    """tn / (tn + fp), the true-negative rate."""
    _, fp, _, tn = binary_counts(cm, positive)
    return _ratio(tn, tn + fp, "no negative labels")


def f1(cm: ConfusionCounts, positive: int) -> Value:
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall."""
    tp, fp, fn, _ = binary_counts(cm, positive)
    return _ratio(2 * tp, 2 * tp + fp + fn, "no positive labels and no positive predictions")


def matthews_corrcoef(cm: ConfusionCounts) -> Value:
    """Multiclass MCC (Gorodkin 2004): (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)).

    c = correct, s = n, t = true counts per class, p = predicted counts per class.
    """
    t, p = cm.support.astype(np.float64), cm.predicted.astype(np.float64)
    c = cm.correct.sum(axis=-1).astype(np.float64)
    s = np.asarray(cm.n, dtype=np.float64)
    tp_dot = (t * p).sum(axis=-1)
    denominator = np.sqrt((s * s - (p * p).sum(axis=-1)) * (s * s - (t * t).sum(axis=-1)))
    return _ratio(c * s - tp_dot, denominator, "labels or predictions hold a single class")


def cohen_kappa(cm: ConfusionCounts) -> Value:
    """(p_o - p_e) / (1 - p_e), p_e the agreement expected from the marginals."""
    n = np.asarray(cm.n, dtype=np.float64)
    safe_n = np.where(n == 0, 1.0, n)
    observed = cm.correct.sum(axis=-1) / safe_n
    expected = (cm.support.astype(np.float64) * cm.predicted).sum(axis=-1) / (safe_n * safe_n)
    if np.ndim(n) == 0 and n == 0:
        raise UndefinedMetric("no examples")
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


def averaged(cm: ConfusionCounts, name: str, average: str) -> Value:
    """Macro, weighted or micro average of ``precision``, ``recall`` or ``f1``.

    Averages run over the classes present in labels or predictions, as scikit-learn's do.
    """
    present = (cm.support > 0) | (cm.predicted > 0)
    if average == "micro":
        tp = np.where(present, cm.correct, 0).sum(axis=-1)
        fp = np.where(present, cm.predicted, 0).sum(axis=-1) - tp
        fn = np.where(present, cm.support, 0).sum(axis=-1) - tp
        denominator = {"precision": tp + fp, "recall": tp + fn, "f1": 2 * tp + fp + fn}[name]
        return _ratio(2 * tp if name == "f1" else tp, denominator, "no examples")
    values = np.where(present, per_class_scores(cm)[name], 0.0)
    if average == "macro":
        return _ratio(values.sum(axis=-1), present.sum(axis=-1), "no examples")
    if average == "weighted":
        weights = np.where(present, cm.support, 0)
        return _ratio((values * weights).sum(axis=-1), weights.sum(axis=-1), "no labels")
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


def roc_auc(rank: RankCounts) -> Value:
    """Area under the ROC curve by the trapezoidal rule (ties count one half).

    AUC = sum_k neg_k (TP_{k-1} + pos_k / 2) / (P N), thresholds k in descending order.
    """
    tps, _ = rank.cumulative
    before = tps - rank.positives  # positives ranked strictly above each score
    area = (rank.negatives * (before + 0.5 * rank.positives)).sum(axis=-1)
    p, n = np.asarray(rank.n_positive), np.asarray(rank.n_negative)
    reason = "only one class present in labels" if np.ndim(p) or p + n else "no examples"
    return _ratio(area, p * n, reason)


def precision_recall_points(rank: RankCounts) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at every distinct threshold, descending scores."""
    tps, fps = rank.cumulative
    if rank.n_positive == 0:
        raise UndefinedMetric("no positive labels")
    return tps / rank.n_positive, tps / (tps + fps)


def average_precision(rank: RankCounts) -> Value:
    """AP = sum_k (R_k - R_{k-1}) P_k over thresholds k (no interpolation), as scikit-learn.

    Written as sum_k pos_k * P_k / P, which skips thresholds with no new positive.
    """
    tps, fps = rank.cumulative
    with np.errstate(divide="ignore", invalid="ignore"):
        precision_at = np.where(tps + fps > 0, tps / np.maximum(tps + fps, 1), 0.0)
    total = (rank.positives * precision_at).sum(axis=-1)
    return _ratio(total, rank.n_positive, "no positive labels")


def log_loss(sums: ProbabilitySums) -> Value:
    """Mean of -log p(true class), p clipped to [eps, 1 - eps] as scikit-learn does."""
    return _ratio(sums.log_loss_sum, sums.n, "no examples")


def brier_score(sums: ProbabilitySums) -> Value:
    """Mean of (p - y)^2 for the positive-class probability p."""
    if sums.brier_sum is None:
        raise UndefinedMetric("the Brier score here is defined for binary runs")
    return _ratio(sums.brier_sum, sums.n, "no examples")


def expected_calibration_error(cal: CalibrationCounts) -> Value:
    """ECE = sum_b (n_b / n) |mean confidence_b - mean outcome_b| (Guo et al. 2017)."""
    gap = np.abs(cal.confidence_sum - cal.outcome_sum).sum(axis=-1)
    return _ratio(gap, cal.count.sum(axis=-1), "no examples")
