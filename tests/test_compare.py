"""Comparison statistics against independent oracles: statsmodels, brute force, simulation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata
from sklearn.metrics import f1_score, log_loss, roc_auc_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from reportgen import build_report, load_run
from reportgen.errors import ReportgenError
from reportgen.kinds.classification.assess import intervals, run_replicates
from reportgen.kinds.classification.encode import EncodedRun, encode_runs
from reportgen.kinds.classification.evaluate import evaluate
from reportgen.kinds.classification.pairing import pair_runs
from reportgen.kinds.classification.resample import build_cells, replicate_metrics
from reportgen.stats import significance as compare

from .conftest import Predictions


def test_mcnemar_matches_statsmodels(
    cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    a = cancer_logistic.y_pred == cancer_logistic.y_true
    b = cancer_tree.y_pred == cancer_tree.y_true
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    expected = mcnemar(table, exact=True).pvalue
    assert compare.mcnemar_exact(a, b) == pytest.approx(expected, rel=1e-12)
    assert compare.mcnemar_exact(a, a) == 1.0


def brute_force_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """DeLong's variance of AUC(b) - AUC(a) with O(n^2) pairwise comparisons."""

    def psi(x: float, z: float) -> float:
        return 1.0 if x > z else 0.5 if x == z else 0.0

    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    scores = {"a": a, "b": b}
    v10 = {
        k: np.array([np.mean([psi(s[i], s[j]) for j in neg]) for i in pos])
        for k, s in scores.items()
    }
    v01 = {
        k: np.array([np.mean([psi(s[i], s[j]) for i in pos]) for j in neg])
        for k, s in scores.items()
    }
    s10 = np.cov(np.vstack([v10["a"], v10["b"]]))
    s01 = np.cov(np.vstack([v01["a"], v01["b"]]))
    contrast = np.array([-1.0, 1.0])
    return float(contrast @ s10 @ contrast / len(pos) + contrast @ s01 @ contrast / len(neg))


def test_delong_variance_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    y = rng.random(80) < 0.4
    a = np.round(rng.normal(y * 1.0, 1.0), 1)  # rounded: ties must count one half
    b = np.round(a + rng.normal(0, 0.8, 80), 1)
    delta, variance, p = compare.delong(y, a, b)
    assert delta == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a), abs=1e-12)
    assert variance == pytest.approx(brute_force_delong(y, a, b), rel=1e-10)
    assert 0 < p < 1


def test_holm_matches_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.5, 0.001]
    assert compare.holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))


def _binary_run(write_run: Callable[..., Path], frame: pd.DataFrame, name: str) -> EncodedRun:
    return encode_runs([load_run(write_run(frame, name))])[0]


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    tp = np.sum((y == 1) & (p == 1))
    return 2 * tp / (np.sum(y == 1) + np.sum(p == 1))


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney U from mid-ranks."""
    ranks = rankdata(s)
    positives = y == 1
    m, n = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - m * (m + 1) / 2) / (m * n))


def test_cell_bootstrap_agrees_with_row_bootstrap(write_run: Callable[..., Path]) -> None:
    """On data with few distinct scores the cells are exact, so the two bootstraps draw from
    the same distribution: compare their quantiles."""
    rng = np.random.default_rng(1)
    n = 400
    label = (rng.random(n) < 0.35).astype(int)
    score = np.round(np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1), 2)
    frame = pd.DataFrame({"label": label, "score": score, "prediction": (score >= 0.5) * 1})
    encoded = _binary_run(write_run, frame, "small.csv")
    names = ["f1", "roc_auc", "log_loss"]
    cells = build_cells([encoded])
    by_cells = replicate_metrics(cells, 4000, 0, names)[0]
    rows = rng.integers(0, n, size=(4000, n))
    prediction = frame["prediction"].to_numpy()
    # the naive bootstrap: resample rows, recompute (scikit-learn on a subset, as a check)
    for r in rows[:50]:
        assert f1_score(label[r], prediction[r]) == pytest.approx(_f1(label[r], prediction[r]))
        assert roc_auc_score(label[r], score[r]) == pytest.approx(_auc(label[r], score[r]))
    naive = {
        "f1": [_f1(label[r], prediction[r]) for r in rows],
        "roc_auc": [_auc(label[r], score[r]) for r in rows],
        "log_loss": [log_loss(label[r], score[r], labels=[0, 1]) for r in rows[:500]],
    }
    for name in names:
        quantiles_cells = np.percentile(by_cells[name], [2.5, 50, 97.5])
        quantiles_rows = np.percentile(naive[name], [2.5, 50, 97.5])
        spread = quantiles_rows[2] - quantiles_rows[0]
        np.testing.assert_allclose(quantiles_cells, quantiles_rows, atol=0.06 * spread)


def test_intervals_cover_the_truth_about_95_percent(write_run: Callable[..., Path]) -> None:
    """Simulation: draw many small test sets from a known model; count how often the
    interval holds the population value."""
    rng = np.random.default_rng(7)

    def sample(n: int) -> pd.DataFrame:
        label = (rng.random(n) < 0.4).astype(int)
        score = np.round(1 / (1 + np.exp(-rng.normal(1.6 * label - 0.8, 1.0))), 3)
        return pd.DataFrame({"label": label, "score": score, "prediction": (score >= 0.5) * 1})

    population = sample(400_000)
    truth = {
        "accuracy": float(np.mean(population["label"] == population["prediction"])),
        "roc_auc": roc_auc_score(population["label"], population["score"]),
    }
    hits = {name: 0 for name in truth}
    trials = 150
    for trial in range(trials):
        encoded = _binary_run(write_run, sample(300), f"t{trial}.csv")
        evaluation = evaluate(encoded)
        reps = run_replicates(encoded, evaluation.metrics, 400, trial)
        found = intervals(evaluation, reps)
        for name, value in truth.items():
            low, high = found[name]  # type: ignore[misc]
            hits[name] += low <= value <= high
    for name in truth:
        assert 0.89 <= hits[name] / trials <= 0.99, (name, hits[name] / trials)


def _runs_with_ids(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    a = cancer_logistic.frame()
    b = cancer_tree.frame().sample(frac=1.0, random_state=0)  # same ids, another order
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    return a, b


def test_pairing_by_id_in_any_order(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    _runs_with_ids(tmp_path, cancer_logistic, cancer_tree)
    encoded = encode_runs([load_run(tmp_path / "a.csv"), load_run(tmp_path / "b.csv")])
    pairing = pair_runs(encoded[0], encoded[1])
    assert pairing.mode == "id" and pairing.n_paired == len(cancer_logistic.y_true)
    np.testing.assert_array_equal(
        encoded[0].y_true[pairing.baseline_rows], encoded[1].y_true[pairing.candidate_rows]
    )


def test_pairing_errors_name_both_runs(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    _, b = _runs_with_ids(tmp_path, cancer_logistic, cancer_tree)
    b.assign(id=b["id"] + 10_000).to_csv(tmp_path / "other.csv", index=False)
    flipped = b.copy()
    flipped.loc[flipped.index[:3], "label"] = 1 - flipped["label"].iloc[:3]
    flipped.to_csv(tmp_path / "flipped.csv", index=False)
    with pytest.raises(ReportgenError, match=r"runs 'a' and 'other' share no example ids"):
        build_report([tmp_path / "a.csv", tmp_path / "other.csv"], bootstrap=0)
    with pytest.raises(ReportgenError, match=r"runs 'a' and 'flipped' disagree on the label"):
        build_report([tmp_path / "a.csv", tmp_path / "flipped.csv"], bootstrap=0)
    report = build_report(
        [tmp_path / "a.csv", tmp_path / "flipped.csv"], unpaired=True, bootstrap=200
    )
    assert {c.test for c in report.result("classification").assessment.comparisons} <= {
        "bootstrap-unpaired",
        "none",
    }
    assert "Unpaired comparison (--unpaired)" in report.to_html()


def test_rows_pair_without_ids_only_when_labels_match(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    cancer_logistic.frame().drop(columns="id").to_csv(tmp_path / "a.csv", index=False)
    cancer_tree.frame().drop(columns="id").to_csv(tmp_path / "b.csv", index=False)
    cancer_tree.frame().drop(columns="id").iloc[::-1].to_csv(tmp_path / "c.csv", index=False)
    encoded = encode_runs([load_run(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv")])
    assert pair_runs(encoded[0], encoded[1]).mode == "row"
    assert pair_runs(encoded[0], encoded[2]).mode == "unpaired"


def test_report_comparisons_in_json(
    tmp_path: Path,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.csv"),
    ]
    summary = build_report(runs, baseline="tree", bootstrap=300, seed=3).summary()
    assert summary["baseline"] == "tree"
    comparisons = summary["comparisons"]
    assert {c["candidate"] for c in comparisons} == {"logistic"}
    by_metric = {c["metric"]: c for c in comparisons}
    accuracy = by_metric["accuracy"]
    assert accuracy["test"] == "mcnemar-exact"
    assert accuracy["delta"] == pytest.approx(
        np.mean(cancer_logistic.y_pred == cancer_logistic.y_true)
        - np.mean(cancer_tree.y_pred == cancer_tree.y_true)
    )
    assert accuracy["n_paired"] == len(cancer_logistic.y_true)
    assert by_metric["roc_auc"]["test"] == "delong"
    assert by_metric["f1"]["test"] == "bootstrap-paired"
    for c in comparisons:
        assert c["verdict"] in {"better", "worse", "tie", "untested"}
        if c["p_value"] is not None:
            assert c["p_value_adjusted"] >= c["p_value"]
            low, high = c["ci"]
            assert low <= c["delta"] <= high
    run = summary["runs"][0]
    low, high = run["ci"]["accuracy"]
    assert low < run["metrics"]["accuracy"] < high


def test_multiclass_auc_comparison_uses_delong_across_classes(
    digits_logistic: Predictions, digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    runs = [
        write_run(digits_logistic.frame(), "logistic.parquet"),
        write_run(digits_forest.frame(), "forest.parquet"),
    ]
    for bootstrap in (0, 200):  # from the runs' own influences, and recomputed on pairs
        report = build_report(runs, bootstrap=bootstrap)
        auc = next(
            c
            for c in report.result("classification").assessment.comparisons
            if c.metric == "roc_auc_ovr_macro"
        )
        assert auc.test == "delong-ovr"
        assert auc.delta == pytest.approx(
            roc_auc_score(digits_forest.y_true, digits_forest.proba, multi_class="ovr")
            - roc_auc_score(digits_logistic.y_true, digits_logistic.proba, multi_class="ovr")
        )
        assert auc.ci is not None and auc.ci[0] <= auc.delta <= auc.ci[1]
        assert auc.p_value is not None and 0 <= auc.p_value <= 1
    interval = report.result("classification").assessment.intervals["logistic"]["roc_auc_ovr_macro"]
    assert (
        interval is not None
        and interval[0]
        < report.result("classification").evaluations[0].metrics["roc_auc_ovr_macro"]
        < interval[1]
    )


@pytest.mark.parametrize(("k", "n"), [(0, 1), (3, 20), (0, 50), (1234, 3000), (400_000, 800_100)])
def test_binomial_tail_matches_scipy(k: int, n: int) -> None:
    from scipy.stats import binom, norm

    assert compare.binomial_half_cdf(k, n) == pytest.approx(binom.cdf(k, n, 0.5), rel=1e-8)
    assert compare.normal_two_sided_p(2.3) == pytest.approx(2 * norm.sf(2.3), rel=1e-12)


def test_ids_written_as_numbers_and_as_text_still_pair(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    cancer_logistic.frame().to_csv(tmp_path / "a.csv", index=False)
    as_text = cancer_tree.frame().assign(id=lambda f: f["id"].astype(str) + "")
    as_text.to_json(tmp_path / "b.jsonl", orient="records", lines=True)
    encoded = encode_runs([load_run(tmp_path / "a.csv"), load_run(tmp_path / "b.jsonl")])
    assert encoded[1].run.ids is not None and encoded[1].run.ids.dtype.kind in "OUT"
    pairing = pair_runs(encoded[0], encoded[1])
    assert pairing.mode == "id" and pairing.n_paired == len(cancer_logistic.y_true)


def _reference_group_sums(
    counts: np.ndarray, group: np.ndarray, n_groups: int, weights: np.ndarray | None
) -> np.ndarray:
    """The plain way: every cell's weighted counts, sorted by group, added group by group."""
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    rows = np.ascontiguousarray(counts.T)[order]
    if weights is not None:
        rows = rows * weights[order, None]
    sums = np.zeros((n_groups, counts.shape[0]))
    sums[ordered[starts]] = np.add.reduceat(rows, starts, axis=0)
    return sums.T


def test_group_sums_of_replicates_are_the_sums_in_cell_order_bit_for_bit() -> None:
    """The fast paths (a matrix product for whole-number weights, cells of weight 0 left out)
    give the bits and the memory layout of plain sums: later reductions add in an order that
    depends on the layout, and the summaries must not move by one bit."""
    from reportgen.kinds.classification.resample import FEW_GROUPS, _GroupSums

    rng = np.random.default_rng(3)
    for n_groups in (1, 2, 15, FEW_GROUPS, FEW_GROUPS + 1, 300):
        cells = 400
        counts = rng.multinomial(10**6, np.full(cells, 1 / cells), size=30).astype(float)
        group = rng.integers(0, n_groups, cells)
        for weights in (
            None,
            rng.random(cells) < 0.3,
            rng.random(cells),
            rng.integers(0, 3, cells).astype(float),
        ):
            found = _GroupSums(counts)(group, n_groups, weights)
            expected = _reference_group_sums(counts, group, n_groups, weights)
            assert np.array_equal(found, expected), (n_groups, weights)
            assert found.flags.f_contiguous and found.shape == (30, n_groups)
