"""The feature importance part of the demo report "Why and how robust", made in code from
scikit-learn's breast-cancer data (nothing is downloaded).

Two models on the same held-out split: a standardised logistic regression, whose run carries
exact per-example contributions (coefficient × centred standardised value, with the base
value and the margin, so additivity holds to rounding), and a random forest. Both get a
permutation importance table from ``sklearn.inspection.permutation_importance``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 0
NAMES = ("cancer-logistic", "cancer-forest")


def write_files(directory: Path) -> tuple[list[str], dict[str, object]]:
    """Write the two runs and their importance tables under ``directory``; return the run
    arguments and the ``build_report`` options that add them to a report."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    directory.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer(as_frame=True)
    x, y = data.data, data.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.4, random_state=SEED, stratify=y
    )
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
        x_train, y_train
    )
    forest = RandomForestClassifier(n_estimators=100, random_state=SEED).fit(x_train, y_train)
    runs, tables = [], []
    for name, model in zip(NAMES, (logistic, forest), strict=True):
        frame = pd.DataFrame(
            {
                "id": x_test.index.to_numpy(),
                "label": y_test.to_numpy(),  # 1: benign, scikit-learn's coding
                "score": model.predict_proba(x_test)[:, 1],
            }
        )
        if model is logistic:
            frame = pd.concat([frame, linear_contributions(logistic, x_train, x_test)], axis=1)
        run = directory / f"{name}.csv"
        frame.to_csv(run, index=False)
        found = permutation_importance(
            model, x_test, y_test, n_repeats=5, random_state=SEED, scoring="roc_auc"
        )
        table = directory / f"{name}-importance.csv"
        pd.DataFrame(
            {
                "feature": x.columns,
                "importance": found.importances_mean,
                "std": found.importances_std,
                "method": "permutation (ROC AUC drop)",
            }
        ).to_csv(table, index=False)
        runs.append(f"{name}={run}")
        tables.append(f"{name}={table}")
    return runs, {"importance": tables}


def linear_contributions(
    model: object, x_train: pd.DataFrame, x_test: pd.DataFrame
) -> pd.DataFrame:
    """A standardised logistic regression's exact contributions: φ_ij = w_j (z_ij − mean_j z),
    base = b + Σ_j w_j mean_j z (means over the training split), so base + Σ_j φ_ij is the
    margin; with the features' raw values, to colour the beeswarm."""
    scaler, linear = model[0], model[1]  # type: ignore[index]
    z_test = scaler.transform(x_test)
    centre = scaler.transform(x_train).mean(axis=0)
    weights = linear.coef_[0]
    columns: dict[str, np.ndarray] = {}
    for j, feature in enumerate(x_test.columns):
        columns[f"shap_{feature}"] = weights[j] * (z_test[:, j] - centre[j])
    for feature in x_test.columns:
        columns[feature] = x_test[feature].to_numpy()
    columns["shap_base"] = np.full(len(x_test), linear.intercept_[0] + centre @ weights)
    columns["margin"] = model.decision_function(x_test)  # type: ignore[attr-defined]
    return pd.DataFrame(columns)
