"""Training histories: long (step, split, metric, value) or wide (step, train_loss, val_loss)
tables, in CSV, TSV, JSON Lines or Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import RunBase
from reportgen.ingest.files import _read_frame, detect_format
from reportgen.ingest.folders import check_regular_file
from reportgen.ingest.runs import _row_location


@dataclass(kw_only=True)
class History(RunBase):
    """A training history in long form: one row per (step, split, metric)."""

    frame: pd.DataFrame  # columns step (float), split, metric, value

    kind: ClassVar[str] = "history"
    repeatable: ClassVar[bool] = False


HISTORY_NAMES = ("history.csv", "history.jsonl", "history.tsv", "history.parquet")


def load_history(path: Path, name: str) -> History:
    """A training history, long (step, split, metric, value) or wide (step, train_loss, ...)."""
    check_regular_file(path, "training history")
    fmt = detect_format(path)
    frame = _read_frame(path, fmt)
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    step_col = next(
        (by_lower[c] for c in ("step", "global_step", "iteration", "epoch") if c in by_lower), None
    )
    if step_col is None:
        raise ReportgenError(
            f"{path}: training history needs a 'step' (or epoch) column; "
            "write long form step,split,metric,value or wide form step,train_loss,val_loss,..."
        )
    step = pd.to_numeric(frame[step_col], errors="coerce")
    if step.isna().any():
        row = int(np.argmax(step.isna().to_numpy()))
        raise ReportgenError(
            f"{path}: step {frame[step_col].iloc[row]!r} at {_row_location(fmt, row)} is not a "
            "number"
        )
    if {"metric", "value"} <= set(by_lower):
        split = frame[by_lower["split"]].astype(str) if "split" in by_lower else "train"
        long = pd.DataFrame(
            {
                "step": step.astype(np.float64),
                "split": split,
                "metric": frame[by_lower["metric"]].astype(str),
                "value": pd.to_numeric(frame[by_lower["value"]], errors="coerce"),
            }
        )
    else:
        # "Unnamed: 0" is a pandas index written to CSV, not a metric
        value_cols = [
            c for c in frame.columns if c != step_col and not str(c).startswith("Unnamed: ")
        ]
        if not value_cols:
            raise ReportgenError(f"{path}: training history has a step column and nothing else")
        wide = frame[value_cols].apply(pd.to_numeric, errors="coerce")
        wide.insert(0, "step", step.astype(np.float64))
        long = wide.melt(id_vars="step", var_name="column", value_name="value")
        parts = long["column"].astype(str).map(_split_metric_name)
        long["split"] = parts.str[0]
        long["metric"] = parts.str[1]
        long = long.drop(columns="column")
    long = long[np.isfinite(long["value"].to_numpy(np.float64, na_value=np.nan))]
    if long.empty:
        raise ReportgenError(f"{path}: training history has no numeric values")
    return History(name=name, path=path, frame=long.reset_index(drop=True))


SPLIT_PREFIXES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "eval": "validation",
    "dev": "validation",
    "test": "test",
}


def _split_metric_name(column: str) -> tuple[str, str]:
    """``val_loss`` -> (validation, loss); ``loss`` -> (train, loss)."""
    for sep in ("_", "/", "."):
        head, found, tail = column.partition(sep)
        if found and head.lower() in SPLIT_PREFIXES and tail:
            return SPLIT_PREFIXES[head.lower()], tail
    return "train", column
