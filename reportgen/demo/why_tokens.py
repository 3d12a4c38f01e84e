"""The token-attribution part of the demo report "Why and how robust": a small, clearly
synthetic sentiment task (reviews of made-up gadgets, written from templates with a seeded
generator), two bag-of-words logistic regressions from scikit-learn, and each model's exact
token attributions.

For a linear model on token counts, the logit is the intercept plus one coefficient per token
occurrence, so ``attribution(token) = coefficient of the token`` adds up exactly to the logit
minus the intercept (the convergence delta is 0): the attributions a gradient method would
approximate, computed in closed form. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

POSITIVE = ("great", "lovely", "sturdy", "fast", "bright", "quiet", "handy")
NEGATIVE = ("awful", "flimsy", "slow", "noisy", "dim", "clunky", "broken")
NEUTRAL = ("the", "a", "this", "my", "it", "was", "is", "really", "quite", "but", "and", "not")
GADGETS = ("zorbulator", "blinkmatic", "quibbler", "fizzpod", "wobbletron")
N_REVIEWS = 400
TOKEN_PATTERN = r"(?u)\b\w+\b"  # every word is a token, "a" and "it" too


def reviews(seed: int = 0) -> pd.DataFrame:
    """Synthetic reviews: a gadget, two to four opinion words (mostly of the review's
    sentiment, sometimes one of the other), fillers, and "not" that flips nothing (a trap a
    bag-of-words model cannot see)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(N_REVIEWS):
        positive = bool(rng.random() < 0.5)
        own, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
        words = [str(rng.choice(NEUTRAL[:4])), str(rng.choice(GADGETS)), "was"]
        for _ in range(int(rng.integers(2, 5))):
            pool = other if rng.random() < 0.3 else own
            words += [str(rng.choice(NEUTRAL[7:])), str(rng.choice(pool))]
        rows.append(
            {"id": f"r{i:03d}", "text": " ".join(words), "label": "pos" if positive else "neg"}
        )
    return pd.DataFrame(rows)


def write_files(directory: Path) -> tuple[list[str], dict[str, object]]:
    """Write two classification runs and their token attributions under ``directory``; return
    the run arguments and the ``build_report`` options that show them."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    directory.mkdir(parents=True, exist_ok=True)
    data = reviews()
    train, test = data.iloc[:240], data.iloc[240:].reset_index(drop=True)
    vectorizer = CountVectorizer(token_pattern=TOKEN_PATTERN).fit(data["text"])
    x_train, x_test = vectorizer.transform(train["text"]), vectorizer.transform(test["text"])
    vocabulary = vectorizer.vocabulary_
    runs, files = [], []
    # v1 sees 60 reviews and is strongly regularised; v2 sees all 240
    for name, rows, c in (("v1", slice(0, 60), 0.3), ("v2", slice(0, 240), 3.0)):
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train[rows], train["label"][rows])
        positive = list(model.classes_).index("pos")
        score = model.predict_proba(x_test)[:, positive]
        frame = test.assign(prediction=model.predict(x_test), score=np.round(score, 6))
        run = directory / f"{name}.csv"
        frame[["id", "text", "label", "prediction", "score"]].to_csv(run, index=False)
        coef = model.coef_[0] * (1.0 if positive == 1 else -1.0)
        lines = []
        for ident, text in zip(test["id"], test["text"], strict=True):
            tokens = text.split(" ")
            values = [round(float(coef[vocabulary[t.lower()]]), 6) for t in tokens]
            lines.append(
                json.dumps(
                    {
                        "id": ident,
                        "tokens": tokens,
                        "attributions": values,
                        "method": "linear (coefficient per token)",
                        "target": "pos",
                        "convergence_delta": 0.0,
                    }
                )
            )
        path = directory / f"{name}-attributions.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        runs.append(f"{name}={run}")
        files.append(f"{name}={path}")
    return runs, {"attributions": files}
