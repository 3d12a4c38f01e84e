"""Error analysis: a bounded number of example rows, picked in one vectorised pass.

Never the whole dataset: at most ``top_k`` rows per list, whatever the run's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import probability_problem
from reportgen.stats.pairing import Pairing

TEXT_COLUMNS = ("text", "input", "prompt")


@dataclass(frozen=True)
class Example:
    row: int
    id: str
    label: str
    prediction: str
    confidence: float | None
    text: str | None


def confidence(encoded: EncodedRun) -> np.ndarray | None:
    """How sure the model is of its own prediction, per example (None without scores).

    Binary probabilities: p for a positive prediction, 1 - p for a negative one; other binary
    scores: the score's distance from the decision side. Multiclass: the predicted class's
    probability.
    """
    scores = encoded.scores
    if scores is None:
        return None
    if encoded.task == "multiclass":
        return scores[np.arange(len(encoded.y_pred)), encoded.y_pred]
    predicted_positive = encoded.y_pred == encoded.positive
    if probability_problem(encoded) is None:
        return np.where(predicted_positive, scores, 1 - scores)
    return np.where(predicted_positive, scores, -scores)


def text_column(encoded: EncodedRun, requested: str | None) -> str | None:
    extra = encoded.run.extra
    if requested is not None:
        return requested if requested in extra.columns else None
    lower = {str(c).lower(): str(c) for c in extra.columns}
    return next((lower[c] for c in TEXT_COLUMNS if c in lower), None)


def top_rows(mask: np.ndarray, score: np.ndarray | None, k: int) -> np.ndarray:
    """Up to k rows where ``mask`` holds, highest score first (row order breaks ties)."""
    rows = np.flatnonzero(mask)
    if score is None or len(rows) <= k:
        chosen = rows if score is None else rows[np.lexsort((rows, -score[rows]))]
        return chosen[:k]
    values = score[rows]
    kth = -np.partition(-values, k - 1)[k - 1]
    # all rows above the k-th score, then the earliest of those tied with it
    above = rows[values > kth]
    part = np.concatenate([above, rows[values == kth][: k - len(above)]])
    return part[np.lexsort((part, -score[part]))]


def describe(
    encoded: EncodedRun, rows: np.ndarray, conf: np.ndarray | None, text_col: str | None
) -> list[Example]:
    run = encoded.run
    texts = run.extra[text_col].to_numpy()[rows] if text_col else [None] * len(rows)
    ids = run.ids[rows] if run.ids is not None else rows + 1
    return [
        Example(
            row=int(row),
            id=str(ident),
            label=encoded.classes[encoded.y_true[row]],
            prediction=encoded.classes[encoded.y_pred[row]],
            confidence=None if conf is None else float(conf[row]),
            text=None if text is None else str(text),
        )
        for row, ident, text in zip(rows, ids, texts, strict=True)
    ]


def confident_mistakes(encoded: EncodedRun, k: int, text_col: str | None) -> list[Example]:
    """The k wrong predictions the model was most sure of."""
    conf = confidence(encoded)
    wrong = encoded.y_pred != encoded.y_true
    return describe(encoded, top_rows(wrong, conf, k), conf, text_column(encoded, text_col))


@dataclass(frozen=True)
class Agreement:
    both_right: int
    only_baseline_right: int
    only_candidate_right: int
    both_wrong: int
    newly_wrong: list[Example]  # baseline right, candidate wrong (the candidate's view)
    newly_right: list[Example]  # baseline wrong, candidate right


def agreement(
    baseline: EncodedRun, candidate: EncodedRun, pairing: Pairing, k: int, text_col: str | None
) -> Agreement | None:
    """Right/wrong agreement on paired examples, and the examples that changed."""
    if not pairing.paired or pairing.baseline_rows is None or pairing.candidate_rows is None:
        return None
    b_rows, c_rows = pairing.baseline_rows, pairing.candidate_rows
    base_right = baseline.y_pred[b_rows] == baseline.y_true[b_rows]
    cand_right = candidate.y_pred[c_rows] == candidate.y_true[c_rows]
    conf = confidence(candidate)
    paired_conf = None if conf is None else conf[c_rows]
    column = text_column(candidate, text_col)

    def pick(mask: np.ndarray) -> list[Example]:
        chosen = top_rows(mask, paired_conf, k)
        return describe(candidate, c_rows[chosen], conf, column)

    return Agreement(
        both_right=int(np.count_nonzero(base_right & cand_right)),
        only_baseline_right=int(np.count_nonzero(base_right & ~cand_right)),
        only_candidate_right=int(np.count_nonzero(~base_right & cand_right)),
        both_wrong=int(np.count_nonzero(~base_right & ~cand_right)),
        newly_wrong=pick(base_right & ~cand_right),
        newly_right=pick(~base_right & cand_right),
    )
