"""Stage 1: run files -> validated, columnar :class:`Run` objects.

A run file holds one row per evaluated example. Columns are found by canonical name or a
common alias, case-insensitively; every other column is kept as example metadata. All checks
happen here, at the boundary, so later stages work on clean numpy arrays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun, RunBase, load_table
from reportgen.ingest.columns import (
    CLASS_SCORE_PATTERN,
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    SCORE_ALIASES,
    ColumnNames,
    _find_column,
    column_flag,
)
from reportgen.ingest.files import (
    SUPPORTED_HINT,
    _read_frame,
    _sha256,
    check_regular_file,
    check_text_head,
    detect_format,
    name_of,
)
from reportgen.ingest.vectors import EmbeddingSource, find_column, lazy_column

__all__ = [  # column matching lives in reportgen.ingest.columns; these names stay importable
    "ID_ALIASES",
    "LABEL_ALIASES",
    "PREDICTION_ALIASES",
    "SCORE_ALIASES",
    "ColumnNames",
    "Run",
    "column_flag",
]

IN_MEMORY_ROWS = {"dataframe": "row", "arrays": "index"}  # how messages name an in-memory row


@dataclass(frozen=True)
class Categorical:
    """A column of class values, factorised: ``values[codes[i]]`` is row i's class name."""

    codes: np.ndarray  # int64, one per row
    values: tuple[str, ...]  # distinct class names as strings, in order of first appearance


@dataclass(kw_only=True)
class Run(ExampleRun):
    """One evaluation run: per-example labels, predictions and scores, validated.

    Class names are strings (``1``, ``True`` and ``"1"`` all become ``"1"``/``"True"``) so that
    runs written by different tools compare equal.
    """

    labels: Categorical
    predictions: Categorical | None
    score: np.ndarray | None  # float64: the positive-class score of a binary run
    class_scores: dict[str, np.ndarray]  # class name -> float64 score column (prob_<class>)
    embedding: EmbeddingSource | None = None  # vectors, read only for the sampled rows

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        name: str,
        columns: ColumnNames | Mapping[str, str] | None = None,
        *,
        task: str | None = None,
    ) -> RunBase:
        """A validated run from a table in memory: a pandas DataFrame, or a polars DataFrame
        or pyarrow Table (through the Arrow PyCapsule interface, else ``to_pandas()``).

        Its columns are matched, and its kind detected, by the rules a run file gets (a
        ``label`` or ``y_true`` column, ``prediction``, ``score``, ``prob_<class>``, ``id``;
        every other column is example metadata). ``columns`` names the columns instead:
        ``{"label": "truth", "prediction": "guess", "score": ..., "id": ...}``. ``task``
        forces a kind, as ``--task`` does (``"regression"``, ``"multilabel"``,
        ``"generation"``). The run is of the kind the table holds (a classification
        :class:`Run`, a regression run, ...). A bad table raises :class:`ReportgenError`
        naming ``DataFrame 'NAME'``, the column and the row (as ``frame.iloc`` counts)."""
        return _one(load_table(frame, name, columns, task, "dataframe"), name, "DataFrame")

    @classmethod
    def from_arrays(
        cls,
        name: str,
        y_true: Any = None,
        y_pred: Any = None,
        y_score: Any = None,
        *,
        classes: Sequence[Any] | None = None,
        ids: Any = None,
        task: str | None = None,
        **columns: Any,
    ) -> RunBase:
        """A validated run from arrays (lists, numpy arrays, pandas Series), as scikit-learn's
        metrics take them.

        - ``y_true``, ``y_pred``: one class per example; or numbers (regression, with
          ``task="regression"`` when they are few); or 0/1 indicator matrices, n x L
          (multilabel; ``classes`` names the L labels).
        - ``y_score``: 1-D, the positive class's score (binary); or n x k class
          probabilities (``predict_proba``), ``classes`` naming the columns in order
          (default: the classes of ``y_true`` and ``y_pred``, sorted, when there are k).
        - ``ids``: example ids, to pair runs by id rather than by position.
        - every other keyword is a column, read as a file's column of that name is: example
          metadata (slices, ``text``, ``latency_ms``), or the columns of other kinds, e.g.
          ``Run.from_arrays("gpt", nll=nll, num_tokens=tokens)`` (perplexity) or
          ``Run.from_arrays("gpt", reference=refs, prediction=outputs)`` (generation). A 2-D
          keyword is one vector per example (``embedding=X``).

        Errors name ``arrays 'NAME'``, the argument and the index."""
        arguments = {
            "y_true": y_true,
            "y_pred": y_pred,
            "y_score": y_score,
            "classes": classes,
            "ids": ids,
            "columns": columns,
        }
        return _one(load_table(arguments, name, None, task, "arrays"), name, "arrays")

    @property
    def classes_seen(self) -> set[str]:
        seen = set(self.labels.values) | set(self.class_scores)
        if self.predictions is not None:
            seen |= set(self.predictions.values)
        return seen


def _one(runs: list[RunBase], name: str, origin: str) -> RunBase:
    """The one run a table holds; a table of several repeats (a ``seed`` column) is given to
    :func:`reportgen.build_report` whole."""
    if len(runs) > 1:
        raise ReportgenError(
            f"{origin} {name!r} holds {len(runs)} repeats "
            f"({', '.join(r.repeat or '' for r in runs)}); a run is one of them: pass the "
            f'table to build_report itself, build_report({{"{name}": table}}), or select one '
            "repeat"
        )
    return runs[0]


def parse_run_argument(argument: str) -> tuple[str | None, Path]:
    """Split ``NAME=PATH`` into its parts; a plain ``PATH`` has no name."""
    name, sep, path = argument.partition("=")
    if sep and name and not _exists(Path(argument)):
        return name, Path(path)
    return None, Path(argument)


def _exists(path: Path) -> bool:
    """Whether a path exists; a name too long to be a path (a long run name) does not."""
    try:
        return path.exists()
    except OSError:
        return False


def load_run(
    path: str | Path,
    name: str | None = None,
    columns: ColumnNames | None = None,
) -> Run:
    """Read and validate one run file (or a run directory holding ``predictions.<ext>``).

    Raises :class:`ReportgenError` with a one-line message naming the file, and the column or
    line where it applies.
    """
    path = Path(path)
    columns = columns or ColumnNames()
    data_path, default_name, metadata = locate(path)
    fmt = detect_format(data_path)
    check_text_head(data_path)  # before the header is read for an embedding column
    embedding = lazy_column(data_path, fmt)
    frame = _read_frame(data_path, fmt, embedding.name if embedding else None)
    return _validate(frame, name or default_name, data_path, fmt, columns, metadata, embedding)


def locate(path: Path) -> tuple[Path, str, dict[str, Any]]:
    """The data file of a run file or run directory, its default name and its metadata
    (``run.json`` in a directory, then a ``<file>.meta.json`` sidecar on top)."""
    metadata: dict[str, Any] = {}
    if path.is_dir():
        data_path = _find_predictions_file(path)
        run_json = path / "run.json"
        if run_json.exists():
            metadata = _read_metadata(run_json)
        default_name = path.name
    else:
        data_path = path
        default_name = _stem(path)
    sidecar = data_path.with_name(data_path.name + ".meta.json")
    if sidecar.exists():
        metadata = {**metadata, **_read_metadata(sidecar)}
    return data_path, default_name, metadata


def _stem(path: Path) -> str:
    """A run's default name: the file name without its known extension (``name_of``)."""
    return name_of(path)


def _find_predictions_file(directory: Path) -> Path:
    found = sorted(p for p in directory.glob("predictions.*") if p.is_file())
    if not found:
        raise ReportgenError(
            f"{directory}: run directory has no predictions.<ext> file; "
            f"add one ({SUPPORTED_HINT}) next to run.json"
        )
    return found[0]


def _read_metadata(path: Path) -> dict[str, Any]:
    check_regular_file(path, "run metadata")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportgenError(f"{path}: cannot read run metadata ({exc}); fix the JSON") from None
    except (RecursionError, ValueError) as exc:  # nested too deep, an integer too long
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise ReportgenError(
            f"{path}: run metadata cannot be read ({reason}); keep it to plain key: value pairs"
        ) from None
    if not isinstance(data, dict):
        raise ReportgenError(f"{path}: run metadata must be a JSON object of key: value pairs")
    return data


HEADERLESS = " (no header)"  # a CSV/TSV read with --no-header: its format is "csv (no header)"


def _line_word(fmt: str) -> str:
    return {"csv": "line", "tsv": "line", "jsonl": "line"}.get(
        fmt.removesuffix(HEADERLESS), "record"
    )


def _row_location(fmt: str, row: int) -> str:
    """Where row ``row`` (0-based data row) sits in the file, as a person would look for it:
    in memory, as Python counts (``row 3`` is ``frame.iloc[3]``, ``index 3`` is ``y_true[3]``)."""
    if fmt in IN_MEMORY_ROWS:
        return f"{IN_MEMORY_ROWS[fmt]} {row}"
    offset = {"csv": 2, "tsv": 2}.get(fmt, 1)  # CSV/TSV: line 1 is the header, unless none
    return f"{_line_word(fmt)} {row + offset}"


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def number_text(text: str) -> str | None:
    """A number written as text in one canonical form (``12.00``, ``12`` and ``1.2e1`` are
    ``12``; ``-8`` stays ``-8``), or None when the text is not a plain number. Answers and
    class labels that are numbers compare as numbers."""
    text = text.strip()
    if len(text) > 60 or not _NUMBER.fullmatch(text):
        return None
    number = Decimal(text)
    if number == 0:
        return "0"
    if abs(number.adjusted()) > 30:  # far from any answer written out: kept as written
        return None
    return format(number.normalize(), "f")


def class_name(value: Any) -> str:
    """The string form of a class value: integral floats lose their ``.0``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


SCALAR_TYPES = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}


def scalar_values(series: pd.Series, path: Path, fmt: str, column: str, role: str) -> pd.Series:
    """The column with one plain value per row: bytes (Parquet binary columns) decoded as
    UTF-8; a list, dict or undecodable bytes is an error naming the row. Columns of plain
    values (the common case) pass through on a C-level type check."""
    if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) in SCALAR_TYPES:
        return series
    values = series.to_numpy(dtype=object)
    nested = np.fromiter(
        (isinstance(v, dict | list | tuple | set | np.ndarray) for v in values), bool, len(values)
    )
    if nested.any():
        row = int(np.argmax(nested))
        kind = "a list" if not isinstance(values[row], dict) else "an object"
        raise ReportgenError(
            f"{path}: {role} column {column!r} holds {kind} at {_row_location(fmt, row)}, not "
            f"one value; write one value per row (a string or a number)"
        )
    raw = np.fromiter((isinstance(v, bytes) for v in values), bool, len(values))
    if not raw.any():
        return series
    if (raw | series.isna().to_numpy()).all():  # a Parquet binary column: decoded in one call
        try:
            return series.str.decode("utf-8")
        except UnicodeDecodeError:
            pass  # find the row below
    decoded = values.copy()
    for row in np.flatnonzero(raw):
        try:
            decoded[row] = values[row].decode("utf-8")
        except UnicodeDecodeError:
            raise ReportgenError(
                f"{path}: {role} column {column!r} holds bytes that are not UTF-8 text at "
                f"{_row_location(fmt, row)}; store it as a UTF-8 string column"
            ) from None
    return pd.Series(decoded, index=series.index, name=series.name, dtype=object)


def _categorical(series: pd.Series, path: Path, fmt: str, role: str, column: str) -> Categorical:
    series = scalar_values(series, path, fmt, column, role)
    missing = series.isna().to_numpy().copy()
    if isinstance(series.dtype, pd.StringDtype) or series.dtype == object:
        missing |= (series.astype("string").str.strip() == "").fillna(True).to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise ReportgenError(
            f"{path}: missing {role} in column {column!r} at {_row_location(fmt, row)} "
            f"({int(missing.sum())} rows in all); every example needs a {role}"
        )
    codes, uniques = pd.factorize(series, sort=False)
    raw = np.asarray(uniques, dtype=object)
    names = [class_name(v) for v in raw]
    numbers = [
        number_text(n) if isinstance(v, str) else None for n, v in zip(names, raw, strict=True)
    ]
    if any(numbers):  # '12.00' and 12 are one class, '-8' and 8 two
        canonical = [m or n for n, m in zip(names, numbers, strict=True)]
        merged, remap = np.unique(canonical, return_inverse=True)  # sorted; back to first seen
        first = np.full(len(merged), len(canonical))
        np.minimum.at(first, remap, np.arange(len(canonical)))
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes = rank[remap][codes]
        names = [str(merged[i]) for i in order]
    if len(set(names)) != len(names):
        # e.g. 1 and "1" in one JSON column would otherwise become two classes named "1"
        raise ReportgenError(
            f"{path}: column {column!r} mixes values that print the same (such as 1 and '1'); "
            "write each class one way"
        )
    return Categorical(codes=codes.astype(np.int64, copy=False), values=tuple(names))


def as_float(series: pd.Series) -> np.ndarray:
    """The column as float64: booleans as 0/1, anything that is not a number as NaN."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric(series: pd.Series, path: Path, fmt: str, column: str) -> np.ndarray:
    values = as_float(series)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        original = series.iloc[row]
        what = (
            "missing value"
            if pd.isna(original)
            else f"infinite value {str(original)!r}"
            if np.isinf(values[row])
            else f"non-numeric value {str(original)!r}"
        )
        raise ReportgenError(
            f"{path}: {what} in score column {column!r} at {_row_location(fmt, row)}; "
            "scores must be finite numbers"
        )
    return values


def unique_ids(frame: pd.DataFrame, id_col: str | None, path: Path, fmt: str) -> np.ndarray | None:
    """The id column as an array, after checking every id is unique."""
    if id_col is None:
        return None
    series = scalar_values(frame[id_col], path, fmt, id_col, "id")
    missing = series.isna().to_numpy() | (series.astype("string") == "").to_numpy(
        dtype=bool, na_value=True
    )
    if missing.any():
        row = int(np.argmax(missing))
        raise ReportgenError(
            f"{path}: missing id in column {id_col!r} at {_row_location(fmt, row)} "
            f"({int(missing.sum())} rows in all); give every example an id, or drop the column"
        )
    duplicated = series.duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise ReportgenError(
            f"{path}: duplicate id {class_name(series.iloc[row])} in column {id_col!r} at "
            f"{_row_location(fmt, row)}; ids must be unique"
        )
    ids = series.to_numpy()
    if ids.dtype == object and pd.api.types.infer_dtype(series) not in ("string", "bytes"):
        _check_id_texts(ids, path, fmt, id_col)
    return ids


def _check_id_texts(ids: np.ndarray, path: Path, fmt: str, column: str) -> None:
    """Ids of mixed types (0 and "0" in one JSON column) are paired with other runs' ids as
    text: two that read the same are an error naming both, as for class values."""
    texts = pd.Series(ids.astype(str))
    clash = texts.duplicated().to_numpy()
    if clash.any():
        row = int(np.argmax(clash))
        first = int(np.argmax((texts == texts.iloc[row]).to_numpy()))
        raise ReportgenError(
            f"{path}: ids {ids[first]!r} ({_row_location(fmt, first)}) and {ids[row]!r} "
            f"({_row_location(fmt, row)}) in column {column!r} read the same as text; write "
            "every id one way (all numbers or all strings)"
        )


def _validate(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    overrides: ColumnNames,
    metadata: dict[str, Any],
    embedding: EmbeddingSource | None = None,
    checksum: bool = True,
) -> Run:
    """``embedding``: a column left in the file, read later for the sampled rows only;
    ``checksum``: False for rows that are a query's result, not the file."""
    frame.columns = [str(c) for c in frame.columns]
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, overrides.label)
    if label_col is None:
        raise ReportgenError(
            f"{path}: no label column; name one 'label' (or {', '.join(LABEL_ALIASES[1:])}) "
            f"or pass {column_flag(path, 'label')}"
        )
    pred_col = _find_column(frame, path, "prediction", PREDICTION_ALIASES, overrides.prediction)
    score_col = _find_column(frame, path, "score", SCORE_ALIASES, overrides.score)
    id_col = _find_column(frame, path, "id", ID_ALIASES, overrides.id)

    used = {c for c in (label_col, pred_col, score_col, id_col) if c is not None}
    class_score_cols: dict[str, str] = {}
    for column in frame.columns:
        match = CLASS_SCORE_PATTERN.match(column)
        if match and column not in used:
            class_score_cols.setdefault(match.group(1), column)
    used |= set(class_score_cols.values())
    embedding_col = find_column(frame.drop(columns=list(used)))
    if embedding_col is not None:
        used.add(embedding_col)

    labels = _categorical(frame[label_col], path, fmt, "label", label_col)
    predictions = (
        _categorical(frame[pred_col], path, fmt, "prediction", pred_col) if pred_col else None
    )
    score = _numeric(frame[score_col], path, fmt, score_col) if score_col else None
    class_scores = {
        cls: _numeric(frame[column], path, fmt, column) for cls, column in class_score_cols.items()
    }
    if predictions is None and score is None and not class_scores:
        raise ReportgenError(
            f"{path}: no prediction or score column; add 'prediction' (predicted class), "
            "'score' (positive-class score) or 'prob_<class>' columns"
        )
    ids = unique_ids(frame, id_col, path, fmt)

    found = {"label": label_col}
    for role, column in (("prediction", pred_col), ("score", score_col), ("id", id_col)):
        if column is not None:
            found[role] = column
    return Run(
        name=name,
        path=path,
        sha256=_sha256(path) if checksum else "",
        format=fmt,
        n_examples=len(frame),
        labels=labels,
        predictions=predictions,
        score=score,
        class_scores=class_scores,
        ids=ids,
        columns=found | {f"score[{c}]": col for c, col in class_score_cols.items()},
        extra=frame.drop(columns=list(used)),
        metadata=metadata,
        embedding=embedding
        if embedding_col is None
        else EmbeddingSource(f"{path}: column {embedding_col!r}", column=frame[embedding_col]),
    )


MAX_CLASSES = 1_000  # classes in one report: confusion matrices hold K² counts per model


def check_classes(count: int, where: object) -> None:
    """Refuse more classes than a report handles, naming the run (``where``) with the most."""
    if count > MAX_CLASSES:
        raise ReportgenError(
            f"{count:,} classes across the runs ({where} has the most); a report handles at "
            f"most {MAX_CLASSES:,} (confusion "
            "matrices hold K² counts); merge rare classes into one, e.g. 'other', or "
            "evaluate the most frequent classes"
        )


def sort_classes(names: set[str]) -> tuple[str, ...]:
    """Numbers in numeric order, False before True, anything else alphabetically."""

    def as_number(name: str) -> float | None:
        try:
            return float(name)
        except ValueError:
            return None

    numbers = {name: as_number(name) for name in names}
    if all(v is not None for v in numbers.values()):
        return tuple(sorted(names, key=lambda n: (numbers[n], n)))
    if names <= {"False", "True"}:
        return tuple(sorted(names, key=lambda n: n == "True"))
    return tuple(sorted(names))
