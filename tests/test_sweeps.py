"""Hyperparameter sweeps: many models in one report. Charts draw the baseline and the best
others (at most MAX_DRAWN), tables list every model, and a report of more models or runs
than it is made for is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from reportgen.kinds.base import MAX_DRAWN, drawn_models
from reportgen.model import PALETTE
from reportgen.pipeline import MAX_MODELS, MAX_RUNS, build_report
from reportgen.stats.score import Score
from tests.conftest import build_cli


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, float]]:
    """25 logistic regressions on breast cancer, each on its own 3 of the 30 features."""
    folder = tmp_path_factory.mktemp("sweep")
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0)
    runs, accuracy = [], {}
    for i in range(25):
        columns = [(i + k * 7) % 30 for k in range(3)]
        model = LogisticRegression(max_iter=2000).fit(x_train[:, columns], y_train)
        score = model.predict_proba(x_test[:, columns])[:, 1]
        name = f"c{i:02d}"
        accuracy[name] = float(accuracy_score(y_test, score >= 0.5))
        path = folder / f"{name}.csv"
        pd.DataFrame({"id": np.arange(len(y_test)), "label": y_test, "score": score}).to_csv(
            path, index=False
        )
        runs.append(f"{name}={path}")
    return runs, accuracy


def _models_in(spec: object, names: list[str]) -> set[str]:
    text = json.dumps(spec)
    return {n for n in names if f'"{n}"' in text}


def test_a_sweep_of_25_models_draws_the_baseline_and_the_best_others(
    sweep: tuple[list[str], dict[str, float]],
) -> None:
    runs, accuracy = sweep  # binary runs rank by accuracy, the leaderboard's first metric
    names = list(accuracy)
    report = build_report(runs, bootstrap=200)  # 25 x 201 thresholds: beyond Altair's 5,000
    best = sorted((n for n in names if n != "c00"), key=lambda n: (-accuracy[n], names.index(n)))
    expected = {"c00", *best[: MAX_DRAWN - 1]}
    figures = [f for s in report.sections for f in s.figures]
    assert figures
    for figure in figures:
        drawn = _models_in(figure.spec, names)
        assert drawn <= expected, figure.id
    assert _models_in([f.spec for f in figures], names) == expected
    noted = [s for s in report.sections if s.figures and s.id != "embeddings"]
    assert all("This section shows 8 of 25 models" in s.notes[0] for s in noted)
    assert "on Accuracy" in noted[0].notes[0]
    assert report.leaderboard is not None and len(report.leaderboard.rows) == 25
    colours = {r.name: r.colour for r in report.runs}
    assert {colours[n] for n in expected} == set(PALETTE[:-1])  # one colour each
    assert {colours[n] for n in names if n not in expected} == {PALETTE[-1]}  # the rest grey
    comparison = next(s for s in report.sections if s.id == "comparison")
    assert len({row[0].text for row in comparison.tables[0].rows}) == 24  # every candidate
    assert "24 candidates (c01 to c24): Paired by id" in " ".join(comparison.notes)
    assert not any(note.startswith("c05:") for note in comparison.notes)  # one note, not 24


def test_drawn_models_rank_by_the_metric_s_direction_and_keep_the_baseline() -> None:
    names = [f"m{i}" for i in range(12)]
    loss = [Score(n, "regression", "rmse", float(i)) for i, n in enumerate(names)]
    loss[3] = Score("m3", "regression", "rmse", None)  # undefined: ranked last
    assert drawn_models(names, "m11", loss, "rmse") == ["m0", "m1", "m2", *names[4:8], "m11"]
    assert drawn_models(names[:MAX_DRAWN], "m0", loss, "rmse") is None
    gain = [Score(n, "classification", "roc_auc", i / 20) for i, n in enumerate(names)]
    assert drawn_models(names, "m0", gain, "roc_auc") == ["m0", *names[5:]]
    tied = [Score(n, "classification", "roc_auc", 0.5) for n in names]
    assert drawn_models(names, "m5", tied, "roc_auc") == names[:8]  # ties in run order


def test_more_models_or_runs_than_a_report_holds_are_refused_before_any_work(
    tmp_path: Path,
) -> None:
    missing = [f"m{i}={tmp_path}/missing-{i}.csv" for i in range(MAX_MODELS + 1)]
    done = build_cli(*missing, "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"{MAX_MODELS + 1} models: a report compares at most {MAX_MODELS}" in done.stderr
    repeats = [f"m{i % 10}={tmp_path}/missing-{i}.csv" for i in range(MAX_RUNS + 1)]
    done = build_cli(*repeats, "--repeats", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert f"{MAX_RUNS + 1} runs: a report reads at most {MAX_RUNS}" in done.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
def test_more_classes_than_a_report_holds_are_refused_naming_the_run(
    tmp_path: Path, engine: str
) -> None:
    from reportgen.ingest.runs import MAX_CLASSES

    rng = np.random.default_rng(0)
    n = 3 * MAX_CLASSES
    labels = np.arange(n) % (MAX_CLASSES + 1)  # every class present
    runs = []
    for name in ("a", "b"):
        guess = np.where(rng.random(n) < 0.5, labels, rng.integers(0, MAX_CLASSES, n))
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"id": np.arange(n), "label": labels, "prediction": guess}).to_csv(
            path, index=False
        )
        runs.append(f"{name}={path}")
    done = build_cli(*runs, "--engine", engine, "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"{MAX_CLASSES + 1:,} classes across the runs" in done.stderr
    assert f"a report handles at most {MAX_CLASSES:,}" in done.stderr
    assert str(tmp_path) in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_language_runs_rank_by_their_headline_and_views_draw_the_same_models(
    tmp_path: Path,
) -> None:
    """Twelve answer runs that log latency: the generation charts draw the best by exact
    match (not the fastest: latency is their first record), the speed view draws the same
    models, and no two drawn models share a colour."""
    rng = np.random.default_rng(3)
    answers = [f"answer {i}" for i in range(60)]
    runs, skill = [], {}
    for m in range(12):
        right = rng.random(60) < 0.3 + 0.05 * m  # later runs answer better...
        frame = pd.DataFrame(
            {
                "id": np.arange(60),
                "label": answers,
                "prediction": [a if r else "wrong" for a, r in zip(answers, right, strict=True)],
                "latency_ms": 10.0 + 5 * m + rng.random(60),  # ...and more slowly
            }
        )
        skill[f"q{m:02d}"] = float(right.mean())
        path = tmp_path / f"q{m:02d}.csv"
        frame.to_csv(path, index=False)
        runs.append(f"q{m:02d}={path}")
    report = build_report(runs, task="generation", bootstrap=0)
    names = list(skill)
    best = sorted(names[1:], key=lambda n: (-skill[n], names.index(n)))[: MAX_DRAWN - 1]
    expected = {"q00", *best}
    figures = {f.id: f for s in report.sections for f in s.figures}
    generation = [f for i, f in figures.items() if "generation" in i]
    assert generation and all(_models_in(f.spec, names) <= expected for f in generation)
    speed = [s for s in report.sections if s.id.startswith("efficiency")]
    assert speed and _models_in([f.spec for f in speed[0].figures], names) <= expected
    colours = {r.name: r.colour for r in report.runs}
    assert len({colours[n] for n in expected}) == len(expected)
    notes = [n for s in report.sections for n in s.notes if n.startswith("This section shows")]
    assert any("best others on Exact match" in n for n in notes), notes


def test_undefined_values_rank_last_and_one_model_may_bring_several_kinds(
    tmp_path: Path,
) -> None:
    names = [f"r{i:02d}" for i in range(12)]
    scores = [Score(n, "lm-eval results", "acc", 0.5 + i / 100) for i, n in enumerate(names)]
    scores[11] = Score("r11", "lm-eval results", "acc", float("nan"))  # lm-eval keeps NaN
    assert "r11" not in drawn_models(names, "r00", scores, "acc")  # type: ignore[operator]
    assert "r04" in drawn_models(names, "r00", scores, "acc")  # type: ignore[operator]
    # 51 models with two runs each are 51 models, not 102: refused only by what is missing
    runs = [f"m{i}={tmp_path}/m{i}-{kind}.csv" for i in range(51) for kind in ("ppl", "qa")]
    done = build_cli(*runs, "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2 and "file not found" in done.stderr, done.stderr
