"""Metrics per value of a metadata column (a slice), for every model, with deltas.

Numeric columns with more distinct values than ``bins`` are cut at the baseline run's
quantiles; categorical ones keep their ``MAX_SLICES - 1`` largest values and pool the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.runs import class_name, scalar_values
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
    metric_values,
    run_stats,
)
from reportgen.kinds.classification.resample import build_cells, cell_stats, replicate_metrics
from reportgen.stats import significance as compare
from reportgen.stats.comparison import Comparison, settle
from reportgen.stats.pairing import Pairing
from reportgen.stats.slicing import MISSING, OTHER, labeller, value_order

MAX_SLICES = 20
SLICE_CELL_BUDGET = 2000  # cells per slice bootstrap: slices are many, their deltas coarse


@dataclass
class SliceCell:
    """One model on one slice."""

    model: str
    value: str
    n: int
    small: bool  # fewer examples than --min-slice-size: shown greyed
    metrics: dict[str, float | None]
    positive_rate: float | None = None  # binary: share predicted positive


@dataclass
class SliceDelta:
    """A candidate against the baseline on one slice value and metric, paired; its test is a
    Wald test on the slice's bootstrap deltas, corrected over the column's values and metrics."""

    candidate: str
    value: str
    metric: str
    delta: float | None
    ci: tuple[float, float] | None
    n_paired: int
    test: Comparison | None = None  # None below the minimum slice size or without replicates

    @property
    def verdict(self) -> str:
        return self.test.verdict if self.test is not None else "untested"

    def summary(self) -> dict[str, object]:
        test = self.test
        return {
            "value": self.value,
            "candidate": self.candidate,
            "metric": self.metric,
            "delta": self.delta,
            "ci": list(self.ci) if self.ci else None,
            "n_paired": self.n_paired,
            "baseline_value": None if test is None else test.baseline_value,
            "candidate_value": None if test is None else test.candidate_value,
            "p_value": None if test is None else test.p_value,
            "p_value_adjusted": None if test is None else test.p_value_adjusted,
            "verdict": self.verdict,
        }


@dataclass
class SliceAnalysis:
    column: str
    values: list[str]
    primary: str  # the metric drawn and used for the worst slice
    cells: list[SliceCell]
    worst: dict[str, str]  # model -> its worst slice (large enough ones only)
    deltas: list[SliceDelta] = field(default_factory=list)
    fairness: dict[str, dict[str, float | None]] = field(default_factory=dict)
    binned: bool = False

    def summary_of(self, model: str) -> list[dict[str, object]]:
        """One model's slices, as the JSON summary lists them."""
        return [
            {
                "value": c.value,
                "n": c.n,
                "small": c.small,
                "worst": self.worst.get(model) == c.value,
                "metrics": c.metrics,
            }
            for c in self.cells
            if c.model == model
        ]


def _find_column(encoded: EncodedRun, column: str) -> str:
    extra = encoded.run.extra
    if column in extra.columns:
        return column
    lower = {str(c).lower(): str(c) for c in extra.columns}
    if column.lower() in lower:
        return lower[column.lower()]
    raise ReportgenError(
        f"{encoded.run.path}: no column {column!r} for --slice; metadata columns are: "
        f"{', '.join(map(str, extra.columns)) or '(none)'}"
    )


def slice_codes(
    encoded: EncodedRun, column: str, edges: np.ndarray | None, labels: list[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Every example's slice as a code into the returned slice names (vectorised)."""
    run = encoded.run
    name = _find_column(encoded, column)
    series = scalar_values(run.extra[name], run.path, run.format, name, "slice")
    missing = series.isna().to_numpy()
    if edges is None or labels is None:
        codes, uniques = pd.factorize(series, sort=False)
        names = [class_name(v) for v in np.asarray(uniques, dtype=object)]
    else:
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        codes = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, len(labels) - 1)
        names = list(labels)
    codes = np.asarray(codes, dtype=np.int64).copy()
    if missing.any():
        codes[missing] = len(names)
        names.append(MISSING)
    return codes, names


def analyse(
    evaluations: Sequence[RunEvaluation],
    column: str,
    baseline: str,
    pairings: dict[str, Pairing],
    bins: int = 4,
    min_size: int = 30,
    replicates: int = 1000,
    seed: int = 0,
    parallel_map: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
) -> SliceAnalysis:
    """Headline metrics of every model on every slice of ``column``; deltas against the
    baseline on paired examples of each slice, with percentile-bootstrap intervals."""
    by_name = {e.name: e for e in evaluations}
    base = by_name[baseline]
    task = base.task
    primary = "f1" if task == "binary" else "f1_macro"
    base_series = base.encoded.run.extra[_find_column(base.encoded, column)]
    edges, bin_labels = labeller(base_series, bins)
    coded = {e.name: slice_codes(e.encoded, column, edges, bin_labels) for e in evaluations}
    sizes: dict[str, int] = {}
    for codes, local in coded.values():
        for name, size in zip(local, np.bincount(codes, minlength=len(local)), strict=True):
            sizes[name] = sizes.get(name, 0) + int(size)
    if bin_labels is None:
        by_size = sorted(sizes, key=lambda v: (-sizes[v], v))
        pooled = len(by_size) > MAX_SLICES
        kept = by_size[: MAX_SLICES - 1] if pooled else by_size
        values = sorted((v for v in kept if v != MISSING), key=value_order)
        values += [OTHER] if pooled else []
    else:
        values = [v for v in bin_labels if sizes.get(v)]
    if sizes.get(MISSING):
        values.append(MISSING)
    position = {value: i for i, value in enumerate(values)}
    other = position.get(OTHER, -1)
    # every example's slice as an index into ``values``
    names = {
        name: np.array([position.get(v, other) for v in local], dtype=np.int64)[codes]
        for name, (codes, local) in coded.items()
    }

    mapper = parallel_map or (lambda f, items: [f(i) for i in items])

    def measure(job: tuple[RunEvaluation, int]) -> SliceCell | None:
        evaluation, index = job
        rows = np.flatnonzero(names[evaluation.name] == index)
        if len(rows) == 0:
            return None
        subset = evaluation.encoded.subset(rows)
        found, _ = metric_values(run_stats(subset))
        positive_rate = None
        if task == "binary":
            positive_rate = float(np.mean(subset.y_pred == subset.positive))
        return SliceCell(
            evaluation.name,
            values[index],
            len(rows),
            len(rows) < min_size,
            {m: found.get(m) for m in HEADLINE[task]},
            positive_rate,
        )

    jobs = [(e, i) for e in evaluations for i in range(len(values))]
    cells = [cell for cell in mapper(measure, jobs) if cell is not None]
    analysis = SliceAnalysis(column, values, primary, cells, {}, binned=bin_labels is not None)
    find_worst_and_gaps(analysis, [e.name for e in evaluations], task)
    measured = {(c.model, c.value): c.metrics for c in cells}
    analysis.deltas = _slice_deltas(
        base, evaluations, pairings, names, values, replicates, seed, min_size, mapper, measured
    )
    for d in analysis.deltas:
        if d.test is not None:
            d.test.slice_column, d.test.slice_value = column, d.value
    return analysis


def find_worst_and_gaps(analysis: SliceAnalysis, models: Sequence[str], task: str) -> None:
    """Each model's worst slice on the primary metric (large enough slices only) and, for
    binary runs, its fairness gaps."""
    primary = analysis.primary
    for model in models:
        mine = [c for c in analysis.cells if c.model == model and not c.small]
        rated = [c for c in mine if c.metrics.get(primary) is not None]
        if rated:
            analysis.worst[model] = min(rated, key=lambda c: c.metrics[primary]).value
        if task == "binary":
            analysis.fairness[model] = _fairness(mine)


def _fairness(cells: Sequence[SliceCell]) -> dict[str, float | None]:
    """Largest gaps across slices: positive-prediction rate (demographic parity difference)
    and true-positive rate (equal opportunity difference)."""
    rates = [c.positive_rate for c in cells if c.positive_rate is not None]
    tprs = [c.metrics["recall"] for c in cells if c.metrics.get("recall") is not None]
    return {
        "demographic_parity_difference": max(rates) - min(rates) if len(rates) > 1 else None,
        "equal_opportunity_difference": max(tprs) - min(tprs) if len(tprs) > 1 else None,  # type: ignore[type-var,operator]
    }


def _slice_deltas(
    base: RunEvaluation,
    evaluations: Sequence[RunEvaluation],
    pairings: dict[str, Pairing],
    names: dict[str, np.ndarray],
    values: Sequence[str],
    replicates: int,
    seed: int,
    min_size: int,
    mapper: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]],
    measured: dict[tuple[str, str], dict[str, float | None]],
) -> list[SliceDelta]:
    metrics = list(HEADLINE[base.task])
    jobs = []
    for index, evaluation in enumerate(evaluations):
        pairing = pairings.get(evaluation.name)
        if pairing is not None and pairing.paired:
            jobs += [(index, evaluation, pairing, number) for number in range(len(values))]

    def one(job: tuple[int, RunEvaluation, Pairing, int]) -> list[SliceDelta]:
        index, evaluation, pairing, number = job
        assert pairing.baseline_rows is not None and pairing.candidate_rows is not None
        chosen = np.flatnonzero(names[base.name][pairing.baseline_rows] == number)
        if len(chosen) == 0:
            return []
        b = base.encoded.subset(pairing.baseline_rows[chosen])
        c = evaluation.encoded.subset(pairing.candidate_rows[chosen])
        # the slice's own metrics hold when every example of both runs is paired and the
        # candidate puts each example in the same slice
        same = (
            pairing.n_paired == len(base.encoded.y_true) == len(evaluation.encoded.y_true)
            and bool(np.all(names[evaluation.name][pairing.candidate_rows[chosen]] == number))
            and int(np.count_nonzero(names[evaluation.name] == number)) == len(chosen)
        )
        if same and (base.name, values[number]) in measured:
            b_values = measured[(base.name, values[number])]
            c_values = measured[(evaluation.name, values[number])]
        else:
            b_values, _ = metric_values(run_stats(b))
            c_values, _ = metric_values(run_stats(c))
        reps = on_cells = None
        if replicates and len(chosen) >= min_size:
            cells = build_cells([b, c], budget=SLICE_CELL_BUDGET)
            reps = replicate_metrics(cells, replicates, seed + 7919 * index + number, metrics)
            on_b, _ = metric_values(cell_stats(cells, 0, cells.counts))
            on_c, _ = metric_values(cell_stats(cells, 1, cells.counts))
            on_cells = (on_b, on_c)
        found = []
        for metric in metrics:
            bv, cv = b_values.get(metric), c_values.get(metric)
            delta = None if bv is None or cv is None else cv - bv
            interval = test = None
            if delta is not None and reps is not None and on_cells is not None:
                ob, oc = on_cells[0].get(metric), on_cells[1].get(metric)
                if ob is not None and oc is not None:
                    deltas = reps[1][metric] - reps[0][metric]
                    interval = compare.percentile_interval(deltas, delta, oc - ob)
                    wald = compare.wald_p_value(deltas, delta, oc - ob)
                    if wald is not None:
                        test = Comparison(
                            base.name,
                            evaluation.name,
                            metric,
                            bv,
                            cv,
                            delta,
                            interval,
                            wald[0],
                            "bootstrap-paired",
                            len(chosen),
                            scope=values[number],
                            se=wald[1],
                            draws=deltas,  # joint over the metrics of this slice value
                        )
            found.append(
                SliceDelta(
                    evaluation.name, values[number], metric, delta, interval, len(chosen), test
                )
            )
        return found

    found = [delta for part in mapper(one, jobs) for delta in part]
    # one family per candidate: every metric on every value of the column. Max-T counts the
    # metrics of one value (one resampling) for their correlation; values are disjoint sets
    # of examples, so independent
    settle([d.test for d in found if d.test is not None], key=lambda c: (c.candidate,))
    return found
