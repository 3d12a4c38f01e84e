"""Model x metric summary tables (``metrics.csv``: a model column and one column per metric;
scikit-learn's ``classification_report`` written as CSV): a leaderboard of the values as the
file gives them, without intervals, and marked as such."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import _read_frame, detect_format
from reportgen.ingest.harnesses import ScoresRun, TaskResult, _run, _task
from reportgen.ingest.importance import IMPORTANCE_ALIASES, STD_ALIASES
from reportgen.ingest.language import NLL_ALIASES, PERPLEXITY_ALIASES
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    SCORE_ALIASES,
    _stem,
    class_name,
)

MODEL_COLUMNS = ("model", "models", "model_name", "name", "classifier", "method", "system", "")
# columns of per-example files and other kinds' tables: a file with one is not a summary
EXAMPLE_COLUMNS = {
    a.lower()
    for a in (
        *LABEL_ALIASES,
        *PREDICTION_ALIASES,
        *SCORE_ALIASES,
        *ID_ALIASES,
        *IMPORTANCE_ALIASES,
        *STD_ALIASES,
        *NLL_ALIASES,
        *PERPLEXITY_ALIASES,
        "seed",
        "repeat",
        "step",
        "epoch",
    )
}


def summary_table(path: Path) -> pd.DataFrame | None:
    """A model x metric table: the first column names models (``Model``, ``name``, or no
    header), every other column is a number, and the models are unique. None otherwise."""
    if path.suffix.lower() not in (".csv", ".tsv") or path.stat().st_size > 1_000_000:
        return None
    try:
        frame = _read_frame(path, detect_format(path))  # parsed as every table is
    except ReportgenError:
        return None  # not readable as a table: the table reader says why
    if frame.shape[1] < 2 or frame.empty or len(frame) > 200:
        return None
    first = str(frame.columns[0])
    if first.strip().lower() not in MODEL_COLUMNS and not first.startswith("Unnamed: 0"):
        return None
    rest = frame.iloc[:, 1:]
    if any(str(c).strip().lower() in EXAMPLE_COLUMNS for c in rest.columns):
        return None
    if not all(pd.api.types.is_numeric_dtype(rest[c]) for c in rest.columns):
        return None
    names = frame.iloc[:, 0]
    if names.isna().any() or names.astype(str).duplicated().any():
        return None
    return frame


def is_classification_report(frame: pd.DataFrame) -> bool:
    names = set(frame.iloc[:, 0].astype(str))
    return {"macro avg", "weighted avg"} <= names and "f1-score" in frame.columns


def read_summary_table(path: Path, name: str | None) -> list[ScoresRun]:
    """One run per row (model), one task per metric column; no intervals. A scikit-learn
    ``classification_report`` is one model's report: accuracy and the averages on the
    board, the per-class rows in a group beside them."""
    frame = summary_table(path)
    assert frame is not None
    note = "A summary table: values as the file gives them, without intervals or tests."
    if is_classification_report(frame):
        tasks: dict[str, TaskResult] = {}
        members = []
        support = "support" if "support" in frame.columns else None
        for row in frame.itertuples(index=False):
            label = class_name(row[0])
            values = dict(zip(frame.columns[1:], row[1:], strict=True))
            n = int(values[support]) if support and not pd.isna(values[support]) else None
            if label == "accuracy":
                tasks["accuracy"] = _task("accuracy", {"accuracy": float(values["f1-score"])}, path)
                continue
            for metric in ("precision", "recall", "f1-score"):
                if metric not in values or pd.isna(values[metric]):
                    continue
                key = f"{metric} ({label})"
                tasks[key] = _task(key, {metric: float(values[metric])}, path, n=n)
                if label not in ("macro avg", "weighted avg", "micro avg", "samples avg"):
                    members.append(key)
        if members:
            tasks["per class"] = _task("per class", {}, path)
        return [
            _run(
                name or _stem(path),
                path,
                "classification report",
                tasks,
                groups={"per class": members} if members else {},
                intervals=False,
                notes=[note],
            )
        ]
    if name is not None and len(frame) > 1:
        raise ReportgenError(
            f"{path}: a summary table of {len(frame)} models; pass it without NAME= (each row "
            f"is named by its {frame.columns[0]!r} column)"
        )
    runs = []
    for row in frame.itertuples(index=False):
        tasks = {}
        for column, value in zip(frame.columns[1:], row[1:], strict=True):
            if not pd.isna(value):
                tasks[str(column)] = _task(str(column), {str(column).lower(): float(value)}, path)
        run = _run(
            name or class_name(row[0]), path, "summary table", tasks, intervals=False, notes=[note]
        )
        # one file, several models: its digest is each run's provenance, not a sign that two
        # names were given the same file
        if len(frame) > 1:
            run.metadata["file sha256"], run.sha256 = run.sha256, ""
        runs.append(run)
    return runs
