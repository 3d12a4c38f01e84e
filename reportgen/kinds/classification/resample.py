"""Bootstrap by resampling cells, not rows.

Rows that agree on (label, prediction, score bin) for every model compared are
interchangeable for every metric here, so a bootstrap replicate only needs how many times each
*cell* is drawn: one multinomial draw over the cells instead of n row indices. When a model has
at most ``MAX_BINS`` distinct scores the bins are the scores themselves and the cell bootstrap
is the row bootstrap exactly; beyond that, scores are grouped into quantile bins (refined by the
15 ECE bin edges when there are enough), which approximates metrics within a bin. Intervals are
then centred on the exact estimate: the replicates supply the spread, and the difference
between the binned and exact estimates is added back (see :func:`percentile_interval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import RunStats, metric_values, probability_problem
from reportgen.kinds.classification.statistics import (
    ECE_BINS,
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
    TopKCounts,
)

MAX_BINS = 2048  # score bins per model at most
CELL_BUDGET = 6000  # about how many cells a bootstrap resamples
CHUNK_VALUES = 4_000_000  # replicates x cells drawn at once
FEW_GROUPS = 64  # group sums of replicates by one matrix product up to this many groups
ECE_EDGES = np.linspace(0.0, 1.0, ECE_BINS + 1)


@dataclass(frozen=True)
class ModelCells:
    """One model's view of the cells: its prediction and per-cell means of its scores."""

    encoded: EncodedRun
    prediction: np.ndarray  # class code per cell
    score_bin: np.ndarray | None  # rank of the cell's score bin (ascending scores)
    n_score_bins: int
    calibration_bin: np.ndarray | None
    confidence: np.ndarray | None  # mean calibration confidence per cell
    outcome: np.ndarray | None  # mean calibration outcome per cell
    loss: np.ndarray | None  # mean -log p(true class) per cell
    brier: np.ndarray | None  # mean (p - y)^2 per cell (binary)
    top2: np.ndarray | None  # mean top-2 hit per cell (multiclass)


@dataclass(frozen=True)
class Cells:
    counts: np.ndarray  # examples per cell
    label: np.ndarray  # class code per cell
    models: tuple[ModelCells, ...]

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def _score_bins(
    values: np.ndarray, max_bins: int, probability: bool, ordered: np.ndarray | None = None
) -> np.ndarray:
    """Bin index per row, ascending with the score; exact when few distinct values.
    ``ordered``: the values sorted, if at hand."""
    ordered = np.sort(values) if ordered is None else ordered
    distinct = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    if len(distinct) <= max_bins:
        return np.searchsorted(distinct, values)
    # quantile edges read off the sorted values (np.quantile would partition again)
    positions = np.linspace(0, len(ordered) - 1, max_bins + 1).round().astype(np.int64)
    edges = np.unique(ordered[positions])
    if probability and max_bins >= ECE_BINS:
        edges = np.union1d(edges, ECE_EDGES)
    # (lo, hi] bins, the ECE rule, so every score bin lies inside one ECE bin
    return np.searchsorted(edges[1:-1], values, side="left")


def _model_columns(
    encoded: EncodedRun, rows: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray], bool]:
    """A run's per-row prediction, the score to bin, and per-row values to average in cells."""
    take = (lambda a: a) if rows is None else (lambda a: a[rows])
    y_true, y_pred = take(encoded.y_true), take(encoded.y_pred)
    values: dict[str, np.ndarray] = {}
    if encoded.scores is None:
        return y_pred, None, values, False
    probabilities = probability_problem(encoded) is None
    eps = np.finfo(np.float64).eps
    if encoded.task == "binary":
        scores = take(encoded.scores)
        is_positive = y_true == encoded.positive
        if probabilities:
            clipped = np.clip(scores, eps, 1 - eps)
            values["loss"] = -np.log(np.where(is_positive, clipped, 1 - clipped))
            values["brier"] = (scores - is_positive) ** 2
            values["confidence"] = scores
            values["outcome"] = is_positive.astype(np.float64)
        return y_pred, scores, values, probabilities
    # the per-row values of the whole run, then the rows asked for (not the whole matrix)
    top, confidence = (take(values) for values in encoded.top())
    values["top2"] = take(encoded.top2_hits()).astype(np.float64)
    if probabilities:
        true_score = encoded.scores[np.arange(len(encoded.y_true)), encoded.y_true]
        values["loss"] = -np.log(np.clip(take(true_score), eps, 1 - eps))
        values["confidence"] = confidence
        values["outcome"] = (top == y_true).astype(np.float64)
    return y_pred, confidence, values, probabilities


def _mixed_radix(columns: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    flat = np.zeros(len(columns[0]), dtype=np.int64)
    for column, radix in zip(columns, radices, strict=True):
        flat = flat * radix + column
    return flat


def _unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True, return_counts=True)`` for non-negative integer
    keys, by counting when their range is small (one pass, no sort of a million keys); the
    same arrays either way."""
    top = int(keys.max()) + 1 if len(keys) else 0
    if top > max(4 * len(keys), 1 << 22):  # a sparse range: sorting costs less memory
        return np.unique(keys, return_inverse=True, return_counts=True)
    tally = np.bincount(keys, minlength=top)
    unique = np.flatnonzero(tally)
    lookup = np.zeros(top, dtype=np.intp)
    lookup[unique] = np.arange(len(unique))
    return unique.astype(keys.dtype), lookup[keys], tally[unique]


def build_cells(
    runs: Sequence[EncodedRun],
    rows: Sequence[np.ndarray | None] | None = None,
    budget: int = CELL_BUDGET,
) -> Cells:
    """Group the (aligned) rows of one or more runs into cells; see the module docstring.

    Score bins per model are as many as keep the cells near ``budget``: a replicate costs
    one multinomial draw per cell.
    """
    rows = rows or [None] * len(runs)
    first = runs[0]
    y_true = first.y_true if rows[0] is None else first.y_true[rows[0]]
    per_model = [_model_columns(run, picked) for run, picked in zip(runs, rows, strict=True)]
    class_radices = [len(first.classes)] + [len(run.classes) for run in runs]
    combos = len(_unique_keys(_mixed_radix([y_true] + [m[0] for m in per_model], class_radices))[0])
    bins_each = int(np.clip((budget / combos) ** (1 / len(runs)), 1, MAX_BINS))
    columns, radices = [y_true], [len(first.classes)]
    for run, picked, (y_pred, to_bin, _, probabilities) in zip(runs, rows, per_model, strict=True):
        if to_bin is None:
            score_bin = np.zeros(len(y_true), dtype=np.int64)
        else:
            ordered = None
            if picked is None:  # the whole run: its sorted scores are made once
                ordered = run.sorted_scores() if run.task == "binary" else run.sorted_top()
            score_bin = _score_bins(to_bin, bins_each, probabilities, ordered)
        columns += [y_pred, score_bin]
        radices += [len(run.classes), int(score_bin.max()) + 1]
    # one int64 key per row: np.unique on it is a plain sort, far faster than on 2-D rows
    unique_keys, inverse, counts = _unique_keys(_mixed_radix(columns, radices))
    cell_keys = np.empty((len(unique_keys), len(radices)), dtype=np.int64)
    rest = unique_keys
    for position in range(len(radices) - 1, -1, -1):
        rest, cell_keys[:, position] = np.divmod(rest, radices[position])

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values, minlength=len(counts)) / counts

    models = []
    for m, run in enumerate(runs):
        values = per_model[m][2]
        prediction, score_bin = cell_keys[:, 1 + 2 * m], cell_keys[:, 2 + 2 * m]
        confidence = mean(values["confidence"]) if "confidence" in values else None
        models.append(
            ModelCells(
                encoded=run,
                prediction=prediction,
                score_bin=score_bin if run.scores is not None else None,
                n_score_bins=radices[2 + 2 * m],
                calibration_bin=None
                if confidence is None
                else np.searchsorted(ECE_EDGES[1:-1], confidence, side="left"),
                confidence=confidence,
                outcome=mean(values["outcome"]) if "outcome" in values else None,
                loss=mean(values["loss"]) if "loss" in values else None,
                brier=mean(values["brier"]) if "brier" in values else None,
                top2=mean(values["top2"]) if "top2" in values else None,
            )
        )
    return Cells(counts, cell_keys[:, 0], tuple(models))


class _GroupSums:
    """Sums of (weighted) cell counts within groups of cells, for one count vector or a batch
    of replicates (cells on the last axis)."""

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = counts
        # (cells, replicates), contiguous, so rows of cells can be gathered and summed
        self.transposed = np.ascontiguousarray(counts.T) if counts.ndim == 2 else None

    def __call__(
        self, group: np.ndarray, n_groups: int, weights: np.ndarray | None = None
    ) -> np.ndarray:
        if self.transposed is None:
            values = self.counts if weights is None else self.counts * weights
            return np.bincount(group, weights=values, minlength=n_groups)
        if n_groups <= FEW_GROUPS and (weights is None or _whole(weights)):
            # counts times whole numbers: every sum is a whole number below 2**53, exact in
            # any order, so one matrix product gives the same bits as the sums below
            # (groups x replicates, returned transposed: the layout of the sums below, which
            # later reductions depend on for their order of addition)
            indicator = np.zeros((n_groups, len(group)))
            indicator[group, np.arange(len(group))] = 1.0 if weights is None else weights
            return (indicator @ self.transposed).T
        if weights is not None and weights.dtype == bool:
            # cells of weight 0 add 0.0 to their group's sum: the same sums without them
            kept = np.flatnonzero(weights)
            group, weights = group[kept], None
            sorter = np.argsort(group, kind="stable")
            order, ordered = kept[sorter], group[sorter]
        else:
            order = np.argsort(group, kind="stable")
            ordered = group[order]
        sums = np.zeros((n_groups, self.transposed.shape[1]))
        if len(order) == 0:
            return sums.T
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        rows = self.transposed[order]
        if weights is not None:
            rows = rows * weights[order, None]
        sums[ordered[starts]] = np.add.reduceat(rows, starts, axis=0)
        return sums.T


def _whole(values: np.ndarray) -> bool:
    return values.dtype == bool or bool(np.all(values == np.round(values)))


def cell_stats(cells: Cells, model: int, counts: np.ndarray) -> RunStats:
    """A model's statistics from cell counts: shape (C,), or (B, C) for B replicates."""
    mc = cells.models[model]
    encoded = mc.encoded
    k = len(encoded.classes)
    counts = counts.astype(np.float64)
    n = counts.sum(axis=-1)
    group_sum = _GroupSums(counts)
    support, predicted, correct = (
        np.rint(group_sum(cells.label, k)).astype(np.int64),
        np.rint(group_sum(mc.prediction, k)).astype(np.int64),
        np.rint(group_sum(cells.label, k, cells.label == mc.prediction)).astype(np.int64),
    )
    confusion = ConfusionCounts.from_margins(support, predicted, correct)
    ranks: dict[int, RankCounts] | None = {}
    if mc.score_bin is not None and encoded.task == "binary":
        assert encoded.positive is not None
        is_positive = cells.label == encoded.positive
        pos = group_sum(mc.score_bin, mc.n_score_bins, is_positive)[..., ::-1]
        neg = group_sum(mc.score_bin, mc.n_score_bins, ~is_positive)[..., ::-1]
        bins = np.arange(mc.n_score_bins, dtype=np.float64)[::-1]  # descending scores
        ranks = {encoded.positive: RankCounts(bins, np.rint(pos), np.rint(neg))}
    elif mc.score_bin is not None:
        ranks = None  # one-vs-rest ranks of every class are not in the cells
    calibration = probability = top2 = None
    if mc.confidence is not None and mc.calibration_bin is not None:
        assert mc.outcome is not None
        calibration = CalibrationCounts(
            ECE_EDGES,
            group_sum(mc.calibration_bin, ECE_BINS),
            group_sum(mc.calibration_bin, ECE_BINS, mc.confidence),
            group_sum(mc.calibration_bin, ECE_BINS, mc.outcome),
        )
    if mc.loss is not None:
        brier = counts @ mc.brier if mc.brier is not None else None
        probability = ProbabilitySums(n, counts @ mc.loss, brier)  # type: ignore[arg-type]
    if mc.top2 is not None:
        top2 = TopKCounts(2, n, counts @ mc.top2)  # type: ignore[arg-type]
    return RunStats(
        task=encoded.task,
        positive=encoded.positive,
        confusion=confusion,
        ranks=ranks,  # type: ignore[arg-type]
        calibration=calibration,
        probability=probability,
        top2=top2,
        has_scores=encoded.scores is not None,
        probability_problem=None if probability is not None else "not probabilities",
    )


def replicate_metrics(
    cells: Cells, replicates: int, seed: int, metric_names: Sequence[str]
) -> list[dict[str, np.ndarray]]:
    """For each model: metric name -> its value in every replicate (NaN where undefined).

    Replicates are drawn in chunks so memory stays near ``CHUNK_VALUES`` cell counts, or
    confusion-matrix entries (K² per replicate) when those are more.
    """
    rng = np.random.default_rng(seed)
    n = cells.n
    k = max((len(mc.encoded.classes) for mc in cells.models), default=1)
    chunk = max(1, min(replicates, CHUNK_VALUES // max(1, len(cells.counts), k * k)))
    p = cells.counts / n
    results: list[dict[str, list[np.ndarray]]] = [
        {name: [] for name in metric_names} for _ in cells.models
    ]
    for start in range(0, replicates, chunk):
        draws = rng.multinomial(n, p, size=min(chunk, replicates - start))
        for m in range(len(cells.models)):
            values, _ = metric_values(cell_stats(cells, m, draws))
            for name in metric_names:
                value = values.get(name)
                results[m][name].append(
                    np.full(len(draws), np.nan) if value is None else np.asarray(value, float)
                )
    return [{name: np.concatenate(parts) for name, parts in model.items()} for model in results]
