"""Training histories: long (step, split, metric, value) or wide (step, train_loss, val_loss)
tables in CSV, TSV, JSON Lines or Parquet, and the native forms people have: a Hugging Face
Trainer ``trainer_state.json`` (``log_history``), a Keras ``history.history`` dumped as JSON (a
dict of lists, one value per epoch), a PyTorch Lightning CSVLogger ``metrics.csv`` (sparse rows;
``epoch`` and ``step`` are axes), a Keras CSVLogger log and a TensorBoard scalar exported as CSV
(``wall_time, step, value``). Each history says whether its x axis is the step or the epoch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import RunBase
from reportgen.ingest.files import HEAD_BYTES, _read_frame, _text_bytes, detect_format, read_bytes
from reportgen.ingest.folders import check_regular_file
from reportgen.ingest.runs import _row_location


@dataclass(kw_only=True)
class History(RunBase):
    """A training history in long form: one row per (step, split, metric)."""

    frame: pd.DataFrame  # columns step (float), split, metric, value
    axis: str = "step"  # what ``step`` counts: "step" or "epoch"

    kind: ClassVar[str] = "history"
    repeatable: ClassVar[bool] = False


HISTORY_NAMES = ("history.csv", "history.jsonl", "history.tsv", "history.parquet")

STEP_AXES = ("step", "global_step", "iteration")  # preferred over the epoch when both are there
# columns that are neither an axis nor a quality of the model: clocks and throughput
NOT_METRICS = ("wall_time", "time", "timestamp", "created_at", "total_flos")
NOT_METRIC_ENDS = ("runtime", "samples_per_second", "steps_per_second", "num_input_tokens_seen")
LABEL_COLUMNS = frozenset(
    {"label", "labels", "y_true", "target", "prediction", "predictions", "pred", "y_pred",
     "nll", "num_tokens", "text", "id"}
)  # fmt: skip


def _key(column: object) -> str:
    """A column name as looked up: lower case, spaces as underscores (``Wall time``)."""
    return str(column).strip().lower().replace(" ", "_")


def looks_like_history(columns: Any) -> bool:
    """Whether a table's columns are a training history's (for a history given as a run): a
    TensorBoard export (wall_time, step, value), or an epoch or step column beside losses or
    split-prefixed metrics and no label, prediction or token column."""
    keys = {_key(c) for c in columns}
    if {"wall_time", "step", "value"} <= keys:
        return True
    if not keys & {"epoch", *STEP_AXES} or keys & LABEL_COLUMNS:
        return False
    return any(
        k == "loss" or k.endswith("_loss") or k.startswith(("val_", "train_", "eval_"))
        for k in keys
    )


def json_history_shape(data: Any) -> str | None:
    """Which native history a parsed JSON document is, or None."""
    if isinstance(data, dict) and isinstance(data.get("log_history"), list):
        return "a Hugging Face Trainer state"
    if (
        isinstance(data, dict)
        and data
        and all(isinstance(v, list) and v and all(_is_number(x) for x in v) for v in data.values())
    ):
        return "a Keras history.history dict of lists"
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def history_json(path: Path) -> tuple[Any, str | None]:
    """A JSON file's parsed document and which native history it is (None if not one)."""
    with path.open("rb") as head:  # a list of records (a prediction file) is not parsed twice
        if head.read(HEAD_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
            return None, None
    try:
        data = json.loads(_text_bytes(path, read_bytes(path)).decode("utf-8"))
    except (ValueError, RecursionError):  # broken or nested too deep: the run reader says so
        return None, None
    return data, json_history_shape(data)


def load_history(path: Path, name: str) -> History:
    """A training history, in any of the forms the module docstring lists."""
    check_regular_file(path, "training history")
    fmt = detect_format(path)
    if fmt == "json":
        data, shape = history_json(path)
        if shape is not None:
            frame, axis = _native_frame(path, data)
            return History(name=name, path=path, frame=_long(path, frame, axis), axis=axis)
    frame = _read_frame(path, fmt)
    by_key = {_key(c): str(c) for c in frame.columns}
    if "value" in by_key and "metric" not in by_key and {"wall_time", "step"} <= set(by_key):
        return _tensorboard(path, frame, by_key, fmt, name)
    axis_key = next((c for c in (*STEP_AXES, "epoch") if c in by_key), None)
    if axis_key is None:
        raise ReportgenError(
            f"{path}: training history needs a 'step' (or epoch) column; "
            "write long form step,split,metric,value or wide form step,train_loss,val_loss,..."
        )
    axis = "epoch" if axis_key == "epoch" else "step"
    step = _steps(path, frame, by_key[axis_key], fmt)
    if {"metric", "value"} <= set(by_key):
        split = frame[by_key["split"]].astype(str) if "split" in by_key else "train"
        long = pd.DataFrame(
            {
                "step": step,
                "split": split,
                "metric": frame[by_key["metric"]].astype(str),
                "value": pd.to_numeric(frame[by_key["value"]], errors="coerce"),
            }
        )
        return History(name=name, path=path, frame=_finite(path, long), axis=axis)
    wide = frame.drop(columns=[by_key[axis_key]])
    wide.insert(0, "step", step)
    return History(name=name, path=path, frame=_long(path, wide, axis), axis=axis)


def _steps(path: Path, frame: pd.DataFrame, column: str, fmt: str) -> pd.Series:
    step = pd.to_numeric(frame[column], errors="coerce")
    if step.isna().any():
        row = int(np.argmax(step.isna().to_numpy()))
        raise ReportgenError(
            f"{path}: {column} {frame[column].iloc[row]!r} at {_row_location(fmt, row)} is not a "
            "number"
        )
    return step.astype(np.float64)


def _native_frame(path: Path, data: Any) -> tuple[pd.DataFrame, str]:
    """A Trainer state's ``log_history`` or a Keras dict of lists as a wide frame with a
    ``step`` column, and what the step counts."""
    if isinstance(data.get("log_history"), list):
        entries = [
            e for e in data["log_history"] if isinstance(e, dict) and "train_runtime" not in e
        ]  # the last entry sums the whole training up: not a point of it
        frame = pd.DataFrame.from_records(entries)
        if frame.empty:
            raise ReportgenError(f"{path}: the Trainer state's log_history is empty")
        axis = "step" if "step" in frame.columns else "epoch"
        if axis not in frame.columns:
            raise ReportgenError(
                f"{path}: log_history entries have neither 'step' nor 'epoch'; "
                "give the trainer_state.json the Trainer wrote"
            )
        frame = frame.drop(columns=[c for c in ("epoch",) if c != axis and c in frame.columns])
        return frame.rename(columns={axis: "step"}), axis
    # Keras: one value per epoch, counted from 1 as Keras prints them
    columns = {k: pd.Series(v, dtype=np.float64) for k, v in data.items()}
    frame = pd.DataFrame(columns)
    frame.insert(0, "step", np.arange(1, len(frame) + 1, dtype=np.float64))
    return frame, "epoch"


def _long(path: Path, wide: pd.DataFrame, axis: str) -> pd.DataFrame:
    """A wide frame (``step`` and one column per split and metric) in long form; axes, clocks
    and throughput are not metrics, and empty cells (sparse Lightning rows) are no points."""
    value_cols = [
        c
        for c in wide.columns
        if c != "step"
        and not str(c).startswith("Unnamed: ")  # a pandas index written to CSV
        and _key(c) not in {"epoch", *STEP_AXES, *NOT_METRICS}
        and not _key(c).endswith(NOT_METRIC_ENDS)
    ]
    if not value_cols:
        raise ReportgenError(f"{path}: training history has a {axis} column and nothing else")
    frame = wide[value_cols].apply(pd.to_numeric, errors="coerce")
    frame.insert(0, "step", pd.to_numeric(wide["step"], errors="coerce"))
    long = frame.melt(id_vars="step", var_name="column", value_name="value")
    parts = long["column"].astype(str).map(_split_metric_name)
    long["split"] = parts.str[0]
    long["metric"] = parts.str[1]
    return _finite(path, long.drop(columns="column"))


def _finite(path: Path, long: pd.DataFrame) -> pd.DataFrame:
    values = long["value"].to_numpy(np.float64, na_value=np.nan)
    steps = long["step"].to_numpy(np.float64, na_value=np.nan)
    long = long[np.isfinite(values) & np.isfinite(steps)]
    if long.empty:
        raise ReportgenError(f"{path}: training history has no numeric values")
    return long.reset_index(drop=True)


def _tensorboard(
    path: Path, frame: pd.DataFrame, by_key: dict[str, str], fmt: str, name: str
) -> History:
    """A TensorBoard scalar exported as CSV: one series, named by the file (``run-x-tag-
    val_loss.csv`` is the validation loss)."""
    stem = path.name.split(".")[0]
    tag = stem.rpartition("-tag-")[2] if "-tag-" in stem else stem
    split, metric = _split_metric_name(tag)
    long = pd.DataFrame(
        {
            "step": _steps(path, frame, by_key["step"], fmt),
            "split": split,
            "metric": metric,
            "value": pd.to_numeric(frame[by_key["value"]], errors="coerce"),
        }
    )
    return History(name=name, path=path, frame=_finite(path, long), axis="step")


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
