"""Built-in example: real scikit-learn models on datasets that ship with scikit-learn.

The demo writes its runs as ordinary run files (CSV, Parquet, JSON Lines, with metadata
sidecars), exactly as a user would, and builds the reports from those files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 0


@dataclass(frozen=True)
class DemoReport:
    title: str
    runs: list[str]  # NAME=PATH arguments
    html: Path
    json: Path


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
        proba = model.predict_proba(x_test)[:, 1]  # type: ignore[attr-defined]
        frame = pd.DataFrame(
            {
                "id": [f"case-{i:04d}" for i in range(len(y_test))],
                "label": y_test,
                "prediction": model.predict(x_test),  # type: ignore[attr-defined]
                "score": proba,
                "diagnosis": names[y_test],
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
                "positive class": "1 = benign",
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
            "Breast cancer: three classifiers",
            binary_runs,
            directory / "report.html",
            directory / "summary.json",
        ),
        DemoReport(
            "Handwritten digits: three classifiers",
            multiclass_runs,
            directory / "digits-report.html",
            directory / "digits-summary.json",
        ),
    ]
