"""Which column of a table is the label, the prediction, the score and the id.

One code path for files and tables in memory (:mod:`reportgen.ingest.sources`): a column is
named by an option (``--label-col COLUMN``, or ``--label-col NAME=COLUMN`` for one run;
``columns=`` in Python), else found by an alias, case-insensitively, the first alias in the
order of the lists below winning; else by a name of a role's shape (``<x>_pred``,
``true_<x>``, ``<x>_proba``): one such column is taken, two or more stop the file, naming
them. A named column may be a dotted path into nested JSON records (``vanilla.answer``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import MemoryPath

LABEL_ALIASES = (
    "label",
    "y_true",
    "target",
    "reference",
    "references",
    "gold",
    "ground_truth",
    "true_label",
    "true_class",
    "actual",
)
PREDICTION_ALIASES = (
    "prediction",
    "pred",
    "y_pred",
    "predicted",
    "predicted_label",
    "pred_label",
    "predicted_class",
    "predictions",  # Hugging Face Trainer
    "predict",  # LLaMA-Factory
    "answer",
    "output",
)
SCORE_ALIASES = ("score", "y_score", "prob", "probability", "proba")
# when no alias above is a column: names of these shapes, one per file (two are ambiguous)
ALIAS_PATTERNS = {
    "label": (re.compile(r"^.+_true$", re.I), re.compile(r"^true_.+$", re.I)),
    "prediction": (
        re.compile(r"^.+_pred(?:iction)?$", re.I),
        re.compile(r"^pred(?:icted)?_.+$", re.I),
    ),
    "score": (re.compile(r"^.+_proba?$", re.I),),
}
ID_ALIASES = ("id", "example_id", "uid", "doc_id")
CLASS_SCORE_PATTERN = re.compile(r"^(?:prob|proba|score)_(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    """How tables are laid out: the options above."""

    labels: Path | None = None
    models: tuple[str, ...] = ()
    where: str | None = None

    @classmethod
    def of(cls, options: Any) -> Layout:
        labels = options.labels_file
        models = options.models_from_columns
        names = tuple(m.strip() for m in str(models).split(",")) if models else ()
        if names and (not all(names) or len(set(names)) != len(names)):
            raise ReportgenError(
                f"--models-from-columns {models!r}: name each model's column once, separated "
                "by commas, e.g. --models-from-columns lgbm,xgb,cat"
            )
        return cls(Path(labels) if labels else None, names, options.where)

    @property
    def active(self) -> bool:
        return self.labels is not None or bool(self.models) or self.where is not None


ROLES = ("label", "prediction", "score", "id")
OPTION_OF = {"label": "label_col", "prediction": "pred_col", "score": "score_col", "id": "id_col"}


@dataclass(frozen=True)
class ColumnNames:
    """Explicit column names that override the alias lookup (``--label-col`` etc.), for every
    run or, given as ``NAME=COLUMN``, for the run of that name; and the column names of a
    headerless CSV or TSV (``--no-header --columns id,label,prediction``)."""

    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    id: str | None = None
    per_run: tuple[tuple[str, str, str], ...] = ()  # (run name, role, column)
    header: tuple[str, ...] | None = None  # the names of a headerless file's columns
    layout: Layout = Layout()  # --labels, --models-from-columns, --where

    @classmethod
    def of(cls, options: Any) -> ColumnNames:
        """The names a build's options give (``label_col``, ``pred_col``, ..., each a column
        or ``NAME=COLUMN`` items; ``header`` and ``column_names``)."""
        plain: dict[str, str] = {}
        per_run: list[tuple[str, str, str]] = []
        given = {
            "label": options.label_col,
            "prediction": options.pred_col,
            "score": options.score_col,
            "id": options.id_col,
        }
        for role, key in OPTION_OF.items():
            value = given[role]
            flag = "--" + key.replace("_", "-")
            for item in (value,) if isinstance(value, str) else tuple(value or ()):
                run, sep, column = str(item).partition("=")
                if sep and run and column:
                    per_run.append((run, role, column))
                elif role in plain:
                    raise ReportgenError(
                        f"{flag} is given twice ({plain[role]!r} and {item!r}); give one "
                        f"COLUMN for every run, or NAME=COLUMN for each run "
                        f"(e.g. {flag} old=gold {flag} new=answer)"
                    )
                else:
                    plain[role] = str(item)
        header = header_names(options.header, options.column_names)
        return cls(**plain, per_run=tuple(per_run), header=header, layout=Layout.of(options))

    def for_run(self, name: str) -> ColumnNames:
        """The names for the run called ``name``: its own ``NAME=COLUMN`` items win."""
        own = {role: column for run, role, column in self.per_run if run == name}
        return replace(self, **own) if own else self

    def named_runs(self) -> set[str]:
        return {run for run, _, _ in self.per_run}


def header_names(header: bool, names: str | None) -> tuple[str, ...] | None:
    """``--no-header --columns id,label``: the column names of headerless files."""
    if names is None:
        if not header:
            raise ReportgenError(
                "--no-header needs --columns naming the file's columns in order, e.g. "
                "--no-header --columns id,label,prediction"
            )
        return None
    found = tuple(n.strip() for n in str(names).split(","))
    if header:
        raise ReportgenError(
            "--columns names the columns of a file without a header row; add --no-header, or "
            "drop --columns and use the file's header"
        )
    if not all(found) or len(set(found)) != len(found):
        raise ReportgenError(
            f"--columns {names!r}: name every column once, separated by commas, e.g. "
            "--columns id,label,prediction"
        )
    return found


def check_run_names(columns: ColumnNames, names: set[str]) -> None:
    """Every ``NAME=COLUMN`` names a run that was given."""
    for run, role, column in columns.per_run:
        if run not in names:
            flag = "--" + OPTION_OF[role].replace("_", "-")
            raise ReportgenError(
                f"{flag} {run}={column}: no run is named {run!r}; the runs are "
                f"{', '.join(sorted(names))} (name a run with NAME=PATH)"
            )


def with_paths(frame: pd.DataFrame, columns: ColumnNames, path: Path) -> pd.DataFrame:
    """The frame with a column for each dotted path the options name (``vanilla.answer``:
    the key ``answer`` of the objects in column ``vanilla``), read from nested records."""
    wanted = [columns.label, columns.prediction, columns.score, columns.id]
    dotted = [c for c in wanted if c and "." in c and c not in frame.columns]
    if not dotted:
        return frame
    frame = frame.copy(deep=False)
    for column in dotted:
        head, *keys = column.split(".")
        if head not in frame.columns:
            continue  # _find_column says the column is missing, listing the columns
        values = frame[head].to_numpy(dtype=object)
        objects = np.fromiter((isinstance(v, dict) for v in values), bool, len(values))
        if not objects.any():
            raise ReportgenError(
                f"{path}: {column!r} is a path into nested records, but column {head!r} "
                "holds no objects; name a column, or a path such as vanilla.answer into "
                "JSON objects"
            )
        for key in keys:
            values = np.array(
                [v.get(key) if isinstance(v, dict) else None for v in values], dtype=object
            )
        frame[column] = values
    return frame


COLUMN_FLAGS = {"label": "--label-col", "prediction": "--pred-col", "score": "--score-col"}


def column_flag(path: Path, role: str) -> str:
    """How to name the column of a role: ``--label-col`` for a file, ``columns=`` in memory."""
    if isinstance(path, MemoryPath):
        return f'columns={{"{role}": NAME}}'
    return COLUMN_FLAGS.get(role, f"--{role}-col")


def _find_column(
    frame: pd.DataFrame, path: Path, role: str, aliases: Sequence[str], override: str | None
) -> str | None:
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    if override is not None:
        if override in frame.columns:
            return override
        if override.lower() in by_lower:
            return by_lower[override.lower()]
        raise ReportgenError(
            f"{path}: no column {override!r} (given for the {role}); "
            f"columns are: {', '.join(map(str, frame.columns))}"
        )
    for alias in aliases:
        if alias in by_lower:
            found = by_lower[alias]
            if f"{found}.1" in frame.columns and path.suffix.lower() in (".csv", ".tsv", ".gz"):
                raise ReportgenError(
                    f"{path}: two columns are named {found!r} (the second would be read as "
                    f"'{found}.1'); keep one, or rename the other"
                )
            return found
    return _pattern_column(frame, path, role)


def _pattern_column(frame: pd.DataFrame, path: Path, role: str) -> str | None:
    """The one column named like a role (``sentiment_pred``, ``true_class``), when no alias
    is a column; several such columns are ambiguous and stop the file, naming them."""
    patterns = ALIAS_PATTERNS.get(role)
    if not patterns:
        return None
    taken = {
        str(c)
        for other, shapes in ALIAS_PATTERNS.items()
        if other != role
        for c in frame.columns
        if any(p.match(str(c)) for p in shapes) and not any(p.match(str(c)) for p in patterns)
    }
    found = [
        str(c)
        for c in frame.columns
        if str(c) not in taken and any(p.match(str(c)) for p in patterns)
    ]
    if len(found) > 1:
        shown = ", ".join(repr(c) for c in found[:6]) + (", ..." if len(found) > 6 else "")
        raise ReportgenError(
            f"{path}: {len(found)} columns could be the {role} ({shown}); name the one to "
            f"use with {column_flag(path, role)}"
        )
    return found[0] if found else None
