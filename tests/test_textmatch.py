"""Exact match and token F1 against the official SQuAD v1.1 evaluation script's functions."""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np
import pytest

from reportgen.kinds.textmatch import exact_match, normalize_answer, score_answers, token_f1


# The oracle: the official SQuAD v1.1 script (evaluate-v1.1.py), as published.
def squad_normalize_answer(s: str) -> str:
    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1_score(prediction: str, ground_truth: str) -> float:
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


CASES = [
    ("The Eiffel Tower", "eiffel tower"),
    ("Paris.", "paris"),
    ("  an   apple, a pear & the plum!", "apple pear plum"),
    ("The capital of France is Paris.", "Paris"),
    ("Theatre", "the atre"),  # 'the' inside a word stays
    ("Denver Broncos", "Broncos Denver"),  # same bag of tokens, not the same string
    ("1,000 km", "1000 km"),
    ("l'été", "lété"),
    ("Brasília", "Brasilia"),  # accents are not folded by SQuAD
    ("the the the", "the"),
    ("cat cat dog", "cat dog dog"),
    ("Saint-Étienne", "saint étienne"),
]


@pytest.mark.parametrize(("prediction", "reference"), CASES)
def test_matches_the_official_squad_functions(prediction: str, reference: str) -> None:
    assert normalize_answer(prediction) == squad_normalize_answer(prediction)
    assert exact_match(prediction, reference) == float(
        squad_normalize_answer(prediction) == squad_normalize_answer(reference)
    )
    if squad_normalize_answer(prediction) and squad_normalize_answer(reference):
        assert token_f1(prediction, reference) == pytest.approx(
            squad_f1_score(prediction, reference), abs=1e-15
        )


def test_hand_computed_f1() -> None:
    # pred {cat, sat}, gold {cat, sat, on, mat}: P = 1, R = 1/2, F1 = 2/3
    assert token_f1("the cat sat", "a cat sat on the mat") == pytest.approx(2 / 3)
    # repeated tokens count up to their multiplicity: common {cat: 1, dog: 1}
    assert token_f1("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)
    assert token_f1("Denver Broncos", "Broncos Denver") == 1.0
    assert exact_match("Denver Broncos", "Broncos Denver") == 0.0


def test_empty_answers_follow_squad_2() -> None:
    # SQuAD 1.1 scores two empty answers 0; SQuAD 2.0 (no-answer questions) scores them 1
    assert token_f1("", "") == 1.0 and token_f1("the", "a") == 1.0
    assert token_f1("", "Paris") == 0.0 and token_f1("Paris", "") == 0.0


def test_best_over_acceptable_answers() -> None:
    scores = score_answers(
        ["Paris", "It is Lyon", "new york city"],
        [["Paris, France", "Paris"], ["Marseille"], ["New York", "NYC"]],
    )
    np.testing.assert_array_equal(scores["exact_match"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(scores["token_f1"], [1.0, 0.0, 2 * (2 / 3) * 1 / (2 / 3 + 1)])


def test_numbers_compare_as_numbers() -> None:
    """Issue 34: '12.00' equals '12' and '-8' is not '8'. Before, '12.00' normalised to
    '1200' (no match) and '-8' to '8' (a match): SQuAD's punctuation rule drops '.' and '-'."""
    assert exact_match("12.00", "12") == 1.0
    assert exact_match(" 1.2e1", "12") == 1.0
    assert exact_match("-8", "8") == 0.0
    assert token_f1("-8", "8") == 0.0
    assert exact_match("The answer is 8.", "the answer is 8") == 1.0  # text: SQuAD as before
    found = score_answers(["12.00", "-8", "0.50"], [["12"], ["8"], [".5", "half"]])
    assert found["exact_match"].tolist() == [1.0, 0.0, 1.0]
