"""Pairing a candidate classification run with the baseline: by id (labels must agree), by row
when both runs hold the same labels in the same order, else unpaired."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.runs import class_name
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.stats.pairing import Pairing, _comparable_ids


def pair_runs(baseline: EncodedRun, candidate: EncodedRun, unpaired: bool = False) -> Pairing:
    """How ``candidate`` lines up with ``baseline``; raises when ids disagree."""
    names = f"runs {baseline.name!r} and {candidate.name!r}"
    if unpaired:
        return Pairing("unpaired", None, None, "Unpaired comparison (--unpaired).")
    base_ids, cand_ids = baseline.run.ids, candidate.run.ids
    if base_ids is not None and cand_ids is not None:
        base_ids, cand_ids = _comparable_ids(base_ids, cand_ids)
        position = pd.Index(base_ids).get_indexer(cand_ids)
        matched = position >= 0
        if not matched.any():
            raise ReportgenError(
                f"{names} share no example ids; compare runs on the same examples, "
                "or pass --unpaired"
            )
        candidate_rows = np.flatnonzero(matched)
        baseline_rows = position[matched]
        disagree = baseline.y_true[baseline_rows] != candidate.y_true[candidate_rows]
        if disagree.any():
            first = int(np.argmax(disagree))
            example = class_name(cand_ids[candidate_rows[first]])
            raise ReportgenError(
                f"{names} disagree on the label of id {example} ({int(disagree.sum())} ids in "
                "all); fix the labels, or pass --unpaired"
            )
        order = np.argsort(baseline_rows, kind="stable")  # baseline order: deterministic
        n = len(order)
        note = f"Paired by id: {n:,} examples matched"
        if n < baseline.run.n_examples or n < candidate.run.n_examples:
            note += (
                f" ({baseline.run.n_examples:,} in {baseline.name}, "
                f"{candidate.run.n_examples:,} in {candidate.name})"
            )
        return Pairing("id", baseline_rows[order], candidate_rows[order], note + ".")
    if len(baseline.y_true) == len(candidate.y_true) and np.array_equal(
        baseline.y_true, candidate.y_true
    ):
        rows = np.arange(len(baseline.y_true))
        return Pairing(
            "row",
            rows,
            rows.copy(),
            f"Paired by row: no id column, but the runs hold the same "
            f"{len(rows):,} labels in the same order.",
        )
    return Pairing(
        "unpaired",
        None,
        None,
        "Unpaired: no shared id column and the labels differ row by row, so "
        "unpaired tests are used.",
    )
