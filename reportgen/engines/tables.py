"""Runs larger than memory: choose an engine, and evaluate runs where they lie.

``--engine memory`` reads every row (exact, every view). ``duckdb`` and ``spark`` aggregate the
rows into the statistics of :mod:`reportgen.outofcore` and build the same
:class:`~reportgen.evaluate.RunEvaluation` and :class:`~reportgen.uncertainty.Assessment`
objects from them, so the sections, JSON and Markdown are those of the in-memory path.
``auto`` keeps the memory engine while the inputs fit ``--memory-limit`` (estimated from their
size) and switches to DuckDB beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt

# --- runs that stay where they lie ---------------------------------------------------------
from reportgen.engines.binary import BUCKET_BITS, BinnedStats, binary_cells, binary_stats
from reportgen.engines.choice import SPARK_PREFIX, _table_files
from reportgen.engines.multiclass import MulticlassStats, OneVsRest, multiclass_stats, ovr_ranks
from reportgen.engines.sql import Engine, SparkEngine, _kind_of, _label_names
from reportgen.errors import ReportgenError
from reportgen.ingest.files import check_text_head
from reportgen.ingest.runs import (
    CLASS_SCORE_PATTERN,
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    SCORE_ALIASES,
    Categorical,
    ColumnNames,
    Run,
    _find_column,
    _read_metadata,
    parse_run_argument,
    sort_classes,
)
from reportgen.kinds.classification.encode import EncodedRun, choose_positive
from reportgen.kinds.classification.evaluate import (
    RunEvaluation,
    RunStats,
    evaluation_of,
)
from reportgen.kinds.classification.resample import (
    CELL_BUDGET,
    MAX_BINS,
    Cells,
    ModelCells,
)
from reportgen.kinds.classification.statistics import ECE_BINS, ConfusionCounts


@dataclass
class TableRun:
    """A run read in place: where it is, and which column plays which role."""

    name: str
    path: str
    format: str
    source: str  # the FROM clause
    label: str
    prediction: str | None
    score: str | None
    class_scores: dict[str, str]  # class name -> probability column
    id: str | None
    columns: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    id_text: bool = False  # ids are text (not numbers) in the file
    id_sql: str | None = None  # the id as compared with other runs' (see align_ids)

    def id_expression(self, engine: Engine) -> str:
        assert self.id is not None
        return self.id_sql or engine.quote(self.id)


def open_run(
    engine: Engine, argument: str | Path, overrides: ColumnNames | None = None
) -> TableRun:
    """Resolve a run argument (``NAME=PATH``, a glob, a folder, ``spark:TABLE``) and its
    columns, reading only the schema."""
    overrides = overrides or ColumnNames()
    name, _ = parse_run_argument(str(argument))
    text = str(argument).partition("=")[2] if name else str(argument)
    metadata: dict[str, Any] = {}
    if text.startswith(SPARK_PREFIX):
        table = text[len(SPARK_PREFIX) :]
        if not isinstance(engine, SparkEngine):
            raise ReportgenError(f"{text}: spark:TABLE runs need --engine spark")
        source, fmt, default = engine.source([text]), "spark table", table
    else:
        files = _table_files(text)
        if Path(text).is_dir() and (found := sorted(Path(text).glob("predictions.*"))):
            files = [str(found[0])]  # a run directory: predictions.<ext> and run.json
            if (Path(text) / "run.json").exists():
                metadata = _read_metadata(Path(text) / "run.json")
        if not files:
            raise ReportgenError(f"{text}: no such file, or no Parquet files match")
        missing = [f for f in files if "://" not in f and not Path(f).exists()]
        if missing:
            raise ReportgenError(f"{missing[0]}: no such file")
        for file in files:
            if "://" not in file:  # a local file: binary or UTF-16 content is refused at once
                check_text_head(Path(file))
        sidecar = Path(files[0] + ".meta.json")
        if len(files) == 1 and sidecar.exists():
            metadata |= _read_metadata(sidecar)
        source = engine.source(files)
        fmt = _kind_of(files)
        # a file's stem, a folder's name, a glob's folder
        default = Path(text.rstrip("/")).name.split(".")[0]
        if any(ch in default for ch in "*?["):
            default = Path(text).parent.name
        default = default or "run"
    overrides = overrides.for_run(name or default)  # NAME=COLUMN options of this run
    if any("." in str(c) for c in (overrides.label, overrides.prediction, overrides.score)):
        raise ReportgenError(
            f"{text}: dotted column paths (nested JSON records) are read in memory; pass "
            "--engine memory"
        )
    if overrides.layout.active:
        raise ReportgenError(
            f"{text}: --where, --labels and --models-from-columns are applied in memory "
            "(--where is pandas DataFrame.query syntax); pass --engine memory"
        )
    if overrides.header is not None:
        raise ReportgenError(f"{text}: --no-header files are read in memory; pass --engine memory")
    empty = engine.frame(f"SELECT * FROM {source} LIMIT 0")
    columns = [str(c) for c in empty.columns]
    frame_types = empty.dtypes
    frame = pd.DataFrame(columns=columns)
    where = Path(text)

    def find(role: str, aliases: Sequence[str], override: str | None) -> str | None:
        return _find_column(frame, where, role, aliases, override)

    label = find("label", LABEL_ALIASES, overrides.label)
    if label is None:
        raise ReportgenError(
            f"{text}: no label column; name one of {', '.join(LABEL_ALIASES)} or give "
            f"--label-col (columns are: {', '.join(columns)})"
        )
    class_scores = {}
    for column in columns:
        matched = CLASS_SCORE_PATTERN.match(column)
        if matched:
            class_scores[matched.group(1)] = column
    score = find("score", SCORE_ALIASES, overrides.score)
    numeric = [c for c in (score, *class_scores.values()) if c is not None]
    if fmt == "csv" and numeric:  # scores read as numbers: text in one names its line
        source = engine.source(files, numeric)
    ident = find("id", ID_ALIASES, overrides.id)
    return TableRun(
        name=name or default,
        path=text,
        format=fmt,
        source=source,
        label=label,
        prediction=find("prediction", PREDICTION_ALIASES, overrides.prediction),
        score=score,
        class_scores=class_scores,
        id=ident,
        columns=columns,
        metadata=metadata,
        id_text=ident is not None and frame_types[ident].kind not in "iuf",
    )


def align_ids(engine: Engine, runs: Sequence[TableRun]) -> None:
    """Ids written as numbers in one run and as text in another (7 in CSV, "7" or "x7" in
    JSON Lines) are compared as text in every run, as the memory engine compares them; the
    one expression serves the join, the uniqueness check and the id-hash sample, so every
    run samples the same ids."""
    kinds = {run.id_text for run in runs if run.id is not None}
    if len(kinds) < 2:
        return
    for run in runs:
        if run.id is None or run.id_text:
            continue
        column, text = engine.quote(run.id), engine.text_type
        # integral floats lose their .0, as the memory engine's ids do
        run.id_sql = (
            f"(CASE WHEN {column} = floor({column}) THEN CAST(CAST({column} AS BIGINT) AS "
            f"{text}) ELSE CAST({column} AS {text}) END)"
        )


# --- statistics per run --------------------------------------------------------------------


@dataclass
class TableStats:
    """What one aggregation pass over a run returned."""

    run: TableRun
    task: str
    cells: pd.DataFrame  # binary: binary_cells; no scores: (label, prediction) counts
    labels: set[str]
    probability: bool
    score: str | None = None  # the column ranked as the positive class's score (binary)
    staged: str | None = None  # a table of the rows later queries need (see stage_rows)
    binned: BinnedStats | None = None
    multiclass: MulticlassStats | None = None
    ovr: dict[str, OneVsRest] | None = None

    @property
    def n(self) -> int:
        if self.multiclass is not None:
            return int(self.multiclass.confusion.n)
        return int(self.cells["n"].sum())


def binary_score_column(run: TableRun, positive_label: str | None) -> str | None:
    """The score column of a binary run: ``score``, else the positive class's prob_<class>."""
    if run.score is not None or not run.class_scores or len(run.class_scores) > 2:
        return run.score
    positive = choose_positive(sort_classes(set(run.class_scores)), positive_label)
    return run.class_scores.get(positive)


def aggregate(
    engine: Engine,
    run: TableRun,
    threshold: float | None,
    task: str | None,
    positive_label: str | None = None,
) -> TableStats:
    """One run's cells (binary) or multiclass statistics, from one pass (plus refinements)."""
    if run.prediction is None and run.score is None and not run.class_scores:
        raise ReportgenError(f"{run.path}: no prediction column and no scores")
    extremes = score_extremes(engine, run)
    column = binary_score_column(run, positive_label)
    if task != "multiclass" and column is not None:
        low, high = extremes[column]
        probability = low >= 0 and high <= 1
        cells = binary_cells(
            engine,
            run.source,
            run.label,
            column,
            run.prediction if threshold is None else None,
            threshold=0.5 if threshold is None else threshold,
            probability=probability,
        )
        labels = set(_label_names(cells["label"]))
        if len(labels) <= 2 or task == "binary":
            return TableStats(run, "binary", cells, labels, probability, column)
        if not run.class_scores:
            raise ReportgenError(
                f"{run.path}: {len(labels)} classes but one score column; multiclass runs "
                "need a prob_<class> column per class"
            )
    if not run.class_scores:
        cells = engine.frame(
            f"SELECT {engine.quote(run.label)} AS label, {engine.quote(run.prediction or '')} "
            f"AS prediction, count(*) AS n FROM {run.source} GROUP BY ALL"
        )
        labels = set(_label_names(cells["label"]))
        return TableStats(run, "multiclass" if len(labels) > 2 else "binary", cells, labels, False)
    stats = multiclass_stats(engine, run.source, run.label, run.class_scores, run.prediction)
    return TableStats(run, "multiclass", pd.DataFrame(), set(stats.classes), True, multiclass=stats)


def score_extremes(engine: Engine, run: TableRun) -> dict[str, tuple[float, float]]:
    """Each score column's lowest and highest value, from one pass; a missing or non-finite
    score is an error naming the column (the in-memory path refuses them the same way)."""
    columns = [c for c in (run.score, *run.class_scores.values()) if c is not None]
    if not columns:
        return {}
    items = []
    for i, column in enumerate(columns):
        s = f"CAST({engine.quote(column)} AS DOUBLE)"
        items.append(
            f"min({s}) AS low{i}, max({s}) AS high{i}, "
            # NULL, NaN (above every number in DuckDB and Spark) and inf all fail the test
            f"sum(CASE WHEN abs({s}) <= 1.7976931348623157E308 THEN 0 ELSE 1 END) AS bad{i}"
        )
    found = engine.frame(f"SELECT {', '.join(items)} FROM {run.source}").iloc[0]
    for i, column in enumerate(columns):
        bad = found[f"bad{i}"]
        if pd.notna(bad) and bad > 0:  # NULL for a table without rows
            raise ReportgenError(
                f"{run.path}: score column {column!r} has {int(bad)} missing, "
                "non-numeric or infinite values; scores must be finite numbers"
            )
    return {c: (float(found[f"low{i}"]), float(found[f"high{i}"])) for i, c in enumerate(columns)}


def _empty_run(run: TableRun, n: int, classes: tuple[str, ...]) -> Run:
    """A :class:`Run` that describes the file but holds no rows (they stay in the engine)."""
    none = Categorical(np.zeros(0, dtype=np.int64), classes)
    roles = {"label": run.label}
    for role, column in (("prediction", run.prediction), ("score", run.score), ("id", run.id)):
        if column is not None:
            roles[role] = column
    return Run(
        name=run.name,
        path=Path(run.path),
        sha256="not computed (read in place)",
        format=run.format,
        n_examples=n,
        labels=none,
        predictions=none if run.prediction else None,
        score=None,
        class_scores={},
        ids=None,
        columns=roles,
        extra=pd.DataFrame(),
        metadata=run.metadata,
    )


def evaluate_table(
    engine: Engine,
    found: TableStats,
    classes: tuple[str, ...],
    positive_label: str | None,
    threshold: float | None,
) -> RunEvaluation:
    """A run's evaluation from its aggregated statistics, with the binning bounds as notes."""
    run = found.run
    positive = None
    notes = []
    if found.task == "binary" and "coarse" in found.cells:
        binned = binary_stats(
            found.cells, positive_label, 0.5 if threshold is None else threshold, classes
        )
        found.binned = binned
        positive = binned.positive
        stats = binned_run_stats(binned)
        source = (
            f"column {run.prediction!r}"
            if run.prediction and threshold is None
            else f"score ≥ {fmt.threshold(0.5 if threshold is None else threshold)}"
        )
    elif found.task == "binary":
        positive = classes.index(choose_positive(classes, positive_label))
        stats = _count_stats(found.cells, classes, "binary", positive)
        source = f"column {run.prediction!r}"
    elif found.multiclass is not None:
        mc = found.multiclass
        found.ovr = ovr_ranks(engine, run.source, run.label, run.class_scores)
        index = {c: i for i, c in enumerate(classes)}
        ranks = {index[c]: o.rank for c, o in found.ovr.items() if c in index}
        stats = RunStats(
            "multiclass",
            None,
            _widen(mc.confusion.matrix, mc.classes, classes),
            ranks,
            mc.calibration,
            mc.probability,
            mc.top2,
            True,
            None,
        )
        worst = max((o.auc_bound for o in found.ovr.values()), default=0.0)
        notes.append(f"One-vs-rest ROC AUCs from binned scores: each within ±{worst:.1g} of exact.")
        source = f"column {run.prediction!r}" if run.prediction else "argmax of class probabilities"
    else:
        stats = _count_stats(found.cells, classes, "multiclass", None)
        source = f"column {run.prediction!r}"
    n = int(stats.confusion.n)
    encoded = EncodedRun(
        run=_empty_run(run, n, classes),
        task=found.task,  # type: ignore[arg-type]
        classes=classes,
        positive=positive,
        y_true=np.zeros(0, dtype=np.int64),
        y_pred=np.zeros(0, dtype=np.int64),
        scores=np.zeros(0) if stats.has_scores else None,
        prediction_source=source,
    )
    evaluation = evaluation_of(encoded, stats)
    if found.binned is not None:
        b = found.binned
        evaluation.metrics["average_precision"] = b.average_precision
        evaluation.metric_notes["roc_auc"] = (
            f"from {b.n_buckets:,} score buckets: within ±{b.auc_bound:.1g} of exact"
        )
        evaluation.metric_notes["average_precision"] = (
            f"from {b.n_buckets:,} score buckets: within ±{b.ap_bound:.1g} of exact"
        )
        notes.append(
            f"ROC AUC and average precision from {b.n_buckets:,} score buckets (equal steps of "
            f"ln score): at most ±{b.auc_bound:.1g} (AUC) and ±{b.ap_bound:.1g} (AP) from the "
            "exact values; curve points are bucket edges."
        )
    evaluation.notes += notes
    return evaluation


def binned_run_stats(binned: BinnedStats) -> RunStats:
    """A binary run's (or slice's) statistics as the metric functions take them."""
    return RunStats(
        "binary",
        binned.positive,
        binned.confusion,
        {binned.positive: binned.rank},
        binned.calibration,
        binned.probability,
        None,
        True,
        None if binned.probability is not None else "scores are not probabilities",
    )


def _widen(matrix: np.ndarray, own: tuple[str, ...], classes: tuple[str, ...]) -> ConfusionCounts:
    """A confusion matrix over the run's own classes, placed among the report's classes."""
    k = len(classes)
    index = np.array([classes.index(c) for c in own])
    wide = np.zeros((k, k), dtype=np.int64)
    wide[np.ix_(index, index)] = matrix
    return ConfusionCounts(wide)


def _count_stats(
    cells: pd.DataFrame, classes: tuple[str, ...], task: str, positive: int | None
) -> RunStats:
    """A run without scores: its confusion counts only."""
    index = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    y = _label_names(cells["label"]).map(index).to_numpy(dtype=np.int64)
    p = _label_names(cells["prediction"]).map(index).to_numpy(dtype=np.int64)
    matrix = np.bincount(y * k + p, weights=cells["n"], minlength=k * k).reshape(k, k)
    return RunStats(
        task,
        positive,
        ConfusionCounts(matrix.astype(np.int64)),
        {},
        None,
        None,
        None,
        False,
        "the run has no scores",
    )


# --- intervals and paired comparisons from cells --------------------------------------------


def _quantile_edges(positions: np.ndarray, counts: np.ndarray, bins: int) -> np.ndarray:
    """Up to ``bins - 1`` position edges splitting the mass into equal parts."""
    order = np.argsort(positions, kind="stable")
    cumulative = np.cumsum(counts[order])
    if len(cumulative) == 0 or bins <= 1:
        return np.zeros(0)
    targets = cumulative[-1] * np.arange(1, bins) / bins
    at = np.searchsorted(cumulative, targets)
    return np.unique(positions[order][np.minimum(at, len(order) - 1)])


def _cell_position(cells: pd.DataFrame) -> np.ndarray:
    return cells["coarse"].to_numpy(dtype=np.float64) / (1 << BUCKET_BITS)


def run_cells(found: TableStats, evaluation: RunEvaluation) -> Cells | None:
    """One run's bootstrap cells, merged from its aggregated cells (no second pass)."""
    encoded = evaluation.encoded
    if found.task == "binary" and "coarse" in found.cells:
        cells = found.cells
        is_pos = (_label_names(cells["label"]) == encoded.classes[encoded.positive]).to_numpy()
        # 2 labels x 2 predictions share the cell budget, as in resample.build_cells
        bins = int(np.clip(CELL_BUDGET / 4, 1, MAX_BINS))
        edges = _quantile_edges(_cell_position(cells), cells["n"].to_numpy(), bins)
        score_bin = np.searchsorted(edges, _cell_position(cells), side="right")
        return _binary_cells_frame(
            [encoded],
            pd.DataFrame(
                {
                    "label": _label_names(cells["label"]),
                    "is_pos": is_pos,
                    "p0": _predictions(cells, encoded),
                    "b0": score_bin,
                    "c0": cells["cal"].to_numpy(),
                    "n": cells["n"],
                    "s0": cells["score_sum"],
                    "q0": cells["score_sq"],
                    "lp0": cells["loss_if_positive"],
                    "lq0": cells["loss_if_negative"],
                }
            ),
            found.probability,
        )
    if found.multiclass is not None:
        cells = found.multiclass.cells
        index = {c: i for i, c in enumerate(encoded.classes)}
        frame = pd.DataFrame(
            {
                "label": cells["label"],
                "n": cells["n"],
                "p0": cells["prediction"].map(index),
                "c0": cells["cal"],
                "r0": cells["top"] == cells["label"],
                "s0": cells["confidence_sum"],
                "l0": cells["loss"],
                "t0": cells["top2"],
            }
        )
        return _multiclass_cells_frame([encoded], frame)
    return None  # no scores: the confusion counts alone; no intervals out of core


def _predictions(cells: pd.DataFrame, encoded: EncodedRun) -> np.ndarray:
    index = {c: i for i, c in enumerate(encoded.classes)}
    if "prediction" in cells and cells["prediction"].notna().all():
        return _label_names(cells["prediction"]).map(index).to_numpy(dtype=np.int64)
    positive = encoded.positive
    negative = 1 - positive if len(encoded.classes) == 2 else positive
    return np.where(cells["above"].to_numpy(dtype=bool), positive, negative)


def _multiclass_cells_frame(encoded: Sequence[EncodedRun], frame: pd.DataFrame) -> Cells:
    """Bootstrap cells of multiclass runs from aggregated rows: columns label, n, and per
    model m the prediction code p<m>, calibration bin c<m>, whether the top class is right
    r<m>, and sums of confidence s<m>, loss l<m> and top-2 hits t<m>. The calibration bin is
    the score bin: one-vs-rest AUCs are not resampled (their intervals are not given)."""
    keys = ["label"] + [f"{k}{m}" for m in range(len(encoded)) for k in "pcr"]
    sums = [c for c in frame.columns if c not in keys]
    grouped = frame.groupby(keys, sort=True, as_index=False)[sums].sum()
    n = grouped["n"].to_numpy(dtype=np.float64)
    index = {c: i for i, c in enumerate(encoded[0].classes)}
    models = []
    for m, run in enumerate(encoded):
        calibration = grouped[f"c{m}"].to_numpy(dtype=np.int64)
        models.append(
            ModelCells(
                encoded=run,
                prediction=grouped[f"p{m}"].to_numpy(dtype=np.int64),
                score_bin=calibration,
                n_score_bins=ECE_BINS,
                calibration_bin=calibration,
                confidence=grouped[f"s{m}"].to_numpy() / n,
                outcome=grouped[f"r{m}"].to_numpy(dtype=np.float64),
                loss=grouped[f"l{m}"].to_numpy() / n,
                brier=None,
                top2=grouped[f"t{m}"].to_numpy() / n,
            )
        )
    label = grouped["label"].map(index).to_numpy(dtype=np.int64)
    return Cells(grouped["n"].to_numpy(dtype=np.int64), label, tuple(models))


# --- slices and examples ------------------------------------------------------------------


def _binary_cells_frame(
    encoded: Sequence[EncodedRun], frame: pd.DataFrame, probability: bool
) -> Cells:
    """Bootstrap cells from aggregated rows: columns label, is_pos, n, and per model m the
    prediction code p<m>, score bin b<m>, calibration bin c<m> and sums s, q, lp, lq."""
    keys = ["label", "is_pos"] + [f"{k}{m}" for m in range(len(encoded)) for k in "pbc"]
    sums = [c for c in frame.columns if c not in keys]
    grouped = frame.groupby(keys, sort=True, as_index=False)[sums].sum()
    n = grouped["n"].to_numpy(dtype=np.float64)
    index = {c: i for i, c in enumerate(encoded[0].classes)}
    label = grouped["label"].map(index).to_numpy(dtype=np.int64)
    y = grouped["is_pos"].to_numpy(dtype=np.float64)
    models = []
    for m, run in enumerate(encoded):
        score_bin = grouped[f"b{m}"].to_numpy(dtype=np.int64)
        loss = brier = confidence = outcome = calibration = None
        if probability:
            confidence = grouped[f"s{m}"].to_numpy() / n
            outcome = y
            calibration = grouped[f"c{m}"].to_numpy(dtype=np.int64)
            loss = np.where(y > 0, grouped[f"lp{m}"], grouped[f"lq{m}"]) / n
            brier = (grouped[f"q{m}"] - 2 * y * grouped[f"s{m}"] + y * n).to_numpy() / n
        models.append(
            ModelCells(
                encoded=run,
                prediction=grouped[f"p{m}"].to_numpy(dtype=np.int64),
                score_bin=score_bin,
                n_score_bins=int(score_bin.max()) + 1,
                calibration_bin=calibration,
                confidence=confidence,
                outcome=outcome,
                loss=loss,
                brier=brier,
                top2=None,
            )
        )
    return Cells(grouped["n"].to_numpy(dtype=np.int64), label, tuple(models))
