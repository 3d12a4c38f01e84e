"""Sufficient statistics: the small objects every metric and curve is computed from.

Each is built here from per-example arrays in one vectorised pass, but could equally be built
by resampling (bootstrap) or by an out-of-core engine: metrics never look at rows. Their
arrays may carry leading batch axes (one per bootstrap replicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

ECE_BINS = 15


@dataclass(frozen=True)
class ConfusionCounts:
    """``matrix[i, j]`` = number of examples of true class i predicted as class j.

    Metrics read only its margins (``support``, ``predicted``, ``correct``), so a bootstrap
    replicate carries those alone (``matrix`` None): K numbers each instead of K²."""

    matrix: np.ndarray | None  # (K, K) int64, None where only the margins were counted
    margins: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # support, predicted, correct

    @classmethod
    def from_codes(cls, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> ConfusionCounts:
        flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
        return cls(flat.reshape(n_classes, n_classes).astype(np.int64, copy=False))

    @classmethod
    def from_margins(
        cls, support: np.ndarray, predicted: np.ndarray, correct: np.ndarray
    ) -> ConfusionCounts:
        return cls(None, (support, predicted, correct))

    def _dense(self) -> np.ndarray:
        assert self.matrix is not None
        return self.matrix

    @cached_property
    def n(self) -> Any:
        """Examples (an int; an array for a batch of matrices)."""
        return _scalar(self.support.sum(axis=-1))

    @cached_property
    def support(self) -> np.ndarray:
        """True examples per class (row sums)."""
        return self.margins[0] if self.margins is not None else self._dense().sum(axis=-1)

    @cached_property
    def predicted(self) -> np.ndarray:
        """Predictions per class (column sums)."""
        return self.margins[1] if self.margins is not None else self._dense().sum(axis=-2)

    @cached_property
    def correct(self) -> np.ndarray:
        """Correct predictions per class (the diagonal)."""
        if self.margins is not None:
            return self.margins[2]
        return np.diagonal(self._dense(), axis1=-2, axis2=-1).copy()


@dataclass(frozen=True)
class RankCounts:
    """Positives and negatives at each distinct score, scores in descending order.

    Cumulative sums give the true- and false-positive counts of every threshold, so one sort
    yields the ROC curve, the PR curve, ROC AUC and average precision together.
    """

    scores: np.ndarray  # distinct scores, descending
    positives: np.ndarray  # int64 count of positives with that score
    negatives: np.ndarray  # int64 count of negatives with that score

    @classmethod
    def from_scores(
        cls, is_positive: np.ndarray, scores: np.ndarray, ordered: np.ndarray | None = None
    ) -> RankCounts:
        """``ordered``: the scores sorted, if at hand."""
        # Two value sorts instead of one argsort: numpy's SIMD sort is several times faster
        # than argsort, and the positives' distinct scores are a subset of all distinct scores.
        distinct, sizes = _runs(np.sort(scores) if ordered is None else ordered)
        positive_scores, positive_sizes = _runs(np.sort(scores[is_positive]))
        positives = np.zeros(len(distinct), dtype=np.int64)
        positives[np.searchsorted(distinct, positive_scores)] = positive_sizes
        return cls(distinct[::-1], positives[::-1], (sizes - positives)[::-1])

    @property
    def n_positive(self) -> Any:
        return _scalar(self.positives.sum(axis=-1))

    @property
    def n_negative(self) -> Any:
        return _scalar(self.negatives.sum(axis=-1))

    @property
    def cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        """(true positives, false positives) when predicting positive at score >= each score."""
        return np.cumsum(self.positives, axis=-1), np.cumsum(self.negatives, axis=-1)


def _scalar(value: np.ndarray) -> Any:
    """Plain Python numbers for one set of statistics; arrays stay arrays for a batch."""
    return value.item() if np.ndim(value) == 0 else value


def _runs(ascending: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if len(ascending) == 0:
        return ascending, np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], np.flatnonzero(ascending[1:] != ascending[:-1]) + 1))
    return ascending[starts], np.diff(np.append(starts, len(ascending)))


@dataclass(frozen=True)
class CalibrationCounts:
    """Per equal-width confidence bin: examples, summed confidence, summed outcome.

    Bin i holds confidences in ``(edges[i], edges[i+1]]`` (the first also holds 0), the rule of
    ``sklearn.calibration.calibration_curve(strategy="uniform")``.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence_sum: np.ndarray
    outcome_sum: np.ndarray

    @classmethod
    def from_confidence(
        cls, confidence: np.ndarray, outcome: np.ndarray, n_bins: int = ECE_BINS
    ) -> CalibrationCounts:
        return cls.binned(np.linspace(0.0, 1.0, n_bins + 1), confidence, outcome)

    @classmethod
    def from_quantiles(cls, confidence: np.ndarray, outcome: np.ndarray) -> CalibrationCounts:
        """Bins of equal count for the reliability diagram, as
        ``calibration_curve(strategy="quantile")`` makes them: edges at the quantiles of the
        confidences, round(√n / 2) bins from 5 to 15 (about 24 examples a bin at n = 171,
        so a small test set draws no zig-zag of near-empty bins)."""
        n_bins = int(np.clip(round(np.sqrt(len(confidence)) / 2), 5, 15))
        edges = np.percentile(confidence, np.linspace(0.0, 100.0, n_bins + 1))
        return cls.binned(edges, confidence, outcome)

    @classmethod
    def binned(
        cls, edges: np.ndarray, confidence: np.ndarray, outcome: np.ndarray
    ) -> CalibrationCounts:
        """Counts and sums per bin between ``edges``; bin i holds (edges[i], edges[i+1]]."""
        n_bins = len(edges) - 1
        bins = np.searchsorted(edges[1:-1], confidence, side="left")
        return cls(
            edges=edges,
            count=np.bincount(bins, minlength=n_bins),
            confidence_sum=np.bincount(bins, weights=confidence, minlength=n_bins),
            outcome_sum=np.bincount(bins, weights=outcome.astype(np.float64), minlength=n_bins),
        )


@dataclass(frozen=True)
class ProbabilitySums:
    """Summed per-example losses of probabilistic predictions."""

    n: int
    log_loss_sum: float  # sum of -log p(true class), p clipped to [eps, 1 - eps]
    brier_sum: float | None  # binary only: sum of (p - y)^2

    @classmethod
    def binary(cls, is_positive: np.ndarray, probability: np.ndarray) -> ProbabilitySums:
        eps = np.finfo(np.float64).eps
        clipped = np.clip(probability, eps, 1 - eps)
        p_true = np.where(is_positive, clipped, 1 - clipped)
        brier = float(np.sum((probability - is_positive) ** 2))
        return cls(len(probability), float(-np.log(p_true).sum()), brier)

    @classmethod
    def multiclass(cls, y_true: np.ndarray, probabilities: np.ndarray) -> ProbabilitySums:
        eps = np.finfo(np.float64).eps
        p_true = np.clip(probabilities[np.arange(len(y_true)), y_true], eps, 1 - eps)
        return cls(len(y_true), float(-np.log(p_true).sum()), None)


@dataclass(frozen=True)
class TopKCounts:
    """How many examples have the true class among the k highest scores."""

    k: int
    n: int
    hits: int

    @classmethod
    def from_scores(cls, y_true: np.ndarray, scores: np.ndarray, k: int = 2) -> TopKCounts:
        return cls(k, len(y_true), int(np.count_nonzero(cls.hit_mask(y_true, scores, k))))

    @staticmethod
    def hit_mask(y_true: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        """Per example: is the true class among the k highest scores?"""
        true_score = scores[np.arange(len(y_true)), y_true][:, None]
        above = (scores > true_score).sum(axis=1)
        # ties rank the higher class index first, as scikit-learn's top_k_accuracy_score does
        class_index = np.arange(scores.shape[1])[None, :]
        tied_ahead = ((scores == true_score) & (class_index > y_true[:, None])).sum(axis=1)
        return above + tied_ahead < k


def top_class(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, value) of each row's highest score; the first class wins ties, as np.argmax.

    One pass per class column: class-score matrices are column-major, where a row-wise
    ``argmax`` would stride through memory.
    """
    best = scores[:, 0].copy()
    index = np.zeros(len(best), dtype=np.int64)
    for k in range(1, scores.shape[1]):
        column = scores[:, k]
        higher = column > best
        index[higher] = k
        np.maximum(best, column, out=best)
    return index, best
