"""Regression and multilabel run files -> validated, columnar runs.

Regression: a numeric ``label`` and ``prediction`` per example. Multilabel: ``labels`` and
``predictions`` columns holding lists (JSON arrays in CSV, lists in JSONL/Parquet), or one 0/1
column per label (``label_<name>``, ``pred_<name>``), with optional ``score_<name>`` columns.
Both may carry an ``embedding`` column (see :mod:`reportgen.embeddings`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun
from reportgen.ingest.files import _sha256
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    ColumnNames,
    _find_column,
    _numeric,
    _row_location,
    as_float,
    class_name,
    sort_classes,
    unique_ids,
)

LIST_LABEL_ALIASES = ("labels", "tags", "label", "y_true", "targets", "target")
LIST_PREDICTION_ALIASES = ("predictions", "predicted_labels", "prediction", "pred", "y_pred")
LABEL_FLAG = re.compile(r"^label_(.+)$", re.IGNORECASE)
PRED_FLAG = re.compile(r"^pred_(.+)$", re.IGNORECASE)
SCORE_FLAG = re.compile(r"^(?:score|prob|proba)_(.+)$", re.IGNORECASE)
TRUE_SUFFIX = re.compile(r"^(.+)_true$", re.IGNORECASE)  # <label>_true, <label>_pred
PRED_SUFFIX = re.compile(r"^(.+)_pred$", re.IGNORECASE)
SCORE_SUFFIX = re.compile(r"^(.+)_(?:score|prob|proba)$", re.IGNORECASE)
CONTINUOUS_MIN_DISTINCT = 20  # fewer distinct float labels than this look like classes


@dataclass(kw_only=True)
class RegressionRun(ExampleRun):
    """Per-example numeric targets and predictions of one model."""

    labels: np.ndarray  # float64, finite
    predictions: np.ndarray  # float64, finite

    kind: ClassVar[str] = "regression"

    @property
    def targets(self) -> np.ndarray | None:
        return self.labels


@dataclass(kw_only=True)
class MultilabelRun(ExampleRun):
    """Per-example sets of true and predicted labels of one model, as indicator matrices."""

    label_names: tuple[str, ...]
    y_true: np.ndarray  # bool (n, L)
    y_pred: np.ndarray  # bool (n, L)
    scores: np.ndarray | None  # float64 (n, L), column order of ``label_names``

    kind: ClassVar[str] = "multilabel"

    def aligned(self, names: tuple[str, ...]) -> MultilabelRun:
        """The same run over the label list ``names`` (a superset of its own labels)."""
        if names == self.label_names:
            return self
        position = {n: i for i, n in enumerate(self.label_names)}
        source = np.array([position.get(n, -1) for n in names], dtype=np.int64)
        have = source >= 0

        def widen(matrix: np.ndarray, fill: float | bool) -> np.ndarray:
            out = np.full((self.n_examples, len(names)), fill, dtype=matrix.dtype)
            out[:, have] = matrix[:, source[have]]
            return out

        scores = None
        if self.scores is not None:
            if not have.all():
                missing = [n for n, h in zip(names, have, strict=True) if not h]
                raise ReportgenError(
                    f"{self.path}: no score column for label {missing[0]!r}, which other runs "
                    f"have; add score_{missing[0]} or drop this run's score_* columns"
                )
            scores = widen(self.scores, 0.0)
        return MultilabelRun(
            **{
                **self.__dict__,
                "label_names": names,
                "y_true": widen(self.y_true, False),
                "y_pred": widen(self.y_pred, False),
                "scores": scores,
            }
        )


# --- detection -------------------------------------------------------------------------------


def is_list_value(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray) or (
        isinstance(value, str) and value.lstrip().startswith("[")
    )


def flag_columns(frame: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """``label_<name>`` and ``pred_<name>`` columns, by label name; without them,
    ``<name>_true`` and ``<name>_pred`` columns when two labels or more have both (one pair
    is a classification run's label and prediction)."""
    labels: dict[str, str] = {}
    preds: dict[str, str] = {}
    for column in map(str, frame.columns):
        if match := LABEL_FLAG.match(column):
            labels.setdefault(match.group(1), column)
        elif match := PRED_FLAG.match(column):
            preds.setdefault(match.group(1), column)
    if labels and preds:
        return labels, preds
    true_sfx: dict[str, str] = {}
    pred_sfx: dict[str, str] = {}
    for column in map(str, frame.columns):
        if match := TRUE_SUFFIX.match(column):
            true_sfx.setdefault(match.group(1), column)
        elif match := PRED_SUFFIX.match(column):
            pred_sfx.setdefault(match.group(1), column)
    if len(set(true_sfx) & set(pred_sfx)) >= 2:
        return true_sfx, pred_sfx
    return labels, preds


def looks_multilabel(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    labels, preds = flag_columns(frame)
    if labels and preds:
        return True
    label_col = _find_column(frame, path, "labels", LIST_LABEL_ALIASES, columns.label)
    pred_col = _find_column(frame, path, "predictions", LIST_PREDICTION_ALIASES, columns.prediction)
    if label_col is None or pred_col is None:
        return False
    head_true = frame[label_col].dropna().head(200)
    head_pred = frame[pred_col].dropna().head(200)
    return (
        len(head_true) > 0
        and len(head_pred) > 0
        and bool(head_true.map(is_list_value).all())
        and bool(head_pred.map(is_list_value).all())
    )


def looks_continuous(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    """Float labels with many distinct values, beside predictions that are not all whole
    numbers (a classifier's predicted classes are)."""
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    pred_col = _find_column(frame, path, "prediction", PREDICTION_ALIASES, columns.prediction)
    if label_col is None or pred_col is None:
        return False
    labels, preds = frame[label_col], frame[pred_col]
    if not (pd.api.types.is_float_dtype(labels.dtype) and pd.api.types.is_float_dtype(preds)):
        return False
    head = 100_000
    y = labels.to_numpy(dtype=np.float64, na_value=np.nan)[:head]
    y_hat = preds.to_numpy(dtype=np.float64, na_value=np.nan)[:head]
    y, y_hat = y[np.isfinite(y)], y_hat[np.isfinite(y_hat)]
    fractional = bool(np.any(y != np.round(y)) or np.any(y_hat != np.round(y_hat)))
    return fractional and len(np.unique(y)) >= CONTINUOUS_MIN_DISTINCT


# --- regression ------------------------------------------------------------------------------


def _finite_numbers(
    frame: pd.DataFrame, column: str, path: Path, fmt: str, role: str
) -> np.ndarray:
    series = frame[column]
    values = as_float(series)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        original = series.iloc[row]
        if pd.isna(original):
            what = f"missing {role}"
        elif np.isfinite(values[row]) or np.isnan(values[row]):
            what = f"non-numeric {role} {str(original)[:40]!r}"
        else:
            what = f"infinite {role} {original!r}"
        raise ReportgenError(
            f"{path}: {what} in column {column!r} at {_row_location(fmt, row)} "
            f"({int(bad.sum())} such rows); a regression {role} must be a finite number"
        )
    return values


def regression_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> RegressionRun:
    frame.columns = [str(c) for c in frame.columns]
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    pred_col = _find_column(frame, path, "prediction", PREDICTION_ALIASES, columns.prediction)
    if label_col is None or pred_col is None:
        missing = "label" if label_col is None else "prediction"
        raise ReportgenError(
            f"{path}: a regression run needs a numeric {missing!r} column; columns are: "
            f"{', '.join(frame.columns)}"
        )
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    labels = _finite_numbers(frame, label_col, path, fmt, "label")
    predictions = _finite_numbers(frame, pred_col, path, fmt, "prediction")
    found = {"label": label_col, "prediction": pred_col}
    if id_col:
        found["id"] = id_col
    return RegressionRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        labels=labels,
        predictions=predictions,
        ids=unique_ids(frame, id_col, path, fmt),
        columns=found,
        extra=frame.drop(columns=list(found.values())),
        metadata=metadata,
    )


# --- multilabel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlatLists:
    """A column of lists, flattened: ``values[offsets[i]:offsets[i+1]]`` is row i's list."""

    values: np.ndarray  # object: every element of every list, in row order
    offsets: np.ndarray  # int64, n + 1

    @property
    def rows(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))


def _parse_lists(series: pd.Series, path: Path, fmt: str, column: str) -> FlatLists:
    """Every cell as a flat list, with one vectorised pass where the format allows; a clear
    error for the first cell that is not a flat list."""
    cells = series.to_numpy(dtype=object)
    kinds = set(map(type, cells))
    if kinds <= {str}:
        try:  # one C-level parse of the whole column instead of one call per row
            parsed = json.loads("[" + ",".join(cells) + "]")
        except json.JSONDecodeError:
            parsed = [_loads(v) for v in cells]  # slow path, only to find the bad cell
        cells = np.empty(len(parsed), dtype=object)
        cells[:] = parsed
        kinds = set(map(type, cells))
    if not kinds <= {list, tuple, np.ndarray}:
        bad = np.fromiter((not isinstance(v, list | tuple | np.ndarray) for v in cells), bool)
        row = int(np.argmax(bad))
        value = series.iloc[row]
        shown = "nothing" if _is_missing(value) else repr(str(value)[:40])
        raise ReportgenError(
            f"{path}: column {column!r} holds {shown} at {_row_location(fmt, row)}, not a list "
            'of labels; write a JSON array such as ["sports", "news"] ([] for none)'
        )
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    values = np.empty(int(offsets[-1]), dtype=object)
    if len(values) and kinds == {np.ndarray}:  # Parquet lists: numpy arrays, joined in C
        values[:] = np.concatenate([c.astype(object, copy=False) for c in cells])
    elif len(values):
        values[:] = [x for cell in cells for x in cell]
    if len(values) and not set(map(type, values)) <= {str, int, float, bool, np.str_}:
        nested = np.fromiter((isinstance(x, list | dict | np.ndarray) for x in values), bool)
        if nested.any():
            row = int(np.searchsorted(offsets, int(np.argmax(nested)), side="right") - 1)
            raise ReportgenError(
                f"{path}: column {column!r} holds a nested list or object at "
                f"{_row_location(fmt, row)}; each cell must be a flat list of label names"
            )
    return FlatLists(values, offsets)


def _loads(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _indicator(lists: FlatLists, index: dict[str, int]) -> np.ndarray:
    matrix = np.zeros((len(lists.offsets) - 1, len(index)), dtype=bool)
    if len(lists.values):
        codes, uniques = pd.factorize(lists.values, sort=False)
        lookup = np.array([index[class_name(u)] for u in uniques], dtype=np.int64)
        matrix[lists.rows, lookup[codes]] = True
    return matrix


def _names_in(lists: FlatLists) -> set[str]:
    return {class_name(v) for v in pd.unique(lists.values)} if len(lists.values) else set()


def _flags(frame: pd.DataFrame, column: str, path: Path, fmt: str) -> np.ndarray:
    series = frame[column]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if series.dtype == object:
        text = series.astype("string").str.lower()
        values = np.where(text == "true", 1.0, np.where(text == "false", 0.0, values))
    bad = ~((values == 0) | (values == 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise ReportgenError(
            f"{path}: column {column!r} holds {str(series.iloc[row])[:40]!r} at "
            f"{_row_location(fmt, row)}; label_<name>/pred_<name> columns hold 0 or 1"
        )
    return values == 1


def _scores(frame: pd.DataFrame, names: tuple[str, ...], path: Path, fmt: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for column in map(str, frame.columns):
        if match := SCORE_FLAG.match(column):
            found.setdefault(match.group(1), column)
    if not found:  # <label>_proba columns beside <label>_true/<label>_pred
        for column in map(str, frame.columns):
            if (match := SCORE_SUFFIX.match(column)) and match.group(1) in names:
                found.setdefault(match.group(1), column)
    if found:
        missing = [n for n in names if n not in found]
        if missing:
            raise ReportgenError(
                f"{path}: score columns for some labels but none for {missing[0]!r}; add "
                f"score_{missing[0]} or drop the score_* columns"
            )
    return found


def multilabel_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> MultilabelRun:
    frame.columns = [str(c) for c in frame.columns]
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    label_flags, pred_flags = flag_columns(frame)
    found: dict[str, str] = {}
    if label_flags and pred_flags and columns.label is None:
        only = sorted(set(label_flags) ^ set(pred_flags))
        if only:
            suffixed = next(iter(label_flags.values())).lower().endswith("_true")
            side = "pred" if only[0] in label_flags else ("true" if suffixed else "label")
            column = f"{only[0]}_{side}" if suffixed else f"{side}_{only[0]}"
            raise ReportgenError(
                f"{path}: label {only[0]!r} has no {column} column; every label needs both "
                + ("<name>_true and <name>_pred" if suffixed else "label_<name> and pred_<name>")
            )
        names = sort_classes(set(label_flags))
        y_true = np.column_stack([_flags(frame, label_flags[n], path, fmt) for n in names])
        y_pred = np.column_stack([_flags(frame, pred_flags[n], path, fmt) for n in names])
        used = [*label_flags.values(), *pred_flags.values()]
        suffixed = next(iter(label_flags.values())).lower().endswith("_true")
        found = (
            {"labels": "<name>_true", "predictions": "<name>_pred"}
            if suffixed
            else {"labels": "label_<name>", "predictions": "pred_<name>"}
        )
    else:
        label_col = _find_column(frame, path, "labels", LIST_LABEL_ALIASES, columns.label)
        pred_col = _find_column(
            frame, path, "predictions", LIST_PREDICTION_ALIASES, columns.prediction
        )
        if label_col is None or pred_col is None:
            raise ReportgenError(
                f"{path}: a multilabel run needs 'labels' and 'predictions' columns of lists, "
                "or label_<name> and pred_<name> 0/1 columns"
            )
        true_lists = _parse_lists(frame[label_col], path, fmt, label_col)
        pred_lists = _parse_lists(frame[pred_col], path, fmt, pred_col)
        scored = {m.group(1) for c in map(str, frame.columns) if (m := SCORE_FLAG.match(c))}
        # a label with a score column belongs to the label space even if no list names it
        names = sort_classes(_names_in(true_lists) | _names_in(pred_lists) | scored)
        if not names:
            raise ReportgenError(f"{path}: every label and prediction list is empty")
        index = {n: i for i, n in enumerate(names)}
        y_true, y_pred = _indicator(true_lists, index), _indicator(pred_lists, index)
        used = [label_col, pred_col]
        found = {"labels": label_col, "predictions": pred_col}
    score_cols = _scores(frame.drop(columns=used), names, path, fmt)
    scores = None
    if score_cols:
        scores = np.column_stack(
            [_numeric(frame[score_cols[n]], path, fmt, score_cols[n]) for n in names]
        )
        used += [score_cols[n] for n in names]
        found["scores"] = "score_<name>"
    if id_col:
        found["id"] = id_col
        used.append(id_col)
    return MultilabelRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        label_names=names,
        y_true=y_true,
        y_pred=y_pred,
        scores=scores,
        ids=unique_ids(frame, id_col, path, fmt),
        columns=found,
        extra=frame.drop(columns=list(dict.fromkeys(used))),
        metadata=metadata,
    )
