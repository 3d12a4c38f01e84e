"""Match a candidate run's examples to the baseline's, so comparisons can be paired.

By ``id`` when both runs have one; else by row when both runs have the same length and the
same labels in the same order; else not at all (unpaired methods, said on the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Pairing:
    """Row indices of matched examples: ``baseline_rows[i]`` goes with ``candidate_rows[i]``."""

    mode: Literal["id", "row", "unpaired"]
    baseline_rows: np.ndarray | None
    candidate_rows: np.ndarray | None
    note: str
    joined: int | None = None  # examples paired inside an engine (no row indices here)

    @property
    def n_paired(self) -> int:
        if self.joined is not None:
            return self.joined
        return 0 if self.baseline_rows is None else len(self.baseline_rows)

    @property
    def paired(self) -> bool:
        return self.mode != "unpaired"


def _comparable_ids(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids as written may differ in type between formats (7 in CSV, "7" in JSON)."""
    if a.dtype.kind == b.dtype.kind or (a.dtype.kind in "iuf" and b.dtype.kind in "iuf"):
        return a, b
    return _id_strings(a), _id_strings(b)


def _id_strings(ids: np.ndarray) -> np.ndarray:
    """Ids as text, vectorised; integral floats lose their ``.0`` as class names do."""
    if ids.dtype.kind == "f" and np.all(np.isfinite(ids)) and np.all(ids == np.round(ids)):
        ids = ids.astype(np.int64)
    return ids.astype(str)
