"""The decision-boundary part of the demo report "Why and how robust": two wine classifiers
(logistic regression and a random forest, on all 13 features), their test runs with the
two features the grid slices, and each model's class probabilities on a 200 x 200 grid over
alcohol and proline, every other feature held at its training mean. Made in code from
scikit-learn's bundled wine data; nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 0
FEATURES = ("alcohol", "proline")
GRID = 200  # nodes per axis: finer than the page draws (100), so the page decimates it


def write_files(directory: Path) -> tuple[list[str], dict[str, object]]:
    """Write the runs and grids into ``directory``; return the run arguments and the
    ``build_report`` options (``boundary``, ``boundary_features``)."""
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    directory.mkdir(parents=True, exist_ok=True)
    data = load_wine()
    x, y = data.data, data.target
    names = list(data.feature_names)
    classes = np.array([str(c) for c in data.target_names], dtype=object)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.4, random_state=SEED, stratify=y
    )
    models = {
        "wine_logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "wine_forest": RandomForestClassifier(n_estimators=200, random_state=SEED),
    }
    a, b = (names.index(f) for f in FEATURES)
    held = x_train.mean(axis=0)
    low, high = x[:, [a, b]].min(axis=0), x[:, [a, b]].max(axis=0)
    pad = 0.05 * (high - low)
    g0 = np.linspace(low[0] - pad[0], high[0] + pad[0], GRID)
    g1 = np.linspace(low[1] - pad[1], high[1] + pad[1], GRID)
    u, v = np.meshgrid(g0, g1)
    points = np.tile(held, (u.size, 1))
    points[:, a], points[:, b] = u.reshape(-1), v.reshape(-1)
    runs = []
    grids = []
    for name, model in models.items():
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_test)
        run = pd.DataFrame(
            {
                "id": np.arange(len(y_test)),
                "label": classes[y_test],
                "prediction": classes[model.predict(x_test)],
                **{f"prob_{c}": proba[:, k] for k, c in enumerate(classes)},
                FEATURES[0]: x_test[:, a],
                FEATURES[1]: x_test[:, b],
            }
        )
        run_path = directory / f"{name}.csv"
        run.to_csv(run_path, index=False)
        runs.append(f"{name}={run_path}")
        surface = model.predict_proba(points)
        grid = pd.DataFrame(
            {
                "x0": u.reshape(-1),
                "x1": v.reshape(-1),
                **{f"prob_{c}": np.round(surface[:, k], 4) for k, c in enumerate(classes)},
            }
        )
        grid_path = directory / f"{name}-grid.csv"
        grid.to_csv(grid_path, index=False)
        meta = {
            "features": list(FEATURES),
            "held": {f: round(float(held[k]), 4) for k, f in enumerate(names) if k not in (a, b)},
        }
        grid_path.with_name(grid_path.name + ".meta.json").write_text(
            json.dumps(meta, indent=2) + "\n", encoding="utf-8"
        )
        grids.append(f"{name}={grid_path}")
    return runs, {"boundary": grids}
