"""Decision-boundary grids: a model's response on a regular 2-D grid over two features
(``--boundary NAME=PATH``), read and checked with the file, line and column in every message.

A grid file has columns ``x0`` and ``x1`` (the two features' values, every pair once), then
``score`` (binary: the positive-class score), or ``prob_<class>`` columns and/or a
``prediction`` column (multiclass). A ``<file>.meta.json`` sidecar may name the features
(``"features": ["alcohol", "proline"]``) and the values the other features were held at
(``"held": {"ash": 2.37}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun
from reportgen.ingest.files import _read_frame, detect_format
from reportgen.ingest.folders import check_regular_file
from reportgen.ingest.runs import _row_location, class_name, locate

MAX_AXIS = 5_000  # distinct values per axis; 5,000 x 5,000 rows is already 25 million
PROB = re.compile(r"^prob_(.+)$", re.IGNORECASE)
HINT = "write columns x0, x1 (a regular grid, every pair once), then score or prob_<class>"


@dataclass
class Grid:
    """One model's response on a regular grid: arrays of shape (len(ys), len(xs))."""

    name: str
    path: Path
    xs: np.ndarray  # increasing, evenly spaced values of the first feature
    ys: np.ndarray  # of the second
    score: np.ndarray | None = None  # binary: the positive-class score at each node
    probs: dict[str, np.ndarray] = field(default_factory=dict)  # class -> probability
    prediction: np.ndarray | None = None  # multiclass: class names (object) at each node
    features: tuple[str, str] | None = None  # from the sidecar's "features"
    held: dict[str, Any] = field(default_factory=dict)  # the other features' values

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.xs), len(self.ys)

    def classes_at(
        self, classes: tuple[str, ...], positive: int | None, threshold: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each node's class (a code into ``classes``) and its confidence: binary, the side of
        ``threshold`` the score falls on (confidence: the score of the class chosen); else
        the ``prediction`` column, or the most probable class (confidence: its probability;
        1 when the file gives only predictions)."""
        if self.score is not None:
            if positive is None or len(classes) != 2:
                raise ReportgenError(
                    f"{self.path}: a 'score' grid is for binary runs; {self.name!r} is a "
                    f"multiclass run: give prob_<class> or prediction columns"
                )
            above = self.score >= threshold
            codes = np.where(above, positive, 1 - positive)
            return codes, np.where(above, self.score, 1.0 - self.score)
        code_of = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(self.probs) - set(code_of))
        if self.prediction is not None:
            unknown += sorted(set(np.unique(self.prediction).tolist()) - set(code_of))
        if unknown:
            raise ReportgenError(
                f"{self.path}: class {unknown[0]!r} is not a class of run {self.name!r} "
                f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''}); "
                "name the classes as the run file does"
            )
        if self.probs:
            names = list(self.probs)
            stack = np.stack([self.probs[c] for c in names])
            best = np.argmax(stack, axis=0)
            confidence = np.max(stack, axis=0)
            codes = np.array([code_of[c] for c in names])[best]
        if self.prediction is not None:
            lookup = np.vectorize(code_of.__getitem__, otypes=[np.int64])
            codes = lookup(self.prediction)
            if not self.probs:
                confidence = np.ones(codes.shape)
        return codes, confidence


def load_grid(path: Path, name: str) -> Grid:
    """A grid file, checked: two numeric axes forming a regular grid, every pair once, and a
    finite response at every node."""
    check_regular_file(path, "decision-boundary grid")
    data_path, _, metadata = locate(path)
    fmt = detect_format(data_path)
    frame = _read_frame(data_path, fmt)
    frame.columns = [str(c) for c in frame.columns]
    by_lower = {c.lower(): c for c in frame.columns}
    missing = [c for c in ("x0", "x1") if c not in by_lower]
    if missing:
        raise ReportgenError(
            f"{data_path}: decision-boundary grid has no {missing[0]!r} column; {HINT}"
        )
    if frame.empty:
        raise ReportgenError(f"{data_path}: decision-boundary grid has no rows; {HINT}")
    x0 = _numbers(frame, by_lower["x0"], data_path, fmt)
    x1 = _numbers(frame, by_lower["x1"], data_path, fmt)
    xs, i = _axis(x0, by_lower["x0"], data_path)
    ys, j = _axis(x1, by_lower["x1"], data_path)
    flat = j * len(xs) + i
    seen = np.zeros(len(xs) * len(ys), dtype=np.int64)
    np.add.at(seen, flat, 1)
    if (seen > 1).any():
        first = int(np.flatnonzero(seen > 1)[0])
        rows = np.flatnonzero(flat == first)
        raise ReportgenError(
            f"{data_path}: the grid point x0={x0[rows[1]]:g}, x1={x1[rows[1]]:g} at "
            f"{_row_location(fmt, int(rows[1]))} was given before at "
            f"{_row_location(fmt, int(rows[0]))}; write every (x0, x1) pair once"
        )
    if (seen == 0).any():
        gap = int(np.flatnonzero(seen == 0)[0])
        raise ReportgenError(
            f"{data_path}: the grid is {len(xs)} x {len(ys)} but has {len(frame):,} rows: "
            f"x0={xs[gap % len(xs)]:g}, x1={ys[gap // len(xs)]:g} is missing; "
            "write every pair of a regular grid (e.g. numpy.meshgrid)"
        )
    order = np.argsort(flat, kind="stable")

    def node_values(column: str) -> np.ndarray:
        values = _numbers(frame, column, data_path, fmt)
        return values[order].reshape(len(ys), len(xs))

    grid = Grid(name=name, path=data_path, xs=xs, ys=ys, held=_held(metadata, data_path))
    grid.features = _metadata_features(metadata, data_path)
    if "score" in by_lower:
        grid.score = node_values(by_lower["score"])
    for column in frame.columns:
        match = PROB.match(column)
        if match:
            grid.probs[class_name(match.group(1))] = node_values(column)
    if "prediction" in by_lower:
        column = by_lower["prediction"]
        if frame[column].isna().any():
            row = int(np.argmax(frame[column].isna().to_numpy()))
            raise ReportgenError(
                f"{data_path}: column {column!r} has no class at {_row_location(fmt, row)}; "
                "give a class at every grid point"
            )
        names = np.array([class_name(v) for v in frame[column].tolist()], dtype=object)
        grid.prediction = names[order].reshape(len(ys), len(xs))
    if grid.score is None and not grid.probs and grid.prediction is None:
        raise ReportgenError(
            f"{data_path}: decision-boundary grid has no response column; add 'score' "
            "(binary), or prob_<class> or 'prediction' columns (multiclass)"
        )
    if grid.score is not None and (grid.probs or grid.prediction is not None):
        raise ReportgenError(
            f"{data_path}: give either 'score' (binary) or prob_<class>/prediction columns "
            "(multiclass), not both"
        )
    return grid


def _numbers(
    frame: pd.DataFrame,
    column: Any,
    path: Path,
    fmt: str,
    advice: str = "give a number at every grid point",
) -> np.ndarray:
    """A column's values, every one a finite number, else an error naming the first row."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise ReportgenError(
            f"{path}: column {str(column)!r} holds {frame[column].iloc[row]!r} at "
            f"{_row_location(fmt, row)}, not a finite number; {advice}"
        )
    return values


def feature_values(run: ExampleRun, feature: str) -> np.ndarray | None:
    """A run's values of a grid feature (a column of its other columns), checked as the
    grid's own axes are; None when the run has no such column."""
    column = next((c for c in run.extra.columns if str(c) == feature), None)
    if column is None:
        return None
    return _numbers(
        run.extra,
        column,
        run.path,
        run.format,
        "the decision-boundary view places each example by this feature",
    )


def _axis(values: np.ndarray, column: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An axis's distinct values (checked: at least 2, evenly spaced) and each row's index."""
    axis, index = np.unique(values, return_inverse=True)
    if len(axis) < 2:
        raise ReportgenError(
            f"{path}: column {column!r} has a single value; a grid needs at least 2 per axis"
        )
    if len(axis) > MAX_AXIS:
        raise ReportgenError(
            f"{path}: column {column!r} has {len(axis):,} distinct values; give at most "
            f"{MAX_AXIS:,} per axis (the page shows at most 100)"
        )
    steps = np.diff(axis)
    if not np.allclose(steps, steps[0], rtol=1e-4, atol=1e-9 * float(axis[-1] - axis[0])):
        at = int(np.argmax(np.abs(steps - steps[0])))
        raise ReportgenError(
            f"{path}: column {column!r} is not evenly spaced ({axis[at]:g} to {axis[at + 1]:g} "
            f"is a step of {steps[at]:g}, the first is {steps[0]:g}); write a regular grid, "
            "e.g. numpy.linspace"
        )
    return axis, index.reshape(-1)


def _metadata_features(metadata: dict[str, Any], path: Path) -> tuple[str, str] | None:
    found = metadata.get("features")
    if found is None:
        return None
    if (
        not isinstance(found, list)
        or len(found) != 2
        or not all(isinstance(f, str) and f for f in found)
    ):
        raise ReportgenError(
            f"{path}.meta.json: 'features' must be a list of the two feature names, "
            'e.g. "features": ["alcohol", "proline"]'
        )
    return found[0], found[1]


def _held(metadata: dict[str, Any], path: Path) -> dict[str, Any]:
    held = metadata.get("held", {})
    if not isinstance(held, dict):
        raise ReportgenError(
            f"{path}.meta.json: 'held' must map each other feature to the value it was held "
            'at, e.g. "held": {"ash": 2.37}'
        )
    return held
