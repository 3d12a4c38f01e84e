"""Exact match and token F1 of generated answers, with SQuAD's answer normalisation.

Rajpurkar et al. (2016), the official SQuAD evaluation script: lower-case, drop punctuation,
drop the articles a/an/the, collapse white space. A prediction is scored against every
acceptable answer and keeps its best score. An answer that is a plain number is compared as a
number instead (``12.00`` equals ``12``; ``-8`` does not equal ``8``, whose minus sign SQuAD's
punctuation rule would drop), as class labels are (:func:`reportgen.ingest.runs.number_text`).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

from reportgen.ingest.runs import number_text

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces; a plain
    number in its canonical form (``12.00`` -> ``12``, ``-8`` stays ``-8``)."""
    number = number_text(text)
    if number is not None:
        return number
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall over the normalised answers' bag of tokens,
    F1 = 2PR / (P + R); when either answer is empty, 1 if both are, else 0 (SQuAD 2.0)."""
    return _token_f1_normalised(normalize_answer(prediction), normalize_answer(reference))


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def _token_f1_normalised(pred: str, gold: str) -> float:
    """:func:`token_f1` on already-normalised answers."""
    pred_tokens, gold_tokens = pred.split(), gold.split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    if set(pred_tokens).isdisjoint(gold_tokens):
        return 0.0
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score_answers(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, np.ndarray]:
    """Per-example exact match and token F1, each the best over the acceptable answers.

    Each distinct text is normalised once (answers repeat across examples)."""
    cache: dict[str, str] = {}

    def norm(text: str) -> str:
        found = cache.get(text)
        if found is None:
            found = cache[text] = normalize_answer(text)
        return found

    n = len(predictions)
    em = np.zeros(n, dtype=np.float64)
    f1 = np.zeros(n, dtype=np.float64)
    for i, (prediction, answers) in enumerate(zip(predictions, references, strict=True)):
        pred = norm(prediction)
        best = 0.0
        for answer in answers:
            gold = norm(answer)
            if pred == gold:
                em[i] = best = 1.0
                break
            best = max(best, _token_f1_normalised(pred, gold))
        f1[i] = best
    return {"exact_match": em, "token_f1": f1}
