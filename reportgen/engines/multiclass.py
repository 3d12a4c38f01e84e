"""Multiclass runs larger than memory: one-vs-rest score histograms per class, and the
confusion counts, top-class calibration, log loss and top-2 hits of one pass (per slice too)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.engines.binary import (
    ECE_EDGES,
    EPS,
    _average_precision,
    _rank_of,
    calibration_sql,
    coarse_sql,
    position_sql,
    refine,
)
from reportgen.engines.sql import Engine, _label_names
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import sort_classes
from reportgen.kinds.classification.statistics import (
    ECE_BINS,
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
    TopKCounts,
)


@dataclass(frozen=True)
class OneVsRest:
    """One class's ranking statistics against the rest, from its own score column."""

    rank: RankCounts
    auc_bound: float
    average_precision: float
    ap_bound: float


def ovr_ranks(
    engine: Engine, source: str, label: str, class_columns: dict[str, str]
) -> dict[str, OneVsRest]:
    """For each class, positives (label = class) and negatives per bucket of its score column,
    crowded buckets refined as for a binary run: the one-vs-rest histograms of a multiclass
    run."""
    found = {}
    for name, column in class_columns.items():
        s = f"CAST({engine.quote(column)} AS DOUBLE)"
        is_class = (
            f"(CAST({engine.quote(label)} AS STRING) = '{name.replace(chr(39), chr(39) * 2)}')"
        )
        measures = "count(*) AS n, sum(" + s + ") AS score_sum, min(" + s + ") AS low, "
        measures += "max(" + s + ") AS high"
        keys = f"{is_class} AS positive, {coarse_sql('reportgen_w')} AS coarse"
        rows = f"(SELECT *, {position_sql(s, True)} AS reportgen_w FROM {source}) AS r"
        coarse = engine.frame(
            f"SELECT {keys}, CAST(0 AS BIGINT) AS fine, {measures} FROM {rows} GROUP BY ALL"
        )
        cells = refine(
            engine, rows, coarse, keys, measures, lambda c: c["positive"].to_numpy(dtype=bool)
        )
        rank, bound, _, mixed = _rank_of(cells, cells["positive"].to_numpy(dtype=bool))
        found[name] = OneVsRest(rank, bound, *_average_precision(rank, mixed)[:2])
    return found


@dataclass(frozen=True)
class MulticlassStats:
    """A multiclass run's count statistics from one aggregation (ranks: :func:`ovr_ranks`)."""

    classes: tuple[str, ...]
    confusion: ConfusionCounts
    calibration: CalibrationCounts
    probability: ProbabilitySums
    top2: TopKCounts
    cells: pd.DataFrame  # per (label, prediction, top class, calibration bin): n and sums


def multiclass_rows(
    engine: Engine,
    source: str,
    label: str,
    class_columns: dict[str, str],
    prediction: str | None = None,
    extra: str = "",
) -> str:
    """A relation of a multiclass run's rows with the columns its statistics read: label (as
    text), prediction (the prediction column, else the arg-max class, the first class winning
    ties as ``np.argmax``), top (the arg-max class), cal (the top-class calibration bin),
    confidence (the top class's probability), loss (-ln p(true class), clipped) and top2 (1
    when the true class is among the two most probable), plus ``extra`` select items."""
    q = engine.quote
    names = list(class_columns)
    p = [f"CAST({q(class_columns[c])} AS DOUBLE)" for c in names]
    literal = [f"'{c.replace(chr(39), chr(39) * 2)}'" for c in names]
    truth = f"CAST({q(label)} AS STRING)"
    confidence = f"greatest({', '.join(p)})"
    argmax = (
        "CASE "
        + " ".join(f"WHEN {v} = {confidence} THEN {c}" for v, c in zip(p, literal, strict=True))
        + " END"
    )
    true_p = (
        f"CASE {truth} "
        + " ".join(f"WHEN {c} THEN {v}" for v, c in zip(p, literal, strict=True))
        + " END"
    )
    true_k = (
        f"CASE {truth} " + " ".join(f"WHEN {c} THEN {k}" for k, c in enumerate(literal)) + " END"
    )
    # the true class's rank: classes scored higher, and tied classes of higher index
    above = " + ".join(
        f"CAST({v} > {true_p} OR ({v} = {true_p} AND {k} > {true_k}) AS INTEGER)"
        for k, v in enumerate(p)
    )
    clipped = f"least(greatest({true_p}, {EPS!r}), {1 - EPS!r})"
    predicted = f"CAST({q(prediction)} AS STRING)" if prediction else argmax
    extra = f", {extra}" if extra else ""
    return f"""(SELECT {truth} AS label, {predicted} AS prediction, {argmax} AS top,
                       {calibration_sql(confidence)} AS cal, {confidence} AS confidence,
                       -ln({clipped}) AS loss, CAST(({above}) < 2 AS INTEGER) AS top2{extra}
                FROM {source}) AS r"""


def multiclass_stats(
    engine: Engine,
    source: str,
    label: str,
    class_columns: dict[str, str],
    prediction: str | None = None,
) -> MulticlassStats:
    """Confusion counts, top-class calibration bins, summed log loss and top-2 hits, in one
    pass (see :func:`multiclass_rows`). ``class_columns`` maps each class name to its
    probability column."""
    frame = _multiclass_frame(engine, source, label, class_columns, prediction, None)
    names = set(class_columns) | set(frame["label"]) | set(frame["prediction"])
    return _multiclass_of(frame, sort_classes(names))


def multiclass_slice_stats(
    engine: Engine,
    source: str,
    label: str,
    class_columns: dict[str, str],
    prediction: str | None,
    slice_sql: str,
    classes: tuple[str, ...],
) -> dict[str, MulticlassStats]:
    """The statistics of :func:`multiclass_stats` per value of ``slice_sql`` (an expression
    grouping a slice column's values), on the run's ``classes``, from one pass."""
    frame = _multiclass_frame(engine, source, label, class_columns, prediction, slice_sql)
    return {
        str(value): _multiclass_of(group, classes)
        for value, group in frame.groupby("slice", sort=True)
    }


def _multiclass_frame(
    engine: Engine,
    source: str,
    label: str,
    class_columns: dict[str, str],
    prediction: str | None,
    slice_sql: str | None,
) -> pd.DataFrame:
    extra = f"{slice_sql} AS slice" if slice_sql is not None else ""
    rows = multiclass_rows(engine, source, label, class_columns, prediction, extra)
    frame = engine.frame(
        f"""SELECT label, prediction, top, cal{", slice" if extra else ""}, count(*) AS n,
                   sum(confidence) AS confidence_sum, sum(loss) AS loss, sum(top2) AS top2
            FROM {rows} GROUP BY ALL"""
    )
    if frame["label"].isna().any():
        raise ReportgenError("a label outside the probability columns' classes; add prob_<class>")
    return frame.assign(
        label=_label_names(frame["label"]),
        prediction=_label_names(frame["prediction"]),
        top=_label_names(frame["top"]),
    )


def _multiclass_of(frame: pd.DataFrame, classes: tuple[str, ...]) -> MulticlassStats:
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    n = frame["n"].to_numpy(dtype=np.int64)
    y = frame["label"].map(index).to_numpy(dtype=np.int64)
    yhat = frame["prediction"].map(index).to_numpy(dtype=np.int64)
    confusion = np.bincount(y * k + yhat, weights=n, minlength=k * k).reshape(k, k)
    cal = frame["cal"].to_numpy(dtype=np.int64)
    correct = (frame["top"] == frame["label"]).to_numpy()
    total = int(n.sum())
    return MulticlassStats(
        classes=classes,
        confusion=ConfusionCounts(confusion.astype(np.int64)),
        calibration=CalibrationCounts(
            edges=ECE_EDGES,
            count=np.bincount(cal, weights=n, minlength=ECE_BINS).astype(np.int64),
            confidence_sum=np.bincount(cal, weights=frame["confidence_sum"], minlength=ECE_BINS),
            outcome_sum=np.bincount(cal, weights=n * correct, minlength=ECE_BINS),
        ),
        probability=ProbabilitySums(total, float(frame["loss"].sum()), None),
        top2=TopKCounts(2, total, int(frame["top2"].sum())),
        cells=frame,
    )
