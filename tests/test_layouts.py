"""Labels apart from predictions, several models in one file, and a row filter (issue 34,
section 4): --labels, a model column, --models-from-columns, --where."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from reportgen import build_report

from .conftest import build_cli, one_line_error

N = 120


def _kaggle(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, Path, Path]:
    """A Kaggle out-of-fold file (one score column per model, no id) and its train.csv."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N)
    lgbm = np.clip(y * 0.5 + rng.random(N) * 0.6, 0, 1)
    xgb = np.clip(y * 0.3 + rng.random(N) * 0.8, 0, 1)
    train, oof = tmp_path / "train.csv", tmp_path / "oof.csv"
    pd.DataFrame({"id": np.arange(N) + 1000, "target": y}).to_csv(train, index=False)
    pd.DataFrame({"lgbm": lgbm, "xgb": xgb}).to_csv(oof, index=False)
    return y, lgbm, xgb, train, oof


def _runs(report: object) -> dict[str, object]:
    evaluations = report.result("classification").evaluations  # type: ignore[attr-defined]
    return {e.name: e for e in evaluations}


def test_out_of_fold_columns_with_labels_by_row_order(tmp_path: Path) -> None:
    """Before: 'no label column'; now one run per model column, labels joined by row order,
    and the page says so."""
    y, lgbm, xgb, train, oof = _kaggle(tmp_path)
    report = build_report(
        [str(oof)], labels_file=train, models_from_columns="lgbm,xgb", bootstrap=0
    )
    runs = _runs(report)
    assert set(runs) == {"lgbm", "xgb"}
    assert runs["lgbm"].metrics["roc_auc"] == pytest.approx(roc_auc_score(y, lgbm))
    assert runs["xgb"].metrics["roc_auc"] == pytest.approx(roc_auc_score(y, xgb))
    notes = runs["lgbm"].encoded.run.notes
    assert "Labels from train.csv, joined by row order (no id column)." in notes
    out = tmp_path / "r.html"
    one_line_error(
        build_cli(
            str(oof), "--labels", str(train), "--models-from-columns", "lgbm,cat", "-o", str(out)
        ),
        "oof.csv: --models-from-columns names 'cat', which is not a column",
    )
    short = tmp_path / "short.csv"
    pd.read_csv(train).head(N - 1).to_csv(short, index=False)
    one_line_error(
        build_cli(
            str(oof), "--labels", str(short), "--models-from-columns", "lgbm,xgb", "-o", str(out)
        ),
        "oof.csv: no id column to join --labels by, and 120 rows against 119 in short.csv",
    )
    assert not out.exists()


def test_labels_join_by_id(tmp_path: Path) -> None:
    y, _, _, train, _ = _kaggle(tmp_path)
    rng = np.random.default_rng(1)
    order = rng.permutation(N)
    pred = np.where(rng.random(N) < 0.8, y, 1 - y)
    sub = tmp_path / "sub.csv"
    pd.DataFrame({"id": order + 1000, "prediction": pred[order]}).to_csv(sub, index=False)
    report = build_report([str(sub)], labels_file=train, bootstrap=0)
    (run,) = _runs(report).values()
    assert run.metrics["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert "Labels from train.csv, joined by 'id'." in run.encoded.run.notes
    stray = tmp_path / "stray.csv"
    pd.DataFrame({"id": [1000, 5], "prediction": [0, 1]}).to_csv(stray, index=False)
    one_line_error(
        build_cli(str(stray), "--labels", str(train), "-o", str(tmp_path / "r.html")),
        "stray.csv: id 5 (row 2) is not in train.csv",
    )


def test_a_model_column_and_where(tmp_path: Path) -> None:
    """A long file of two models with a split column: one run per model, on the test rows."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, N)
    rows = []
    for model, right in (("a", 0.8), ("b", 0.6)):
        pred = np.where(rng.random(N) < right, y, (y + 1) % 3)
        rows.append(
            pd.DataFrame(
                {
                    "model": model,
                    "id": range(N),
                    "label": y,
                    "prediction": pred,
                    "split": np.where(np.arange(N) % 3 == 0, "train", "test"),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    report = build_report([str(path)], where="split == 'test'", bootstrap=0)
    runs = _runs(report)
    for model in ("a", "b"):
        test = frame[(frame.model == model) & (frame.split == "test")]
        assert runs[model].metrics["accuracy"] == pytest.approx(
            accuracy_score(test.label, test.prediction)
        )
        assert runs[model].encoded.run.n_examples == len(test)
    out = tmp_path / "r.html"
    one_line_error(
        build_cli(str(path), "--where", "split == 'dev'", "-o", str(out)),
        "long.csv: --where \"split == 'dev'\" keeps none of its 240 rows",
    )
    one_line_error(
        build_cli(str(path), "--where", "split ==", "-o", str(out)),
        "long.csv: --where 'split ==' cannot be evaluated",
        "pandas DataFrame.query",
    )
    one_line_error(
        build_cli(str(path), "--where", "split == 'test'", "--engine", "duckdb", "-o", str(out)),
        "--engine memory",
    )
    summary = tmp_path / "s.json"
    done = build_cli(
        str(path), "--where", "split == 'test'", "-o", str(out), "--json", str(summary)
    )
    assert done.returncode == 0, done.stderr
    assert "same file" not in done.stderr  # two models of one file are not a file vs itself
    notes = json.loads(summary.read_text())["runs"][0]["notes"]
    assert "Rows where split == 'test': 160 of 240." in notes
