"""The attention part of the demo report "Why and how robust": a small, clearly synthetic
sentiment task (reviews of made-up gadgets from templates and a seeded generator), two
bag-of-words logistic regressions from scikit-learn, and attention maps of a toy two-layer,
two-head attention made in code for each model. Nothing is downloaded; no transformer runs.

The toy attention is written down, not learned: in every layer, head 1 attends to the tokens
the model's coefficients weigh most (``softmax(beta_l * |coef|)`` over the keys, sharper in
layer 2) and head 2 to the previous token. So the maps differ between the two models where
their coefficients do, and the heads differ visibly: what the selectors are for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

POSITIVE = ("great", "lovely", "sturdy", "fast", "bright", "quiet")
NEGATIVE = ("awful", "flimsy", "slow", "noisy", "dim", "clunky")
FILLERS = ("really", "quite", "but", "and", "so")
GADGETS = ("zorbulator", "blinkmatic", "quibbler", "fizzpod")
N_REVIEWS = 300
N_TRAIN = 180
BETAS = (1.5, 4.0)  # how sharply head 1 of each layer picks the weighty tokens


def reviews(seed: int = 1) -> pd.DataFrame:
    """Synthetic reviews: a gadget, then two to four opinion words with fillers, mostly of
    the review's sentiment and sometimes one of the other."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(N_REVIEWS):
        positive = bool(rng.random() < 0.5)
        own, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
        words = ["the", str(rng.choice(GADGETS)), "was"]
        for _ in range(int(rng.integers(2, 5))):
            pool = other if rng.random() < 0.3 else own
            words += [str(rng.choice(FILLERS)), str(rng.choice(pool))]
        label = "pos" if positive else "neg"
        rows.append({"id": f"a{i:03d}", "text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    found = np.exp(shifted)
    return found / found.sum(axis=-1, keepdims=True)


def toy_attention(weight: np.ndarray) -> np.ndarray:
    """2 layers x 2 heads x n x n from each token's |coefficient| (``weight``, length n)."""
    n = len(weight)
    position = np.arange(n)
    previous = -3.0 * np.abs(position[:, None] - 1 - position[None, :])  # query i -> key i-1
    layers = []
    for beta in BETAS:
        weighty = softmax(np.broadcast_to(beta * weight, (n, n)))
        layers.append(np.stack([weighty, softmax(previous)]))
    return np.stack(layers)


def write_files(directory: Path) -> tuple[list[str], dict[str, object]]:
    """Write two classification runs and a folder of attention maps for each under
    ``directory``; return the run arguments and the ``build_report`` options that show them."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    directory.mkdir(parents=True, exist_ok=True)
    data = reviews()
    train, test = data.iloc[:N_TRAIN], data.iloc[N_TRAIN:].reset_index(drop=True)
    vectorizer = CountVectorizer(token_pattern=r"(?u)\b\w+\b").fit(data["text"])
    x_train, x_test = vectorizer.transform(train["text"]), vectorizer.transform(test["text"])
    runs, folders = [], []
    # v1 sees 40 reviews and is strongly regularised; v2 sees all of the training set
    for name, rows, c in (("v1", slice(0, 40), 0.2), ("v2", slice(0, N_TRAIN), 3.0)):
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train[rows], train["label"][rows])
        positive = list(model.classes_).index("pos")
        score = model.predict_proba(x_test)[:, positive]
        frame = test.assign(prediction=model.predict(x_test), score=np.round(score, 6))
        run = directory / f"{name}.csv"
        frame[["id", "text", "label", "prediction", "score"]].to_csv(run, index=False)
        weights = np.abs(model.coef_[0])
        folder = directory / f"{name}-attention"
        folder.mkdir(exist_ok=True)
        for ident, text in zip(test["id"], test["text"], strict=True):
            tokens = text.split(" ")
            weight = weights[[vectorizer.vocabulary_[t] for t in tokens]]
            np.savez_compressed(
                folder / f"{ident}.npz",
                tokens=np.array(tokens, dtype=str),
                attention=np.round(toy_attention(weight), 5).astype(np.float32),
            )
        runs.append(f"{name}={run}")
        folders.append(f"{name}={folder}")
    return runs, {"attention": folders}


def write_from_attributions(directory: Path, attributions: Sequence[str]) -> dict[str, object]:
    """Attention folders for runs that already have token attributions (``NAME=PATH`` of
    JSON Lines with ``id``, ``tokens`` and ``attributions``, as the token-attribution demo
    part writes them): the same toy attention, with each token's |attribution| as its weight,
    so one report can show both views of the same models. Returns the ``attention`` option."""
    folders = []
    for item in attributions:
        name, _, path = item.partition("=")
        folder = directory / f"{name}-attention"
        folder.mkdir(parents=True, exist_ok=True)
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            example = json.loads(line)
            weight = np.abs(np.asarray(example["attributions"], dtype=np.float64))
            np.savez_compressed(
                folder / f"{example['id']}.npz",
                tokens=np.array(example["tokens"], dtype=str),
                attention=np.round(toy_attention(weight), 5).astype(np.float32),
            )
        folders.append(f"{name}={folder}")
    return {"attention": folders}
