"""Curve data for drawing, simplified so a report's size does not grow with the run's.

Curves are computed exactly from :class:`~reportgen.stats.RankCounts` and then simplified with
the Ramer-Douglas-Peucker algorithm: every dropped point lies within ``tolerance`` (in axis
units, both axes spanning [0, 1]) of the drawn polyline, so the drawn curve is visually
identical to the full one at a fraction of a pixel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.statistics import CalibrationCounts, RankCounts
from reportgen.stats.significance import wilson_interval

# Charts are about 320 px across [0, 1]: 1e-3 is a third of a pixel.
DEFAULT_TOLERANCE = 1e-3
MAX_POINTS = 1000


def _grid_thin(x: np.ndarray, y: np.ndarray, cell: float) -> np.ndarray:
    """Indices of the first point of every run of consecutive points in one grid cell.

    A dropped point shares a cell with a kept one, so it lies within ``cell * sqrt(2)`` of a
    vertex of the thinned polyline. One vectorised pass: a monotone curve crosses at most
    ``2 / cell`` cells, however many points it has.
    """
    cx, cy = np.floor(x / cell), np.floor(y / cell)
    moved = np.empty(len(x), dtype=bool)
    moved[0] = True
    moved[1:] = (cx[1:] != cx[:-1]) | (cy[1:] != cy[:-1])
    moved[-1] = True
    return np.flatnonzero(moved)


def simplify(x: np.ndarray, y: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Indices of the points kept (always the first and last), every dropped point within
    ``tolerance`` of the kept polyline.

    Long curves are first thinned on a grid (error at most tolerance / 2), then simplified with
    Ramer-Douglas-Peucker at tolerance / 2; the two errors add up to at most ``tolerance``.
    """
    n = len(x)
    if n <= 2:
        return np.arange(n)
    if n > 20_000:
        thinned = _grid_thin(x, y, tolerance / (2 * np.sqrt(2)))
        return thinned[_rdp(x[thinned], y[thinned], tolerance / 2)]
    return _rdp(x, y, tolerance)


def _rdp(x: np.ndarray, y: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker, iterative, each segment's distances computed in one numpy call."""
    n = len(x)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        dx, dy = x[end] - x[start], y[end] - y[start]
        xs, ys = x[start + 1 : end] - x[start], y[start + 1 : end] - y[start]
        length = np.hypot(dx, dy)
        distance = np.abs(dx * ys - dy * xs) / length if length > 0 else np.hypot(xs, ys)
        farthest = int(np.argmax(distance))
        if distance[farthest] > tolerance:
            split = start + 1 + farthest
            keep[split] = True
            stack.append((start, split))
            stack.append((split, end))
    return np.flatnonzero(keep)


def simplify_bounded(
    x: np.ndarray, y: np.ndarray, tolerance: float = DEFAULT_TOLERANCE, max_points: int = MAX_POINTS
) -> np.ndarray:
    """:func:`simplify`, loosening the tolerance until at most ``max_points`` remain."""
    kept = simplify(x, y, tolerance)
    while len(kept) > max_points:
        tolerance *= 2
        kept = simplify(x, y, tolerance)
    return kept


def roc_curve(rank: RankCounts, max_points: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """Simplified ROC curve: fpr, tpr and the threshold of each kept point."""
    fpr, tpr = metrics.roc_points(rank)
    thresholds = np.concatenate(([np.inf], rank.scores))
    kept = simplify_bounded(fpr, tpr, max_points=max_points)
    return {"fpr": fpr[kept], "tpr": tpr[kept], "threshold": thresholds[kept]}


def precision_recall_curve(rank: RankCounts, max_points: int = MAX_POINTS) -> dict[str, np.ndarray]:
    """Simplified PR curve, starting at (recall 0, precision 1) as scikit-learn's does."""
    rec, prec = metrics.precision_recall_points(rank)
    rec = np.concatenate(([0.0], rec))
    prec = np.concatenate(([1.0], prec))
    thresholds = np.concatenate(([np.inf], rank.scores))
    kept = simplify_bounded(rec, prec, max_points=max_points)
    return {"recall": rec[kept], "precision": prec[kept], "threshold": thresholds[kept]}


def reliability(cal: CalibrationCounts) -> dict[str, np.ndarray]:
    """Per non-empty bin: mean confidence, observed rate with its 95% Wilson interval (low,
    high: a bin of a few examples swings between 0 and 1, and the interval shows it), count
    and bin edges."""
    filled = cal.count > 0
    count = cal.count[filled]
    low, high = wilson_interval(np.rint(cal.outcome_sum[filled]), count)
    return {
        "confidence": cal.confidence_sum[filled] / count,
        "observed": cal.outcome_sum[filled] / count,
        "low": low,
        "high": high,
        "count": count,
        "bin_start": cal.edges[:-1][filled],
        "bin_end": cal.edges[1:][filled],
    }


def macro_average_roc(
    curves: list[tuple[np.ndarray, np.ndarray]], points: int = 201
) -> tuple[np.ndarray, np.ndarray]:
    """Mean TPR over one-vs-rest curves, each interpolated on a common FPR grid."""
    grid = np.linspace(0.0, 1.0, points)
    tpr = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in curves], axis=0)
    return grid, tpr


def macro_average_pr(
    curves: list[tuple[np.ndarray, np.ndarray]], points: int = 201
) -> tuple[np.ndarray, np.ndarray]:
    """Mean interpolated precision (best precision at recall >= r) over one-vs-rest curves."""
    grid = np.linspace(0.0, 1.0, points)
    averaged = []
    for rec, prec in curves:
        # best precision reachable at recall >= r: a running maximum from the right
        envelope = np.maximum.accumulate(prec[::-1])[::-1]
        index = np.searchsorted(rec, grid, side="left").clip(max=len(rec) - 1)
        averaged.append(envelope[index])
    return grid, np.mean(averaged, axis=0)


def threshold_scan(
    rank: RankCounts, points: int = 201, span: tuple[float, float] | None = None
) -> dict[str, np.ndarray]:
    """The true- and false-positive counts (the page derives the rates) when predicting
    positive at score >= t, for ``points`` thresholds t spread evenly over ``span`` (default:
    the run's score range), a bounded size whatever the rows. Models scanned over one shared
    span share their thresholds, which the page's threshold explorer relies on."""
    ascending = rank.scores[::-1]
    low, high = span if span is not None else (float(ascending[0]), float(ascending[-1]))
    grid = np.linspace(low, high, points)
    tp, fp = _counts_at(rank, grid)
    return {"threshold": grid, "tp": tp, "fp": fp}


def _counts_at(rank: RankCounts, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives (int64) when predicting positive at score >= each threshold."""
    ascending = rank.scores[::-1]
    tps, fps = rank.cumulative
    # examples at or above t: the distinct scores >= t are the first k in descending order
    k = len(ascending) - np.searchsorted(ascending, thresholds, side="left")
    tp = np.where(k > 0, tps[np.maximum(k - 1, 0)], 0).astype(np.int64)
    fp = np.where(k > 0, fps[np.maximum(k - 1, 0)], 0).astype(np.int64)
    return tp, fp


def _rates(tp: np.ndarray, fp: np.ndarray, positives: int) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0)
        recall = tp / positives if positives else np.zeros_like(tp)
        f1 = np.where(tp + fp + positives > 0, 2 * tp / np.maximum(tp + fp + positives, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1}


@dataclass(frozen=True)
class Costs:
    """The cost of each outcome of a binary decision, per example (``--cost FP=1,FN=5``).

    The expected cost of a threshold t is (c_TP·TP + c_FP·FP + c_FN·FN + c_TN·TN) / n, with
    the counts of predicting positive at score >= t.
    """

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    tn: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}

    def text(self) -> str:
        """``FP=1, FN=5``: the outcomes that cost something, as the user wrote them."""
        given = [(k.upper(), v) for k, v in self.as_dict().items() if v]
        return ", ".join(f"{k}={v:g}" for k, v in given) or "all zero"

    def expected(self, tp: np.ndarray, fp: np.ndarray, positives: int, n: int) -> np.ndarray:
        fn, tn = positives - tp, (n - positives) - fp
        total = self.tp * tp + self.fp * fp + self.fn * fn + self.tn * tn
        return np.asarray(total, dtype=np.float64) / max(n, 1)


def costs_of(given: Mapping[str, float]) -> Costs | None:
    """The build's costs (``Options.cost``: outcome -> cost), None when none were given."""
    return Costs(**given) if given else None


def operating_point(
    rank: RankCounts, tp: int, fp: int, threshold: float | None, costs: Costs | None
) -> dict[str, float | int | None]:
    """Counts and rates of one decision rule (``threshold`` None: nothing predicted positive)."""
    positives, negatives = int(rank.n_positive), int(rank.n_negative)
    n = positives + negatives
    rates = _rates(np.array([tp], float), np.array([fp], float), positives)
    point: dict[str, float | int | None] = {
        "threshold": threshold,
        **{name: float(values[0]) for name, values in rates.items()},
        "tp": int(tp),
        "fp": int(fp),
        "fn": positives - int(tp),
        "tn": negatives - int(fp),
    }
    if costs is not None:
        point["expected_cost"] = float(costs.expected(np.array(tp), np.array(fp), positives, n))
    return point


def operating_points(
    rank: RankCounts, costs: Costs | None = None, at: float | None = 0.5
) -> dict[str, dict[str, float | int | None]]:
    """Notable thresholds, each a distinct score, exact (every distinct score considered):

    - ``at_0.5``: score >= ``at``, when it lies within the score range;
    - ``f1_optimal``: the highest F1 = 2TP / (2TP + FP + FN);
    - ``youden``: the highest Youden's J = TPR − FPR (the ROC point farthest above chance);
    - ``cost_optimal`` (with ``costs``): the lowest expected cost, also over predicting no
      positive at all (threshold None).

    Ties go to the highest threshold."""
    tps, fps = rank.cumulative
    positives, negatives = int(rank.n_positive), int(rank.n_negative)
    found: dict[str, dict[str, float | int | None]] = {}
    if at is not None and float(rank.scores[-1]) <= at <= float(rank.scores[0]):
        tp, fp = _counts_at(rank, np.array([at]))
        found[f"at_{at:g}"] = operating_point(rank, int(tp[0]), int(fp[0]), at, costs)
    best = int(np.argmax(_rates(tps.astype(np.float64), fps.astype(np.float64), positives)["f1"]))
    found["f1_optimal"] = operating_point(
        rank, int(tps[best]), int(fps[best]), float(rank.scores[best]), costs
    )
    if positives and negatives:
        j = tps / positives - fps / negatives
        best = int(np.argmax(j))
        found["youden"] = operating_point(
            rank, int(tps[best]), int(fps[best]), float(rank.scores[best]), costs
        )
    if costs is not None:
        n = positives + negatives
        expected = costs.expected(tps, fps, positives, n)
        best = int(np.argmin(expected))
        none_positive = float(costs.expected(np.array(0), np.array(0), positives, n))
        if none_positive < expected[best]:
            found["cost_optimal"] = operating_point(rank, 0, 0, None, costs)
        else:
            found["cost_optimal"] = operating_point(
                rank, int(tps[best]), int(fps[best]), float(rank.scores[best]), costs
            )
    return found
