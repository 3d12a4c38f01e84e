"""Multilabel runs: every input form, metrics against scikit-learn on real data, label
alignment across runs, clear errors."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.tabular import MultilabelRun
from reportgen.kinds import kind_of, load_source
from reportgen.kinds.multilabel import formulas as multilabel

from .conftest import Predictions

# properties of a handwritten digit: a real multilabel target derived from scikit-learn's digits
PROPERTIES = {
    "even": {0, 2, 4, 6, 8},
    "prime": {2, 3, 5, 7},
    "loop": {0, 6, 8, 9},
    "large": {5, 6, 7, 8, 9},
    "square": {0, 1, 4, 9},
}


def digit_properties(predictions: Predictions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True label sets, predicted sets (score >= 0.5) and scores (the probability mass of the
    digits that have the property), from a digit classifier on held-out data."""
    names = list(PROPERTIES)
    members = np.array([[d in PROPERTIES[n] for n in names] for d in range(10)])
    y_true = members[predictions.y_true]
    scores = predictions.proba @ members.astype(float)
    return y_true, scores >= 0.5, scores


def _frame(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None) -> pd.DataFrame:
    names = list(PROPERTIES)
    frame = pd.DataFrame(
        {
            "id": np.arange(len(y_true)),
            "labels": [[names[j] for j in np.flatnonzero(r)] for r in y_true],
            "predictions": [[names[j] for j in np.flatnonzero(r)] for r in y_pred],
        }
    )
    if scores is not None:
        for j, name in enumerate(names):
            frame[f"score_{name}"] = scores[:, j]
    return frame


def _sklearn(y: np.ndarray, p: np.ndarray, s: np.ndarray) -> dict[str, float]:
    found = {
        "subset_accuracy": skm.accuracy_score(y, p),
        "hamming_loss": skm.hamming_loss(y, p),
        "label_ranking_average_precision": skm.label_ranking_average_precision_score(y, s),
        "roc_auc_macro": skm.roc_auc_score(y, s, average="macro"),
        "average_precision_macro": skm.average_precision_score(y, s, average="macro"),
        "jaccard_samples": skm.jaccard_score(y, p, average="samples", zero_division=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("micro", "macro", "weighted", "samples"):
            for name, fn in (
                ("precision", skm.precision_score),
                ("recall", skm.recall_score),
                ("f1", skm.f1_score),
            ):
                found[f"{name}_{average}"] = fn(y, p, average=average, zero_division=0)
    return found


def test_metrics_match_scikit_learn_on_digit_properties(
    digits_logistic: Predictions, digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    for predictions in (digits_logistic, digits_forest):
        y, p, s = digit_properties(predictions)
        run = load_source(write_run(_frame(y, p, s), f"{predictions.name}.jsonl")).runs[0]
        assert isinstance(run, MultilabelRun) and run.scores is not None
        order = [list(PROPERTIES).index(n) for n in run.label_names]  # sorted by name
        y, p = y[:, order], p[:, order]
        np.testing.assert_array_equal(run.y_true, y)
        np.testing.assert_array_equal(run.y_pred, p)
        result = _evaluate(run)
        # the oracle sees the scores as read back (JSON keeps 10 significant digits)
        for name, value in _sklearn(y, p, run.scores).items():
            assert result.metrics[name] == pytest.approx(value, abs=1e-12), name
        assert set(multilabel.METRICS) <= set(result.metrics)


def test_empty_sets_and_never_predicted_labels_follow_scikit_learn() -> None:
    y = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 1]], dtype=bool)
    p = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)
    columns = multilabel.example_columns(y, p, None)
    found = multilabel.metrics_from_sums({k: v.sum() for k, v in columns.items()}, 5, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("micro", "macro", "weighted", "samples"):
            assert found[f"f1_{average}"] == pytest.approx(
                skm.f1_score(y, p, average=average, zero_division=0)
            )
            assert found[f"precision_{average}"] == pytest.approx(
                skm.precision_score(y, p, average=average, zero_division=0)
            )
            assert found[f"recall_{average}"] == pytest.approx(
                skm.recall_score(y, p, average=average, zero_division=0)
            )
        assert found["jaccard_samples"] == pytest.approx(
            skm.jaccard_score(y, p, average="samples", zero_division=0)
        )


def test_every_input_form_gives_the_same_metrics(
    digits_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    y, p, s = digit_properties(digits_logistic)
    lists = _frame(y, p, s)
    as_csv = lists.assign(
        labels=lists["labels"].map(json.dumps), predictions=lists["predictions"].map(json.dumps)
    )
    flags = pd.DataFrame({"id": lists["id"]})
    for j, name in enumerate(PROPERTIES):
        flags[f"label_{name}"] = y[:, j].astype(int)
        flags[f"pred_{name}"] = p[:, j].astype(int)
        flags[f"score_{name}"] = s[:, j]
    paths = [
        write_run(lists, "lists.jsonl"),
        write_run(lists, "lists.parquet"),
        write_run(as_csv, "lists.csv"),
        write_run(flags, "flags.csv"),
    ]
    results = [_evaluate(load_source(path).runs[0]) for path in paths]  # type: ignore[arg-type]
    for result in results[1:]:
        assert result.metrics == pytest.approx(results[0].metrics)


def test_runs_with_different_label_sets_are_aligned(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    a = pd.DataFrame({"labels": [["x"], ["y"], ["x", "y"]], "predictions": [["x"], [], ["x"]]})
    b = pd.DataFrame({"labels": [["x"], ["y"], ["x", "y"]], "predictions": [["z"], ["y"], ["y"]]})
    report = build_report(
        [write_run(a, "a.jsonl"), write_run(b, "b.jsonl")], bootstrap=0, timestamp=False
    )
    runs = {r["name"]: r for r in json.loads(report.to_json())["runs"]}
    assert runs["a"]["labels"] == runs["b"]["labels"] == ["x", "y", "z"]
    assert runs["a"]["task"] == "multilabel"
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    pa = np.array([[1, 0, 0], [0, 0, 0], [1, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = skm.f1_score(y, pa, average="macro", zero_division=0)
    assert runs["a"]["metrics"]["f1_macro"] == pytest.approx(expected)
    per_label = {row["label"]: row for row in runs["b"]["per_label"]}
    assert per_label["z"]["support"] == 0 and per_label["y"]["f1"] == pytest.approx(1.0)


def test_undefined_per_label_auc_is_left_out_with_a_reason(write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame(
        {
            "labels": [["a"], ["a", "b"], ["a"], ["a", "b"]],  # a: every example is positive
            "predictions": [["a"], ["a"], ["a", "b"], ["a", "b"]],
            "score_a": [0.9, 0.8, 0.7, 0.95],
            "score_b": [0.1, 0.6, 0.7, 0.8],
        }
    )
    result = _evaluate(load_source(write_run(frame, "one.jsonl")).runs[0])  # type: ignore[arg-type]
    assert result.metrics["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score([0, 1, 0, 1], [0.1, 0.6, 0.7, 0.8])
    )
    assert "1 of 2 labels" in result.metric_notes["roc_auc_macro"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ('"sports"', r"bad\.csv: column 'labels' holds 'sports' at line 3, not a list"),
        ('"[[""a""]]"', r"bad\.csv: column 'labels' holds a nested list or object at line 3"),
    ],
)
def test_a_list_that_is_not_a_list_is_named(tmp_path: Path, cell: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('labels,predictions\n"[""a""]","[""a""]"\n' + cell + ',"[""b""]"\n')
    with pytest.raises(ReportgenError, match=message):
        build_report([path], task="multilabel")


def test_flag_columns_are_checked(tmp_path: Path, write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame({"label_a": [1, 0], "pred_a": [1, 2], "label_b": [0, 1], "pred_b": [0, 1]})
    with pytest.raises(ReportgenError, match=r"column 'pred_a' holds '2' at line 3; .* 0 or 1"):
        build_report([write_run(frame, "flags.csv")])
    frame = pd.DataFrame({"label_a": [1, 0], "pred_a": [1, 0], "label_b": [0, 1]})
    with pytest.raises(ReportgenError, match=r"label 'b' has no pred_b column"):
        build_report([write_run(frame, "half.csv")])


def test_report_sections_and_json(
    digits_logistic: Predictions, digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    paths = []
    for predictions in (digits_logistic, digits_forest):
        y, p, s = digit_properties(predictions)
        paths.append(write_run(_frame(y, p, s), f"{predictions.name}.jsonl"))
    report = build_report(paths, bootstrap=200, timestamp=False)
    ids = {s.id for s in report.sections}
    assert {"multilabel-comparison", "multilabel-metrics", "multilabel-labels"} <= ids
    assert {"multilabel-sets", "multilabel-errors"} <= ids
    summary = json.loads(report.to_json())
    assert summary["task"] == "multilabel"
    compared = {(c["candidate"], c["metric"]): c for c in summary["comparisons"]}
    assert compared[("forest", "subset_accuracy")]["test"] == "mcnemar-exact"
    assert compared[("forest", "f1_micro")]["test"] == "bootstrap-paired"
    for run in summary["runs"]:
        low, high = run["ci"]["f1_micro"]
        assert low <= run["metrics"]["f1_micro"] <= high
    assert report.leaderboard is not None
    assert report.leaderboard.header[1:] == [
        "F1 (micro)",
        "F1 (macro)",
        "Subset accuracy",
        "Hamming loss",
    ]


def _evaluate(run):  # type: ignore[no-untyped-def]
    return kind_of(run).evaluate_run(run)
