"""Operating points, costs and the threshold explorer, against scikit-learn brute force."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.kinds.classification.curves import (
    Costs,
    operating_points,
    threshold_scan,
)
from reportgen.kinds.classification.statistics import RankCounts
from reportgen.options import parse_costs

from .conftest import Predictions, build_cli


def _counts(y: np.ndarray, score: np.ndarray, t: float) -> tuple[int, int, int, int]:
    """scikit-learn's confusion matrix of predicting positive at score >= t."""
    tn, fp, fn, tp = confusion_matrix(y, (score >= t).astype(int), labels=[0, 1]).ravel()
    return int(tp), int(fp), int(fn), int(tn)


@pytest.mark.parametrize("fixture", ["cancer_logistic", "cancer_tree"])
@pytest.mark.parametrize("costs", [Costs(fp=1, fn=5), Costs(fp=5, fn=1), Costs(tp=-2, fp=1)])
def test_operating_points_match_brute_force_over_every_score(
    fixture: str, costs: Costs, request: pytest.FixtureRequest
) -> None:
    run: Predictions = request.getfixturevalue(fixture)
    y, score = run.y_true, run.proba[:, 1]
    found = operating_points(RankCounts.from_scores(y == 1, score), costs)
    n = len(y)
    candidates = np.unique(score)
    # every distinct score as a threshold, counted by scikit-learn
    table = np.array([_counts(y, score, t) for t in candidates])  # tp, fp, fn, tn
    tp, fp, fn, tn = table.T
    f1 = 2 * tp / (2 * tp + fp + fn)
    best = np.flatnonzero(f1 == f1.max()).max()  # ties: the highest threshold
    assert found["f1_optimal"]["threshold"] == candidates[best]
    assert found["f1_optimal"]["f1"] == pytest.approx(f1[best])
    # Youden's J from scikit-learn's ROC curve (its thresholds are the distinct scores)
    fpr, tpr, thresholds = roc_curve(y, score)
    j = tpr - fpr
    assert found["youden"]["threshold"] == thresholds[int(np.argmax(j))]
    tp_j, fp_j, _, _ = _counts(y, score, thresholds[int(np.argmax(j))])
    assert (found["youden"]["tp"], found["youden"]["fp"]) == (tp_j, fp_j)
    # cost: every threshold, and predicting no positive at all
    cost = (costs.tp * tp + costs.fp * fp + costs.fn * fn + costs.tn * tn) / n
    none = (costs.fn * int((y == 1).sum()) + costs.tn * int((y == 0).sum())) / n
    point = found["cost_optimal"]
    assert point["expected_cost"] == pytest.approx(min(cost.min(), none))
    if point["threshold"] is not None:
        k = int(np.flatnonzero(candidates == point["threshold"])[0])
        assert cost[k] == pytest.approx(cost.min())
        assert (point["tp"], point["fp"], point["fn"], point["tn"]) == tuple(table[k])
    # score >= 0.5, as scikit-learn counts it
    half = found["at_0.5"]
    assert (half["tp"], half["fp"], half["fn"], half["tn"]) == _counts(y, score, 0.5)
    # precision and recall agree with scikit-learn's curve at the F1-optimal threshold
    precision, recall, pr_thresholds = precision_recall_curve(y, score)
    k = int(np.flatnonzero(pr_thresholds == found["f1_optimal"]["threshold"])[0])
    assert found["f1_optimal"]["precision"] == pytest.approx(precision[k])
    assert found["f1_optimal"]["recall"] == pytest.approx(recall[k])


def test_costs_that_favour_no_positive_say_so() -> None:
    """When a false positive costs far more than a missed positive, predicting no positive
    at all is optimal: the threshold is None (above every score), not some score."""
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0])  # the highest score is a negative
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    found = operating_points(RankCounts.from_scores(y == 1, score), Costs(fp=100, fn=1))
    point = found["cost_optimal"]
    assert point["threshold"] is None and point["tp"] == 0 and point["fp"] == 0
    assert point["expected_cost"] == pytest.approx(2 / 8)
    assert "at_0.5" in found  # 0.5 lies within the scores


def test_the_scan_counts_on_a_shared_grid() -> None:
    y = np.array([1, 0, 1, 0, 1])
    score = np.array([0.9, 0.8, 0.4, 0.3, 0.1])
    scan = threshold_scan(RankCounts.from_scores(y == 1, score), 5, (0.0, 1.0))
    np.testing.assert_allclose(scan["threshold"], [0.0, 0.25, 0.5, 0.75, 1.0])
    expected = [_counts(y, score, t) for t in scan["threshold"]]
    assert scan["tp"].tolist() == [e[0] for e in expected] == [3, 2, 1, 1, 0]
    assert scan["fp"].tolist() == [e[1] for e in expected] == [2, 2, 1, 1, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FP=1,FN=x", "not a number"),
        ("FP=1;FN=5", "'1;FN=5' is not a number; separate outcomes with commas"),
        ("XX=1", "is not OUTCOME=COST"),
        ("FP=1,fp=2", "FP is given twice"),
        ("FP=inf", "finite"),
        ("TP=1,FN=1", "every threshold costs the same"),
    ],
)
def test_bad_costs_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_costs(text)


def test_costs_parse_case_and_spaces() -> None:
    assert Costs(**parse_costs("fp=1, FN=5")) == Costs(fp=1.0, fn=5.0)
    assert Costs(**parse_costs("FP=1,FN=5")).text() == "FP=1, FN=5"


def test_the_report_carries_operating_points_and_costs(
    cancer_logistic: Predictions, cancer_tree: Predictions, write_run: Callable[..., Path]
) -> None:
    runs = [
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.csv"),
    ]
    plain = json.loads(build_report(runs, bootstrap=0, timestamp=False).to_json())
    assert "costs" not in plain["runs"][0]
    assert set(plain["runs"][0]["operating_points"]) == {
        "decision_rule",
        "at_0.5",
        "f1_optimal",
        "youden",
    }
    report = build_report(runs, bootstrap=0, timestamp=False, cost="FP=1,FN=5")
    summary = json.loads(report.to_json())
    run = summary["runs"][0]
    assert run["costs"] == {"tp": 0.0, "fp": 1.0, "fn": 5.0, "tn": 0.0}
    rule = run["operating_points"]["decision_rule"]
    matrix = np.array(run["confusion_matrix"]["matrix"])  # labels 0, 1
    assert (rule["tp"], rule["fp"], rule["fn"]) == (matrix[1, 1], matrix[0, 1], matrix[1, 0])
    assert rule["expected_cost"] == pytest.approx((rule["fp"] + 5 * rule["fn"]) / matrix.sum())
    best = run["operating_points"]["cost_optimal"]
    assert best["expected_cost"] <= rule["expected_cost"]  # optimal over every threshold
    section = next(s for s in report.sections if s.id == "thresholds")
    figure = section.figures[0]
    assert figure.table is not None and figure.table.header[-1] == "Expected cost"
    assert len(figure.table.rows) == 2 * 5  # 5 operating points per model
    spec = json.dumps(figure.spec)
    assert '"name": "threshold_at"' in spec and '"input": "range"' in spec
    assert "5.0 * (datum.p - datum.tp)" in spec  # the cost panel's expression
    panels = figure.spec["vconcat"][0]["concat"]
    assert len(panels) == 4  # precision, recall, F1, expected cost


def test_a_bad_cost_is_one_line_and_exit_2(
    cancer_logistic: Predictions, write_run: Callable[..., Path], tmp_path: Path
) -> None:
    run = write_run(cancer_logistic.frame(), "logistic.csv")
    with pytest.raises(ReportgenError, match=r"--cost 'FP=1,FN=x': .*not a number"):
        build_report([run], cost="FP=1,FN=x")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reportgen.cli",
            "build",
            str(run),
            "--cost",
            "FN",
            "-o",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--cost 'FN'" in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_cost_without_a_binary_run_is_refused_and_with_one_applies_to_it(
    digits_logistic: Predictions,
    cancer_logistic: Predictions,
    write_run: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """--cost on multiclass runs was silently ignored."""
    digits = write_run(digits_logistic.frame(), "digits.csv")
    out = tmp_path / "r.html"
    done = build_cli(str(digits), "--cost", "FP=1,FN=5", "-o", str(out), "--bootstrap", "0")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "reportgen: error: --cost applies to binary runs; the runs here are multiclass, so "
        "nothing has a cost: drop --cost, or give it with runs of two classes"
    )
    assert not out.exists()
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    regression = write_run(
        pd.DataFrame({"id": range(200), "label": target, "prediction": target + 0.1}), "reg.csv"
    )
    cancer = write_run(cancer_logistic.frame(), "cancer.csv")
    report = build_report([cancer, regression], bootstrap=0, timestamp=False, cost="FP=1,FN=5")
    notes = {info.name: info.notes for info in report.runs}
    assert notes["reg"] == ["--cost applies to binary runs, not to this one."]
    assert not any("--cost" in note for note in notes["cancer"])
    assert json.loads(report.to_json())["runs"][0]["costs"]["fn"] == 5.0
    plain = build_report([digits, regression], bootstrap=0, timestamp=False)  # no --cost
    assert not any("--cost" in note for info in plain.runs for note in info.notes)
