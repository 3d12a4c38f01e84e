"""Cutting a metadata column into slices: quantile bins for numeric columns with many
values, the values themselves otherwise (an integer column of at most ``MAX_LEVELS`` values,
folds or months, included), and the names of what is missing or pooled."""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING = "(missing)"
OTHER = "(other)"
MAX_LEVELS = 12  # an integer column with at most this many values is categorical (folds 1-5)


def labeller(values: pd.Series, bins: int) -> tuple[np.ndarray | None, list[str] | None]:
    """Quantile edges for a numeric column with many values; else None (categorical): a
    column of at most ``bins`` values, or of whole numbers with at most ``MAX_LEVELS``."""
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )
    distinct = values.nunique(dropna=True) if numeric else 0
    if not numeric or distinct <= bins:
        return None, None
    finite = values.dropna().to_numpy(dtype=np.float64)
    if distinct <= MAX_LEVELS and np.array_equal(finite, np.round(finite)):
        return None, None
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
    labels = [
        f"[{edges[i]:.3g}, {edges[i + 1]:.3g}{']' if i == len(edges) - 2 else ')'}"
        for i in range(len(edges) - 1)
    ]
    return edges, labels


def value_order(value: str) -> tuple[int, float, str]:
    """Slice values in reading order: numbers by value (month 2 before month 10), then text."""
    try:
        number = float(value)
    except ValueError:
        return (1, 0.0, value)
    return (0, number, value) if np.isfinite(number) else (1, 0.0, value)
