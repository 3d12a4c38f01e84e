"""Runs larger than memory: choose an engine, and evaluate runs where they lie.

``--engine memory`` reads every row (exact, every view). ``duckdb`` and ``spark`` aggregate the
rows into the statistics of :mod:`reportgen.outofcore` and build the same
:class:`~reportgen.evaluate.RunEvaluation` and :class:`~reportgen.uncertainty.Assessment`
objects from them, so the sections, JSON and Markdown are those of the in-memory path.
``auto`` keeps the memory engine while the inputs fit ``--memory-limit`` (estimated from their
size) and switches to DuckDB beyond it.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.engines import sql as outofcore
from reportgen.errors import ReportgenError
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
    _validate,
    class_name,
    parse_run_argument,
)
from reportgen.kinds.classification.assess import Assessment
from reportgen.kinds.classification.encode import EncodedRun, _encode, choose_positive, sort_classes
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
    RunStats,
    evaluation_of,
    metric_values,
)
from reportgen.kinds.classification.resample import (
    CELL_BUDGET,
    MAX_BINS,
    Cells,
    ModelCells,
    replicate_metrics,
)
from reportgen.kinds.classification.slices import (
    MAX_SLICES,
    OTHER,
    SliceAnalysis,
    SliceCell,
    find_worst_and_gaps,
)
from reportgen.kinds.classification.statistics import ECE_BINS, ConfusionCounts
from reportgen.stats import significance as compare
from reportgen.stats.comparison import Comparison
from reportgen.stats.pairing import Pairing

ENGINES = ("auto", "memory", "duckdb", "spark")
ENGINE_NAMES = {"memory": "memory", "duckdb": "DuckDB", "spark": "Spark"}
MEMORY_FRACTION = 0.25  # the default --memory-limit: a quarter of the machine's memory
BYTES_PER_VALUE = 40  # in-memory cost of one cell of a run (pandas, codes, sorts), measured
TEXT_EXPANSION = 4  # in-memory bytes per byte of CSV / JSON Lines
JOINT_ROWS = 2_000_000  # pairs joined at most for the paired tests (a hash sample beyond)
JOINT_STEPS = 16  # joint cells group scores in steps of 1/16 of ln(score) before merging
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".csv.gz", ".tsv.gz", ".jsonl", ".ndjson")
SPARK_PREFIX = "spark:"
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_memory(text: str) -> int:
    """Bytes in ``"1GB"``, ``"512MiB"``, ``"2e9"``."""
    found = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", text)
    unit = found.group(2).upper() if found else ""
    if found is None or unit not in UNITS:
        raise ReportgenError(f"--memory-limit {text!r}: use a size such as 1GB, 512MB or 2GiB")
    try:
        value = float(found.group(1)) * UNITS[unit]
    except ValueError:
        raise ReportgenError(f"--memory-limit {text!r}: use a size such as 1GB") from None
    if not math.isfinite(value) or value < 32 * 10**6:
        raise ReportgenError(f"--memory-limit {text!r} is too small; give at least 32MB")
    return int(value)


def machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_memory_limit() -> int:
    return int(machine_memory() * MEMORY_FRACTION)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


@dataclass(frozen=True)
class EngineChoice:
    name: str  # memory | duckdb | spark
    memory_limit: int
    reason: str | None = None  # why auto switched, for stderr and the page


def _table_files(path: str) -> list[str]:
    """The data files a path names: itself, a glob's matches, or a folder's Parquet files."""
    if any(ch in path for ch in "*?["):
        return sorted(glob.glob(path, recursive=True))
    p = Path(path)
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*.parquet"))
    return [path]


def estimate_memory(path: str) -> int | None:
    """Bytes the memory engine would need for a run file (None: not a table run file, or one
    that cannot be read; the reader then says why)."""
    files = _table_files(path)
    if not files or not all(f.lower().endswith(TABLE_SUFFIXES) for f in files):
        return None
    try:
        return sum(_file_estimate(f) for f in files)
    except Exception:  # an estimate only: missing or corrupt files are reported when read
        return None


def _file_estimate(path: str) -> int:
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return meta.num_rows * meta.num_columns * BYTES_PER_VALUE
    expansion = TEXT_EXPANSION * (8 if path.endswith(".gz") else 1)
    return os.path.getsize(path) * expansion


def choose_engine(engine: str, runs: Sequence[object], memory_limit: int | None) -> EngineChoice:
    """The engine to use; ``auto`` switches to DuckDB when the runs would not fit the budget."""
    if engine not in ENGINES:
        raise ReportgenError(f"--engine {engine!r} is not known; use {', '.join(ENGINES)}")
    limit = memory_limit or default_memory_limit()
    if engine != "auto":
        return EngineChoice(engine, limit)
    paths = [parse_run_argument(str(r))[1] for r in runs if isinstance(r, str | Path)]
    if len(paths) != len(runs) or any(str(p).startswith(SPARK_PREFIX) for p in paths):
        return EngineChoice("memory", limit)
    estimates = [estimate_memory(str(p)) for p in paths]
    if any(e is None for e in estimates):
        return EngineChoice("memory", limit)  # other kinds of runs are read in memory
    needed = sum(e for e in estimates if e is not None)
    if needed <= limit:
        return EngineChoice("memory", limit)
    reason = (
        f"These runs need about {human_bytes(needed)} in memory, more than the memory limit of "
        f"{human_bytes(limit)}, so DuckDB computed their statistics where the files lie: AUC "
        "and AP come from binned scores (within the bounds stated with them) and per-example "
        "views are limited to top-k lists"
    )
    return EngineChoice("duckdb", limit, reason)


def open_engine(choice: EngineChoice, spark_master: str = "local[*]") -> outofcore.Engine:
    if choice.name == "spark":
        return outofcore.SparkEngine(master=spark_master)
    spill = Path(tempfile.gettempdir()) / "reportgen-duckdb"
    spill.mkdir(exist_ok=True)
    # DuckDB's limit covers its buffers, not the process: leave room for Python and results
    return outofcore.DuckDBEngine(f"{max(choice.memory_limit * 3 // 4, 64 * 2**20)}B", str(spill))


# --- runs that stay where they lie ---------------------------------------------------------


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


def open_run(
    engine: outofcore.Engine, argument: str | Path, overrides: ColumnNames | None = None
) -> TableRun:
    """Resolve a run argument (``NAME=PATH``, a glob, a folder, ``spark:TABLE``) and its
    columns, reading only the schema."""
    overrides = overrides or ColumnNames()
    name, _ = parse_run_argument(str(argument))
    text = str(argument).partition("=")[2] if name else str(argument)
    metadata: dict[str, Any] = {}
    if text.startswith(SPARK_PREFIX):
        table = text[len(SPARK_PREFIX) :]
        if not isinstance(engine, outofcore.SparkEngine):
            raise ReportgenError(f"{text}: spark:TABLE runs need --engine spark")
        source, fmt, default = engine.source([text]), "spark table", table
    else:
        files = _table_files(text)
        if Path(text).is_dir() and (found := sorted(Path(text).glob("predictions.*"))):
            files = [str(found[0])]  # a run directory: predictions.<ext> and run.json
            if (Path(text) / "run.json").exists():
                metadata = json.loads((Path(text) / "run.json").read_text())
        if not files:
            raise ReportgenError(f"{text}: no such file, or no Parquet files match")
        missing = [f for f in files if "://" not in f and not Path(f).exists()]
        if missing:
            raise ReportgenError(f"{missing[0]}: no such file")
        sidecar = Path(files[0] + ".meta.json")
        if len(files) == 1 and sidecar.exists():
            metadata |= json.loads(sidecar.read_text())
        source = engine.source(files)
        fmt = outofcore._kind_of(files)
        # a file's stem, a folder's name, a glob's folder
        default = Path(text.rstrip("/")).name.split(".")[0]
        if any(ch in default for ch in "*?["):
            default = Path(text).parent.name
        default = default or "run"
    columns = list(engine.frame(f"SELECT * FROM {source} LIMIT 0").columns)
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
    return TableRun(
        name=name or default,
        path=text,
        format=fmt,
        source=source,
        label=label,
        prediction=find("prediction", PREDICTION_ALIASES, overrides.prediction),
        score=find("score", SCORE_ALIASES, overrides.score),
        class_scores=class_scores,
        id=find("id", ID_ALIASES, overrides.id),
        columns=columns,
        metadata=metadata,
    )


# --- statistics per run --------------------------------------------------------------------


@dataclass
class TableStats:
    """What one aggregation pass over a run returned."""

    run: TableRun
    task: str
    cells: pd.DataFrame  # binary: outofcore.binary_cells; no scores: (label, prediction) counts
    labels: set[str]
    probability: bool
    score: str | None = None  # the column ranked as the positive class's score (binary)
    staged: str | None = None  # a table of the rows later queries need (see stage_rows)
    binned: outofcore.BinnedStats | None = None
    multiclass: outofcore.MulticlassStats | None = None
    ovr: dict[str, outofcore.OneVsRest] | None = None

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
    engine: outofcore.Engine,
    run: TableRun,
    threshold: float | None,
    task: str | None,
    positive_label: str | None = None,
) -> TableStats:
    """One run's cells (binary) or multiclass statistics, from one pass (plus refinements)."""
    if run.prediction is None and run.score is None and not run.class_scores:
        raise ReportgenError(f"{run.path}: no prediction column and no scores")
    column = binary_score_column(run, positive_label)
    if task != "multiclass" and column is not None:
        cells = outofcore.binary_cells(
            engine,
            run.source,
            run.label,
            column,
            run.prediction if threshold is None else None,
            threshold=0.5 if threshold is None else threshold,
        )
        labels = set(outofcore._label_names(cells["label"]))
        if len(labels) <= 2 or task == "binary":
            probability = bool(cells["low"].min() >= 0 and cells["high"].max() <= 1)
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
        labels = set(outofcore._label_names(cells["label"]))
        return TableStats(run, "multiclass" if len(labels) > 2 else "binary", cells, labels, False)
    stats = outofcore.multiclass_stats(
        engine, run.source, run.label, run.class_scores, run.prediction
    )
    return TableStats(run, "multiclass", pd.DataFrame(), set(stats.classes), True, multiclass=stats)


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
    engine: outofcore.Engine,
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
        binned = outofcore.binary_stats(
            found.cells, positive_label, 0.5 if threshold is None else threshold, classes
        )
        found.binned = binned
        positive = binned.positive
        stats = binned_run_stats(binned)
        source = (
            f"column {run.prediction!r}"
            if run.prediction and threshold is None
            else f"score ≥ {0.5 if threshold is None else threshold:g}"
        )
    elif found.task == "binary":
        positive = classes.index(choose_positive(classes, positive_label))
        stats = _count_stats(found.cells, classes, "binary", positive)
        source = f"column {run.prediction!r}"
    elif found.multiclass is not None:
        mc = found.multiclass
        found.ovr = outofcore.ovr_ranks(engine, run.source, run.label, run.class_scores)
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


def binned_run_stats(binned: outofcore.BinnedStats) -> RunStats:
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
    y = outofcore._label_names(cells["label"]).map(index).to_numpy(dtype=np.int64)
    p = outofcore._label_names(cells["prediction"]).map(index).to_numpy(dtype=np.int64)
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
    return cells["coarse"].to_numpy(dtype=np.float64) / (1 << outofcore.BUCKET_BITS)


def run_cells(found: TableStats, evaluation: RunEvaluation) -> Cells | None:
    """One run's bootstrap cells, merged from its aggregated cells (no second pass)."""
    encoded = evaluation.encoded
    if found.task == "binary" and "coarse" in found.cells:
        cells = found.cells
        is_pos = (
            outofcore._label_names(cells["label"]) == encoded.classes[encoded.positive]
        ).to_numpy()
        # 2 labels x 2 predictions share the cell budget, as in resample.build_cells
        bins = int(np.clip(CELL_BUDGET / 4, 1, MAX_BINS))
        edges = _quantile_edges(_cell_position(cells), cells["n"].to_numpy(), bins)
        score_bin = np.searchsorted(edges, _cell_position(cells), side="right")
        return _binary_cells_frame(
            [encoded],
            pd.DataFrame(
                {
                    "label": outofcore._label_names(cells["label"]),
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
        return outofcore._label_names(cells["prediction"]).map(index).to_numpy(dtype=np.int64)
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


def _sampled(engine: outofcore.Engine, found: TableStats, sample: int) -> str:
    """The run's rows, or the 1/``sample`` of them its id hash keeps (filtered as they are
    read, before any per-row expression)."""
    run = found.run
    if sample <= 1:
        return run.source
    assert run.id is not None
    keep = engine.sample_sql(engine.quote(run.id), sample)
    return f"(SELECT * FROM {found.staged or run.source} WHERE {keep}) AS sampled"


def _check_unique_ids(engine: outofcore.Engine, found: TableStats, sample: int) -> None:
    """Ids must be unique to pair runs, as in memory. Beyond JOINT_ROWS only the id sample
    is checked (both copies of an id share its hash: they are sampled together)."""
    q = engine.quote
    repeated = engine.frame(
        f"SELECT id FROM (SELECT {q(found.run.id or '')} AS id "
        f"FROM {_sampled(engine, found, sample)}) AS ids "
        "GROUP BY id HAVING count(*) > 1 LIMIT 1"
    )
    if not repeated.empty:
        raise ReportgenError(
            f"{found.run.path}: duplicate id {class_name(repeated['id'].iloc[0])} in column "
            f"{found.run.id!r}; ids must be unique to pair runs (or pass --unpaired)"
        )


def joint_sample(stats: Sequence[TableStats]) -> int:
    """One in how many ids the paired tests join: all up to JOINT_ROWS pairs; one modulus
    for the report, so every pair's sample is the same set of ids."""
    return max(1, math.ceil(max(s.n for s in stats) / JOINT_ROWS))


def stage_rows(
    engine: outofcore.Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    k: int,
) -> None:
    """For runs beyond JOINT_ROWS, keep in one small table, from one scan, the rows the
    paired tests (the id sample) and the top-k mistakes (a score range) will read, instead
    of scanning each file once for each."""
    sample = joint_sample(stats)
    if sample <= 1:
        return
    for index, (found, evaluation) in enumerate(zip(stats, evaluations, strict=True)):
        run = found.run
        if run.id is None or found.task != "binary" or found.score is None:
            continue
        keep = engine.sample_sql(engine.quote(run.id), sample)
        wanted = _mistake_range(engine, found, evaluation.encoded, k)
        if wanted is None:
            continue  # every row may be a mistake worth listing: nothing to gain
        found.staged = engine.materialize(
            f"reportgen_staged_{index}",
            f"SELECT * FROM {run.source} WHERE {keep} OR ({wanted})",
        )


def joint_multiclass_cells(
    engine: outofcore.Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    sample: int = 1,
) -> tuple[Cells, int, int, bool]:
    """As :func:`joint_cells`, for two multiclass runs with class probabilities."""
    sides = []
    for m, found in enumerate(stats):
        run = found.run
        assert run.id is not None
        rows = outofcore.multiclass_rows(
            engine,
            _sampled(engine, found, sample),
            run.label,
            run.class_scores,
            run.prediction,
            f"{engine.quote(run.id)} AS id",
        )
        sides.append(rows.removesuffix(" AS r") + f" AS t{m}")
    pick = ", ".join(
        f"t{m}.prediction AS p{m}, t{m}.cal AS c{m}, t{m}.top = t{m}.label AS r{m}, "
        f"sum(t{m}.confidence) AS s{m}, sum(t{m}.loss) AS l{m}, sum(t{m}.top2) AS t{m}"
        for m in range(2)
    )
    frame = engine.frame(
        f"""SELECT t0.label AS label, t1.label AS other_label, count(*) AS n, {pick},
                   t0.id IS NULL AS only_candidate, t1.id IS NULL AS only_baseline
            FROM {sides[0]} FULL OUTER JOIN {sides[1]} ON t0.id = t1.id GROUP BY ALL"""
    )
    unmatched = (frame["only_candidate"] | frame["only_baseline"]).to_numpy(dtype=bool)
    frame = frame[~unmatched].drop(columns=["only_candidate", "only_baseline"])
    names = outofcore._label_names(frame["label"])
    disagree = int(frame["n"][names != outofcore._label_names(frame["other_label"])].sum())
    index = {c: i for i, c in enumerate(evaluations[0].classes)}
    frame = frame.drop(columns="other_label").assign(label=names)
    for m in range(2):
        frame[f"p{m}"] = outofcore._label_names(frame[f"p{m}"]).map(index)
        frame[f"r{m}"] = frame[f"r{m}"].astype(bool)
    cells = _multiclass_cells_frame([e.encoded for e in evaluations], frame)
    return cells, int(frame["n"].sum()), disagree, not unmatched.any()


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


def joint_cells(
    engine: outofcore.Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    threshold: float | None,
    sample: int = 1,
) -> tuple[Cells, int, int, bool]:
    """Two binary runs joined on their id inside the engine, grouped into cells of (label,
    each model's prediction, score bin and calibration bin) with the sums the metrics need:
    the paired bootstrap and McNemar's table from one join, over the ids that
    ``engine.sample_sql(id, sample)`` keeps (every id when ``sample`` is 1). Returns the cells,
    the number of joined examples, how many of them disagree on the label, and whether every
    id (of the sample) was in both runs."""
    sides = []
    for m, (found, evaluation) in enumerate(zip(stats, evaluations, strict=True)):
        run = found.run
        assert run.id is not None
        column = found.score
        assert column is not None
        rows = outofcore.binary_rows(
            engine,
            _sampled(engine, found, sample),
            run.label,
            column,
            run.prediction if threshold is None else None,
            found.probability,
            0.5 if threshold is None else threshold,
            f"{engine.quote(run.id)} AS id",
        )
        bins = int(np.clip(math.sqrt(CELL_BUDGET / 8), 1, MAX_BINS))
        edges = _quantile_edges(_cell_position(found.cells), found.cells["n"].to_numpy(), bins)
        sides.append((rows.removesuffix(" AS r") + f" AS t{m}", edges, evaluation))
    pick = []
    for m in range(len(sides)):
        t = f"t{m}"
        pred = f"{t}.prediction" if stats[m].run.prediction and threshold is None else f"{t}.above"
        cal = outofcore.calibration_sql(f"{t}.s") if stats[m].probability else "0"
        pick.append(
            f"{pred} AS p{m}, CAST(floor({t}.reportgen_w * {JOINT_STEPS}) AS BIGINT) AS b{m}, "
            f"{cal} AS c{m}, "
            f"sum({t}.s) AS s{m}, sum({t}.s * {t}.s) AS q{m}, sum(-{t}.lp) AS lp{m}, "
            f"sum(-{t}.lq) AS lq{m}"
        )
    select = f"SELECT t0.label AS label, t1.label AS other_label, count(*) AS n, {', '.join(pick)}"
    # a full join: the ids only one run has tell whether every example is paired
    frame = engine.frame(
        f"""{select}, t0.id IS NULL AS only_candidate, t1.id IS NULL AS only_baseline
            FROM {sides[0][0]} FULL OUTER JOIN {sides[1][0]} ON t0.id = t1.id GROUP BY ALL"""
    )
    unmatched = (frame["only_candidate"] | frame["only_baseline"]).to_numpy(dtype=bool)
    every_id_paired = not unmatched.any()
    frame = frame[~unmatched].drop(columns=["only_candidate", "only_baseline"])
    encoded = [e.encoded for e in evaluations]
    for m, (_, edges, _) in enumerate(sides):
        # fine log-scale steps, merged into each model's quantile bins here (a comparison
        # tree per row would cost more than the join)
        frame[f"b{m}"] = np.searchsorted(edges, frame[f"b{m}"] / JOINT_STEPS, side="right")
    names = outofcore._label_names(frame["label"])
    disagree = int(frame["n"][names != outofcore._label_names(frame["other_label"])].sum())
    classes = encoded[0].classes
    index = {c: i for i, c in enumerate(classes)}
    for m in range(2):
        if stats[m].run.prediction and threshold is None:
            frame[f"p{m}"] = outofcore._label_names(frame[f"p{m}"]).map(index)
        else:
            positive = encoded[m].positive
            frame[f"p{m}"] = np.where(frame[f"p{m}"].to_numpy(dtype=bool), positive, 1 - positive)
    frame = frame.drop(columns="other_label").assign(
        label=names, is_pos=(names == classes[encoded[0].positive]).to_numpy()
    )
    probability = stats[0].probability and stats[1].probability
    cells = _binary_cells_frame(encoded, frame, probability)
    return cells, int(frame["n"].sum()), disagree, every_id_paired


def assess_tables(
    engine: outofcore.Engine,
    stats: Sequence[TableStats],
    evaluations: Sequence[RunEvaluation],
    baseline: str | None,
    unpaired: bool,
    replicates: int,
    seed: int,
    threshold: float | None,
    parallel_map: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
) -> Assessment:
    """Intervals for every run from its cells; each candidate against the baseline from the
    joint cells of an id join (McNemar for accuracy, the paired cell bootstrap otherwise)."""
    names = [e.name for e in evaluations]
    baseline = baseline or names[0]
    base_index = names.index(baseline)
    mapper = parallel_map or (lambda f, items: [f(i) for i in items])

    def interval(index: int) -> dict[str, list[float] | None]:
        found, evaluation = stats[index], evaluations[index]
        found_cells = run_cells(found, evaluation) if replicates else None
        return _intervals(evaluation, found_cells, replicates, seed + index)

    pairings: dict[str, Pairing] = {}
    comparisons: list[Comparison] = []
    base = evaluations[base_index]
    # seeds come from the run's position, so the result does not depend on the threads
    found_intervals = mapper(interval, list(range(len(evaluations))))
    sample = joint_sample(stats)
    for index, evaluation in enumerate(evaluations):
        if index != base_index:
            comparisons += _versus(
                engine,
                (stats[base_index], stats[index]),
                (base, evaluation),
                pairings,
                unpaired,
                replicates,
                seed + 1000 + index,
                threshold,
                sample,
            )
    intervals = {e.name: i for e, i in zip(evaluations, found_intervals, strict=True)}
    return Assessment(baseline, replicates, seed, intervals, pairings, comparisons)


def _versus(
    engine: outofcore.Engine,
    pair: tuple[TableStats, TableStats],
    runs: tuple[RunEvaluation, RunEvaluation],
    pairings: dict[str, Pairing],
    unpaired: bool,
    replicates: int,
    seed: int,
    threshold: float | None,
    sample: int,
) -> list[Comparison]:
    """One candidate against the baseline (on the 1/``sample`` of ids the engine keeps);
    records how they were paired in ``pairings``."""
    base, evaluation = runs
    binary = all(s.task == "binary" and "coarse" in s.cells for s in pair)
    multiclass = all(s.multiclass is not None for s in pair)
    can_pair = not unpaired and all(s.run.id for s in pair) and (binary or multiclass)
    if not can_pair:
        why = (
            "--unpaired"
            if unpaired
            else "no id column in both runs"
            if not all(s.run.id for s in pair)
            else "paired tests out of core need scores or class probabilities"
        )
        pairings[evaluation.name] = Pairing("unpaired", None, None, f"unpaired: {why}")
        return _unpaired(base, evaluation)
    for found in pair:
        _check_unique_ids(engine, found, sample)
    if binary:
        cells, joined, disagree, every_id_paired = joint_cells(
            engine, pair, [base, evaluation], threshold, sample
        )
    else:
        cells, joined, disagree, every_id_paired = joint_multiclass_cells(
            engine, pair, [base, evaluation], sample
        )
    if joined == 0:
        raise ReportgenError(
            f"{base.name} and {evaluation.name} share no id; check the id columns or "
            "pass --unpaired"
        )
    if disagree:
        raise ReportgenError(
            f"{base.name} and {evaluation.name} disagree on the label of {disagree:,} "
            "paired examples; they were not scored on the same data (--unpaired to compare "
            "them anyway)"
        )
    # both runs of one size with every sampled id in both: every example is paired
    whole = every_id_paired and pair[0].n == pair[1].n
    n_paired = pair[0].n if whole else joined * sample
    note = f"{n_paired:,} examples joined on id in the engine"
    if sample > 1:
        note += (
            f"; McNemar's test and the paired bootstrap use the deterministic 1/{sample} "
            f"sample of ids ({joined:,} pairs), interval widths scaled to all pairs"
        )
        if not whole:
            note += " (their number estimated from the sample)"
    pairings[evaluation.name] = Pairing("id", None, None, note, n_paired)
    return _paired(base, evaluation, cells, n_paired, replicates, seed, joined)


def _intervals(
    evaluation: RunEvaluation, cells: Cells | None, replicates: int, seed: int
) -> dict[str, list[float] | None]:
    if cells is None or not replicates:
        return {m: None for m in evaluation.metrics}
    names = list(evaluation.metrics)
    values = replicate_metrics(cells, replicates, seed, names)[0]
    from reportgen.kinds.classification.resample import cell_stats

    on_cells, _ = metric_values(cell_stats(cells, 0, cells.counts))
    found: dict[str, list[float] | None] = {}
    for name, value in evaluation.metrics.items():
        centre = on_cells.get(name)
        interval = None
        if value is not None and centre is not None:
            interval = compare.percentile_interval(values[name], value, centre)
        found[name] = list(interval) if interval else None
    return found


def _unpaired(base: RunEvaluation, candidate: RunEvaluation) -> list[Comparison]:
    found = []
    for name in HEADLINE[base.task]:
        b, c = base.metrics.get(name), candidate.metrics.get(name)
        delta = None if b is None or c is None else c - b
        found.append(
            Comparison(base.name, candidate.name, name, b, c, delta, None, None, "none", 0)
        )
    return found


def _paired(
    base: RunEvaluation,
    candidate: RunEvaluation,
    cells: Cells,
    n_paired: int,
    replicates: int,
    seed: int,
    joined: int,
) -> list[Comparison]:
    """Deltas of every headline metric, McNemar's exact test for accuracy (on the joined
    pairs) and the paired cell bootstrap for the rest. When the cells hold a sample of the
    pairs, the replicates' spread is scaled by sqrt(sample / all pairs)."""
    from reportgen.kinds.classification.resample import cell_stats

    names = list(HEADLINE[base.task])
    scale_spread = math.sqrt(joined / n_paired) if n_paired else 1.0
    whole = n_paired == base.confusion.n == candidate.confusion.n
    if whole:
        base_values, cand_values = base.metrics, candidate.metrics
    else:
        base_values, _ = metric_values(cell_stats(cells, 0, cells.counts))
        cand_values, _ = metric_values(cell_stats(cells, 1, cells.counts))
    reps = replicate_metrics(cells, replicates, seed, names) if replicates else None
    cells_base, _ = metric_values(cell_stats(cells, 0, cells.counts))
    cells_cand, _ = metric_values(cell_stats(cells, 1, cells.counts))
    right = [cells.models[m].prediction == cells.label for m in range(2)]
    counts = cells.counts
    only_base = int(counts[right[0] & ~right[1]].sum())
    only_cand = int(counts[~right[0] & right[1]].sum())
    found = []
    for name in names:
        b, c = base_values.get(name), cand_values.get(name)
        delta = None if b is None or c is None else c - b
        result = Comparison(
            base.name, candidate.name, name, b, c, delta, None, None, "none", n_paired
        )
        found.append(result)
        if delta is None:
            continue
        if name == "accuracy":
            result.p_value = compare.mcnemar_from_counts(only_base, only_cand)
            result.test = "mcnemar-exact"
        if reps is None or cells_base.get(name) is None or cells_cand.get(name) is None:
            continue
        on_cells = cells_cand[name] - cells_base[name]  # type: ignore[operator]
        deltas = on_cells + (reps[1][name] - reps[0][name] - on_cells) * scale_spread
        result.ci = compare.percentile_interval(deltas, delta, on_cells)
        if name != "accuracy":
            result.p_value = compare.bootstrap_p_value(deltas, delta, on_cells)
            result.test = "bootstrap-paired"
    return found


# --- slices and examples ------------------------------------------------------------------


def slice_column(run: TableRun, column: str) -> str:
    """The run's name for a --slice column (matched case-insensitively)."""
    lower = {c.lower(): c for c in run.columns}
    name = column if column in run.columns else lower.get(column.lower())
    if name is None:
        raise ReportgenError(
            f"{run.path}: no column {column!r} for --slice; columns are: {', '.join(run.columns)}"
        )
    return name


def slice_values(engine: outofcore.Engine, run: TableRun, column: str) -> list[str]:
    """The slice column's largest MAX_SLICES - 1 values (a bounded query); the rest are
    pooled as "(other)"."""
    q = engine.quote(slice_column(run, column))
    top = engine.frame(
        f"SELECT CAST({q} AS STRING) AS v, count(*) AS n FROM {run.source} GROUP BY 1 "
        f"ORDER BY n DESC, v LIMIT {MAX_SLICES}"
    )
    values = [str(v) for v in top["v"] if v is not None and pd.notna(v)]
    return values[: MAX_SLICES - 1] if len(top) == MAX_SLICES else values


def slice_expression(engine: outofcore.Engine, column: str, values: Sequence[str]) -> str:
    q = engine.quote(column)
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"
    return (
        f"CASE WHEN {q} IS NULL THEN '(missing)' WHEN CAST({q} AS STRING) IN ({listed}) "
        f"THEN CAST({q} AS STRING) ELSE '{OTHER}' END"
    )


def slice_analysis(
    engine: outofcore.Engine,
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
        for value, (slice_stats, binned_values) in per_value.items():
            metrics, _ = metric_values(slice_stats)
            metrics.update(binned_values)
            n = int(slice_stats.confusion.n)
            positive_rate = None
            if task == "binary" and n:
                predicted = slice_stats.confusion.matrix[:, slice_stats.positive].sum()
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
    engine: outofcore.Engine,
    found: TableStats,
    evaluation: RunEvaluation,
    expression: str,
    threshold: float | None,
) -> dict[str, tuple[RunStats, dict[str, float]]]:
    """Per slice value: the statistics, and AP as the binned engine estimates it."""
    run = found.run
    assert found.score is not None
    cut = 0.5 if threshold is None else threshold
    grouped = outofcore.binary_cells(
        engine,
        run.source,
        run.label,
        found.score,
        run.prediction if threshold is None else None,
        threshold=cut,
        slice_sql=expression,
    )
    positive_label = evaluation.classes[evaluation.encoded.positive]
    per_value = outofcore.slice_stats(grouped, positive_label, cut, evaluation.classes)
    return {
        value: (binned_run_stats(binned), {"average_precision": binned.average_precision})
        for value, binned in per_value.items()
    }


def _multiclass_slices(
    engine: outofcore.Engine, found: TableStats, evaluation: RunEvaluation, expression: str
) -> dict[str, tuple[RunStats, dict[str, float]]]:
    """Per slice value: counts, calibration, log loss and top-2 (one-vs-rest AUCs are not
    computed per slice out of core: a pass per class and slice)."""
    run = found.run
    per_value = outofcore.multiclass_slice_stats(
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
    engine: outofcore.Engine,
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
    label_is_pos = outofcore._label_names(labels) == positive
    by_prediction = run.prediction is not None and threshold is None
    if by_prediction:
        predictions = found.cells["prediction"].drop_duplicates()
        prediction_is_pos = outofcore._label_names(predictions) == positive
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


def _mistake_range(
    engine: outofcore.Engine, found: TableStats, encoded: EncodedRun, k: int
) -> str | None:
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
    truth = outofcore._label_names(cells["label"]).map(index).to_numpy()
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
