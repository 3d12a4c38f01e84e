"""Cutting a metadata column into slices: quantile bins for numeric columns with many
values, the values themselves otherwise, and the names of what is missing or pooled."""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING = "(missing)"
OTHER = "(other)"


def labeller(values: pd.Series, bins: int) -> tuple[np.ndarray | None, list[str] | None]:
    """Quantile edges for a numeric column with many values; else None (categorical)."""
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )
    if not numeric or values.nunique(dropna=True) <= bins:
        return None, None
    finite = values.dropna().to_numpy(dtype=np.float64)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
    labels = [
        f"[{edges[i]:.3g}, {edges[i + 1]:.3g}{']' if i == len(edges) - 2 else ')'}"
        for i in range(len(edges) - 1)
    ]
    return edges, labels
