"""Feature importance tables (``--importance NAME=PATH``): one row per feature with its
importance and, optionally, its standard deviation and the method that measured it.

CSV, TSV, JSON Lines, Parquet, or JSON: a list of records, or an object
``{"method": "permutation", "importances": [...records...] or {feature: importance}}``.
scikit-learn's ``permutation_importance`` names (``importances_mean``, ``importances_std``)
are read as ``importance`` and ``std``. The method is a ``method`` column, else the JSON
object's ``method``, else ``method`` in a ``<file>.meta.json`` sidecar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import (
    _read_frame,
    _sha256,
    _text_bytes,
    detect_format,
    read_bytes,
)
from reportgen.ingest.folders import check_regular_file
from reportgen.ingest.runs import _read_metadata, _row_location

FEATURE_ALIASES = ("feature", "feature_name", "variable", "name")
IMPORTANCE_ALIASES = ("importance", "importances_mean", "importance_mean", "mean_importance")
STD_ALIASES = ("std", "importances_std", "importance_std")
MAX_FEATURES = 100_000  # rows of one table; rank agreement is computed on all of them
EXAMPLE = "feature,importance,std\\nmean radius,0.031,0.004"


@dataclass
class ImportanceTable:
    """One model's importances, validated: features unique, importances finite."""

    name: str  # the model's name in the report
    path: Path
    sha256: str
    format: str
    method: str  # "permutation", "gain", "shap", ... or "" when the file does not say
    features: np.ndarray  # object array of str
    importance: np.ndarray  # float64, finite
    std: np.ndarray  # float64, NaN where not given


def load_importance(path: Path, name: str) -> ImportanceTable:
    """Read and check one importance table; every error names the file and the line."""
    check_regular_file(path, "importance table")
    fmt = detect_format(path)
    method = ""
    if fmt == "json":
        frame, method = _json_table(path)
    else:
        frame = _read_frame(path, fmt)
    sha = _sha256(path)
    by_lower = {str(c).strip().lower(): c for c in frame.columns}
    feature_col = next((by_lower[a] for a in FEATURE_ALIASES if a in by_lower), None)
    value_col = next((by_lower[a] for a in IMPORTANCE_ALIASES if a in by_lower), None)
    if feature_col is None or value_col is None:
        listed = ", ".join(str(c) for c in list(frame.columns)[:10])
        raise ReportgenError(
            f"{path}: an importance table needs columns 'feature' and 'importance' (optional "
            f"'std', 'method'); found: {listed}. E.g. {EXAMPLE}"
        )
    if len(frame) > MAX_FEATURES:
        raise ReportgenError(
            f"{path}: {len(frame):,} features; an importance table holds at most "
            f"{MAX_FEATURES:,}: keep the features the model was given"
        )
    names = frame[feature_col]
    missing = names.isna().to_numpy() | (names.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise ReportgenError(
            f"{path}: {_row_location(fmt, row)}, column {feature_col!r}: no feature name; "
            "name every feature"
        )
    features = names.astype(str).to_numpy(dtype=object)
    twice = pd.Series(features).duplicated().to_numpy()
    if twice.any():
        row = int(np.argmax(twice))
        raise ReportgenError(
            f"{path}: {_row_location(fmt, row)}, column {feature_col!r}: feature "
            f"{features[row]!r} appears twice; give one row per feature"
        )
    importance = _finite_column(frame, value_col, path, fmt, allow_missing=False)
    std = np.full(len(frame), np.nan)
    std_col = next((by_lower[a] for a in STD_ALIASES if a in by_lower), None)
    if std_col is not None:
        std = _finite_column(frame, std_col, path, fmt, allow_missing=True)
        negative = np.flatnonzero(std < 0)
        if len(negative):
            row = int(negative[0])
            raise ReportgenError(
                f"{path}: {_row_location(fmt, row)}, column {std_col!r}: {std[row]:g} is "
                "negative; a standard deviation is 0 or more"
            )
    sidecar = path.with_name(path.name + ".meta.json")  # as beside a run file
    if not method and sidecar.exists():
        method = str(_read_metadata(sidecar).get("method") or "").strip()
    if "method" in by_lower:
        methods = frame[by_lower["method"]].astype(str).to_numpy(dtype=object)
        differs = np.flatnonzero(methods != methods[0])
        if len(differs):
            row = int(differs[0])
            raise ReportgenError(
                f"{path}: {_row_location(fmt, row)}, column 'method': {methods[row]!r} after "
                f"{methods[0]!r}; one table holds one method: split it into one file per method"
            )
        method = str(methods[0]).strip()
    return ImportanceTable(name, path, sha, fmt, method, features, importance, std)


def _finite_column(
    frame: pd.DataFrame, column: Any, path: Path, fmt: str, allow_missing: bool
) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    given = ~raw.isna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
    bad = ~np.isfinite(values) & (given | (not allow_missing))
    if bad.any():
        row = int(np.argmax(bad))
        shown = raw.iloc[row]
        raise ReportgenError(
            f"{path}: {_row_location(fmt, row)}, column {column!r}: {str(shown)!r} is not a finite "
            "number; write a number"
        )
    return values


def _json_table(path: Path) -> tuple[pd.DataFrame, str]:
    """A JSON list of records (read as any run file), or an object with ``importances``."""
    data = read_bytes(path)
    text = _text_bytes(path, data)
    try:
        found = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ReportgenError(
            f"{path}: not valid JSON ({reason or 'unreadable'}); fix the file"
        ) from None
    if isinstance(found, list):
        return _read_frame(path, "json"), ""
    if not isinstance(found, dict) or "importances" not in found:
        raise ReportgenError(
            f"{path}: expected a list of {{feature, importance}} records or an object with "
            '"importances", e.g. {"method": "permutation", "importances": {"age": 0.12}}'
        )
    method = found.get("method", (found.get("metadata") or {}).get("method", ""))
    items = found["importances"]
    if isinstance(items, dict):
        frame = pd.DataFrame({"feature": list(items), "importance": list(items.values())})
    elif isinstance(items, list) and all(isinstance(i, dict) for i in items) and items:
        frame = pd.DataFrame.from_records(items)
    else:
        raise ReportgenError(
            f'{path}: "importances" must be a non-empty list of records or an object of '
            "feature: importance"
        )
    if frame.empty:
        raise ReportgenError(f'{path}: "importances" is empty; give one entry per feature')
    return frame, str(method or "").strip()
