"""Slices, fairness gaps, thresholds and error analysis against hand computations."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_recall_curve

from reportgen import build_report, load_run
from reportgen.errors import ReportgenError
from reportgen.kinds.classification.curves import operating_points, threshold_scan
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import evaluate
from reportgen.kinds.classification.examples import confident_mistakes

from .conftest import Predictions


def with_metadata(p: Predictions) -> pd.DataFrame:
    frame = p.frame()
    rng = np.random.default_rng(0)
    frame["group"] = np.where(np.arange(len(frame)) % 3 == 0, "a", "b")
    frame["age"] = rng.uniform(18, 90, len(frame)).round(1)
    frame.loc[frame.index[:5], "group"] = "tiny"
    frame["text"] = [f"example {i} " + "x" * (i % 300) for i in range(len(frame))]
    return frame


SlicedRuns = tuple[Path, Path, pd.DataFrame, pd.DataFrame]


@pytest.fixture
def sliced_runs(
    cancer_logistic: Predictions, cancer_tree: Predictions, write_run: Callable[..., Path]
) -> SlicedRuns:
    a, b = with_metadata(cancer_logistic), with_metadata(cancer_tree)
    return write_run(a, "logistic.csv"), write_run(b, "tree.parquet"), a, b


def test_slice_metrics_match_sklearn_per_slice(sliced_runs: SlicedRuns) -> None:
    path_a, path_b, frame_a, frame_b = sliced_runs
    report = build_report(
        [path_a, path_b], slices=["group", "age"], bootstrap=200, min_slice_size=10
    )
    group, age = report.result("classification").slices
    assert group.values == ["a", "b", "tiny"]
    for cell in group.cells:
        frame = frame_a if cell.model == "logistic" else frame_b
        part = frame[frame["group"] == cell.value]
        assert cell.n == len(part)
        assert cell.metrics["f1"] == pytest.approx(f1_score(part["label"], part["prediction"]))
    tiny = [c for c in group.cells if c.value == "tiny"]
    assert all(c.small for c in tiny)
    assert all(group.worst[m] != "tiny" for m in group.worst)  # small slices are never worst
    assert len(age.values) == 4 and age.binned  # numeric: quartile bins
    assert sum(c.n for c in age.cells if c.model == "logistic") == len(frame_a)
    # fairness: largest gap in positive-prediction rate across (large enough) slices
    rates = frame_a[frame_a["group"] != "tiny"].groupby("group")["prediction"].mean()
    assert group.fairness["logistic"]["demographic_parity_difference"] == pytest.approx(
        rates.max() - rates.min()
    )
    summary = report.summary()
    assert {s["value"] for s in summary["runs"][1]["slices"]["group"]} == {"a", "b", "tiny"}
    deltas = [
        d
        for d in summary["slice_comparisons"]
        if d["column"] == "group" and d["metric"] == "f1" and d["value"] == "a"
    ]
    part_a = frame_a[frame_a["group"] == "a"]
    part_b = frame_b.set_index("id").loc[part_a["id"]]
    assert deltas[0]["delta"] == pytest.approx(
        f1_score(part_b["label"], part_b["prediction"])
        - f1_score(part_a["label"], part_a["prediction"])
    )
    low, high = deltas[0]["ci"]
    assert low <= deltas[0]["delta"] <= high


def test_unknown_slice_column_is_a_clear_error(sliced_runs: SlicedRuns) -> None:
    path_a, path_b, *_ = sliced_runs
    with pytest.raises(ReportgenError, match=r"logistic\.csv: no column 'country' for --slice"):
        build_report([path_a, path_b], slices=["country"], bootstrap=0)


def test_best_threshold_matches_sklearn(
    cancer_tree: Predictions, write_run: Callable[..., Path]
) -> None:
    encoded = encode_runs([load_run(write_run(cancer_tree.frame(), "tree.csv"))])[0]
    evaluation = evaluate(encoded)
    precision, recall, thresholds = precision_recall_curve(
        cancer_tree.y_true, cancer_tree.proba[:, 1]
    )
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-300)
    best = int(np.argmax(f1[:-1]))
    assert evaluation.positive_rank is not None
    found = operating_points(evaluation.positive_rank)["f1_optimal"]
    assert found["threshold"] == pytest.approx(thresholds[best])
    assert found["f1"] == pytest.approx(f1[best])
    scan = threshold_scan(evaluation.positive_rank)
    assert len(scan["threshold"]) == 201


def test_confident_mistakes_are_the_surest_wrong_ones(sliced_runs: SlicedRuns) -> None:
    path_a, _, frame_a, _ = sliced_runs
    encoded = encode_runs([load_run(path_a)])[0]
    mistakes = confident_mistakes(encoded, 5, None)
    wrong = frame_a[frame_a["label"] != frame_a["prediction"]].copy()
    wrong["confidence"] = np.where(wrong["prediction"] == 1, wrong["score"], 1 - wrong["score"])
    expected = wrong.sort_values(["confidence", "id"], ascending=[False, True]).head(5)
    assert [m.id for m in mistakes] == [str(i) for i in expected["id"]]
    assert mistakes[0].text is not None and mistakes[0].text.startswith("example ")


def test_error_lists_stay_bounded(sliced_runs: SlicedRuns) -> None:
    path_a, path_b, *_ = sliced_runs
    page = build_report([path_a, path_b], top_k=3, bootstrap=0).to_html()
    assert "most confident mistakes" in page and "newly wrong" in page
    assert page.count('class="text"') <= 3 * 4  # two models' mistakes, newly wrong and right


def test_the_slice_view_shows_every_headline_metric(sliced_runs: SlicedRuns) -> None:
    """Not F1 only: one row per (slice, model) with every headline metric, as computed."""
    path_a, path_b, frame_a, _ = sliced_runs
    report = build_report([path_a, path_b], slices=["group"], bootstrap=0, min_slice_size=10)
    section = next(s for s in report.sections if s.id.startswith("slice-0-"))
    table = next(t for t in section.tables if t.title.startswith("Every headline metric"))
    assert table.header[:3] == ["Slice", "Model", "Examples"]
    assert {"Accuracy", "F1", "ROC AUC", "Log loss", "ECE"} <= set(table.header)
    row = next(r for r in table.rows if r[0].text == "a" and r[1].text == "logistic")
    part = frame_a[frame_a["group"] == "a"]
    accuracy = float((part["label"] == part["prediction"]).mean())
    assert row[table.header.index("Accuracy")].text == f"{accuracy:.3f}"
    assert len(table.rows) == 2 * 3  # two models, three slice values


def test_a_candidates_mistakes_show_what_the_baseline_predicted(sliced_runs: SlicedRuns) -> None:
    """Paired by id: beside each of the tree's confident mistakes, the logistic baseline's
    prediction for that id, and the row flagged where the two differ."""
    path_a, path_b, frame_a, frame_b = sliced_runs
    shuffled = frame_b.sample(frac=1.0, random_state=0)
    shuffled.to_parquet(path_b, index=False)
    report = build_report([path_a, path_b], bootstrap=0, top_k=500)
    errors = next(s for s in report.sections if s.id == "errors")
    table = next(t for t in errors.tables if t.title.startswith("tree: most confident"))
    assert table.header[:4] == ["Id", "Label", "Prediction", "logistic prediction"]
    base = dict(zip(frame_a["id"].astype(str), frame_a["prediction"].astype(str), strict=True))
    ids = [row[0].text for row in table.rows]
    wrong = frame_b[frame_b["label"] != frame_b["prediction"]]
    assert sorted(ids) == sorted(wrong["id"].astype(str))  # every mistake, top_k is large
    assert [row[3].text for row in table.rows] == [base[i] for i in ids]
    assert table.changed == [row[2].text != base[i] for row, i in zip(table.rows, ids, strict=True)]
    assert any(table.changed) and not all(table.changed)
    own = next(t for t in errors.tables if t.title.startswith("logistic: most confident"))
    assert own.changed is None and own.header[3] == "Confidence"


def test_a_cut_list_says_how_many_it_shows_and_how_to_see_more(sliced_runs: SlicedRuns) -> None:
    path_a, path_b, frame_a, _ = sliced_runs
    report = build_report([path_a, path_b], bootstrap=0, top_k=3)
    errors = next(s for s in report.sections if s.id == "errors")
    table = next(t for t in errors.tables if t.title.startswith("logistic: most confident"))
    wrong = int((frame_a["label"] != frame_a["prediction"]).sum())
    assert len(table.rows) == 3 and wrong > 3
    assert table.caption.endswith(f"The first 3 of {wrong}; --top-k sets how many.")
    full = build_report([path_a, path_b], bootstrap=0, top_k=500)
    errors = next(s for s in full.sections if s.id == "errors")
    table = next(t for t in errors.tables if t.title.startswith("logistic: most confident"))
    assert "--top-k" not in table.caption and len(table.rows) == wrong


def _fold_runs(tmp_path: Path) -> list[str]:
    """A binary pair, a regression pair and a perplexity pair, each with folds 1-5 and
    months 1-11 (integers) beside a whole-number column of many values."""
    rng = np.random.default_rng(3)
    n = 330
    y, target = rng.integers(0, 2, n), rng.normal(size=n)
    tokens = rng.integers(5, 60, n)
    common = {"id": range(n), "fold": np.arange(n) % 5 + 1, "month": np.arange(n) % 11 + 1}
    runs = []
    for model, noise in (("a", 0.2), ("b", 0.3)):
        flip = rng.random(n) < noise
        frames = {
            f"cls_{model}": {"label": y, "prediction": np.where(flip, 1 - y, y)},
            f"reg_{model}": {"label": target, "prediction": target + rng.normal(0, noise, n)},
            f"ppl_{model}": {"nll": rng.gamma(4.0, 0.5, n) * tokens, "num_tokens": tokens},
        }
        for name, columns in frames.items():
            path = tmp_path / f"{name}.csv"
            pd.DataFrame({**common, **columns}).to_csv(path, index=False)
            runs.append(f"{model}={path}")
    return runs


def test_integer_slices_of_few_values_are_categories_in_order_and_one_shape(
    tmp_path: Path,
) -> None:
    """Was: folds 1-5 cut into quartile bins, "[4, 5]" merging two folds, months listed
    1, 10, 11, 2, ... and a regression or perplexity slice entry {value, n, small, mae}
    where a classification one is {value, n, small, worst, metrics}."""
    report = build_report(_fold_runs(tmp_path), slices=["fold", "month"], bootstrap=0)
    runs = json.loads(report.to_json())["runs"]
    assert {r["task"] for r in runs} == {"binary", "regression", "perplexity"}
    for run in runs:
        folds, months = run["slices"]["fold"], run["slices"]["month"]
        assert [s["value"] for s in folds] == ["1", "2", "3", "4", "5"], run["name"]
        assert [s["value"] for s in months] == [str(m) for m in range(1, 12)], run["name"]
        assert all({"value", "n", "small", "worst", "metrics"} <= set(s) for s in folds)
        assert all(isinstance(s["metrics"], dict) and s["metrics"] for s in folds)
        assert sum(s["worst"] for s in folds) == 1
    reg = next(r for r in runs if r["task"] == "regression" and r["name"] == "a")
    frame = pd.read_csv(tmp_path / "reg_a.csv")
    expected = (frame["label"] - frame["prediction"]).abs().groupby(frame["fold"]).mean()
    found = {int(s["value"]): s["metrics"]["mae"] for s in reg["slices"]["fold"]}
    assert found == pytest.approx(expected.to_dict())
    worst = max(found, key=lambda k: found[k])  # mae: the highest is the worst
    assert [s["value"] for s in reg["slices"]["fold"] if s["worst"]] == [str(worst)]


def test_whole_numbers_of_many_values_are_still_binned(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 200
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"label": y, "prediction": y, "age": rng.integers(18, 90, n)})
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    (age,) = build_report([str(path)], slices=["age"], bootstrap=0).result("classification").slices
    assert len(age.values) == 4 and all(v.startswith("[") for v in age.values)
