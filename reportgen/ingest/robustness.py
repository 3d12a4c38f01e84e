"""Robustness runs and tables: classification predictions on clean and perturbed copies of the
same examples, and aggregated tables of a metric per model, perturbation and severity.

A **robustness run** is a classification table with a ``perturbation`` column (``none`` or
``clean`` marks the unperturbed copy) and a ``severity`` column (a number; empty on clean
rows). Every example id appears once clean and at most once per (perturbation, severity).
Rows are checked here, with the file and line of the first bad one; later stages get arrays.

A **robustness table** (``--robustness-table PATH``) has the columns ``model, perturbation,
severity, metric, value`` (RobustBench's unaggregated corruption results, reshaped, fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import RunBase
from reportgen.ingest.files import _read_frame, _sha256, check_regular_file, detect_format
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    ColumnNames,
    _categorical,
    _find_column,
    _row_location,
    as_float,
    class_name,
    column_flag,
    scalar_values,
)

CLEAN_NAMES = ("none", "clean")  # the perturbation value of the unperturbed copy
MAX_PERTURBATIONS = 30  # perturbations in one report: panels and table rows grow with them
MAX_SEVERITIES = 10  # severities per perturbation
TABLE_COLUMNS = ("model", "perturbation", "severity", "metric", "value")


def has_columns(frame: pd.DataFrame) -> bool:
    """Whether a table of examples is a robustness run: it has perturbation and severity."""
    columns = {str(c).lower() for c in frame.columns}
    return {"perturbation", "severity"} <= columns


@dataclass(kw_only=True)
class RobustnessRun(RunBase):
    """One model's predictions on clean and perturbed copies, validated.

    ``clean`` indexes the clean rows; every other row's ``source`` is the position of its clean
    copy among them. ``settings`` lists (perturbation, severity) in first-seen order and
    ``setting`` gives each perturbed row's index into it (-1 on clean rows)."""

    ids: np.ndarray  # every row's example id
    labels: np.ndarray  # class names (str), one per row
    predictions: np.ndarray  # class names (str), one per row
    clean: np.ndarray  # row indices of the clean copies
    source: np.ndarray  # per row: the position of its clean copy in ``clean``
    setting: np.ndarray  # per row: its (perturbation, severity) index, -1 when clean
    settings: list[tuple[str, float]]
    n_rows: int
    kind: ClassVar[str] = "robustness"
    repeatable: ClassVar[bool] = False

    @property
    def rows(self) -> int | None:
        return self.n_rows

    @property
    def correct(self) -> np.ndarray:
        return self.labels == self.predictions


def _column(frame: pd.DataFrame, name: str) -> str:
    return next(str(c) for c in frame.columns if str(c).lower() == name)


def load_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    overrides: ColumnNames,
    metadata: dict[str, object],
) -> RobustnessRun:
    """A robustness run from its table, every row checked (see the module's docstring)."""
    frame.columns = [str(c) for c in frame.columns]
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, overrides.label)
    pred_col = _find_column(frame, path, "prediction", PREDICTION_ALIASES, overrides.prediction)
    id_col = _find_column(frame, path, "id", ID_ALIASES, overrides.id)
    for role, column, fix in (
        ("label", label_col, f"name one 'label' or pass {column_flag(path, 'label')}"),
        (
            "prediction",
            pred_col,
            f"name the predicted class 'prediction' or pass {column_flag(path, 'prediction')}",
        ),
        ("id", id_col, "name it 'id': it pairs each perturbed copy with its clean example"),
    ):
        if column is None:
            raise ReportgenError(
                f"{path}: a robustness run (perturbation, severity) has no {role} column; {fix}"
            )
    assert label_col is not None and pred_col is not None and id_col is not None
    labels = _categorical(frame[label_col], path, fmt, "label", label_col)
    predictions = _categorical(frame[pred_col], path, fmt, "prediction", pred_col)
    perturbation_col, severity_col = _column(frame, "perturbation"), _column(frame, "severity")
    kinds = scalar_values(frame[perturbation_col], path, fmt, perturbation_col, "perturbation")
    kinds = kinds.astype("string").str.strip()
    missing = (kinds.isna() | (kinds == "")).to_numpy(dtype=bool, na_value=True)
    if missing.any():
        row = int(np.argmax(missing))
        raise ReportgenError(
            f"{path}: missing perturbation in column {perturbation_col!r} at "
            f"{_row_location(fmt, row)}; write 'none' on the clean copy of each example"
        )
    kind_values = kinds.to_numpy(dtype=object)
    is_clean = kinds.str.lower().isin(CLEAN_NAMES).to_numpy(dtype=bool)
    if not is_clean.any():
        raise ReportgenError(
            f"{path}: no clean rows; mark the unperturbed copy of each example with "
            f"perturbation 'none' (or 'clean') in column {perturbation_col!r}"
        )
    severity = as_float(frame[severity_col])
    bad = ~is_clean & ~np.isfinite(severity)
    if bad.any():
        row = int(np.argmax(bad))
        raise ReportgenError(
            f"{path}: severity {str(frame[severity_col].iloc[row])!r} in column "
            f"{severity_col!r} at {_row_location(fmt, row)} is not a finite number; give each "
            "perturbed row a numeric severity (e.g. 1 to 5)"
        )
    ids_series = scalar_values(frame[id_col], path, fmt, id_col, "id")
    no_id = ids_series.isna().to_numpy() | (ids_series.astype("string") == "").to_numpy(
        dtype=bool, na_value=True
    )
    if no_id.any():
        row = int(np.argmax(no_id))
        raise ReportgenError(
            f"{path}: missing id in column {id_col!r} at {_row_location(fmt, row)}; every "
            "row needs the id of its example"
        )
    # ids as text (1 and "1" are one id, as classification pairs them), mapped per distinct id
    id_codes, distinct = pd.factorize(ids_series, sort=False)
    texts = np.array([class_name(v) for v in np.asarray(distinct, dtype=object)], dtype=object)
    text_codes, text_values = pd.factorize(texts, sort=False)
    id_code = text_codes[id_codes]  # one int per row: which example
    id_text = np.asarray(text_values, dtype=object)[id_code]
    severity = np.where(is_clean, 0.0, severity)
    pairs = pd.MultiIndex.from_arrays([kind_values[~is_clean], severity[~is_clean]])
    codes, uniques = pd.factorize(pairs, sort=False)
    group = np.full(len(frame), -1, dtype=np.int64)
    group[~is_clean] = codes
    key = id_code.astype(np.int64) * (len(uniques) + 1) + (group + 1)
    duplicated = pd.Series(key).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        what = (
            "its clean copy"
            if is_clean[row]
            else (f"perturbation {kind_values[row]!r} at severity {severity[row]:g}")
        )
        raise ReportgenError(
            f"{path}: id {id_text[row]} appears twice for {what} (again at "
            f"{_row_location(fmt, row)}); each example has one row per perturbation and severity"
        )
    clean = np.flatnonzero(is_clean)
    position = np.full(len(text_values), -1, dtype=np.int64)
    position[id_code[clean]] = np.arange(len(clean))
    source = position[id_code]
    orphan = source < 0
    if orphan.any():
        row = int(np.argmax(orphan))
        raise ReportgenError(
            f"{path}: id {id_text[row]} at {_row_location(fmt, row)} has no clean row; add its "
            "unperturbed copy with perturbation 'none', or drop it"
        )
    groups = [(str(p), float(s)) for p, s in uniques]
    perturbations = list(dict.fromkeys(p for p, _ in groups))
    if len(perturbations) > MAX_PERTURBATIONS:
        raise ReportgenError(
            f"{path}: {len(perturbations)} perturbations; a report shows at most "
            f"{MAX_PERTURBATIONS}: group them (e.g. by family) or split the report"
        )
    for p in perturbations:
        count = sum(1 for q, _ in groups if q == p)
        if count > MAX_SEVERITIES:
            raise ReportgenError(
                f"{path}: perturbation {p!r} has {count} severities; a report shows at most "
                f"{MAX_SEVERITIES}: bin them into levels"
            )
    return RobustnessRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        metadata=dict(metadata),
        ids=id_text,
        labels=np.asarray(labels.values, dtype=object)[labels.codes].astype(str),
        predictions=np.asarray(predictions.values, dtype=object)[predictions.codes].astype(str),
        clean=clean,
        source=source,
        setting=group,
        settings=groups,
        n_rows=len(frame),
    )


def read_table(path: Path) -> pd.DataFrame:
    """An aggregated robustness table: model, perturbation, severity, metric, value (one row
    each); severity and value are numbers, checked with the line of the first bad one."""
    check_regular_file(path, "robustness table")
    fmt = detect_format(path)
    frame = _read_frame(path, fmt)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportgenError(
            f"{path}: a robustness table needs the columns {', '.join(TABLE_COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    for column in ("model", "perturbation", "metric"):
        values = scalar_values(frame[column], path, fmt, column, column).astype("string")
        values = values.str.strip()
        empty = (values.isna() | (values == "")).to_numpy(dtype=bool, na_value=True)
        if empty.any():
            row = int(np.argmax(empty))
            raise ReportgenError(
                f"{path}: missing {column} at {_row_location(fmt, row)}; every row names its "
                "model, perturbation and metric"
            )
        frame[column] = values.to_numpy(dtype=object)
    clean = frame["perturbation"].str.lower().isin(CLEAN_NAMES).to_numpy(dtype=bool)
    for column in ("severity", "value"):
        numbers = as_float(frame[column])
        bad = ~np.isfinite(numbers) & ~(clean & (column == "severity"))
        if bad.any():
            row = int(np.argmax(bad))
            raise ReportgenError(
                f"{path}: {column} {str(frame[column].iloc[row])!r} at "
                f"{_row_location(fmt, row)} is not a finite number"
            )
        frame[column] = np.where(clean & (column == "severity"), 0.0, numbers)
    frame["perturbation"] = np.where(clean, "none", frame["perturbation"])
    dup = frame.duplicated(["model", "perturbation", "severity", "metric"]).to_numpy()
    if dup.any():
        row = int(np.argmax(dup))
        raise ReportgenError(
            f"{path}: a second value for the same model, perturbation, severity and metric at "
            f"{_row_location(fmt, row)}; keep one row each"
        )
    if not clean.any():
        raise ReportgenError(
            f"{path}: no clean rows; add each model's unperturbed value with perturbation 'none'"
        )
    perturbations = frame.loc[~clean, "perturbation"].nunique()
    if perturbations > MAX_PERTURBATIONS:
        raise ReportgenError(
            f"{path}: {perturbations} perturbations; a report shows at most {MAX_PERTURBATIONS}"
        )
    return frame[list(TABLE_COLUMNS)].reset_index(drop=True)
