"""Every metric against scikit-learn (the oracle) on real data, plus hand-computed edge cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from reportgen.ingest.runs import load_run
from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import RunEvaluation, evaluate
from reportgen.kinds.classification.statistics import CalibrationCounts, ConfusionCounts, RankCounts

from .conftest import Predictions


def evaluate_frame(
    write_run: Callable[..., Path], frame: pd.DataFrame, name: str = "run.csv", **options: object
) -> RunEvaluation:
    run = load_run(write_run(frame, name))
    return evaluate(encode_runs([run], **options)[0])  # type: ignore[arg-type]


def sklearn_ece(y_correct: np.ndarray, confidence: np.ndarray, n_bins: int = 15) -> float:
    """ECE from scikit-learn's reliability curve and its bin counts (independent of stats.py)."""
    observed, predicted = calibration_curve(y_correct, confidence, n_bins=n_bins)
    edges = np.linspace(0, 1, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], confidence), minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts * np.abs(observed - predicted)) / counts.sum())


@pytest.mark.parametrize("model", ["cancer_logistic", "cancer_tree"])
def test_binary_metrics_match_sklearn(
    model: str, request: pytest.FixtureRequest, write_run: Callable[..., Path]
) -> None:
    p: Predictions = request.getfixturevalue(model)
    result = evaluate_frame(write_run, p.frame()).metrics
    score = p.proba[:, 1]
    expected = {
        "accuracy": skm.accuracy_score(p.y_true, p.y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(p.y_true, p.y_pred),
        "precision": skm.precision_score(p.y_true, p.y_pred),
        "recall": skm.recall_score(p.y_true, p.y_pred),
        "f1": skm.f1_score(p.y_true, p.y_pred),
        "specificity": skm.recall_score(p.y_true, p.y_pred, pos_label=0),
        "mcc": skm.matthews_corrcoef(p.y_true, p.y_pred),
        "cohen_kappa": skm.cohen_kappa_score(p.y_true, p.y_pred),
        "roc_auc": skm.roc_auc_score(p.y_true, score),
        "average_precision": skm.average_precision_score(p.y_true, score),
        "log_loss": skm.log_loss(p.y_true, score),
        "brier": skm.brier_score_loss(p.y_true, score),
        "ece": sklearn_ece(p.y_true, score),
    }
    assert set(result) == set(expected)
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("model", ["digits_logistic", "digits_forest", "wine_tree"])
def test_multiclass_metrics_match_sklearn(
    model: str, request: pytest.FixtureRequest, write_run: Callable[..., Path]
) -> None:
    p: Predictions = request.getfixturevalue(model)
    result = evaluate_frame(write_run, p.frame(), "run.parquet").metrics
    top = p.proba.argmax(axis=1)
    expected = {
        "accuracy": skm.accuracy_score(p.y_true, p.y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(p.y_true, p.y_pred),
        "f1_micro": skm.f1_score(p.y_true, p.y_pred, average="micro"),
        "mcc": skm.matthews_corrcoef(p.y_true, p.y_pred),
        "cohen_kappa": skm.cohen_kappa_score(p.y_true, p.y_pred),
        "roc_auc_ovr_macro": skm.roc_auc_score(p.y_true, p.proba, multi_class="ovr"),
        "roc_auc_ovr_weighted": skm.roc_auc_score(
            p.y_true, p.proba, multi_class="ovr", average="weighted"
        ),
        "log_loss": skm.log_loss(p.y_true, p.proba),
        "top_2_accuracy": skm.top_k_accuracy_score(p.y_true, p.proba, k=2),
        "ece": sklearn_ece(top == p.y_true, p.proba.max(axis=1)),
    }
    for average in ("macro", "weighted"):
        for name, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            expected[f"{name}_{average}"] = fn(p.y_true, p.y_pred, average=average, zero_division=0)
    assert set(result) == set(expected)
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_per_class_and_confusion_match_sklearn(
    digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    evaluation = evaluate_frame(write_run, digits_forest.frame())
    p, r, f, s = skm.precision_recall_fscore_support(digits_forest.y_true, digits_forest.y_pred)
    np.testing.assert_allclose(evaluation.per_class["precision"], p, rtol=1e-12)
    np.testing.assert_allclose(evaluation.per_class["recall"], r, rtol=1e-12)
    np.testing.assert_allclose(evaluation.per_class["f1"], f, rtol=1e-12)
    np.testing.assert_array_equal(evaluation.per_class["support"], s)
    np.testing.assert_array_equal(
        evaluation.confusion.matrix,
        skm.confusion_matrix(digits_forest.y_true, digits_forest.y_pred),
    )


def test_roc_and_pr_points_match_sklearn(cancer_tree: Predictions) -> None:
    """Tied scores (a shallow tree) must give scikit-learn's curve vertices."""
    y, score = cancer_tree.y_true, cancer_tree.proba[:, 1]
    rank = RankCounts.from_scores(y == 1, score)
    fpr, tpr = metrics.roc_points(rank)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    recall_at, precision_at = metrics.precision_recall_points(rank)
    sk_precision, sk_recall, _ = skm.precision_recall_curve(y, score)
    # scikit-learn lists thresholds ascending, stops at full recall and appends (1, 0)
    full = np.searchsorted(recall_at, 1.0) + 1
    np.testing.assert_allclose(precision_at[:full], sk_precision[:-1][::-1])
    np.testing.assert_allclose(recall_at[:full], sk_recall[:-1][::-1])


def test_ece_hand_computed() -> None:
    # bins of width 1/15: 0.05 -> bin 0, 0.95 and 1.0 -> bin 14; 1/15 exactly -> bin 0
    confidence = np.array([0.05, 0.95, 1.0, 1 / 15])
    outcome = np.array([0, 1, 0, 1])
    cal = CalibrationCounts.from_confidence(confidence, outcome)
    assert cal.count[0] == 2 and cal.count[14] == 2
    # bin 0: |0.05 + 1/15 - 1| ; bin 14: |1.95 - 1|
    expected = (abs(0.05 + 1 / 15 - 1) + abs(1.95 - 1)) / 4
    assert metrics.expected_calibration_error(cal) == pytest.approx(expected)


def test_mcc_and_kappa_hand_computed() -> None:
    cm = ConfusionCounts(np.array([[5, 1], [2, 4]]))
    # MCC = (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) with positive = class 1
    tp, tn, fp, fn = 4, 5, 1, 2
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert metrics.matthews_corrcoef(cm) == pytest.approx(mcc)
    po, pe = 9 / 12, (6 * 7 + 6 * 5) / 144
    assert metrics.cohen_kappa(cm) == pytest.approx((po - pe) / (1 - pe))


def test_single_class_labels_give_null_with_reason(write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame(
        {"label": [1, 1, 1, 1], "prediction": [1, 0, 1, 1], "score": [0.9, 0.2, 0.8, 0.7]}
    )
    evaluation = evaluate_frame(write_run, frame)
    assert evaluation.metrics["accuracy"] == pytest.approx(0.75)
    assert evaluation.metrics["recall"] == pytest.approx(0.75)
    assert evaluation.metrics["roc_auc"] is None
    assert evaluation.metric_notes["roc_auc"] == "only one class present in labels"
    assert evaluation.metrics["specificity"] is None
    assert "no negative labels" in evaluation.metric_notes["specificity"]
    assert evaluation.metrics["average_precision"] == pytest.approx(1.0)


def test_no_scores_gives_threshold_free_metrics_only(
    cancer_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    frame = cancer_logistic.frame().drop(columns=["score"])
    evaluation = evaluate_frame(write_run, frame)
    assert evaluation.metrics["f1"] == pytest.approx(
        skm.f1_score(cancer_logistic.y_true, cancer_logistic.y_pred)
    )
    for name in ("roc_auc", "average_precision", "log_loss", "brier", "ece"):
        assert evaluation.metrics[name] is None
        assert evaluation.metric_notes[name] == "the run has no score column"
    assert evaluation.curves == [] and evaluation.calibration is None
    assert any("ROC" in note for note in evaluation.notes)


def test_logits_keep_ranking_metrics_but_not_probability_metrics(
    cancer_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    frame = cancer_logistic.frame()
    proba = np.clip(frame["score"], 1e-12, 1 - 1e-12)
    frame["score"] = np.log(proba / (1 - proba))
    evaluation = evaluate_frame(write_run, frame)
    assert evaluation.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(cancer_logistic.y_true, frame["score"])
    )
    assert evaluation.metrics["log_loss"] is None
    assert "not probabilities" in evaluation.metric_notes["log_loss"]
    assert evaluation.metrics["brier"] is None and evaluation.metrics["ece"] is None


@pytest.mark.parametrize(
    ("labels", "positive"),
    [(["spam", "ham"], "spam"), ([True, False], True)],
)
def test_string_and_boolean_labels(
    cancer_logistic: Predictions, write_run: Callable[..., Path], labels: list, positive: object
) -> None:
    mapping = {1: labels[0], 0: labels[1]}
    frame = cancer_logistic.frame()
    frame["label"] = frame["label"].map(mapping)
    frame["prediction"] = frame["prediction"].map(mapping)
    options = {"positive_label": "spam"} if positive == "spam" else {}
    evaluation = evaluate_frame(write_run, frame, "run.jsonl", **options)
    y_true = np.array([mapping[v] for v in cancer_logistic.y_true])
    y_pred = np.array([mapping[v] for v in cancer_logistic.y_pred])
    assert evaluation.encoded.classes[evaluation.encoded.positive] == str(positive)
    assert evaluation.metrics["f1"] == pytest.approx(
        skm.f1_score(y_true, y_pred, pos_label=positive)
    )
    assert evaluation.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_true == positive, cancer_logistic.proba[:, 1])
    )


def test_multiclass_without_probabilities(
    digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    frame = digits_forest.frame()[["label", "prediction"]]
    evaluation = evaluate_frame(write_run, frame)
    assert evaluation.metrics["f1_macro"] == pytest.approx(
        skm.f1_score(digits_forest.y_true, digits_forest.y_pred, average="macro")
    )
    assert evaluation.metrics["roc_auc_ovr_macro"] is None
    assert evaluation.metrics["top_2_accuracy"] is None


def test_predictions_derived_from_scores(
    cancer_logistic: Predictions, digits_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    binary = cancer_logistic.frame().drop(columns=["prediction"])
    evaluation = evaluate_frame(write_run, binary, threshold=0.3)
    expected = (cancer_logistic.proba[:, 1] >= 0.3).astype(int)
    assert evaluation.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(cancer_logistic.y_true, expected)
    )
    assert evaluation.encoded.prediction_source == "score ≥ 0.300"  # as every threshold
    multi = digits_logistic.frame().drop(columns=["prediction"])
    evaluation = evaluate_frame(write_run, multi, "multi.csv")
    assert evaluation.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(digits_logistic.y_true, digits_logistic.proba.argmax(axis=1))
    )


def test_class_missing_from_one_run_is_left_out_of_its_averages(
    iris_logistic: Predictions, write_run: Callable[..., Path], tmp_path: Path
) -> None:
    """Runs on different class sets share the union; averages use each run's own classes."""
    frame = iris_logistic.frame()
    keep = frame["label"] != 2
    small = frame[keep & (frame["prediction"] != 2)].drop(columns=["prob_2"])
    small = small.assign(prob_1=1 - small["prob_0"])
    run_a = load_run(write_run(frame, "a.csv"))
    run_b = load_run(write_run(small, "b.csv"))
    encoded = encode_runs([run_a, run_b], task="multiclass")
    assert encoded[1].classes == ("0", "1", "2")
    evaluation = evaluate(encoded[1])
    assert evaluation.metrics["f1_macro"] == pytest.approx(
        skm.f1_score(small["label"], small["prediction"], average="macro")
    )


def test_top_class_matches_argmax_with_ties() -> None:
    from reportgen.kinds.classification.statistics import top_class

    rng = np.random.default_rng(0)
    scores = np.asfortranarray(np.round(rng.random((2_000, 7)), 1))  # many ties
    index, value = top_class(scores)
    np.testing.assert_array_equal(index, scores.argmax(axis=1))
    np.testing.assert_array_equal(value, scores.max(axis=1))


def test_wilson_interval_matches_statsmodels() -> None:
    """Per-bin intervals of the reliability diagram, against statsmodels' Wilson interval,
    from a bin of 1 example to a bin of 10,000, with 0 and all successes."""
    from statsmodels.stats.proportion import proportion_confint

    from reportgen.stats.significance import wilson_interval

    n = np.array([1, 3, 7, 40, 500, 10_000, 12, 12])
    k = np.array([0, 3, 2, 31, 250, 9_990, 0, 12])
    low, high = wilson_interval(k, n)
    for i in range(len(n)):
        expected = proportion_confint(int(k[i]), int(n[i]), alpha=0.05, method="wilson")
        assert (low[i], high[i]) == pytest.approx(expected, abs=1e-12)
