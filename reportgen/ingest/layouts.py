"""Layouts of prediction tables beyond one run per file: labels kept apart from predictions,
several models in one file, and a row filter (issue 34).

- ``--labels PATH``: a file of ids and labels (a Kaggle ``train.csv`` or ``solution.csv``)
  joined to each prediction table by id; by row order when the predictions have no id column
  and both files have as many rows, which the run's notes say.
- A ``model`` column, or ``--models-from-columns A,B,C`` (one prediction or score column per
  model, as out-of-fold files hold them), gives one run per model.
- ``--where EXPR``: only the rows where the expression holds, in pandas ``DataFrame.query``
  syntax (``split == 'test'``, ``month >= 10 and region in ['EU', 'US']``); the DuckDB and
  Spark engines refuse it (run with ``--engine memory``).

All of it runs on the table as read, before a kind claims it (:func:`reportgen.ingest.sources
.load_table`), so files and tables in memory get the same rules.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.columns import ID_ALIASES, LABEL_ALIASES, Layout, _find_column
from reportgen.ingest.files import _read_frame, check_regular_file, check_text_head, detect_format

MODEL_COLUMN = "model"  # a column naming each row's model: one run per value


def read_labels(path: Path) -> pd.DataFrame:
    """The labels file, read once for every prediction file it is joined to."""
    check_regular_file(path, "labels")
    check_text_head(path)
    stat = path.stat()
    return _labels_frame(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _labels_frame(path: Path, mtime_ns: int, size: int) -> pd.DataFrame:
    """Keyed by the file's modification time and size too: a changed file is read again."""
    return _read_frame(path, detect_format(path))


def filtered(frame: pd.DataFrame, where: str, path: Path) -> tuple[pd.DataFrame, str]:
    """The rows where ``where`` holds (pandas ``DataFrame.query``), and a note saying so."""
    try:
        kept = frame.query(where, engine="python")
    except Exception as exc:  # the parser's and the evaluator's errors: the message counts
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ReportgenError(
            f"{path}: --where {where!r} cannot be evaluated ({reason}); write a pandas "
            "DataFrame.query expression over the file's columns, e.g. --where \"split == 'test'\""
        ) from None
    if not isinstance(kept, pd.DataFrame):
        raise ReportgenError(
            f"{path}: --where {where!r} is not a condition on the rows; write a comparison "
            "such as \"split == 'test'\""
        )
    if len(kept) == 0:
        raise ReportgenError(
            f"{path}: --where {where!r} keeps none of its {len(frame):,} rows; check the "
            "column's values"
        )
    note = f"Rows where {where}: {len(kept):,} of {len(frame):,}."
    return kept.reset_index(drop=True), note


def joined(
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    labels_path: Path,
    path: Path,
    id_override: str | None,
) -> tuple[pd.DataFrame, str]:
    """The predictions with the labels file's label column: by id, else by row order."""
    label_col = _find_column(labels, labels_path, "label", LABEL_ALIASES, None)
    if label_col is None:
        raise ReportgenError(
            f"{labels_path}: no label column in the labels file; name one 'label' (or "
            f"{', '.join(LABEL_ALIASES[1:4])}, ...); its columns are {', '.join(labels.columns)}"
        )
    clash = _find_column(frame, path, "label", LABEL_ALIASES, None)
    if clash is not None:
        raise ReportgenError(
            f"{path}: has a label column {clash!r} and --labels gives labels too; drop one"
        )
    id_col = _find_column(frame, path, "id", ID_ALIASES, id_override)
    label_id = _find_column(labels, labels_path, "id", ID_ALIASES, id_override)
    target = f"{label_col}" if label_col not in frame.columns else f"{label_col}_labels"
    if id_col is None:
        if len(frame) != len(labels):
            raise ReportgenError(
                f"{path}: no id column to join --labels by, and {len(frame):,} rows against "
                f"{len(labels):,} in {labels_path.name}; add an id column to both, or give "
                "files of the same rows in the same order"
            )
        out = frame.assign(**{target: labels[label_col].to_numpy()})
        return out, f"Labels from {labels_path.name}, joined by row order (no id column)."
    if label_id is None:
        raise ReportgenError(
            f"{labels_path}: no id column to join {path.name} by (it has {id_col!r}); name "
            "one 'id', or pass --id-col"
        )
    keys = labels[label_id].astype(str)
    if keys.duplicated().any():
        first = keys[keys.duplicated()].iloc[0]
        raise ReportgenError(f"{labels_path}: id {first} appears twice; ids must be unique")
    lookup = pd.Series(labels[label_col].to_numpy(), index=keys.to_numpy())
    ids = frame[id_col].astype(str)
    missing = ~ids.isin(lookup.index).to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise ReportgenError(
            f"{path}: id {ids.iloc[row]} (row {row + 1}) is not in {labels_path.name} "
            f"({int(missing.sum()):,} ids in all); give labels for every prediction"
        )
    out = frame.assign(**{target: lookup.loc[ids.to_numpy()].to_numpy()})
    return out, f"Labels from {labels_path.name}, joined by {id_col!r}."


def model_frames(
    frame: pd.DataFrame, models: tuple[str, ...], path: Path
) -> list[tuple[str, pd.DataFrame, str | None]] | None:
    """One frame per model, with the role its column plays: by a ``model`` column (two
    values or more), or one per ``--models-from-columns`` column (the score when it holds
    fractions, else the prediction), the other models' columns left out; None for a file of
    one model."""
    if models:
        missing = [m for m in models if m not in frame.columns]
        if missing:
            raise ReportgenError(
                f"{path}: --models-from-columns names {missing[0]!r}, which is not a column; "
                f"columns are: {', '.join(map(str, frame.columns))}"
            )
        found = []
        for model in models:
            values = frame[model]
            numeric = pd.api.types.is_float_dtype(values.dtype)
            fractional = numeric and bool(np.any(values.to_numpy() % 1 != 0))
            others = [m for m in models if m != model]
            found.append(
                (model, frame.drop(columns=others), "score" if fractional else "prediction")
            )
        return found
    lower = {str(c).lower(): str(c) for c in frame.columns}
    column = lower.get(MODEL_COLUMN)
    if column is None:
        return None
    values = frame[column]
    if values.nunique(dropna=False) < 2:
        return None  # one model's file that names it: metadata
    if values.isna().any():
        row = int(values.isna().to_numpy().argmax())
        raise ReportgenError(
            f"{path}: column {column!r} is empty at row {row + 1}; name every row's model"
        )
    names = [str(v) for v in pd.unique(values)]
    text = values.astype(str)
    return [
        (n, frame[text == n].drop(columns=[column]).reset_index(drop=True), None) for n in names
    ]


def apply(source: Any, layout: Layout) -> list[Any]:
    """The sources a table holds once the layout options are applied (``source`` is a
    :class:`reportgen.ingest.sources.Source`)."""
    frame, notes = source.frame, []
    labels = read_labels(layout.labels) if layout.labels is not None else None
    if layout.where is not None:
        frame, note = filtered(frame, layout.where, source.path)
        notes.append(note)
    if labels is not None and layout.labels is not None:
        frame, note = joined(frame, labels, layout.labels, source.path, source.columns.id)
        notes.append(note)
    parts = model_frames(frame, layout.models, source.path)
    if parts is None:
        return [replace(source, frame=frame, notes=(*source.notes, *notes))]
    found = []
    for name, part, role in parts:
        columns = source.columns.for_run(name)
        if role is not None:  # the model's column, whatever the options name for the file
            columns = replace(columns, **{role: name})
        where = f"column {name!r}" if role else f"the rows of model {name!r}"
        mine = (*source.notes, *notes, f"Read from {where} of {source.path.name}.")
        found.append(replace(source, frame=part, name=name, columns=columns, notes=mine))
    return found
