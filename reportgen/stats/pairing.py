"""Match a candidate run's examples to the baseline's, so comparisons can be paired.

By ``id`` when both runs have one; else by row when both runs have the same length and the
same labels in the same order; else not at all (unpaired methods, said on the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


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

    def baseline_row_of(self, n_candidate: int) -> np.ndarray:
        """For each of the candidate's ``n_candidate`` rows, the baseline row paired with it,
        or -1 (unpaired; all -1 without row indices)."""
        found = np.full(n_candidate, -1, dtype=np.int64)
        if self.candidate_rows is not None and self.baseline_rows is not None:
            found[self.candidate_rows] = self.baseline_rows
        return found


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


def match_ids(base_ids: np.ndarray, cand_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ids both runs hold, (baseline rows, candidate rows), in the baseline's row
    order so that pairing is deterministic; empty when no id matches."""
    a, b = _comparable_ids(base_ids, cand_ids)
    position = pd.Index(a).get_indexer(b)
    matched = position >= 0
    cand_rows = np.flatnonzero(matched)
    base_rows = position[matched]
    order = np.argsort(base_rows, kind="stable")
    return base_rows[order], cand_rows[order]


def id_note(n: int, base_name: str, n_base: int, cand_name: str, n_cand: int) -> str:
    """How many examples pairing by id matched, with both runs' sizes when some did not."""
    note = f"Paired by id: {n:,} examples matched"
    if n < n_base or n < n_cand:
        note += f" ({n_base:,} in {base_name}, {n_cand:,} in {cand_name})"
    return note + "."


def id_order(ids: np.ndarray | None) -> slice | np.ndarray:
    """Rows in the order of their ids (as text), so that resampling does not depend on the
    order of the file's rows; all rows as they are when there are no ids."""
    if ids is None:
        return slice(None)
    return np.argsort(_id_strings(np.asarray(ids)), kind="stable")
