"""Built-in example: real scikit-learn models on datasets that ship with scikit-learn.

The demo writes its runs as ordinary run files (CSV, Parquet, JSON Lines, with metadata
sidecars), exactly as a user would, and builds the reports from those files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 0


@dataclass(frozen=True)
class DemoReport:
    title: str
    runs: list[str]  # NAME=PATH arguments
    html: Path
    json: Path
    about: str = ""  # what the report shows, one line for the terminal
    options: dict[str, Any] = field(default_factory=dict)  # build_report's keyword arguments


def _split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    return tuple(train_test_split(x, y, test_size=0.3, random_state=SEED, stratify=y))


def _write(frame: pd.DataFrame, path: Path, metadata: dict[str, str]) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    path.with_name(path.name + ".meta.json").write_text(
        json.dumps(metadata, indent=2) + "\n", encoding="utf-8"
    )
    return path


def _describe(model: object) -> str:
    steps = getattr(model, "steps", None)
    if steps:
        return " + ".join(type(step).__name__ for _, step in steps)
    return type(model).__name__


def write_demo_runs(directory: Path) -> list[DemoReport]:
    """Train the demo models, write their runs into ``directory``; return the reports to build."""
    import sklearn
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    directory.mkdir(parents=True, exist_ok=True)
    common = {"framework": f"scikit-learn {sklearn.__version__}", "split": "30% test, seed 0"}
    models: dict[str, Callable[[], object]] = {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "forest": lambda: RandomForestClassifier(n_estimators=100, random_state=SEED),
        "naive-bayes": lambda: GaussianNB(),
    }

    cancer = load_breast_cancer()
    x_train, x_test, y_train, y_test = _split(cancer.data, cancer.target)
    names = np.asarray(cancer.target_names)  # 0 = malignant, 1 = benign
    binary_runs = []
    for name, make in models.items():
        model = make()
        model.fit(x_train, y_train)  # type: ignore[attr-defined]
        # the positive class is the one a screening test looks for: malignant (target 0)
        proba = model.predict_proba(x_test)[:, 0]  # type: ignore[attr-defined]
        frame = pd.DataFrame(
            {
                "id": [f"case-{i:04d}" for i in range(len(y_test))],
                "label": names[y_test],
                "prediction": names[model.predict(x_test)],  # type: ignore[attr-defined]
                "score": proba,
                "tumour_size": np.where(x_test[:, 3] > np.median(x_test[:, 3]), "large", "small"),
                "text": [
                    f"mean radius {r:.1f}, texture {t:.1f}, perimeter {p:.0f}, area {a:.0f}, "
                    f"smoothness {s:.3f}"
                    for r, t, p, a, s in x_test[:, :5]
                ],
            }
        )
        suffix = ".parquet" if name == "forest" else ".csv"
        path = _write(
            frame,
            directory / f"cancer-{name}{suffix}",
            {
                **common,
                "model": _describe(model),
                "dataset": "breast cancer (Wisconsin)",
                "positive class": "malignant (score: its probability)",
            },
        )
        binary_runs.append(f"{name}={path}")

    digits = load_digits()
    x_train, x_test, y_train, y_test = _split(digits.data, digits.target)
    digit_models: dict[str, Callable[[], object]] = {
        "logistic": models["logistic"],
        "forest": models["forest"],
        "neighbours": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7)),
    }
    multiclass_runs = []
    for name, make in digit_models.items():
        model = make()
        model.fit(x_train, y_train)  # type: ignore[attr-defined]
        proba = model.predict_proba(x_test)  # type: ignore[attr-defined]
        frame = pd.DataFrame(
            {"id": np.arange(len(y_test)), "label": y_test, "prediction": proba.argmax(axis=1)}
        )
        for k in range(proba.shape[1]):
            frame[f"prob_{k}"] = proba[:, k]
        suffix = ".jsonl" if name == "neighbours" else ".parquet"
        path = _write(
            frame,
            directory / f"digits-{name}{suffix}",
            {
                **common,
                "model": _describe(model),
                "dataset": "digits (8x8 images, 10 classes)",
            },
        )
        multiclass_runs.append(f"{name}={path}")

    return [
        DemoReport(
            "Breast cancer: three classifiers (positive class: malignant)",
            binary_runs,
            directory / "report.html",
            directory / "summary.json",
            about="leaderboard, paired tests, ROC and PR curves, calibration, threshold "
            "explorer with costs (a missed malignancy costs 5 false alarms), errors",
            options={"positive_label": "malignant", "cost": "FP=1,FN=5"},
        ),
        DemoReport(
            "Handwritten digits: three classifiers",
            multiclass_runs,
            directory / "digits-report.html",
            directory / "digits-summary.json",
            about="per-class scores, confusion matrices, most frequent mistakes",
        ),
    ]


def write_kinds_demo_runs(directory: Path) -> DemoReport:
    """Regression (diabetes), multilabel (properties of digits) and classifiers with embeddings
    (digits), written as run files of each kind, for one mixed report."""
    import sklearn
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    directory.mkdir(parents=True, exist_ok=True)
    common = {"framework": f"scikit-learn {sklearn.__version__}", "split": "30% test, seed 0"}
    runs: list[str] = []

    diabetes = load_diabetes()
    x_train, x_test, y_train, y_test = train_test_split(
        diabetes.data, diabetes.target, test_size=0.3, random_state=SEED
    )
    regressors: dict[str, Callable[[], object]] = {
        "ridge": lambda: Ridge(alpha=0.1),
        "boosting": lambda: GradientBoostingRegressor(random_state=SEED),
    }
    for name, make in regressors.items():
        model = make()
        model.fit(x_train, y_train)  # type: ignore[attr-defined]
        frame = pd.DataFrame(
            {
                "id": [f"patient-{i:03d}" for i in range(len(y_test))],
                "label": y_test,
                "prediction": model.predict(x_test),  # type: ignore[attr-defined]
                "sex": np.where(x_test[:, 1] > 0, "group 2", "group 1"),
                "age": np.where(x_test[:, 0] > 0, "older", "younger"),
            }
        )
        path = _write(
            frame,
            directory / f"diabetes-{name}.csv",
            {**common, "model": _describe(model), "dataset": "diabetes progression after 1 year"},
        )
        runs.append(f"{name}={path}")

    digits = load_digits()
    x_train, x_test, y_train, y_test = _split(digits.data, digits.target)
    scaler = StandardScaler().fit(x_train)
    z_train, z_test = scaler.transform(x_train), scaler.transform(x_test)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=600, random_state=SEED)
    mlp.fit(z_train, y_train)
    hidden = np.maximum(z_test @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)  # ReLU layer
    logistic = LogisticRegression(max_iter=2000).fit(z_train, y_train)
    properties = {
        "even": {0, 2, 4, 6, 8},
        "prime": {2, 3, 5, 7},
        "closed loop": {0, 6, 8, 9},
        "five or more": {5, 6, 7, 8, 9},
    }
    members = np.array([[d in digits_of for digits_of in properties.values()] for d in range(10)])
    names = list(properties)
    for name, model, vectors in (
        ("mlp", mlp, hidden),
        ("logistic", logistic, z_test),
    ):
        proba = model.predict_proba(z_test)
        frame = pd.DataFrame(
            {"id": np.arange(len(y_test)), "label": y_test, "prediction": proba.argmax(axis=1)}
        )
        for k in range(proba.shape[1]):
            frame[f"prob_{k}"] = proba[:, k]
        frame["embedding"] = [json.dumps(v) for v in np.round(vectors, 4).tolist()]
        kind = "hidden layer (32 ReLU units)" if name == "mlp" else "standardised pixels (64)"
        path = _write(
            frame,
            directory / f"digits-{name}.csv",
            {**common, "model": _describe(model), "embedding": kind},
        )
        runs.append(f"{name}={path}")
        # the same model as a multilabel tagger of digit properties
        scores = proba @ members.astype(np.float64)
        tagged = pd.DataFrame(
            {
                "id": np.arange(len(y_test)),
                "labels": [[names[j] for j in np.flatnonzero(r)] for r in members[y_test]],
                "predictions": [[names[j] for j in np.flatnonzero(r)] for r in scores >= 0.5],
            }
        )
        for j, label in enumerate(names):
            tagged[f"score_{label}"] = scores[:, j]
        path = _write(
            tagged,
            directory / f"digit-properties-{name}.jsonl",
            {**common, "model": _describe(model), "task": "properties of the digit"},
        )
        runs.append(f"{name}-tagger={path}")  # its own name: a tagger is not the classifier
    return DemoReport(
        "More kinds: regression, multilabel tagging and embeddings",
        runs,
        directory / "kinds-report.html",
        directory / "kinds-summary.json",
        about="diabetes regressors, digit taggers, embedding views, slices by sex",
        options={"slices": ["sex"]},
    )
