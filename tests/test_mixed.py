"""Reports holding runs of several kinds: each kind its own sections, compared only within the
kind, one JSON summary, hostile text escaped everywhere, and the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.render.html import javascript_bundle

from .conftest import Predictions
from .test_multilabel import PROPERTIES, digit_properties
from .test_regression import diabetes_frames

HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
HOSTILE_NAME = "</script><script>alert('name')</script><b>"  # NAME=PATH: no "=" in a name


def mixed_runs(tmp_path: Path, digits: Predictions, hostile: bool = False) -> list[str]:
    """A classifier with embeddings, two regressors and two multilabel taggers; with
    ``hostile``, model, class, label and slice names carry markup."""
    mark = HOSTILE if hostile else ""
    name_mark = HOSTILE_NAME if hostile else ""
    ridge, boosted = diabetes_frames()
    if hostile:
        ridge["sex"] = ridge["sex"].map({"f": HOSTILE, "m": "m"})
        boosted["sex"] = ridge["sex"]
    ridge.to_csv(tmp_path / "ridge.csv", index=False)
    boosted.to_parquet(tmp_path / "boosted.parquet", index=False)
    y, p, _ = digit_properties(digits)
    names = [f"{n}{mark}" for n in PROPERTIES]
    tags = pd.DataFrame(
        {
            "labels": [[names[j] for j in np.flatnonzero(r)] for r in y],
            "predictions": [[names[j] for j in np.flatnonzero(r)] for r in p],
        }
    )
    tags.to_json(tmp_path / "tags.jsonl", orient="records", lines=True)
    worse = tags.assign(predictions=[r[:1] for r in tags["predictions"]])
    worse.to_json(tmp_path / "tags-worse.jsonl", orient="records", lines=True)
    classes = {k: f"{k}{mark}" for k in range(10)}
    frame = digits.frame()
    frame["label"] = frame["label"].map(classes)
    frame["prediction"] = frame["prediction"].map(classes)
    frame = frame.rename(columns={f"prob_{k}": f"prob_{classes[k]}" for k in range(10)})
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16)) * 3
    vectors = centres[digits.y_true] + rng.normal(size=(len(frame), 16))
    frame["embedding"] = [json.dumps(v) for v in np.round(vectors, 4).tolist()]
    frame.to_csv(tmp_path / "digits.csv", index=False)
    return [
        f"digits{name_mark}={tmp_path / 'digits.csv'}",
        f"ridge{name_mark}={tmp_path / 'ridge.csv'}",
        f"boosted={tmp_path / 'boosted.parquet'}",
        f"tags{name_mark}={tmp_path / 'tags.jsonl'}",
        f"tags-worse={tmp_path / 'tags-worse.jsonl'}",
    ]


def hostile_kinds_report(tmp_path: Path, digits: Predictions) -> tuple[Path, int]:
    runs = mixed_runs(tmp_path, digits, hostile=True)
    report = build_report(
        runs, title=HOSTILE, slices=["sex"], bootstrap=100, max_points=300, timestamp=False
    )
    out = tmp_path / "kinds.html"
    report.save(out)
    return out, sum(len(s.figures) for s in report.sections)


def test_each_kind_gets_its_sections_and_is_compared_within_it(
    tmp_path: Path, digits_logistic: Predictions
) -> None:
    report = build_report(
        mixed_runs(tmp_path, digits_logistic), bootstrap=100, max_points=300, timestamp=False
    )
    ids = [s.id for s in report.sections]
    for expected in (
        "embeddings",
        "regression-leaderboard",
        "regression-comparison",
        "regression-plots",
        "multilabel-leaderboard",
        "multilabel-comparison",
        "multilabel-labels",
    ):
        assert expected in ids
    assert ids.index("embeddings") < ids.index("regression-leaderboard")
    summary = json.loads(report.to_json())
    tasks = {r["name"]: r["task"] for r in summary["runs"]}
    assert tasks == {
        "digits": "multiclass",
        "ridge": "regression",
        "boosted": "regression",
        "tags": "multilabel",
        "tags-worse": "multilabel",
    }
    pairs = {(c["baseline"], c["candidate"]) for c in summary["comparisons"]}
    assert pairs == {("ridge", "boosted"), ("tags", "tags-worse")}
    assert report.verdict.startswith("Regression: boosted is worse than ridge on ")
    assert "Multilabel: tags-worse is worse than tags on " in report.verdict
    assert "the multiclass classification run of digits was not compared" in report.warnings[0]
    markdown = report.to_markdown()  # every kind's leaderboard, for a PR comment
    assert "**Regression: leaderboard**" in markdown and "| ridge (baseline) |" in markdown
    assert "**Multilabel: leaderboard**" in markdown and "| tags (baseline) |" in markdown
    for run in summary["runs"]:
        if run["task"] == "regression":
            assert set(run["metrics"]) >= {
                "mae",
                "rmse",
                "mape",
                "r2",
                "explained_variance",
                "median_absolute_error",
                "max_error",
            }
        if run["task"] == "multilabel":
            assert set(run["metrics"]) >= {
                "subset_accuracy",
                "hamming_loss",
                "precision_micro",
                "recall_micro",
                "f1_micro",
                "f1_macro",
                "f1_weighted",
                "f1_samples",
                "jaccard_samples",
            }


def test_gates_reach_every_kind(tmp_path: Path, digits_logistic: Predictions) -> None:
    report = build_report(
        mixed_runs(tmp_path, digits_logistic),
        bootstrap=400,
        max_points=300,
        fail_if=["mae > 1000", "regression(f1_micro)", "r2 < 0.99 for boosted"],
    )
    results = {(g.expression, g.model): g.passed for g in report.gates}
    # untargeted gates check the candidates that have the metric, against their kind's baseline
    assert set(results) == {
        ("mae > 1000", "boosted"),
        ("regression(f1_micro)", "tags-worse"),
        ("r2 < 0.99 for boosted", "boosted"),
    }
    assert results[("mae > 1000", "boosted")]
    assert results[("regression(f1_micro)", "tags-worse")] is False
    assert results[("r2 < 0.99 for boosted", "boosted")] is False


def test_hostile_text_is_escaped_in_every_new_view(
    tmp_path: Path, digits_logistic: Predictions
) -> None:
    out, _ = hostile_kinds_report(tmp_path, digits_logistic)
    page = out.read_text().replace(javascript_bundle(), "")
    assert "window.__pwned" in page
    assert "<img src=x" not in page
    assert all(
        tag.startswith('<img src="data:image/jpeg;base64,')
        for tag in re.findall(r"<img[^>]*", page)
    )
    for tag in re.findall(r"<script[^>]*>", page):
        assert tag == "<script>" or 'type="application/json"' in tag
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in block and ">" not in block
        json.loads(block)


def test_cli_regression_and_multilabel(tmp_path: Path, digits_logistic: Predictions) -> None:
    runs = mixed_runs(tmp_path, digits_logistic)[1:3]
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app,
        [
            "build",
            *runs,
            "-o",
            str(out),
            "--json",
            str(tmp_path / "r.json"),
            "-q",
            "--bootstrap",
            "50",
            "--task",
            "regression",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["runs"][0]["task"] == "regression"
    bad = tmp_path / "bad.csv"
    bad.write_text("label,prediction\n1.5,2\nabc,3\n")
    result = CliRunner().invoke(app, ["build", str(bad), "--task", "regression", "-o", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "non-numeric label 'abc'" in lines[0] and "line 3" in lines[0]
    result = CliRunner().invoke(app, ["build", str(bad), "--embeddings", "nothing", "-o", str(out)])
    assert result.exit_code == 2 and "NAME=PATH" in result.output
    result = CliRunner().invoke(app, ["build", "--help"])
    assert "--embeddings" in result.output and "--max-points" in result.output
    assert "multilabel" in result.output
