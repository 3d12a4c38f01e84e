"""Reports from engines (DuckDB, Spark) against the memory engine, on real and generated runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.engines import choice as scale
from reportgen.engines import joint
from reportgen.engines.sql import SparkEngine
from reportgen.errors import ReportgenError
from reportgen.pipeline import build_report
from tests.conftest import Predictions

EXACT = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "cohen_kappa")


def _write(path: Path, predictions: Predictions, **extra: object) -> str:
    frame = predictions.frame()
    for name, values in extra.items():
        frame[name] = values
    frame.to_parquet(path)
    return str(path)


def _by_name(report: object) -> dict[str, dict[str, float | None]]:
    return {e.name: e.metrics for e in report.result("classification").evaluations}  # type: ignore[attr-defined]


def _same_metrics(memory: object, engine: object, tolerance: float = 1e-6) -> None:
    for name, exact in _by_name(memory).items():
        binned = _by_name(engine)[name]
        for metric, value in exact.items():
            if value is None:
                assert binned[metric] is None, metric
            elif metric in EXACT or metric.endswith(("macro", "weighted", "micro")):
                assert binned[metric] == pytest.approx(value, abs=1e-12), metric
            else:
                assert binned[metric] == pytest.approx(value, abs=tolerance), metric


@pytest.fixture()
def cancer_pair(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> list[str]:
    size = np.where(np.arange(len(cancer_logistic.y_true)) % 3 == 0, "large", "small")
    return [
        "logistic=" + _write(tmp_path / "logistic.parquet", cancer_logistic, group=size),
        "tree=" + _write(tmp_path / "tree.parquet", cancer_tree, group=size),
    ]


def test_duckdb_report_equals_the_memory_report_on_breast_cancer(cancer_pair: list[str]) -> None:
    options = {"timestamp": False, "slices": ["group"], "bootstrap": 300}
    memory = build_report(cancer_pair, engine="memory", **options)
    duck = build_report(cancer_pair, engine="duckdb", **options)
    _same_metrics(memory, duck)
    # McNemar from the engine's id join: the same discordant counts, the same p-value
    tests = {c.metric: c for c in duck.result("classification").assessment.comparisons}
    exact = {c.metric: c for c in memory.result("classification").assessment.comparisons}
    assert tests["accuracy"].p_value == pytest.approx(exact["accuracy"].p_value, abs=1e-12)
    assert tests["accuracy"].n_paired == exact["accuracy"].n_paired
    # intervals from the same cells: close to the row bootstrap's
    for metric in ("accuracy", "f1", "log_loss"):
        low, high = duck.result("classification").assessment.intervals["logistic"][metric]
        m_low, m_high = memory.result("classification").assessment.intervals["logistic"][metric]
        assert abs(low - m_low) < 0.25 * (m_high - m_low), metric
        assert abs(high - m_high) < 0.25 * (m_high - m_low), metric
    for c in ("f1", "roc_auc", "log_loss"):
        assert tests[c].ci is not None and tests[c].test == "bootstrap-paired"
    # slices: identical confusion-derived metrics per slice value
    exact_slices = {
        (c.model, c.value): c.metrics for c in memory.result("classification").slices[0].cells
    }
    for cell in duck.result("classification").slices[0].cells:
        assert cell.metrics["f1"] == pytest.approx(exact_slices[(cell.model, cell.value)]["f1"])
    summary = duck.summary()
    assert summary["engine"]["name"] == "duckdb"
    html = duck.to_html()
    assert "most confident mistakes" in html and "Skipped, because the runs" in html


def test_runs_in_another_row_order_and_format_pair_on_id(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    """The id join inside the engine pairs a shuffled CSV with a Parquet file: McNemar's
    table, and so its p-value, equal the memory engine's."""
    shuffled = cancer_tree.frame().sample(frac=1.0, random_state=0)
    shuffled.to_csv(tmp_path / "tree.csv", index=False)
    runs = [
        "logistic=" + _write(tmp_path / "logistic.parquet", cancer_logistic),
        f"tree={tmp_path / 'tree.csv'}",
    ]
    memory = build_report(runs, engine="memory", timestamp=False, bootstrap=0)
    duck = build_report(runs, engine="duckdb", timestamp=False, bootstrap=0)
    exact = {c.metric: c for c in memory.result("classification").assessment.comparisons}[
        "accuracy"
    ]
    found = {c.metric: c for c in duck.result("classification").assessment.comparisons}["accuracy"]
    assert found.n_paired == exact.n_paired == len(shuffled)
    assert found.p_value == pytest.approx(exact.p_value, abs=1e-12)
    assert found.test == "mcnemar-exact"


def test_duckdb_top_k_mistakes_are_the_memory_engine_s(cancer_pair: list[str]) -> None:
    memory = build_report(cancer_pair, engine="memory", timestamp=False, bootstrap=0, top_k=5)
    duck = build_report(cancer_pair, engine="duckdb", timestamp=False, bootstrap=0, top_k=5)

    def mistakes(report: object, name: str) -> list[list[str]]:
        section = next(s for s in report.sections if s.id == "errors")  # type: ignore[attr-defined]
        table = next(t for t in section.tables if t.title.startswith(f"{name}: most confident"))
        return [[c.text for c in row[:3]] for row in table.rows]

    for name in ("logistic", "tree"):
        assert mistakes(duck, name) == mistakes(memory, name)
        assert len(mistakes(duck, name)) == 5


def test_duckdb_multiclass_equals_memory_on_digits(
    tmp_path: Path, digits_logistic: Predictions, digits_forest: Predictions
) -> None:
    runs = [
        "logistic=" + _write(tmp_path / "logistic.parquet", digits_logistic),
        "forest=" + _write(tmp_path / "forest.parquet", digits_forest),
    ]
    memory = build_report(runs, engine="memory", timestamp=False, bootstrap=100)
    duck = build_report(runs, engine="duckdb", timestamp=False, bootstrap=100)
    _same_metrics(memory, duck)
    assert duck.task == "multiclass"
    tests = {c.metric: c for c in duck.result("classification").assessment.comparisons}
    exact = {c.metric: c for c in memory.result("classification").assessment.comparisons}
    assert tests["accuracy"].p_value == pytest.approx(exact["accuracy"].p_value, abs=1e-12)
    for metric in ("f1_macro", "log_loss", "top_2_accuracy"):
        assert tests[metric].test == "bootstrap-paired", metric
        low, high = tests[metric].ci
        m_low, m_high = exact[metric].ci
        assert abs(low - m_low) < 0.3 * (m_high - m_low), metric
        assert abs(high - m_high) < 0.3 * (m_high - m_low), metric
    assert duck.result("classification").assessment.intervals["logistic"]["f1_macro"] is not None


def test_crowded_tied_and_extreme_scores_keep_auc_and_ap_within_1e_6(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    label = (rng.random(n) < 0.02).astype(int)
    crowded = 0.3 + 1e-9 * rng.random(n) + 2e-10 * label  # every score in one narrow band
    tied = np.round(rng.random(n) * 0.2 + 0.1 * label, 2)  # 31 distinct values
    extreme = np.clip(rng.lognormal(np.log(1e-6) + 2 * label, 2.0), 0, 1)
    extreme[:50] = 0.0
    extreme[50:100] = 1.0
    runs = []
    for name, score in (("crowded", crowded), ("tied", tied), ("extreme", extreme)):
        path = tmp_path / f"{name}.parquet"
        pd.DataFrame({"id": np.arange(n), "label": label, "score": score}).to_parquet(path)
        runs.append(f"{name}={path}")
    memory = build_report(runs, engine="memory", timestamp=False, bootstrap=0, unpaired=True)
    duck = build_report(runs, engine="duckdb", timestamp=False, bootstrap=0, unpaired=True)
    _same_metrics(memory, duck, tolerance=1e-6)


def test_auto_switches_to_duckdb_beyond_the_memory_limit(cancer_pair: list[str]) -> None:
    small = build_report(cancer_pair, timestamp=False, bootstrap=0)
    assert small.engine == "memory"
    choice = scale.choose_engine("auto", cancer_pair, 10)
    assert choice.name == "duckdb" and "more than the memory limit" in (choice.reason or "")
    report = build_report(cancer_pair, timestamp=False, bootstrap=0, memory_limit=10**5 * 1024)
    assert report.engine == "memory"  # 100 MB: these runs fit


def test_engines_read_csv_jsonl_globs_and_folders(
    tmp_path: Path, cancer_logistic: Predictions
) -> None:
    frame = cancer_logistic.frame()
    folder = tmp_path / "parts"
    folder.mkdir()
    for part in range(3):
        frame.iloc[part::3].to_parquet(folder / f"part-{part}.parquet")
    frame.to_csv(tmp_path / "run.csv", index=False)
    frame.to_json(tmp_path / "run.jsonl", orient="records", lines=True)
    runs = [
        f"folder={folder}",
        f"glob={folder}/part-*.parquet",
        f"csv={tmp_path / 'run.csv'}",
        f"jsonl={tmp_path / 'run.jsonl'}",
    ]
    report = build_report(runs, engine="duckdb", timestamp=False, bootstrap=0)
    first = report.result("classification").evaluations[0].metrics
    for evaluation in report.result("classification").evaluations[
        1:
    ]:  # the same run, however it is stored
        for metric, value in first.items():  # sums in another order: the last bits differ
            assert evaluation.metrics[metric] == pytest.approx(value, rel=1e-12), metric
    assert report.result("classification").evaluations[0].encoded.run.n_examples == len(frame)
    exact = build_report([runs[2]], engine="memory", timestamp=False, bootstrap=0)
    _same_metrics(exact, build_report([runs[2]], engine="duckdb", timestamp=False, bootstrap=0))


def test_memory_limit_and_engine_are_checked() -> None:
    assert scale.parse_memory("1GB") == 10**9
    assert scale.parse_memory("512MiB") == 512 * 2**20
    with pytest.raises(ReportgenError, match="memory-limit"):
        scale.parse_memory("lots")
    with pytest.raises(ReportgenError, match="--engine 'gpu'"):
        scale.choose_engine("gpu", [], None)


def test_cli_says_on_stderr_that_it_switched(cancer_pair: list[str], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["build", *cancer_pair, "-o", str(out), "--memory-limit", "64MB", "--bootstrap", "50"],
    )
    assert result.exit_code == 0, result.output
    # 64 MB fits these runs: no switch; force one with --engine duckdb
    result = CliRunner().invoke(
        app, ["build", *cancer_pair, "-o", str(out), "--engine", "duckdb", "--bootstrap", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "computed by DuckDB" in result.output
    assert "computed by DuckDB" in out.read_text()
    bad = CliRunner().invoke(app, ["build", *cancer_pair, "--engine", "gpu"])
    assert bad.exit_code == 2 and "'gpu' is not one of 'auto', 'memory', 'duckdb'" in bad.output
    missing = CliRunner().invoke(app, ["build", "x=nothing/*.parquet", "--engine", "duckdb"])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_spark_report_equals_the_duckdb_report(
    cancer_pair: list[str], spark_engine: object
) -> None:
    options = {"timestamp": False, "bootstrap": 200}
    duck = build_report(cancer_pair, engine="duckdb", **options)
    spark = build_report(cancer_pair, engine="spark", **options)  # the active session
    _same_metrics(duck, spark, tolerance=1e-12)
    assert spark.engine == "spark"
    tests = {c.metric: c.p_value for c in spark.result("classification").assessment.comparisons}
    assert tests["accuracy"] == pytest.approx(
        {c.metric: c.p_value for c in duck.result("classification").assessment.comparisons}[
            "accuracy"
        ]
    )


def test_binary_runs_with_one_probability_column_per_class(
    tmp_path: Path, cancer_logistic: Predictions
) -> None:
    frame = cancer_logistic.frame().drop(columns="score")
    frame["prob_0"] = cancer_logistic.proba[:, 0]
    frame["prob_1"] = cancer_logistic.proba[:, 1]
    frame.to_parquet(tmp_path / "run.parquet")
    runs = [f"logistic={tmp_path / 'run.parquet'}"]
    memory = build_report(runs, engine="memory", timestamp=False, bootstrap=0)
    duck = build_report(runs, engine="duckdb", timestamp=False, bootstrap=0)
    _same_metrics(memory, duck)
    assert (
        duck.result("classification").evaluations[0].metrics["roc_auc"] > 0.9
    )  # the positive class's column


def test_runs_of_different_tasks_are_refused_out_of_core(
    tmp_path: Path, cancer_logistic: Predictions, digits_logistic: Predictions
) -> None:
    runs = [
        "binary=" + _write(tmp_path / "binary.parquet", cancer_logistic),
        "digits=" + _write(tmp_path / "digits.parquet", digits_logistic),
    ]
    with pytest.raises(ReportgenError, match="compare runs of one task"):
        build_report(runs, engine="duckdb", timestamp=False, bootstrap=0)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_large_runs_pair_on_an_id_sample_and_stage_the_rows_they_need(
    cancer_pair: list[str], monkeypatch: pytest.MonkeyPatch, engine: str, request: object
) -> None:
    """Beyond JOINT_ROWS pairs the paired tests read a hash sample of ids and the top-k
    mistakes a staged score range; both from one small table per run."""
    if engine == "spark":
        request.getfixturevalue("spark_engine")  # type: ignore[attr-defined]
    options = {"timestamp": False, "bootstrap": 200, "top_k": 5}
    exact = build_report(cancer_pair, engine=engine, **options)
    monkeypatch.setattr(joint, "JOINT_ROWS", 100)
    sampled = build_report(cancer_pair, engine=engine, **options)
    pairing = sampled.result("classification").assessment.pairings["tree"]
    assert (
        pairing.n_paired == exact.result("classification").assessment.pairings["tree"].n_paired
    )  # every id paired
    assert "sample of ids" in pairing.note
    tests = {c.metric: c for c in sampled.result("classification").assessment.comparisons}
    for metric in ("accuracy", "f1", "log_loss"):  # deltas of the whole runs, not the sample
        assert tests[metric].delta == pytest.approx(
            {c.metric: c for c in exact.result("classification").assessment.comparisons}[
                metric
            ].delta,
            abs=1e-12,
        )
        assert tests[metric].ci is not None
    section = next(s for s in sampled.sections if s.id == "errors")
    exact_section = next(s for s in exact.sections if s.id == "errors")
    assert [t.rows for t in section.tables] == [t.rows for t in exact_section.tables]


def test_multiclass_slices_equal_the_memory_engine_s(
    tmp_path: Path, digits_logistic: Predictions, digits_forest: Predictions
) -> None:
    half = np.where(np.arange(len(digits_logistic.y_true)) % 2 == 0, "even", "odd")
    runs = [
        "logistic=" + _write(tmp_path / "logistic.parquet", digits_logistic, half=half),
        "forest=" + _write(tmp_path / "forest.parquet", digits_forest, half=half),
    ]
    options = {"timestamp": False, "bootstrap": 0, "slices": ["half"]}
    memory = build_report(runs, engine="memory", **options)
    duck = build_report(runs, engine="duckdb", **options)
    exact = {(c.model, c.value): c for c in memory.result("classification").slices[0].cells}
    assert len(duck.result("classification").slices[0].cells) == len(exact) == 4
    for cell in duck.result("classification").slices[0].cells:
        expected = exact[(cell.model, cell.value)]
        assert cell.n == expected.n
        for metric in ("accuracy", "f1_macro", "mcc", "top_2_accuracy"):
            assert cell.metrics[metric] == pytest.approx(expected.metrics[metric], abs=1e-12)
        for metric in ("log_loss", "ece"):
            assert cell.metrics[metric] == pytest.approx(expected.metrics[metric], abs=1e-9)
        assert cell.metrics["roc_auc_ovr_macro"] is None  # not computed per slice out of core
    assert (
        duck.result("classification").slices[0].worst
        == memory.result("classification").slices[0].worst
    )


def test_spark_engine_without_pyspark_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ReportgenError, match=r"pip install 'reportgen-ml\[spark\]'"):
        SparkEngine()


def test_duplicate_ids_are_refused_as_in_memory(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    frame = cancer_tree.frame()
    frame.loc[7, "id"] = frame.loc[3, "id"]
    frame.to_parquet(tmp_path / "tree.parquet")
    runs = [
        "logistic=" + _write(tmp_path / "logistic.parquet", cancer_logistic),
        f"tree={tmp_path / 'tree.parquet'}",
    ]
    with pytest.raises(ReportgenError, match="duplicate id 3 in column 'id'"):
        build_report(runs, engine="duckdb", timestamp=False, bootstrap=0)
    unpaired = build_report(runs, engine="duckdb", timestamp=False, bootstrap=0, unpaired=True)
    assert unpaired.result("classification").assessment.pairings["tree"].mode == "unpaired"
