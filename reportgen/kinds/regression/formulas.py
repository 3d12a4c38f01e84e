"""Regression metrics as pure functions of per-example sums (so the bootstrap and slices reuse
them), plus the two order statistics that are not sums.

With e = y − ŷ over n examples:

- MAE = Σ|e| / n; RMSE = √(Σe² / n); MAPE = Σ(|e| / |y|) / n, a fraction as scikit-learn
  returns it, undefined when a label is 0;
- R² = 1 − Σe² / Σ(y − ȳ)²; explained variance = 1 − Var(e) / Var(y);
- median absolute error = median |e|; max error = max |e|.

Sums of squares are taken around the full run's means, so resampled sums stay exact in
floating point even when y has a large offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METRICS = (
    "mae",
    "rmse",
    "mape",
    "r2",
    "explained_variance",
    "median_absolute_error",
    "max_error",
)
HEADLINE = ("mae", "rmse", "r2")
COMPARED = ("mae", "rmse", "r2", "mape")


def example_columns(y: np.ndarray, y_hat: np.ndarray) -> dict[str, np.ndarray]:
    """Per-example terms whose sums give every sum-based metric."""
    error = y - y_hat
    y_centred = y - y.mean()
    error_centred = error - error.mean()
    columns = {
        "abs_error": np.abs(error),
        "squared_error": error * error,
        "y_centred": y_centred,
        "y_centred_sq": y_centred * y_centred,
        "error_centred": error_centred,
        "error_centred_sq": error_centred * error_centred,
    }
    if not np.any(y == 0):
        columns["ape"] = np.abs(error) / np.abs(y)
    return columns


def _variance(total: Any, total_sq: Any, n: Any) -> Any:
    """Σ(x − x̄)² / n from Σx and Σx² of shifted values (shift-invariant)."""
    return np.divide(total_sq, n) - np.square(np.divide(total, n))


def metrics_from_sums(sums: dict[str, Any], n: Any) -> dict[str, Any]:
    """MAE, RMSE, MAPE (when defined), R² and explained variance from column sums; each value
    is a scalar or an array (one per replicate or slice) like the sums."""
    var_y = _variance(sums["y_centred"], sums["y_centred_sq"], n)
    var_e = _variance(sums["error_centred"], sums["error_centred_sq"], n)
    mse = np.divide(sums["squared_error"], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        found: dict[str, Any] = {
            "mae": np.divide(sums["abs_error"], n),
            "rmse": np.sqrt(mse),
            "r2": np.where(var_y > 0, 1.0 - mse / np.where(var_y > 0, var_y, 1.0), np.nan),
            "explained_variance": np.where(
                var_y > 0, 1.0 - var_e / np.where(var_y > 0, var_y, 1.0), np.nan
            ),
        }
    if "ape" in sums:
        found["mape"] = np.divide(sums["ape"], n)
    return {k: v if np.ndim(v) else float(v) for k, v in found.items()}


def order_metrics(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    error = np.abs(y - y_hat)
    return {"median_absolute_error": float(np.median(error)), "max_error": float(error.max())}


def median_interval(values: np.ndarray, level: float = 0.95) -> list[float] | None:
    """Distribution-free interval for a median: the order statistics j and k with
    P(j ≤ Binomial(n, ½) < k) ≥ level (Hahn & Meeker, Statistical Intervals, §5.2)."""
    n = len(values)
    if n < 6:
        return None
    alpha = 1.0 - level
    # the r-th smallest (1-based) with P(Binomial(n, ½) ≤ r − 1) ≤ α/2, and its mirror
    from scipy import stats as scipy_stats  # 1.4 s to import: only when a median needs it

    r = int(scipy_stats.binom.ppf(alpha / 2, n, 0.5))
    j, k = max(r - 1, 0), n - max(r, 1)
    ordered = np.partition(values, (j, k))
    return [float(ordered[j]), float(ordered[k])]


def metric_notes(y: np.ndarray) -> dict[str, str]:
    notes = {}
    zeros = int(np.count_nonzero(y == 0))
    if zeros:
        notes["mape"] = (
            f"undefined: {zeros:,} label{'s are' if zeros > 1 else ' is'} 0, and the "
            "percentage error of a 0 target is infinite"
        )
    if np.all(y == y[0]):
        notes["r2"] = notes["explained_variance"] = "undefined: every label has the same value"
    return notes
