"""Exact match and token F1 of generated answers, with SQuAD's answer normalisation.

Rajpurkar et al. (2016), the official SQuAD evaluation script: lower-case, drop punctuation,
drop the articles a/an/the, collapse white space. A prediction is scored against every
acceptable answer and keeps its best score.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall over the normalised answers' bag of tokens,
    F1 = 2PR / (P + R); when either answer is empty, 1 if both are, else 0 (SQuAD 2.0)."""
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(reference).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def score_answers(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, np.ndarray]:
    """Per-example exact match and token F1, each the best over the acceptable answers."""
    em = np.fromiter(
        (
            max(exact_match(p, r) for r in refs)
            for p, refs in zip(predictions, references, strict=True)
        ),
        dtype=np.float64,
        count=len(predictions),
    )
    f1 = np.fromiter(
        (
            max(token_f1(p, r) for r in refs)
            for p, refs in zip(predictions, references, strict=True)
        ),
        dtype=np.float64,
        count=len(predictions),
    )
    return {"exact_match": em, "token_f1": f1}
