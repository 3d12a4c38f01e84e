"""The DuckDB aggregation engine against the exact in-memory statistics: confusion counts,
log loss and Brier identical, AUC and AP within 1e-6 whatever the score distribution, and the
stated bounds hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from reportgen import build_report
from reportgen.engines.binary import BinnedStats, binary_cells, binary_stats, slice_stats
from reportgen.engines.multiclass import multiclass_stats, ovr_ranks
from reportgen.engines.sql import DuckDBEngine, SparkEngine
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import load_run
from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import evaluate

from .conftest import Predictions, build_cli


def _binned(path: Path, prediction: bool = True) -> BinnedStats:
    engine = DuckDBEngine("1GB")
    cells = binary_cells(
        engine,
        engine.source([path]),
        "label",
        "score",
        "prediction" if prediction else None,
    )
    return binary_stats(cells)


def test_real_data_matches_the_memory_engine(
    cancer_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    path = write_run(cancer_logistic.frame(), "cancer.parquet")
    found = _binned(path)
    exact = evaluate(encode_runs([load_run(path)])[0])
    np.testing.assert_array_equal(found.confusion.matrix, exact.confusion.matrix)
    assert metrics.roc_auc(found.rank) == pytest.approx(exact.metrics["roc_auc"], abs=1e-6)
    assert found.average_precision == pytest.approx(exact.metrics["average_precision"], abs=1e-6)
    assert found.probability is not None and found.calibration is not None
    assert metrics.log_loss(found.probability) == pytest.approx(
        exact.metrics["log_loss"], rel=1e-12
    )
    assert metrics.brier_score(found.probability) == pytest.approx(
        exact.metrics["brier"], rel=1e-12
    )
    assert metrics.expected_calibration_error(found.calibration) == pytest.approx(
        exact.metrics["ece"], rel=1e-9
    )


def _scores(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if kind == "click-through":  # 1% positives, median score 0.003
        y = (rng.random(n) < 0.01).astype(int)
        return y, np.clip(rng.lognormal(np.log(0.003) + 0.8 * y, 1.0), 0, 1)
    if kind == "crowded":  # every score within 1e-7 of 0.5
        y = (rng.random(n) < 0.3).astype(int)
        return y, 0.5 + 1e-7 * rng.normal(size=n) * (1 + y)
    if kind == "tied":  # three decimals: many exact ties
        y = (rng.random(n) < 0.3).astype(int)
        return y, np.round(1 / (1 + np.exp(-rng.normal(2 * y - 1, 1.0))), 3)
    if kind == "extreme":  # within 1e-12 of 0 or 1e-9 of 1
        near_one = rng.random(n) < 0.5
        s = np.where(near_one, 1 - 1e-9 * rng.random(n), 1e-12 * rng.random(n))
        return (rng.random(n) < np.where(near_one, 0.9, 0.1)).astype(int), s
    assert kind == "logits"  # not probabilities: no calibration, still ranked
    y = (rng.random(n) < 0.4).astype(int)
    return y, rng.normal(2.0 * y, 3.0)


@pytest.mark.parametrize("kind", ["click-through", "crowded", "tied", "extreme", "logits"])
def test_ranking_metrics_are_within_1e6_whatever_the_scores(tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(7)
    y, s = _scores(kind, 200_000, rng)
    path = tmp_path / f"{kind}.parquet"
    pd.DataFrame({"label": y, "score": s}).to_parquet(path, index=False)
    found = _binned(path, prediction=False)
    auc, ap = metrics.roc_auc(found.rank), found.average_precision
    exact_auc, exact_ap = skm.roc_auc_score(y, s), skm.average_precision_score(y, s)
    assert abs(auc - exact_auc) <= 1e-6 and abs(auc - exact_auc) <= found.auc_bound + 1e-12
    assert found.auc_bound <= 1e-6  # the bound the page can state
    assert abs(ap - exact_ap) <= 1e-6 and abs(ap - exact_ap) <= found.ap_bound + 1e-12
    low, high = found.ap_range
    assert low * (1 - 1e-9) <= exact_ap <= high * (1 + 1e-9)  # digamma sums: relative error
    predicted = (s >= 0.5).astype(int)
    np.testing.assert_array_equal(
        found.confusion.matrix, skm.confusion_matrix(y, predicted, labels=[0, 1])
    )
    if kind == "logits":
        assert found.probability is None and found.calibration is None
    else:
        assert found.probability is not None
        assert metrics.log_loss(found.probability) == pytest.approx(skm.log_loss(y, s), rel=1e-9)


def test_csv_jsonl_and_folders_of_parquet_are_read_in_place(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y, s = _scores("tied", 30_000, rng)
    frame = pd.DataFrame({"label": y, "score": s})
    folder = tmp_path / "Parts"  # a folder is a folder whatever the case of its name (macOS)
    folder.mkdir()
    for i in range(3):
        frame.iloc[i * 10_000 : (i + 1) * 10_000].to_parquet(folder / f"part-{i}.parquet")
    frame.to_csv(tmp_path / "run.csv", index=False)
    frame.to_json(tmp_path / "run.jsonl", orient="records", lines=True)
    results = [
        _binned(p, prediction=False) for p in (folder, tmp_path / "run.csv", tmp_path / "run.jsonl")
    ]
    for found in results:
        assert metrics.roc_auc(found.rank) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        assert int(found.confusion.matrix.sum()) == len(frame)


def test_one_vs_rest_histograms_match_the_memory_engine(
    digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    """A forest's probabilities are heavily tied: every class's AUC must still be exact."""
    path = write_run(digits_forest.frame(), "digits.parquet")
    exact = evaluate(encode_runs([load_run(path)])[0])
    engine = DuckDBEngine("1GB")
    columns = {str(k): f"prob_{k}" for k in range(10)}
    found = ovr_ranks(engine, engine.source([path]), "label", columns)
    by_class = {c.label: c for c in exact.curves}
    for name, ovr in found.items():
        assert metrics.roc_auc(ovr.rank) == pytest.approx(by_class[name].roc_auc, abs=1e-12)
        assert ovr.average_precision == pytest.approx(by_class[name].average_precision, abs=1e-12)
        assert ovr.auc_bound == 0.0  # forest probabilities: every bucket an exact tie
    aucs = [metrics.roc_auc(o.rank) for o in found.values()]
    assert float(np.mean(aucs)) == pytest.approx(exact.metrics["roc_auc_ovr_macro"], abs=1e-12)


@pytest.mark.parametrize("kind", ["click-through", "crowded", "extreme"])
def test_spark_gives_the_statistics_duckdb_gives(
    tmp_path: Path, kind: str, spark_engine: SparkEngine
) -> None:
    rng = np.random.default_rng(3)
    y, s = _scores(kind, 50_000, rng)
    path = tmp_path / f"{kind}.parquet"
    pd.DataFrame({"label": y, "score": s, "prediction": (s >= 0.5).astype(int)}).to_parquet(path)
    duck = DuckDBEngine("1GB")
    found = [
        binary_stats(binary_cells(engine, engine.source([path]), "label", "score", "prediction"))
        for engine in (duck, spark_engine)
    ]
    np.testing.assert_array_equal(found[0].confusion.matrix, found[1].confusion.matrix)
    np.testing.assert_array_equal(found[0].rank.positives, found[1].rank.positives)
    np.testing.assert_array_equal(found[0].rank.negatives, found[1].rank.negatives)
    assert found[1].average_precision == pytest.approx(skm.average_precision_score(y, s), abs=1e-6)
    assert metrics.roc_auc(found[1].rank) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-6)
    assert found[1].probability is not None and found[0].probability is not None
    assert found[1].probability.log_loss_sum == pytest.approx(
        found[0].probability.log_loss_sum, rel=1e-12
    )


def test_spark_reads_tables_and_one_vs_rest(
    digits_forest: Predictions,
    write_run: Callable[..., Path],
    spark_engine: SparkEngine,
) -> None:
    path = write_run(digits_forest.frame(), "digits.parquet")
    spark_engine.spark.read.parquet(str(path)).createOrReplaceTempView("digits_run")  # type: ignore[attr-defined]
    columns = {str(k): f"prob_{k}" for k in range(10)}
    duck = DuckDBEngine()
    expected = ovr_ranks(duck, duck.source([path]), "label", columns)
    found = ovr_ranks(spark_engine, spark_engine.source(["spark:digits_run"]), "label", columns)
    for name in columns:
        assert metrics.roc_auc(found[name].rank) == metrics.roc_auc(expected[name].rank)


def test_slices_match_the_memory_engine_per_value(
    cancer_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    frame = cancer_logistic.frame()
    frame["size"] = np.where(frame["id"] % 3 == 0, "large", "small")
    frame.loc[frame["id"] % 7 == 0, "size"] = None
    path = write_run(frame, "sliced.parquet")
    engine = DuckDBEngine()
    cells = binary_cells(
        engine, engine.source([path]), "label", "score", "prediction", slice_column="size"
    )
    found = slice_stats(cells)
    assert set(found) == {"large", "small", "(missing)"}
    for value, stats in found.items():
        mask = frame["size"].fillna("(missing)") == value
        y, s = frame.loc[mask, "label"], frame.loc[mask, "score"]
        np.testing.assert_array_equal(
            stats.confusion.matrix,
            skm.confusion_matrix(y, frame.loc[mask, "prediction"], labels=[0, 1]),
        )
        assert metrics.roc_auc(stats.rank) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-6)
        assert stats.average_precision == pytest.approx(skm.average_precision_score(y, s), abs=1e-6)


@pytest.mark.parametrize("with_prediction", [True, False])
def test_multiclass_counts_match_the_memory_engine(
    digits_logistic: Predictions, write_run: Callable[..., Path], with_prediction: bool
) -> None:
    frame = digits_logistic.frame()
    if not with_prediction:
        frame = frame.drop(columns="prediction")
    path = write_run(frame, "digits.parquet")
    exact = evaluate(encode_runs([load_run(path)])[0])
    engine = DuckDBEngine()
    found = multiclass_stats(
        engine,
        engine.source([path]),
        "label",
        {str(k): f"prob_{k}" for k in range(10)},
        "prediction" if with_prediction else None,
    )
    np.testing.assert_array_equal(found.confusion.matrix, exact.confusion.matrix)
    assert metrics.log_loss(found.probability) == pytest.approx(
        exact.metrics["log_loss"], rel=1e-12
    )
    assert metrics.expected_calibration_error(found.calibration) == pytest.approx(
        exact.metrics["ece"], rel=1e-9
    )
    assert found.top2.hits / found.top2.n == pytest.approx(exact.metrics["top_2_accuracy"])


def test_calibration_bins_are_exact_at_and_around_every_edge() -> None:
    """Scores on an ECE edge, one and two ulps either side, and 0 and 1: the engine's bins
    (edge buckets split by one comparison) are the memory engine's (np.searchsorted)."""
    from reportgen.kinds.classification.statistics import ECE_BINS, CalibrationCounts

    edges = np.linspace(0, 1, ECE_BINS + 1)
    scores = [0.0, 1.0]
    for edge in edges:
        for direction in (-1.0, 2.0):
            value = edge
            for _ in range(2):
                value = np.nextafter(value, direction)
                scores.append(value)
        scores.append(edge)
    scores = np.clip(np.array(scores), 0, 1)
    label = (np.arange(len(scores)) % 3 == 0).astype(int)
    engine = DuckDBEngine()
    engine.register("edges_run", pd.DataFrame({"label": label, "score": scores}))
    stats = binary_stats(binary_cells(engine, "edges_run", "label", "score", None))
    exact = CalibrationCounts.from_confidence(scores, label == 1)
    np.testing.assert_array_equal(stats.calibration.count, exact.count)
    np.testing.assert_allclose(stats.calibration.confidence_sum, exact.confidence_sum, rtol=1e-12)


def _csv_with(path: Path, n: int, bad: dict[int, str]) -> Path:
    """id,label,score rows, with ``bad``: file line number -> the line written instead."""
    lines = ["id,label,score"] + [f"{i},{i % 2},0.{i % 997:03d}" for i in range(n)]
    for number, text in bad.items():
        lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("n", "bad", "said"),
    [
        # within DuckDB's sniffing sample (its first 20,480 rows): the sniffer failed, or
        # read the file as one column ("no label column")
        (50, {20: "18,1,0.5,extra"}, "cannot read as CSV (expected 3 fields in line 20, saw 4)"),
        (50, {30: "28,1,abc"}, "non-numeric value 'abc' in score column 'score' at line 30"),
        # beyond it: DuckDB's own error text went out as an internal error (exit 3)
        (
            300_000,
            {200_001: "199999,1,0.5,extra", 250_000: "249998,1"},  # the first in the file
            "cannot read as CSV (expected 3 fields in line 200001, saw 4)",
        ),
        (
            300_010,
            {300_002: "300000,1,abc"},
            "non-numeric value 'abc' in score column 'score' at line 300002",
        ),
    ],
)
def test_bad_csv_rows_are_named_by_line_and_column_on_duckdb(
    tmp_path: Path, n: int, bad: dict[int, str], said: str
) -> None:
    path = _csv_with(tmp_path / "run.csv", n, bad)
    done = build_cli(str(path), "--engine", "duckdb", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"reportgen: error: {path}: {said}"
        + (
            "; check the file is valid csv"
            if "fields" in said
            else "; scores must be finite numbers"
        )
    ]
    assert not (tmp_path / "r.html").exists()
    if n < 1000:  # the memory engine names the same line
        memory = build_cli(str(path), "--engine", "memory", "-o", str(tmp_path / "r.html"))
        assert memory.returncode == 2
        where = said.split("(")[-1].removesuffix(")") if "fields" in said else said
        assert where.lower() in memory.stderr.lower(), memory.stderr


def test_ids_that_are_text_in_one_run_and_numbers_in_the_other_pair_as_text_on_duckdb(
    tmp_path: Path,
) -> None:
    """As the memory engine does: 7 and "7" pair, "x7" and 7 do not (DuckDB tried to convert
    'x0' to a number: an internal error)."""
    numbers = _csv_with(tmp_path / "numbers.csv", 40, {})
    frame = pd.read_csv(numbers)
    frame.assign(id=frame["id"].astype(str)).to_json(
        tmp_path / "text.jsonl", orient="records", lines=True
    )
    frame.assign(id="x" + frame["id"].astype(str)).to_csv(tmp_path / "other.csv", index=False)
    for engine in ("memory", "duckdb"):
        report = build_report(
            [f"a={numbers}", f"b={tmp_path / 'text.jsonl'}"], engine=engine, bootstrap=0
        )
        assert report.result("classification").assessment.pairings["b"].n_paired == 40, engine
        with pytest.raises(ReportgenError, match=r"runs 'a' and 'b' share no example ids; "):
            build_report(
                [f"a={numbers}", f"b={tmp_path / 'other.csv'}"], engine=engine, bootstrap=0
            )


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (
            '{"id": 25000, "label": 0, "score": "abc"}',
            'line 25001 holds "abc" where the rows DuckDB sampled hold numerical values',
        ),
        ('{"id": 25000, "label": 0 "score": 0.5}', "cannot read line 25001 as JSON ("),
    ],
)
def test_json_lines_duckdb_cannot_read_are_named_by_line(
    tmp_path: Path, bad: str, said: str
) -> None:
    """Beyond the rows DuckDB samples, a JSON Lines value of another type or a malformed line
    was DuckDB's text as an internal error: one line naming the file and line."""
    lines = [json.dumps({"id": i, "label": i % 2, "score": (i % 7) / 7}) for i in range(30_000)]
    lines[25_000] = bad
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = build_cli(str(path), "--engine", "duckdb", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"reportgen: error: {path}: {said}" in done.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "option",
    [
        "--embeddings",
        "--importance",
        "--boundary",
        "--attributions",
        "--attention",
        "--robustness-table",
    ],
)
def test_view_files_out_of_core_are_refused_not_ignored(tmp_path: Path, option: str) -> None:
    """The views given their own files read every example, which the out-of-core engines do
    not keep: --engine duckdb with one of them is one line, not a report without the view."""
    path = _csv_with(tmp_path / "run.csv", 40, {})
    done = build_cli(
        f"a={path}",
        "--engine",
        "duckdb",
        option,
        f"a={tmp_path}/v.csv",
        "-o",
        str(tmp_path / "r.html"),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"reportgen: error: {option} needs the runs in memory (its view reads every example), "
        f"but --engine duckdb keeps them where they lie; drop {option}, or build with "
        "--engine memory"
    ]
