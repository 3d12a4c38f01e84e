"""The recipes of docs/architecture.md, followed as a new contributor would: the code blocks
of the doc are run as they stand, and each recipe touches the files it says it does."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report, metrics
from reportgen.kinds.regression import formulas
from reportgen.render import reporters

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def doc_block(first_line: str) -> str:
    """The doc's ```python block whose first line is ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        if block.startswith(first_line + "\n"):
            return block
    raise AssertionError(f"docs/architecture.md has no block starting {first_line!r}")


def recipe_files(title: str) -> int:
    """How many files the doc says a recipe touches ("**Add X** (N files and a test)")."""
    found = re.search(rf"\*\*{re.escape(title)}\*\* \((\d+) files? and a test\)", DOC.read_text())
    assert found, title
    return int(found.group(1))


@pytest.fixture
def regression_runs(tmp_path: Path) -> list[str]:
    from .test_regression import diabetes_frames

    ridge, boosted = diabetes_frames()
    ridge.to_csv(tmp_path / "ridge.csv", index=False)
    boosted.to_csv(tmp_path / "boosted.csv", index=False)
    return [f"ridge={tmp_path / 'ridge.csv'}", f"boosted={tmp_path / 'boosted.csv'}"]


def test_output_recipe(
    tmp_path: Path, regression_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV of the score records: one module that registers itself (the doc's block), one
    import line in render/reporters.py."""
    assert recipe_files("Add an output format") == 2
    monkeypatch.setattr(reporters, "REPORTERS", dict(reporters.REPORTERS))
    exec(compile(doc_block("# render/scores_csv.py"), "scores_csv.py", "exec"), {})
    report = build_report(regression_runs, bootstrap=100, timestamp=False)
    out = report.save(tmp_path / "scores.csv")
    table = pd.read_csv(out)
    assert len(table) == len(report.scores) and set(table["model"]) == {"ridge", "boosted"}
    mae = table[(table["model"] == "boosted") & (table["metric"] == "mae")]["value"].item()
    assert mae == pytest.approx(
        next(s.value for s in report.scores if s.model == "boosted" and s.metric == "mae")
    )
    # by name too, whatever the suffix; the built-in formats are still chosen by theirs
    assert (
        report.save(tmp_path / "scores.txt", format="scores-csv").read_bytes() == out.read_bytes()
    )
    assert json.loads(report.save(tmp_path / "s.json").read_text())["schema_version"] == 2


def test_unknown_format_is_a_clear_error(tmp_path: Path, regression_runs: list[str]) -> None:
    from reportgen.errors import ReportgenError

    report = build_report(regression_runs, bootstrap=0, timestamp=False)
    with pytest.raises(ReportgenError, match="unknown output format 'pdf'; formats are: html"):
        report.save(tmp_path / "r.pdf", format="pdf")
    assert not (tmp_path / "r.pdf").exists()
    with pytest.raises(ReportgenError, match=r"r\.pdf: no output format writes \.pdf; use one of"):
        report.save(tmp_path / "r.pdf")  # was: HTML in a .pdf, and no error
    assert not (tmp_path / "r.pdf").exists()
    assert report.save(tmp_path / "r.pdf.html").read_text().startswith("<!doctype html>")


def test_metric_recipe(regression_runs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A new regression metric, the mean signed error (bias), as the recipe adds it: a
    per-example column and its formula in formulas.py, a declaration in metrics.py. Then it
    has an interval, a JSON value, a score record and a gate, with nothing else changed."""
    assert recipe_files("Add a metric") == 2
    columns, from_sums = formulas.example_columns, formulas.metrics_from_sums

    def example_columns(y: np.ndarray, y_hat: np.ndarray) -> dict[str, np.ndarray]:
        return {**columns(y, y_hat), "error": y - y_hat}  # 1. formulas.py: the column...

    def metrics_from_sums(sums: dict, n: object) -> dict:  # type: ignore[type-arg]
        return {**from_sums(sums, n), "mean_error": np.divide(sums["error"], n)}  # ...its formula

    monkeypatch.setattr(formulas, "example_columns", example_columns)
    monkeypatch.setattr(formulas, "metrics_from_sums", metrics_from_sums)
    declared = metrics.Metric("mean_error", "Mean error", bounded=False, format="units")
    monkeypatch.setitem(metrics.REGISTRY, "mean_error", declared)  # 2. metrics.py
    report = build_report(
        regression_runs, bootstrap=200, timestamp=False, fail_if=["mean_error > 1000"]
    )
    from .test_regression import diabetes_frames

    ridge, _ = diabetes_frames()
    oracle = float(np.mean(ridge["label"] - ridge["prediction"]))  # the independent oracle
    (score,) = [s for s in report.scores if s.model == "ridge" and s.metric == "mean_error"]
    assert score.value == pytest.approx(oracle, abs=1e-9)
    assert score.low is not None and score.low < oracle < score.high  # type: ignore[operator]
    ridge_json = next(r for r in report.summary()["runs"] if r["name"] == "ridge")
    assert ridge_json["metrics"]["mean_error"] == pytest.approx(oracle, abs=1e-9)
    assert [g.passed for g in report.gates] == [True]


def latency_kind(monkeypatch: pytest.MonkeyPatch) -> object:
    """The doc's latency kind, run from the doc's own text as the module kinds/latency.py."""
    module = types.ModuleType("reportgen.kinds.latency")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(doc_block("# kinds/latency.py"), "latency.py", "exec"), module.__dict__)
    return module.LATENCY


def test_kind_recipe_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen import kinds

    assert recipe_files("Add a kind") == 2
    latency = latency_kind(monkeypatch)
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, latency))  # 2. one line in KINDS
    runs = []
    for name, values in (("v1", [10, 20, 30, 40]), ("v2", [40, 50, 60, 200])):
        (tmp_path / f"{name}.csv").write_text("latency_ms\n" + "\n".join(map(str, values)))
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
    report = build_report(runs, timestamp=False, fail_if=["latency_p99_ms > 150"])
    assert report.kinds == "latency" and report.title == "v1 vs v2: latency evaluation"
    board = report.leaderboard
    assert board is not None and board.header == ["Model", "Latency p50 (ms)", "Latency p99 (ms)"]
    # p50 and p99 with numpy's linear interpolation: v1 25.0 and 39.7, v2 55.0 and 195.8
    assert [[c.text for c in row] for row in board.rows] == [
        ["v1", "25.0", "39.7"],
        ["v2", "55.0", "195.8"],
    ]
    assert "Latency p99 (ms)" in report.to_html()
    summary = report.summary()
    (v2,) = [r for r in summary["runs"] if r["name"] == "v2"]
    assert v2["task"] == "latency" and v2["n_examples"] == 4
    assert v2["metrics"]["latency_p50_ms"] == pytest.approx(np.percentile([40, 50, 60, 200], 50))
    markdown = report.to_markdown()
    assert "Latency p99 (ms)" in markdown and "| v2 |" in markdown
    (gate,) = report.gates
    assert gate.model == "v2" and not gate.passed  # p99 of v2 is 195.8 ms
    assert "latency_p99_ms = 195.8" in gate.detail
    assert report.runs[1].task == "latency" and report.runs[1].n_examples == "4"


def test_kind_recipe_next_to_classification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One model name given a classification run and a latency run: both kinds, each with
    its leaderboard, in the subtitle, the JSON and the Markdown; a gate on each."""
    from reportgen import kinds

    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, latency_kind(monkeypatch)))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    runs = []
    for name, noise, slow in (("v1", 0.3, 0), ("v2", 0.2, 100)):
        score = np.clip(y + rng.normal(0, noise, 300), 0, 1)
        pd.DataFrame({"label": y, "score": score}).to_csv(tmp_path / f"{name}.csv", index=False)
        latency = pd.DataFrame({"latency_ms": rng.gamma(2.0, 10.0, 50) + slow})
        latency.to_csv(tmp_path / f"{name}-latency.csv", index=False)
        runs += [f"{name}={tmp_path / f'{name}.csv'}", f"{name}={tmp_path / f'{name}-latency.csv'}"]
    report = build_report(
        runs,
        bootstrap=100,
        timestamp=False,
        fail_if=["latency_p50_ms > 50", "regression(roc_auc)"],
    )
    assert report.kinds == "binary classification, latency"
    titles = [title for title, _ in report.leaderboards]
    assert titles == ["Leaderboard", "Latency: leaderboard"]
    tasks = sorted((r["name"], r["task"]) for r in report.summary()["runs"])
    assert tasks == [("v1", "binary"), ("v1", "latency"), ("v2", "binary"), ("v2", "latency")]
    assert "**Latency: leaderboard**" in report.to_markdown()
    by_gate = {g.expression: g for g in report.gates}
    assert not by_gate["latency_p50_ms > 50"].passed and by_gate["regression(roc_auc)"].passed
