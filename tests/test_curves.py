"""Curve simplification keeps the drawn curve within tolerance and bounded in size."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen import curves, metrics
from reportgen.stats import RankCounts


def distance_to_polyline(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> float:
    """Largest distance from any original point to the simplified polyline (brute force)."""
    worst = 0.0
    for xi, yi in zip(x, y, strict=True):
        best = np.inf
        for j in range(len(px) - 1):
            ax, ay, bx, by = px[j], py[j], px[j + 1], py[j + 1]
            dx, dy = bx - ax, by - ay
            t = (
                0.0
                if dx == dy == 0
                else np.clip(((xi - ax) * dx + (yi - ay) * dy) / (dx * dx + dy * dy), 0, 1)
            )
            best = min(best, np.hypot(xi - ax - t * dx, yi - ay - t * dy))
        worst = max(worst, best)
    return worst


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
