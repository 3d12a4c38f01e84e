"""Curve simplification keeps the drawn curve within tolerance and bounded in size."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.kinds.classification import curves
from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.statistics import RankCounts

from .conftest import Predictions


def distance_to_polyline(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    """Largest distance from any original point to the simplified polyline (all pairs)."""
    ax, ay, bx, by = px[:-1], py[:-1], px[1:], py[1:]
    dx, dy = bx - ax, by - ay
    length2 = np.where(dx * dx + dy * dy == 0, 1.0, dx * dx + dy * dy)
    t = np.clip(((x[:, None] - ax) * dx + (y[:, None] - ay) * dy) / length2, 0, 1)
    distance = np.hypot(x[:, None] - ax - t * dx, y[:, None] - ay - t * dy)
    return float(distance.min(axis=1).max())


def rank_counts(n: int, seed: int = 0) -> RankCounts:
    rng = np.random.default_rng(seed)
    positive = rng.random(n) < 0.3
    scores = rng.normal(positive * 1.2, 1.0)
    return RankCounts.from_scores(positive, scores)


def test_simplified_roc_stays_within_tolerance() -> None:
    rank = rank_counts(3_000)
    fpr, tpr = metrics.roc_points(rank)
    kept = curves.simplify(fpr, tpr, tolerance=1e-3)
    assert len(kept) < len(fpr) / 3
    assert kept[0] == 0 and kept[-1] == len(fpr) - 1
    assert distance_to_polyline(fpr, tpr, fpr[kept], tpr[kept]) <= 1e-3 + 1e-12


def test_grid_thinned_curves_stay_within_tolerance() -> None:
    """Past 20,000 points a grid pass comes first; the bound must still hold."""
    rank = rank_counts(60_000, seed=3)
    fpr, tpr = metrics.roc_points(rank)
    kept = curves.simplify(fpr, tpr, tolerance=2e-3)
    assert len(kept) < 2_000
    sample = np.random.default_rng(0).choice(len(fpr), 600, replace=False)
    assert distance_to_polyline(fpr[sample], tpr[sample], fpr[kept], tpr[kept]) <= 2e-3


@pytest.mark.parametrize("n", [10_000, 1_000_000])
def test_curve_size_is_bounded_whatever_the_rows(n: int) -> None:
    rank = rank_counts(n)
    roc = curves.roc_curve(rank)
    pr = curves.precision_recall_curve(rank)
    assert len(roc["fpr"]) <= curves.MAX_POINTS and len(pr["recall"]) <= curves.MAX_POINTS
    # the area under the drawn curve is the exact AUC to within the tolerance
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(metrics.roc_auc(rank), abs=2e-3)


def test_bounded_simplification_loosens_tolerance() -> None:
    x = np.linspace(0, 1, 50_000)
    y = 0.5 + 0.5 * np.sin(x * 400)  # wiggles everywhere: RDP keeps a lot
    kept = curves.simplify_bounded(x, y, tolerance=1e-4, max_points=300)
    assert 2 < len(kept) <= 300


def test_macro_average_of_identical_curves_is_that_curve() -> None:
    rank = rank_counts(2_000)
    fpr, tpr = metrics.roc_points(rank)
    grid, mean = curves.macro_average_roc([(fpr, tpr), (fpr, tpr)])
    np.testing.assert_allclose(mean, np.interp(grid, fpr, tpr))


def test_reliability_bins_of_equal_count_match_scikit_learn_quantile_bins(
    cancer_logistic: Predictions,
) -> None:
    """228 breast-cancer test examples: 8 bins (round(√228 / 2)) of 28-29 examples each, with
    the points of calibration_curve(strategy="quantile"); not 15 bins of 0 to 80."""
    from sklearn.calibration import calibration_curve

    from reportgen.kinds.classification.curves import reliability
    from reportgen.kinds.classification.statistics import CalibrationCounts

    p, y = cancer_logistic.proba[:, 1], cancer_logistic.y_true
    drawn = reliability(CalibrationCounts.from_quantiles(p, y == 1))
    observed, predicted = calibration_curve(y, p, n_bins=8, strategy="quantile")
    assert len(y) == 228 and len(drawn["count"]) == 8 and set(drawn["count"]) <= {28, 29}
    np.testing.assert_allclose(drawn["observed"], observed)
    np.testing.assert_allclose(drawn["confidence"], predicted)
    many = CalibrationCounts.from_quantiles(np.linspace(0, 1, 10_000), np.ones(10_000, bool))
    assert len(many.count) == 15  # capped
