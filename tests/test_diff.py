"""``reportgen diff OLD.json NEW.json``: each metric's old and new value and change, a verdict
only where the new build tested the model against the old build's run, gates, every format,
and summaries of other schema versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.summaries import SCHEMA_VERSION, load_summary

from .conftest import Predictions


def diff_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "diff", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def summaries(
    tmp_path_factory: pytest.TempPathFactory,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
) -> dict[str, Path]:
    """old: the logistic model alone; tested: the tree as 'model' against the logistic run
    (the same file) as 'previous'; untested: the tree alone."""
    folder = tmp_path_factory.mktemp("diff")
    v1, v2 = folder / "v1.csv", folder / "v2.csv"
    cancer_logistic.frame().to_csv(v1, index=False)
    cancer_tree.frame().to_csv(v2, index=False)
    builds = {
        "old": ([f"model={v1}"], {}),
        "tested": ([f"model={v2}", f"previous={v1}"], {"baseline": "previous"}),
        "untested": ([f"model={v2}"], {}),
    }
    found = {}
    for name, (runs, options) in builds.items():
        path = folder / f"{name}.json"
        build_report(runs, bootstrap=200, **options).save(path)
        found[name] = path
    return found


def _values(path: Path) -> dict[str, float]:
    scores = json.loads(path.read_text())["scores"]
    return {
        s["metric"]: s["value"] for s in scores if s["model"] == "model" and not s["slice_column"]
    }


def test_changes_carry_the_new_build_s_verdict_only_when_it_tested_the_old_run(
    summaries: dict[str, Path],
) -> None:
    done = diff_cli(str(summaries["old"]), str(summaries["tested"]), "--json", "-")
    assert done.returncode == 0, done.stderr
    changes = {(c["model"], c["metric"]): c for c in json.loads(done.stdout)["changes"]}
    old, new = _values(summaries["old"]), _values(summaries["tested"])
    tests = {
        c["metric"]: c["verdict"]
        for c in json.loads(summaries["tested"].read_text())["comparisons"]
        if c["candidate"] == "model"
    }
    accuracy = changes[("model", "accuracy")]
    assert accuracy["old"] == old["accuracy"] and accuracy["new"] == new["accuracy"]
    assert accuracy["change"] == pytest.approx(new["accuracy"] - old["accuracy"])
    assert accuracy["verdict"] == tests["accuracy"] and accuracy["tested_against"] == "previous"
    assert all(changes[("model", m)]["verdict"] == v for m, v in tests.items())
    # the new build's baseline is the old run's file, renamed: listed only with --all
    assert ("previous", "accuracy") not in changes
    done = diff_cli(str(summaries["old"]), str(summaries["tested"]), "--json", "-", "--all")
    every = {(c["model"], c["metric"]): c for c in json.loads(done.stdout)["changes"]}
    assert every[("previous", "accuracy")]["status"] == "rerun"
    assert every[("previous", "accuracy")]["verdict"] is None

    done = diff_cli(str(summaries["old"]), str(summaries["untested"]), "--json", "-")
    untested = {(c["model"], c["metric"]): c for c in json.loads(done.stdout)["changes"]}
    assert untested[("model", "accuracy")]["verdict"] is None  # never invented
    assert untested[("model", "accuracy")]["status"] == "changed"


def test_text_shows_changed_metrics_and_all_shows_every_one(summaries: dict[str, Path]) -> None:
    done = diff_cli(str(summaries["old"]), str(summaries["untested"]))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("old.json -> untested.json: ")
    assert lines[1].split() == ["Model", "Metric", "Old", "New", "Change", "Verdict"]
    assert any(line.startswith("model") and "values only" in line for line in lines)
    same = diff_cli(str(summaries["old"]), str(summaries["old"]))
    assert "0 of " in same.stdout.splitlines()[0] and len(same.stdout.splitlines()) == 1
    everything = diff_cli(str(summaries["old"]), str(summaries["old"]), "--all")
    shown = len(everything.stdout.splitlines()) - 3  # heading, header, note
    assert shown == len(_values(summaries["old"])) > 5


def test_markdown_is_a_table_that_keeps_names_as_text(
    summaries: dict[str, Path], tmp_path: Path
) -> None:
    hostile = json.loads(summaries["untested"].read_text())
    for score in hostile["scores"]:
        score["model"] = "m|</script>[x](javascript:alert(1))"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile))
    done = diff_cli(str(summaries["old"]), str(path), "--markdown", "-")
    assert done.returncode == 0, done.stderr
    html = MarkdownIt("commonmark").enable("table").render(done.stdout)
    assert "<table>" in html and "<script" not in html and 'href="javascript' not in html
    header = done.stdout.splitlines()[4]
    for row in (r for r in done.stdout.splitlines() if r.startswith("| m")):
        assert row.count(" | ") == header.count(" | ")  # the name stays in its cell


def test_gates_read_the_new_values_and_deltas(summaries: dict[str, Path]) -> None:
    old, new = str(summaries["old"]), str(summaries["untested"])
    passing = diff_cli(old, new, "--fail-if", "delta(accuracy) < -0.5", "--fail-if", "f1 < 0.1")
    assert passing.returncode == 0, passing.stderr
    failing = diff_cli(old, new, "--fail-if", "accuracy < 0.999")
    assert failing.returncode == 1
    assert "gate failed: accuracy < 0.999 (model accuracy = " in failing.stderr
    untested = diff_cli(old, new, "--fail-if", "regression(accuracy)")
    assert untested.returncode == 1  # a gate that cannot be checked fails
    assert "cannot check: no comparison of model with model (old)" in untested.stderr
    tested = diff_cli(old, str(summaries["tested"]), "--fail-if", "regression(accuracy)")
    verdict = {
        c["metric"]: c["verdict"]
        for c in json.loads(summaries["tested"].read_text())["comparisons"]
        if c["candidate"] == "model"
    }["accuracy"]
    assert tested.returncode == (1 if verdict == "worse" else 0), tested.stderr
    for gate, said in (
        ("acuracy < 0.9", "neither summary has the metric 'acuracy'; they have: accuracy"),
        ("f1 < 0.9 for nobody", "neither summary has a model named 'nobody'"),
    ):
        refused = diff_cli(old, new, "--fail-if", gate)  # a gate that could never fail
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert said in refused.stderr


def test_text_rows_name_scoped_metrics_and_show_nan_as_written(tmp_path: Path) -> None:
    from reportgen.diff import Change, rows

    found = rows(
        [
            Change("m", "generation", "exact_match", "generation", 0.5, float("nan"), None, None),
            Change("m", "classification", "f1", "", None, 0.8, None, None),
        ]
    )
    assert found[0][1:4] == ["Exact match (generation)", "0.500", "NaN"]
    assert found[1][1:5] == ["F1", "—", "0.800", "added"]


def test_older_schemas_are_read_and_newer_ones_refused(
    summaries: dict[str, Path], tmp_path: Path
) -> None:
    current = json.loads(summaries["old"].read_text())
    first = {k: v for k, v in current.items() if k not in ("schema_version", "scores")}
    path = tmp_path / "schema1.json"
    path.write_text(json.dumps(first))
    read = load_summary(path)
    assert read.schema == 1
    assert {s.metric: s.value for s in read.scores} == {
        m: v for m, v in current["runs"][0]["metrics"].items() if v is not None
    } | {m: None for m, v in current["runs"][0]["metrics"].items() if v is None}
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**current, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(ReportgenError, match="newer than this reportgen reads"):
        load_summary(newer)
    done = diff_cli(str(path), str(newer))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"written with summary schema {SCHEMA_VERSION + 1}" in done.stderr
    for text, said in (("[1, 2]", "not a reportgen summary"), ("{", "not a JSON file")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        done = diff_cli(str(bad), str(summaries["old"]))
        assert done.returncode == 2 and said in done.stderr, done.stderr


def test_labels_of_a_build_reach_the_page_the_markdown_and_the_json(
    tmp_path: Path, cancer_logistic: Predictions
) -> None:
    """--label KEY=VALUE: in order in the JSON's labels, under the title, and as text even
    when a value holds markup."""
    from tests.conftest import build_cli

    run = tmp_path / "v1.csv"
    cancer_logistic.frame().to_csv(run, index=False)
    hostile = "</script><script>alert(1)</script>[x](javascript:alert(1))"
    outputs = [tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.md"]
    done = build_cli(
        f"model={run}",
        "--label",
        "commit=3f2c1a9",
        "--label",
        f"branch={hostile}",
        "-o",
        str(outputs[0]),
        "--json",
        str(outputs[1]),
        "--markdown",
        str(outputs[2]),
        "--bootstrap",
        "0",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(outputs[1].read_text())
    assert list(summary["labels"].items()) == [("commit", "3f2c1a9"), ("branch", hostile)]
    page = outputs[0].read_text()
    assert "commit: 3f2c1a9" in page and "<script>alert(1)" not in page
    assert "branch: &lt;/script&gt;&lt;script&gt;alert(1)" in page
    from reportgen import build_report

    mail = build_report(
        [f"model={run}"], labels=["commit=3f2c1a9", f"branch={hostile}"], bootstrap=0
    )
    import email
    import email.policy

    message = email.message_from_bytes(mail.to_email(attach="none"), policy=email.policy.default)
    body = message.get_body(preferencelist=("html",)).get_content()
    assert "commit: 3f2c1a9" in body and "<script>alert(1)" not in body
    html = MarkdownIt("commonmark").enable("table").render(outputs[2].read_text())
    assert (
        "commit: 3f2c1a9" in html
        and "<script" not in html
        and "javascript:" not in html.split('href="')[-1][:12]
    )
    for bad in ("commit", "=x", "commit=a\nb", "commit=ab\u202egnp.exe", "x=\x1b[31mred"):
        refused = build_cli(f"model={run}", "--label", bad, "-o", str(tmp_path / "x.html"))
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "--label" in refused.stderr
