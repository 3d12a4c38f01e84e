"""Slices and the most confident mistakes of runs larger than memory: one grouped pass per
slice column and run, and one bounded top-k query per run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.engines.binary import binary_cells, slice_stats
from reportgen.engines.multiclass import multiclass_slice_stats
from reportgen.engines.sql import Engine, _label_names
from reportgen.engines.tables import TableRun, TableStats, _predictions, binned_run_stats
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import (
    ColumnNames,
    _validate,
)
from reportgen.kinds.classification.encode import EncodedRun, _encode
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
    RunStats,
    metric_values,
)
from reportgen.kinds.classification.slices import (
    MAX_SLICES,
    OTHER,
    SliceAnalysis,
    SliceCell,
    find_worst_and_gaps,
)


def slice_column(run: TableRun, column: str) -> str:
    """The run's name for a --slice column (matched case-insensitively)."""
    lower = {c.lower(): c for c in run.columns}
    name = column if column in run.columns else lower.get(column.lower())
    if name is None:
        raise ReportgenError(
            f"{run.path}: no column {column!r} for --slice; columns are: {', '.join(run.columns)}"
        )
    return name


def slice_values(engine: Engine, run: TableRun, column: str) -> list[str]:
    """The slice column's largest MAX_SLICES - 1 values (a bounded query); the rest are
    pooled as "(other)"."""
    q = engine.quote(slice_column(run, column))
    top = engine.frame(
        f"SELECT CAST({q} AS STRING) AS v, count(*) AS n FROM {run.source} GROUP BY 1 "
        f"ORDER BY n DESC, v LIMIT {MAX_SLICES}"
    )
    values = [str(v) for v in top["v"] if v is not None and pd.notna(v)]
    return values[: MAX_SLICES - 1] if len(top) == MAX_SLICES else values


def slice_expression(engine: Engine, column: str, values: Sequence[str]) -> str:
    q = engine.quote(column)
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"
    return (
        f"CASE WHEN {q} IS NULL THEN '(missing)' WHEN CAST({q} AS STRING) IN ({listed}) "
        f"THEN CAST({q} AS STRING) ELSE '{OTHER}' END"
    )


def slice_analysis(
    engine: Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    column: str,
    baseline: str,
    min_size: int,
    threshold: float | None,
) -> SliceAnalysis:
    """Every run's headline metrics per slice value, from slice-grouped cells."""
    base_index = [e.name for e in evaluations].index(baseline)
    values = slice_values(engine, stats[base_index].run, column)
    cells: list[SliceCell] = []
    seen: list[str] = []
    task = evaluations[base_index].task
    for found, evaluation in zip(stats, evaluations, strict=True):
        expression = slice_expression(engine, slice_column(found.run, column), values)
        per_value = (
            _binary_slices(engine, found, evaluation, expression, threshold)
            if task == "binary"
            else _multiclass_slices(engine, found, evaluation, expression)
        )
        for value, (stats_of_value, binned_values) in per_value.items():
            metrics, _ = metric_values(stats_of_value)
            metrics.update(binned_values)
            n = int(stats_of_value.confusion.n)
            positive_rate = None
            if task == "binary" and n:
                predicted = stats_of_value.confusion.predicted[stats_of_value.positive]
                positive_rate = float(predicted / n)
            cells.append(
                SliceCell(
                    evaluation.name,
                    value,
                    n,
                    n < min_size,
                    {m: metrics.get(m) for m in HEADLINE[task]},
                    positive_rate,
                )
            )
            if value not in seen:
                seen.append(value)
    order = [v for v in values if v in seen] + [v for v in seen if v not in values]
    primary = "f1" if task == "binary" else "f1_macro"  # as in memory
    analysis = SliceAnalysis(column, order, primary, cells, {})
    find_worst_and_gaps(analysis, [e.name for e in evaluations], task)
    return analysis


def _binary_slices(
    engine: Engine,
    found: TableStats,
    evaluation: RunEvaluation,
    expression: str,
    threshold: float | None,
) -> dict[str, tuple[RunStats, dict[str, float]]]:
    """Per slice value: the statistics, and AP as the binned engine estimates it."""
    run = found.run
    assert found.score is not None
    cut = 0.5 if threshold is None else threshold
    grouped = binary_cells(
        engine,
        run.source,
        run.label,
        found.score,
        run.prediction if threshold is None else None,
        threshold=cut,
        slice_sql=expression,
        probability=found.probability,  # known from the run's own pass
    )
    positive_label = evaluation.classes[evaluation.encoded.positive]
    per_value = slice_stats(grouped, positive_label, cut, evaluation.classes)
    return {
        value: (binned_run_stats(binned), {"average_precision": binned.average_precision})
        for value, binned in per_value.items()
    }


def _multiclass_slices(
    engine: Engine, found: TableStats, evaluation: RunEvaluation, expression: str
) -> dict[str, tuple[RunStats, dict[str, float]]]:
    """Per slice value: counts, calibration, log loss and top-2 (one-vs-rest AUCs are not
    computed per slice out of core: a pass per class and slice)."""
    run = found.run
    per_value = multiclass_slice_stats(
        engine,
        run.source,
        run.label,
        run.class_scores,
        run.prediction,
        expression,
        evaluation.classes,
    )
    return {
        value: (
            RunStats(
                "multiclass",
                None,
                mc.confusion,
                None,
                mc.calibration,
                mc.probability,
                mc.top2,
                True,
                None,
            ),
            {},
        )
        for value, mc in per_value.items()
    }


def mistakes(
    engine: Engine,
    found: TableStats,
    evaluation: RunEvaluation,
    k: int,
    threshold: float | None,
) -> EncodedRun | None:
    """The run's k most confident mistakes, fetched with one bounded query (a top-k scan), as
    a small encoded run for :func:`reportgen.examples.confident_mistakes`."""
    run = found.run
    encoded = evaluation.encoded
    if found.task != "binary" or "coarse" not in found.cells or k <= 0:
        return None
    positive = encoded.classes[encoded.positive]
    q = engine.quote
    column = found.score
    assert column is not None
    s = f"CAST({q(column)} AS DOUBLE)"
    labels = found.cells["label"].drop_duplicates()
    label_is_pos = _label_names(labels) == positive
    by_prediction = run.prediction is not None and threshold is None
    if by_prediction:
        predictions = found.cells["prediction"].drop_duplicates()
        prediction_is_pos = _label_names(predictions) == positive
    cut = 0.5 if threshold is None else threshold

    def listed(values: pd.Series) -> str:
        return ", ".join(_literal(v) for v in values) or "NULL"

    if by_prediction:
        positive_predictions = predictions[prediction_is_pos.to_numpy()]
        said_positive = f"{q(run.prediction)} IN ({listed(positive_predictions)})"
    else:
        said_positive = f"{s} >= {cut!r}E0"
    truly_positive = f"{q(run.label)} IN ({listed(labels[label_is_pos.to_numpy()])})"
    truly_negative = f"{q(run.label)} IN ({listed(labels[~label_is_pos.to_numpy()])})"
    # the in-memory confidence (examples.confidence): the score of the predicted class
    other = f"1 - {s}" if found.probability else f"-{s}"
    confidence = f"CASE WHEN {said_positive} THEN {s} ELSE {other} END"
    wrong = (
        f"({truly_negative} AND {said_positive}) OR ({truly_positive} AND NOT ({said_positive}))"
    )
    # a score range that holds the k most confident mistakes, read off the cells, so that
    # the scan tests one cheap range before the rest
    wanted = _mistake_range(engine, found, encoded, k)
    if wanted is not None:
        wrong = f"({wanted}) AND ({wrong})"
    # ties in file order, as in memory, where the id column gives that order
    ties = f", {q(run.id)}" if run.id else ""
    frame = engine.frame(
        f"SELECT * FROM {found.staged or run.source} WHERE {wrong} "
        f"ORDER BY {confidence} DESC{ties} LIMIT {k}"
    )
    if frame.empty:
        return None
    overrides = ColumnNames(label=run.label, prediction=run.prediction, score=column, id=run.id)
    small = _validate(frame, run.name, Path(run.path), "table", overrides, {}, checksum=False)
    index = {c: i for i, c in enumerate(encoded.classes)}
    return _encode(small, "binary", encoded.classes, index, encoded.positive, threshold)


def _mistake_range(engine: Engine, found: TableStats, encoded: EncodedRun, k: int) -> str | None:
    """A score range holding the k most confident mistakes (None: no useful range)."""
    cut = _confidence_cut(found, encoded, k)
    if cut is None or found.score is None:
        return None
    s = f"CAST({engine.quote(found.score)} AS DOUBLE)"
    below = f"1 - {cut!r}E0" if found.probability else f"-{cut!r}E0"
    return f"{s} >= {cut!r}E0 OR {s} <= {below}"


def _confidence_cut(found: TableStats, encoded: EncodedRun, k: int) -> float | None:
    """A confidence that at least k mistakes reach, from the cells' score ranges: the lowest
    confidence of the most confident wrong cells that together hold k rows."""
    cells = found.cells
    index = {c: i for i, c in enumerate(encoded.classes)}
    truth = _label_names(cells["label"]).map(index).to_numpy()
    predicted = _predictions(cells, encoded)
    wrong = truth != predicted
    said_positive = predicted == encoded.positive
    low, high = cells["low"].to_numpy(), cells["high"].to_numpy()
    lowest = np.where(said_positive, low, (1 - high) if found.probability else -high)[wrong]
    counts = cells["n"].to_numpy()[wrong]
    if counts.sum() < k:
        return None
    order = np.argsort(-lowest, kind="stable")
    reached = np.searchsorted(np.cumsum(counts[order]), k)
    # slack: 1 - (1 - s) need not give s back exactly, and the range is only a pre-filter
    return float(lowest[order][reached]) - 1e-9


def _literal(value: object) -> str:
    """A SQL literal of a value read back from the engine."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
