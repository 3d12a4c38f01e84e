"""Per-example contributions (SHAP values, or a linear model's coefficient × centred value)
carried by a run as ``shap_<feature>`` columns, with an optional ``shap_base`` (or
``base_value``) column: their beeswarm sample and the additivity check.

Additivity (SHAP's local accuracy): base + Σ_j φ_ij = f(x_i), the model's output for example
i in the space the contributions were computed in. The output is a ``model_output`` (or
``margin``, ``logit``, ``raw_output``) column when the run has one, a regression run's
prediction, else a binary run's score, compared both as it is and as log-odds
(log(s / (1 − s))); the space that fits better is stated. The check reports the largest and
the mean absolute gap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun
from reportgen.ingest.runs import Run, _row_location
from reportgen.ingest.tabular import RegressionRun
from reportgen.ingest.vectors import sample_rows

CONTRIBUTION = re.compile(r"^shap_(.+)$", re.IGNORECASE)
BASE_COLUMNS = ("shap_base", "base_value", "expected_value")
OUTPUT_COLUMNS = ("model_output", "margin", "logit", "raw_output")
MAX_CONTRIBUTION_FEATURES = 10_000  # shap_ columns of one run
SWARM_BINS = 60  # bins along a feature's row in which points are stacked
SWARM_HALF = 0.42  # a row's points spread at most this far from its centre (1 = next row)
# scores of exactly 0 or 1 have no finite log-odds: they are taken as the nearest floats inside
LOGIT_LOW, LOGIT_HIGH = np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0)


@dataclass
class Contributions:
    """One run's per-example contributions."""

    model: str
    path: Path  # the run file
    features: list[str]
    values: np.ndarray  # (n, f) float64, finite
    base: np.ndarray | None  # (n,) per-example base value, when the run gives it
    outputs: dict[str, np.ndarray]  # candidate spaces for the output (name -> values)
    feature_values: dict[str, np.ndarray]  # feature -> its numeric value, when the run has it
    ids: np.ndarray  # example ids (1-based row numbers when the run has none)


@dataclass
class Additivity:
    """How far base + Σ contributions lies from the model's output."""

    model: str
    space: str  # what the output was: "model_output", "prediction", "score", "log-odds", ...
    n: int
    max_gap: float | None  # None: no output to check against
    mean_gap: float | None
    worst_id: str | None
    base_estimated: bool  # no base column: the base is the mean of output − Σ contributions


def find_contributions(run: ExampleRun) -> Contributions | None:
    """The run's ``shap_<feature>`` columns, checked (finite), or None when it has none."""
    extra = run.extra
    names = [str(c) for c in extra.columns]
    lower = {n.lower(): n for n in names}
    base_col = next((lower[c] for c in BASE_COLUMNS if c in lower), None)
    found = [(n, m.group(1)) for n in names if (m := CONTRIBUTION.match(n)) and n != base_col]
    if not found:
        return None
    if len(found) > MAX_CONTRIBUTION_FEATURES:
        raise ReportgenError(
            f"{run.path}: {len(found):,} shap_ columns; a run carries contributions of at most "
            f"{MAX_CONTRIBUTION_FEATURES:,} features"
        )
    values = np.column_stack([_finite(run, extra, column) for column, _ in found])
    base = _finite(run, extra, base_col) if base_col is not None else None
    outputs: dict[str, np.ndarray] = {}
    out_col = next((lower[c] for c in OUTPUT_COLUMNS if c in lower), None)
    if out_col is not None:
        outputs[out_col] = _finite(run, extra, out_col)
    elif isinstance(run, RegressionRun):
        outputs["prediction"] = run.predictions
    elif isinstance(run, Run) and run.score is not None:
        score = run.score
        outputs["score"] = score
        if np.all((score >= 0) & (score <= 1)):
            clipped = np.clip(score, LOGIT_LOW, LOGIT_HIGH)
            outputs["log-odds of the score"] = np.log(clipped) - np.log1p(-clipped)
    features = [feature for _, feature in found]
    feature_values = {}
    for feature in features:
        column = next((lower[k] for k in (feature.lower(),) if k in lower), None)
        if column is None:
            continue
        numeric = pd.to_numeric(extra[column], errors="coerce").to_numpy(
            np.float64, na_value=np.nan
        )
        if np.isfinite(numeric).any():
            feature_values[feature] = numeric
    ids = run.ids if run.ids is not None else np.arange(1, run.n_examples + 1)
    return Contributions(
        run.name, run.path, features, values, base, outputs, feature_values, np.asarray(ids)
    )


def _finite(run: ExampleRun, extra: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(extra[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        row = int(bad[0])
        raise ReportgenError(
            f"{run.path}: {_row_location(run.format, row)}, column {column!r}: "
            f"{str(extra[column].iloc[row])!r} is not "
            f"a finite number ({len(bad):,} rows in all); contributions, base and output values "
            "must be numbers"
        )
    return values


def additivity(found: Contributions) -> Additivity:
    """base + Σ contributions against the output, in the space that fits it best."""
    total = found.values.sum(axis=1)
    n = len(total)
    best: Additivity | None = None
    for space, output in found.outputs.items():
        base = found.base if found.base is not None else np.full(n, float(np.mean(output - total)))
        gap = np.abs(base + total - output)
        at = int(np.argmax(gap))
        candidate = Additivity(
            found.model,
            space,
            n,
            float(gap[at]),
            float(gap.mean()),
            str(found.ids[at]),
            found.base is None,
        )
        if best is None or (candidate.max_gap or 0.0) < (best.max_gap or 0.0):
            best = candidate
    if best is None:
        return Additivity(found.model, "", n, None, None, None, found.base is None)
    return best


def mean_abs(found: Contributions) -> np.ndarray:
    """Each feature's mean absolute contribution: the importance the contributions imply."""
    return np.abs(found.values).mean(axis=0)


def swarm_points(
    found: Contributions, features: Sequence[str], max_points: int, seed: int
) -> pd.DataFrame:
    """The beeswarm of ``features`` on a deterministic sample of at most ``max_points``
    examples: columns model, order (the feature's place in ``features``), value, colour (the
    feature's value scaled to [0, 1] between its 5th and 95th percentile, to one decimal;
    NaN when the run lacks the feature), offset (a point's place across its feature's row,
    stacked by bin so a wide row is a dense one)."""
    rows = sample_rows(len(found.ids), max_points, seed)
    at = {f: j for j, f in enumerate(found.features)}
    frames = []
    for order, feature in enumerate(features):
        if feature not in at:
            continue
        value = found.values[rows, at[feature]]
        colour = np.full(len(rows), np.nan)
        raw = found.feature_values.get(feature)
        if raw is not None:
            picked = raw[rows]
            finite = np.isfinite(picked)
            if finite.any():
                low, high = np.percentile(picked[finite], [5, 95])
                span = high - low if high > low else 1.0
                colour = np.round(np.clip((picked - low) / span, 0, 1), 1)
        frames.append(
            pd.DataFrame(
                {
                    "model": found.model,
                    "order": order,
                    "value": _round(value),
                    "colour": colour,
                    "offset": _offsets(value),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["model", "order", "value", "colour", "offset"])
    return pd.concat(frames, ignore_index=True)


def _round(values: np.ndarray) -> np.ndarray:
    """3 significant digits relative to the row's largest magnitude (keeps the page small)."""
    scale = float(np.max(np.abs(values), initial=0.0))
    if scale == 0:
        return values
    digits = max(0, 2 - int(np.floor(np.log10(scale))))
    return np.round(values, digits)


def _offsets(values: np.ndarray) -> np.ndarray:
    """Stacked offsets: within each of SWARM_BINS bins along the row, the i-th point goes
    alternately above and below the centre, one step further every two points; steps are
    sized so that the fullest bin spans ±SWARM_HALF."""
    if len(values) == 0:
        return np.zeros(0)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    bins = np.minimum(((values - low) / span * SWARM_BINS).astype(np.int64), SWARM_BINS - 1)
    order = np.lexsort((values, bins))
    sorted_bins = bins[order]
    starts = np.flatnonzero(np.r_[True, sorted_bins[1:] != sorted_bins[:-1]])
    lengths = np.diff(np.r_[starts, len(values)])
    within = np.arange(len(values)) - np.repeat(starts, lengths)
    step = (within + 1) // 2 * np.where(within % 2 == 1, 1, -1)
    fullest = max(int(lengths.max()) // 2, 1)
    offsets = np.empty(len(values))
    offsets[order] = step / fullest * SWARM_HALF
    return np.round(offsets, 2)
