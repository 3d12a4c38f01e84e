"""The result table: every kind reports typed Score and Comparison records, with one test
vocabulary and one verdict vocabulary, and the JSON and the frames are those records."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report, metrics
from reportgen.demo.classic import write_demo_runs, write_kinds_demo_runs
from reportgen.demo.lm import write_lm_demo_runs
from reportgen.report import SCHEMA_VERSION, Report
from reportgen.stats.comparison import VERDICTS, Comparison
from reportgen.stats.score import Score


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """Every kind: the demo's breast-cancer, LLM and mixed-kinds reports, built small."""
    root = tmp_path_factory.mktemp("records")
    demos = {
        "cancer": write_demo_runs(root / "classic")[0],
        "lm": write_lm_demo_runs(root / "llm"),
        "kinds": write_kinds_demo_runs(root / "kinds"),
    }
    return {
        name: build_report(demo.runs, bootstrap=200, timestamp=False, **demo.options)
        for name, demo in demos.items()
    }


def test_every_kind_reports_scores(reports: dict[str, Report]) -> None:
    kinds = {s.kind for r in reports.values() for s in r.scores}
    assert kinds >= {
        "classification",
        "embeddings",
        "regression",
        "multilabel",
        "perplexity",
        "generation",
        "lm-eval samples",
        "lm-eval results",
    }
    for report in reports.values():
        for score in report.scores:
            assert isinstance(score, Score)
            assert score.value is not None or score.reason, score
            if score.low is not None:
                assert score.level == 0.95 and score.low <= score.high  # type: ignore[operator]


def test_one_test_and_verdict_vocabulary(reports: dict[str, Report]) -> None:
    seen = set()
    for report in reports.values():
        for c in report.comparisons:
            assert c.test in metrics.TESTS, c
            assert c.verdict in VERDICTS, c
            seen.add(c.test)
        summary = json.loads(report.to_json())
        assert summary["schema_version"] == SCHEMA_VERSION == 2
        assert {c["test"] for c in summary["comparisons"]} <= set(metrics.TESTS)
    # classification's, the sums kinds' and lm-eval's tests all under the one set of names
    assert {"mcnemar-exact", "delong", "bootstrap-paired", "z-test"} <= seen


def test_scores_are_what_the_json_and_the_gates_read(reports: dict[str, Report]) -> None:
    """The records agree with every run's JSON metrics."""
    for report in reports.values():
        summary = json.loads(report.to_json())
        assert len(summary["scores"]) == len(report.scores)
        whole = {(s.model, s.kind, s.metric): s for s in report.scores if s.slice_column is None}
        for run in summary["runs"]:
            kind = "classification" if run["task"] in ("binary", "multiclass") else run["task"]
            kind = {"benchmark": "lm-eval results"}.get(kind, kind)
            for metric, value in run.get("metrics", {}).items():
                score = whole[(run["name"], kind, metric)]
                if value is None:
                    assert score.value is None
                else:
                    assert score.value == pytest.approx(value), (run["name"], metric)


def test_slices_are_scores_with_their_column_and_value(
    reports: dict[str, Report], tmp_path: Path
) -> None:
    sliced = [s for s in reports["kinds"].scores if s.slice_column is not None]
    assert {s.kind for s in sliced} == {"regression"}
    assert {s.slice_column for s in sliced} == {"sex"}
    assert all(s.slice_value and s.n for s in sliced)
    # classification: slice scores, and slice comparisons that the by-COLUMN gate reads
    runs = []
    for info in reports["cancer"].runs[:2]:
        path = Path(info.path)
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        frame["region"] = np.where(np.arange(len(frame)) % 3 == 0, "north", "south")
        frame.to_csv(tmp_path / f"{info.name}.csv", index=False)
        runs.append(f"{info.name}={tmp_path / f'{info.name}.csv'}")
    report = build_report(
        runs,
        slices=["region"],
        bootstrap=200,
        timestamp=False,
        positive_label="malignant",
        fail_if=["regression(f1) by region"],
        min_slice_size=10,
    )
    (result,) = report.results
    assert {(s.slice_column, s.slice_value) for s in result.scores if s.slice_column} == {
        ("region", "north"),
        ("region", "south"),
    }
    f1 = [c for c in result.by_slice if c.metric == "f1"]
    assert {c.slice_value for c in f1} == {"north", "south"}
    assert all(c.slice_column == "region" and c.test in metrics.TESTS for c in f1)
    (gate,) = report.gates
    worse = [c.slice_value for c in f1 if c.verdict == "worse"]
    assert gate.passed == (not worse)
    assert ("any of 2 region values" in gate.detail) == (not worse)
    frame = report.comparisons_frame()
    assert set(frame["slice_value"].dropna()) == {"north", "south"}


def test_frames_have_one_row_per_record(reports: dict[str, Report]) -> None:
    report = reports["lm"]
    scores, comparisons = report.scores_frame(), report.comparisons_frame()
    assert list(scores.columns) == [f.name for f in fields(Score)]
    assert len(scores) == len(report.scores)
    assert list(comparisons.columns) == list(Comparison.record_columns())
    assert len(comparisons) == len(report.comparisons)
    first = report.comparisons[0]
    row = comparisons.iloc[0]
    assert (row["candidate"], row["metric"], row["verdict"]) == (
        first.candidate,
        first.metric,
        first.verdict,
    )
    assert row["ci_low"] == pytest.approx(first.ci[0]) if first.ci else row["ci_low"] is None
    # a report with one run compares nothing: the frame keeps its columns
    single = build_report(
        [reports["cancer"].runs[0].path], bootstrap=0, timestamp=False, positive_label="malignant"
    )
    assert list(single.comparisons_frame().columns) == list(Comparison.record_columns())
    assert single.comparisons_frame().empty


def test_schema_version_is_the_first_key(tmp_path: Path, reports: dict[str, Report]) -> None:
    out = reports["cancer"].save(tmp_path / "summary.json")
    assert next(iter(json.loads(out.read_text()))) == "schema_version"
