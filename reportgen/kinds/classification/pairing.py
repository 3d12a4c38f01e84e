"""Pairing a candidate classification run with the baseline: by id (labels must agree), by row
when both runs hold the same labels in the same order, else unpaired."""

from __future__ import annotations

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.ingest.runs import class_name
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.stats.pairing import Pairing, _comparable_ids, id_note, match_ids


def pair_runs(baseline: EncodedRun, candidate: EncodedRun, unpaired: bool = False) -> Pairing:
    """How ``candidate`` lines up with ``baseline``; raises when ids disagree."""
    base_name, cand_name = baseline.run.shown_name, candidate.run.shown_name  # v2#1, v2#2
    names = f"runs {base_name!r} and {cand_name!r}"
    if unpaired:
        return Pairing("unpaired", None, None, "Unpaired comparison (--unpaired).")
    base_ids, cand_ids = baseline.run.ids, candidate.run.ids
    if base_ids is not None and cand_ids is not None:
        baseline_rows, candidate_rows = match_ids(base_ids, cand_ids)
        if len(baseline_rows) == 0:
            raise ReportgenError(
                f"{names} share no example ids; compare runs on the same examples, "
                "or pass --unpaired"
            )
        disagree = baseline.y_true[baseline_rows] != candidate.y_true[candidate_rows]
        if disagree.any():
            first = int(candidate_rows[disagree].min())  # the first in the candidate's file
            example = class_name(_comparable_ids(base_ids, cand_ids)[1][first])
            at = int(np.flatnonzero(candidate_rows == first)[0])
            said = (
                f"{base_name!r} says {baseline.classes[baseline.y_true[baseline_rows[at]]]!r}"
                f", {cand_name!r} says {candidate.classes[candidate.y_true[first]]!r}"
            )
            fix = (
                "repeats of one model must hold the same labels; fix the labels"
                if baseline.name == candidate.name
                else "fix the labels, or pass --unpaired"
            )
            raise ReportgenError(
                f"{names} disagree on the label of id {example} ({said}; "
                f"{int(disagree.sum())} ids in all); {fix}"
            )
        note = id_note(
            len(baseline_rows),
            baseline.name,
            baseline.run.n_examples,
            candidate.name,
            candidate.run.n_examples,
        )
        return Pairing("id", baseline_rows, candidate_rows, note)
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
