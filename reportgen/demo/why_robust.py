"""The robustness part of the demo report "Why and how robust": two classifiers of
scikit-learn's bundled digits, each evaluated on the clean test set and on copies perturbed by
Gaussian noise and by feature dropout at three severities, written as robustness runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 0
NOISE_SIGMA = {1: 2.0, 2: 4.0, 3: 8.0}  # pixel intensities run from 0 to 16
DROPOUT_SHARE = {1: 0.1, 2: 0.25, 3: 0.5}  # share of pixels set to 0


def perturbed_copies(x: np.ndarray, seed: int = SEED) -> list[tuple[str, int, np.ndarray]]:
    """The clean copy and each perturbation at each severity, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    copies: list[tuple[str, int, np.ndarray]] = [("none", 0, x)]
    for severity, sigma in NOISE_SIGMA.items():
        noisy = np.clip(x + rng.normal(0.0, sigma, size=x.shape), 0.0, 16.0)
        copies.append(("gaussian_noise", severity, noisy))
    for severity, share in DROPOUT_SHARE.items():
        copies.append(("feature_dropout", severity, np.where(rng.random(x.shape) < share, 0.0, x)))
    return copies


def robustness_frames(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Each model's robustness run: id, label, prediction, perturbation, severity."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.4, random_state=seed, stratify=y
    )
    models = {
        "digits-logistic": LogisticRegression(max_iter=2000),
        "digits-knn": KNeighborsClassifier(n_neighbors=5),
    }
    copies = perturbed_copies(x_test, seed)
    frames = {}
    for name, model in models.items():
        model.fit(x_train, y_train)
        frames[name] = pd.concat(
            [
                pd.DataFrame(
                    {
                        "id": np.arange(len(y_test)),
                        "label": y_test,
                        "prediction": model.predict(data),
                        "perturbation": perturbation,
                        "severity": severity,
                    }
                )
                for perturbation, severity, data in copies
            ],
            ignore_index=True,
        )
    return frames


def write_files(directory: Path) -> tuple[list[str], dict[str, object]]:
    """Write the runs under ``directory``; return the run arguments and build options."""
    directory.mkdir(parents=True, exist_ok=True)
    runs = []
    for name, frame in robustness_frames().items():
        path = directory / f"robust-{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        runs.append(f"{name}={path}")
    return runs, {}
