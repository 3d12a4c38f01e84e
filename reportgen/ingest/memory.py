"""Runs held in memory: arrays and DataFrames -> the same table a file is read into.

A notebook or a training script holds ``y_true``, ``y_pred`` and ``y_score`` arrays, or a
DataFrame of predictions. :func:`frame_of` turns a pandas DataFrame, a polars DataFrame or a
pyarrow Table (through the Arrow PyCapsule interface, else ``to_pandas()``) into a pandas
frame; :func:`arrays_frame` turns arrays into one, with the columns named as the arguments
(``y_true``, ``y_pred``, ``y_score``, ``prob_<class>``, ``label_<name>``, ``id``, and every
extra keyword). From there the file rules apply unchanged (:mod:`reportgen.ingest.sources`):
column matching and aliases, task detection by the kinds, validation. Messages name the run
(``DataFrame 'candidate'``, ``arrays 'candidate'``) and the row as Python counts it, where a
file's name the path and the line.

The run's checksum is the SHA-256 of the table's canonical Arrow IPC stream (the columns as
given, no index, no schema metadata), so that the same data gives the same summary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import MemoryPath, RunBase
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    SCORE_ALIASES,
    ColumnNames,
    class_name,
    sort_classes,
)

ORIGINS = {"dataframe": "DataFrame", "arrays": "arrays"}  # how messages name the run


@dataclass(frozen=True)
class NamedTable:
    """A table in memory given as a run under a name (``build_report({"new": frame})``)."""

    name: str
    table: Any


def named_runs(runs: Mapping[Any, Any]) -> list[Any]:
    """``{name: run}`` as run arguments: a path as ``NAME=PATH``, a loaded run under the name
    (a copy), a table as a :class:`NamedTable`."""
    found: list[Any] = []
    for name, value in runs.items():
        if not isinstance(name, str) or not name:
            raise ReportgenError(
                f"runs are named by non-empty strings, not {name!r}; e.g. "
                'build_report({"old": df_old, "new": df_new})'
            )
        if isinstance(value, str | PurePath):
            found.append(f"{name}={value}")
        elif isinstance(value, RunBase):
            found.append(value if value.name == name else replace(value, name=name))
        elif is_table(value):
            found.append(NamedTable(name, value))
        else:
            raise ReportgenError(
                f"run {name!r} is a {type(value).__name__}; give a path, a DataFrame (pandas, "
                "polars), a pyarrow Table or a run (Run.from_arrays)"
            )
    return found


def where(name: str, origin: str) -> str:
    """How messages name an in-memory run: ``DataFrame 'candidate'``."""
    return f"{ORIGINS[origin]} {name!r}"


def column_names(columns: ColumnNames | Mapping[str, str] | None, at: str) -> ColumnNames:
    """``columns=`` as :class:`ColumnNames`: one already, or a mapping of role to column
    (``{"label": "truth", "prediction": "guess"}``; roles: label, prediction, score, id)."""
    if columns is None:
        return ColumnNames()
    if isinstance(columns, ColumnNames):
        return columns
    if not isinstance(columns, Mapping):
        raise ReportgenError(
            f"{at}: columns= is a mapping of role to column name, not {type(columns).__name__}; "
            'e.g. columns={"label": "truth", "prediction": "guess"}'
        )
    roles = ("label", "prediction", "score", "id")
    unknown = [str(k) for k in columns if k not in roles]
    if unknown:
        raise ReportgenError(
            f"{at}: columns= has no role {unknown[0]!r}; the roles are {', '.join(roles)}"
        )
    return ColumnNames(**{k: str(v) for k, v in columns.items()})


def is_table(table: Any) -> bool:
    """Whether ``table`` is a table :func:`frame_of` reads (not a path or a loaded run)."""
    return (
        isinstance(table, pd.DataFrame)
        or hasattr(table, "__arrow_c_stream__")
        or callable(getattr(table, "to_pandas", None))
    )


def frame_of(table: Any, at: str) -> pd.DataFrame:
    """A pandas frame of the table, copied (the caller's frame is never changed): pandas as it
    is, anything with the Arrow PyCapsule interface (polars, pyarrow, DuckDB results) through
    pyarrow, else its ``to_pandas()``. No library but pandas is needed for pandas frames."""
    if isinstance(table, pd.DataFrame):
        frame = table.copy(deep=False)
    elif hasattr(table, "__arrow_c_stream__"):
        try:
            import pyarrow as pa
        except ImportError:  # pragma: no cover - pyarrow is a dependency of reportgen
            frame = _to_pandas(table, at)
        else:
            frame = pa.table(table).to_pandas()
    elif callable(getattr(table, "to_pandas", None)):
        frame = _to_pandas(table, at)
    else:
        raise ReportgenError(
            f"{at}: a {type(table).__name__} is not a table; give a pandas or polars "
            "DataFrame or a pyarrow Table, or build the run from arrays with Run.from_arrays"
        )
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) == 0:
        raise ReportgenError(f"{at}: no columns; give one column per field of the examples")
    if len(frame) == 0:
        raise ReportgenError(f"{at}: no rows; give one row per evaluated example")
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise ReportgenError(
            f"{at}: two columns are named {duplicated[0]!r}; keep one, or rename the other"
        )
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)  # rows are named by position, as iloc counts
    return frame


def _to_pandas(table: Any, at: str) -> pd.DataFrame:
    found = table.to_pandas()
    if not isinstance(found, pd.DataFrame):
        raise ReportgenError(
            f"{at}: {type(table).__name__}.to_pandas() gave a {type(found).__name__}, not a "
            "DataFrame; give a pandas or polars DataFrame or a pyarrow Table"
        )
    return found


def canonical_sha256(frame: pd.DataFrame) -> str:
    """The SHA-256 of the table as an Arrow IPC stream: its columns in order, without the
    index or schema metadata (pandas writes its version there). Columns Arrow cannot hold
    as they are (mixed types in one object column) are hashed as their text."""
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        text = frame.copy(deep=False)
        for column in text.columns:
            if text[column].dtype == object:
                text[column] = text[column].map(repr)
        table = pa.Table.from_pandas(text, preserve_index=False)
    table = table.replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def memory_path(frame: pd.DataFrame, name: str, origin: str) -> MemoryPath:
    """The run's place in messages, with the checksum of its table."""
    return MemoryPath.of(where(name, origin), canonical_sha256(frame))


# --- arrays ----------------------------------------------------------------------------------


def _array(value: Any, role: str, at: str) -> np.ndarray:
    """A 1-D or 2-D array of one argument (lists, numpy, pandas Series, tensors on the CPU)."""
    if isinstance(value, pd.Series | pd.Index):
        value = value.to_numpy()
    try:
        found = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ReportgenError(
            f"{at}: {role} cannot be read as an array ({str(exc)[:80]}); give a list, a "
            "numpy array or a pandas Series, one value per example"
        ) from None
    if found.ndim == 0:
        raise ReportgenError(
            f"{at}: {role} is a single value, not one per example; give a list or an array"
        )
    if found.ndim > 2:
        raise ReportgenError(
            f"{at}: {role} has {found.ndim} dimensions; give one value per example (1-D) or "
            "one row per example (2-D)"
        )
    return found


def _class_names(classes: Any, width: int, seen: list[np.ndarray], role: str, at: str) -> list[str]:
    """The names of a 2-D array's columns: ``classes``, else the classes the 1-D labels and
    predictions hold, sorted as scikit-learn's ``classes_`` are (when they are as many)."""
    if classes is not None:
        names = [class_name(c) for c in _array(classes, "classes", at).ravel()]
        if len(set(names)) != len(names):
            raise ReportgenError(f"{at}: classes names a class twice; name each column once")
        if len(names) != width:
            raise ReportgenError(
                f"{at}: {role} has {width} columns but classes names {len(names)} "
                f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); give one "
                f"column per class, in the order of classes"
            )
        return names
    found = sort_classes({class_name(v) for a in seen for v in pd.unique(a.ravel())})
    if seen and len(found) == width:
        return list(found)
    if not seen:
        return [str(i) for i in range(width)]
    raise ReportgenError(
        f"{at}: {role} has {width} columns but the labels and predictions hold {len(found)} "
        f"classes ({', '.join(found[:5])}{', ...' if len(found) > 5 else ''}); pass classes= "
        "naming the columns in order (a scikit-learn model's classes_)"
    )


def arrays_frame(
    name: str,
    y_true: Any,
    y_pred: Any,
    y_score: Any,
    classes: Any,
    ids: Any,
    columns: Mapping[str, Any],
) -> pd.DataFrame:
    """The table of arrays, with the columns the file rules read: ``y_true``, ``y_pred``,
    ``y_score`` (1-D: the positive class's score) or ``prob_<class>`` (n x k), multilabel
    indicator matrices as ``label_<name>``/``pred_<name>``/``score_<name>``, ``id``, and each
    keyword as a column of its own (2-D: one array per row, such as embeddings)."""
    at = where(name, "arrays")
    given = {
        role: _array(value, role, at)
        for role, value in (("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score))
        if value is not None
    }
    extra = {str(k): _array(v, str(k), at) for k, v in columns.items() if v is not None}
    if ids is not None:
        extra = {"id": _array(ids, "ids", at), **extra}
    everything = {**given, **extra}
    if not everything:
        raise ReportgenError(
            f"{at}: no arrays given; pass y_true with y_pred or y_score, or the columns of "
            "the run as keywords (e.g. nll=..., num_tokens=...)"
        )
    _check_lengths(everything, at)
    _check_roles(given, extra, at)
    multilabel = given.get("y_true") is not None and given["y_true"].ndim == 2
    if multilabel and (given.get("y_pred") is None or given["y_pred"].ndim != 2):
        raise ReportgenError(
            f"{at}: y_true is an indicator matrix (multilabel) but y_pred is not; give "
            "y_pred as a 0/1 matrix of the same columns"
        )
    parts: dict[str, Any] = {}
    for role, array in given.items():
        if array.ndim == 1:
            parts[role] = array
            continue
        if role != "y_score" and not multilabel:
            raise ReportgenError(
                f"{at}: {role} is 2-D but y_true is 1-D; give one class per example, or "
                "indicator matrices for both y_true and y_pred (multilabel)"
            )
        seen = [a for r, a in given.items() if r != "y_score" and a.ndim == 1]
        names = _class_names(classes, array.shape[1], seen, role, at)
        if multilabel:
            prefix = {"y_true": "label", "y_pred": "pred", "y_score": "score"}[role]
        else:
            prefix = "prob"
        parts |= {f"{prefix}_{n}": array[:, i] for i, n in enumerate(names)}
    for key, array in extra.items():
        if array.ndim == 2:  # one vector per example (an embedding)
            rows = np.empty(len(array), dtype=object)
            rows[:] = list(array)
            array = rows
        parts[key] = array
    return pd.DataFrame(parts)


def _check_lengths(arrays: Mapping[str, np.ndarray], at: str) -> None:
    lengths = {role: len(a) for role, a in arrays.items()}
    first = next(iter(lengths))
    for role, length in lengths.items():
        if length != lengths[first]:
            raise ReportgenError(
                f"{at}: {role} has {length:,} rows but {first} has {lengths[first]:,}; give "
                "every array one value per example, in the same order"
            )
    if lengths[first] == 0:
        raise ReportgenError(f"{at}: the arrays are empty; give one value per example")


def _check_roles(given: Mapping[str, Any], extra: Mapping[str, Any], at: str) -> None:
    """A keyword that the file rules would read as the label, prediction, score or id given
    by an argument too (``label=`` beside ``y_true``) is ambiguous: refused."""
    aliases = {
        "y_true": LABEL_ALIASES,
        "y_pred": PREDICTION_ALIASES,
        "y_score": SCORE_ALIASES,
        "id": ID_ALIASES,
    }
    present = set(given) | ({"id"} if "id" in extra else set())
    for role in present:
        clash = [k for k in extra if k.lower() in aliases[role] and k != role]
        if clash:
            raise ReportgenError(
                f"{at}: the keyword {clash[0]!r} would be read as {role}, which is given "
                "already; pass one of them, or rename the keyword"
            )
