"""Gates a newcomer can trust in CI: an unchanged model passes every gate, whatever its kind;
a gate its options cannot check is a usage error before anything is computed."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.demo.classic import write_demo_runs, write_kinds_demo_runs
from reportgen.demo.lm import write_lm_demo_runs
from reportgen.errors import ReportgenError
from reportgen.gates import evaluate_gates, parse_gates

from .conftest import build_cli


def _copied(runs: list[str], picked: list[int]) -> list[str]:
    """The picked runs under the name "base", and the same files again under "copy"."""
    paths = [runs[i].partition("=")[2] for i in picked]
    return [f"base={p}" for p in paths] + [f"copy={p}" for p in paths]


CLASSIFICATION = {"classification"}
LANGUAGE = {"perplexity", "generation", "lm-eval samples", "lm-eval results"}
DEMOS = {  # which demo runs are one model's, and the kinds compared: every kind the demos have
    "cancer": ([0], {"positive_label": "malignant", "cost": "FP=1,FN=5"}, CLASSIFICATION),
    "digits": ([0], {}, CLASSIFICATION),
    "lm": ([0, 1, 2], {}, LANGUAGE),
    "kinds": ([0, 2, 3], {"slices": ["sex"]}, {"regression", "classification", "multilabel"}),
}


@pytest.mark.parametrize("demo", list(DEMOS))
def test_an_unchanged_model_passes_every_gate_of_every_kind(demo: str, tmp_path: Path) -> None:
    """The candidate's files are the baseline's: every comparison is a tie (McNemar without
    discordant pairs, DeLong or the bootstrap with no variance, paired tests of sums, lm-eval's
    z-test), so regression(M) and delta(M) gates all pass (by-slice gates: the test below)."""
    if demo in ("cancer", "digits"):
        runs = write_demo_runs(tmp_path)[0 if demo == "cancer" else 1].runs
    elif demo == "lm":
        runs = write_lm_demo_runs(tmp_path).runs
    else:
        runs = write_kinds_demo_runs(tmp_path).runs
    picked, options, compared = DEMOS[demo]
    report = build_report(_copied(runs, picked), bootstrap=200, timestamp=False, **options)
    comparisons = [c for r in report.results for c in (*r.comparisons, *r.by_slice)]
    assert {r.kind for r in report.results if r.comparisons} == compared
    assert {c.verdict for c in comparisons} == {"tie"}, {
        (c.metric, c.test, c.verdict, c.p_value) for c in comparisons if c.verdict != "tie"
    }
    metrics = sorted({c.metric for c in comparisons})
    gates = parse_gates(
        [f"regression({m})" for m in metrics] + [f"delta({m}) < -0.000001" for m in metrics]
    )
    whole = [c for r in report.results for c in r.comparisons]
    results = evaluate_gates(gates, ["base", "copy"], "base", report.scores, whole)
    assert len(results) == len(gates)  # one check of "copy" per gate
    assert [r.detail for r in results if not r.passed] == []


def _slice_runs(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 600)
    frame = pd.DataFrame(
        {
            "label": y,
            "score": np.clip(y * 0.6 + rng.normal(0.2, 0.25, 600), 0, 1),
            "region": rng.choice(["north", "south", "east"], 600),
        }
    )
    frame.to_csv(tmp_path / "b.csv", index=False)
    frame.to_csv(tmp_path / "b_copy.csv", index=False)
    return [f"baseline={tmp_path / 'b.csv'}", f"candidate={tmp_path / 'b_copy.csv'}"]


def test_an_unchanged_model_passes_by_slice_gates(tmp_path: Path) -> None:
    report = build_report(
        _slice_runs(tmp_path),
        bootstrap=200,
        timestamp=False,
        slices=["region"],
        fail_if=["regression(roc_auc)", "regression(f1) by region", "delta(accuracy) < -0.01"],
    )
    assert [g.detail for g in report.gates if not g.passed] == []
    assert len(report.gates) == 3


def test_a_by_slice_gate_without_its_slice_is_a_usage_error(tmp_path: Path) -> None:
    runs = _slice_runs(tmp_path)
    with pytest.raises(ReportgenError, match=r"--slice region"):
        build_report(runs, fail_if=["regression(f1) by region"], bootstrap=0)
    result = CliRunner().invoke(
        app,
        ["build", *runs, "--fail-if", "regression(f1) by region", "-o", str(tmp_path / "r.html")],
    )
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "r.html").exists()


def test_a_regression_gate_with_no_bootstrap_is_a_usage_error(tmp_path: Path) -> None:
    """--bootstrap 0 leaves the bootstrap-tested metrics untested: a gate on one of them can
    never fail, so it is refused before the build, naming the fix."""
    with pytest.raises(ReportgenError, match="--bootstrap 0"):
        build_report(_slice_runs(tmp_path), fail_if=["regression(f1)"], bootstrap=0)


def test_the_same_file_under_two_names_is_said_everywhere(tmp_path: Path) -> None:
    runs = _slice_runs(tmp_path)
    (tmp_path / "b_copy.csv").write_bytes((tmp_path / "b.csv").read_bytes())
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["build", *runs, "-o", str(out / "r.html"), "--json", str(out / "r.json"), "-q"]
    )
    assert result.exit_code == 0, result.output
    said = "baseline and candidate are the same file (same SHA-256)"
    assert f"reportgen: warning: {said}" in result.output  # even with --quiet
    assert said in (out / "r.html").read_text()
    summary = json.loads((out / "r.json").read_text())
    assert [w for w in summary["warnings"] if said in w]


def test_runs_of_different_kinds_are_said_not_compared(tmp_path: Path) -> None:
    """A regression file beside a classifier's: nothing is compared, and the report says so
    instead of passing quietly."""
    from .test_regression import diabetes_frames

    ridge, _ = diabetes_frames()
    ridge.to_csv(tmp_path / "reg.csv", index=False)
    runs = [_slice_runs(tmp_path)[0], f"candidate={tmp_path / 'reg.csv'}"]
    report = build_report(runs, bootstrap=0, timestamp=False)
    assert report.comparisons == []
    assert report.warnings == [
        "the binary classification run of baseline was not compared with any other model: no "
        "other model has a binary classification run, and runs are compared within their kind",
        "the regression run of candidate was not compared with any other model: no other "
        "model has a regression run, and runs are compared within their kind",
    ]
    assert report.summary()["warnings"] == report.warnings
    assert "was not compared" in report.to_markdown() and "was not compared" in report.to_html()


def test_long_paths_are_never_wrapped_in_ci_logs(tmp_path: Path) -> None:
    """stderr is not a terminal in CI: a long path stays on one line."""
    runs = _slice_runs(tmp_path)
    deep = tmp_path / ("a-folder-with-a-long-name-" * 4) / "report-with-a-long-name.html"
    done = build_cli(*runs, "-o", str(deep), "--bootstrap", "0", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("Wrote ")]
    assert re.fullmatch(rf"Wrote {re.escape(str(deep))} \(\d[\d.]* (B|kB|MB)\)", line)


def test_nothing_reportgen_prints_can_drive_the_terminal(tmp_path: Path) -> None:
    """Escape sequences, BEL and bidi overrides in a column or file name are printed as
    escapes (\\x1b, \\x07, \\u202e), in the error line and in the "Wrote" line."""
    runs = _slice_runs(tmp_path)
    hostile = "\x1b]0;pwned\x07\x1b[2J\u202edeliaf"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return build_cli(*runs, "--bootstrap", "0", *args, env={"COLUMNS": "200"})

    failed = run("--label-col", hostile, "-o", str(tmp_path / "r.html"))
    assert failed.returncode == 2
    wrote = run("-o", str(tmp_path / f"r{hostile}.html"))
    assert wrote.returncode == 0, wrote.stderr
    for done in (failed, wrote):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", done.stderr), done.stderr
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202edeliaf" in done.stderr


@pytest.mark.parametrize(
    ("first", "second"), [("prod\u202edeliaf", "base"), ("model", "model\u200d")]
)
def test_names_that_do_not_read_as_they_are_exit_2(tmp_path: Path, first: str, second: str) -> None:
    """A bidi override makes "prod\\u202edeliaf" read "prodfailed"; a zero-width joiner makes
    two names look the same: refused, naming the character, before anything is computed."""
    runs = _slice_runs(tmp_path)
    paths = [r.partition("=")[2] for r in runs]
    result = CliRunner().invoke(
        app,
        ["build", f"{first}={paths[0]}", f"{second}={paths[1]}", "-o", str(tmp_path / "r.html")],
    )
    assert result.exit_code == 2, result.output
    assert "a character that reorders or hides text" in result.output
    assert "\u202e" not in result.output and "\u200d" not in result.output
    assert not (tmp_path / "r.html").exists()


# --- issue 35: bound gates, lower(delta(M)) and upper(delta(M)) -------------------------------


def _regional_runs(tmp_path: Path) -> list[str]:
    """v2 is v1 everywhere but "east", where it loses 80 right answers."""
    rng = np.random.default_rng(5)
    n = 1200
    y = rng.integers(0, 2, n)
    region = rng.choice(["north", "south", "east"], n)
    base = np.where(rng.random(n) < 0.85, y, 1 - y)
    cand = base.copy()
    east = np.flatnonzero((region == "east") & (base == y))[:80]
    cand[east] = 1 - y[east]
    good = np.where(rng.random(n) < 0.97, y, 1 - y)
    runs = []
    for name, pred in (("v1", base), ("v2", cand), ("good", good)):
        frame = pd.DataFrame({"id": np.arange(n), "label": y, "prediction": pred, "region": region})
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
    return runs


def test_a_bound_gate_by_column_fails_when_any_slice_value_fails(tmp_path: Path) -> None:
    """lower(delta(M)) < -m by COLUMN: the bound of the adjusted interval on each value of the
    --slice column; it fails naming the values where it fails, and passes on every value
    where the candidate is unchanged."""
    report = build_report(
        _regional_runs(tmp_path)[:2],
        slices=["region"],
        bootstrap=200,
        timestamp=False,
        fail_if=[
            "lower(delta(accuracy)) < -0.3 by region",
            "lower(delta(accuracy)) < -0.1 by region",
        ],
    )
    by_gate = {g.expression: g for g in report.gates}
    (east,) = [
        c for c in report.results[0].by_slice if c.metric == "accuracy" and c.slice_value == "east"
    ]
    assert east.ci_adjusted is not None and -0.3 < east.ci_adjusted[0] < -0.1
    failed = by_gate["lower(delta(accuracy)) < -0.1 by region"]
    assert not failed.passed
    assert failed.detail.startswith(
        f"where region is east: lower(delta(accuracy)) = {east.ci_adjusted[0]:.3f} < -0.1: "
    )
    assert "examples cannot show accuracy within 0.1 of the baseline" in failed.detail
    passed = by_gate["lower(delta(accuracy)) < -0.3 by region"]
    assert passed.passed and passed.detail == (
        "lower(delta(accuracy)) passes on all 3 region values of v2 against v1"
    )


def test_a_bound_gate_for_one_model_checks_that_model_only(tmp_path: Path) -> None:
    """[for MODEL] as with every term; without it, every candidate is checked (exit 1 from
    the command, naming the failing model's interval)."""
    runs = _regional_runs(tmp_path)
    report = build_report(
        runs, bootstrap=200, timestamp=False, fail_if=["lower(delta(accuracy)) < -0.01 for good"]
    )
    (only,) = report.gates
    assert only.model == "good" and only.passed
    assert "show accuracy within 0.01 of the baseline" in only.detail
    done = build_cli(
        *runs,
        "--bootstrap", "200",
        "--fail-if", "lower(delta(accuracy)) < -0.01",
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("reportgen: gate failed")]
    assert "cannot show accuracy within 0.01 of the baseline" in line
    assert "v2 minus v1" in line and "good minus v1" not in line


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("lower(delta(f1\x1b[31m)) < -0.01", "\\x1b[31m"),
        ("upper(delta(<script>alert(1)</script>)) > 0.01", "<script>alert(1)</script>"),
        ("lower(delta(ｆ１\u202e)) < -0.01", "\\u202e"),
        ("lower(delta(ｆ１)) < -0.01", "unknown metric 'ｆ１'"),
        ('lower(delta(f1)) < -0.01 for "<b>x</b>"', "no model named '<b>x</b>'"),
    ],
)
def test_hostile_metric_names_in_a_bound_gate_stay_text(
    tmp_path: Path, expression: str, said: str
) -> None:
    """A bound gate with a hostile metric or model name is refused with exit 2 and one line
    that shows the name as text: escapes for control and bidi characters, markup as it is."""
    runs = _slice_runs(tmp_path)
    done = build_cli(*runs, "--fail-if", expression, "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("reportgen: error: --fail-if ") and said in line
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", done.stderr), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.html").exists()


def test_a_bound_gate_with_no_bootstrap_is_a_usage_error(tmp_path: Path) -> None:
    done = build_cli(
        *_slice_runs(tmp_path),
        "--bootstrap", "0",
        "--fail-if", "lower(delta(f1)) < -0.01",
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        "reportgen: error: --fail-if 'lower(delta(f1)) < -0.01': the interval of delta(f1) "
        "comes from "
        "the paired bootstrap, which --bootstrap 0 turns off; drop --bootstrap 0"
    )


def test_bound_gates_read_every_paired_kind_and_lm_eval_results(tmp_path: Path) -> None:
    """Classification, regression, multilabel, perplexity, generation, lm-eval sample logs and
    lm-eval results with standard errors: every tested comparison has the adjusted interval
    its verdict agrees with, and the bound gate reads exactly that interval's end."""
    lm = write_lm_demo_runs(tmp_path / "lm").runs
    mixed = write_kinds_demo_runs(tmp_path / "kinds").runs
    comparisons = []
    for runs in (lm, mixed):
        report = build_report(runs, bootstrap=200, timestamp=False)
        comparisons += [
            (report, c) for r in report.results for c in r.comparisons if c.p_value is not None
        ]
    kinds = {r.kind for report, _ in comparisons for r in report.results if r.comparisons}
    assert LANGUAGE | {"regression", "classification", "multilabel"} <= kinds
    for report, c in comparisons:
        assert c.ci_adjusted is not None, (c.scope, c.metric, c.test)
        low, high = c.ci_adjusted
        assert (low > 0 or high < 0) == (c.verdict in ("better", "worse")), (c.metric, c.verdict)
        for gate in (f"lower(delta({c.metric})) < {low}", f"upper(delta({c.metric})) > {high}"):
            (result,) = evaluate_gates(
                parse_gates([f"{gate} for {json.dumps(c.candidate)}"]),
                [c.baseline, c.candidate],
                c.baseline,
                report.scores,
                [c],
            )
            assert result.passed, result.detail  # the bound is exactly the interval's end
            assert result.detail.startswith(f"{gate.split(' ')[0]} = "), result.detail
    tested = {c.test for _, c in comparisons}
    assert {"mcnemar-exact", "bootstrap-paired", "z-test"} <= tested
    assert all(c.mde is not None for _, c in comparisons if c.test != "none"), tested


def test_a_bound_gate_that_cannot_be_checked_fails_saying_why() -> None:
    """No comparison of the metric, or one without an interval (untested): the gate fails
    with the reason, never passes by default."""
    from reportgen.stats.comparison import Comparison

    gates = parse_gates(["lower(delta(f1)) < -0.01", "upper(delta(log_loss)) > 0.01"])
    untested = Comparison("v1", "v2", "f1", 0.8, 0.7, -0.1, None, None, "none", 0)
    untested.reason = "fewer than two positive or two negative examples are paired"
    results = evaluate_gates(gates, ["v1", "v2"], "v1", [], [untested])
    assert [(r.passed, r.detail) for r in results] == [
        (
            False,
            "cannot check: delta(f1) has no interval (fewer than two positive or two negative "
            "examples are paired)",
        ),
        (
            False,
            "cannot check: no comparison of v2 with v1 on log_loss (only headline metrics are "
            "tested); use delta(log_loss) instead",
        ),
    ]
