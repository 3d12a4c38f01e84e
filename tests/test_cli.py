"""The command line: success paths, --help/--version, and every bad-input case (exit 2)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reportgen import __version__
from reportgen.cli import app

from .conftest import Predictions

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_runs(
    cancer_logistic: Predictions, cancer_tree: Predictions, write_run: Callable[..., Path]
) -> tuple[Path, Path]:
    return (
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.parquet"),
    )


def test_build_writes_html_and_json(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    out, summary = tmp_path / "out" / "report.html", tmp_path / "summary.json"
    code, _, err = invoke(
        "build",
        f"base={two_runs[0]}",
        str(two_runs[1]),
        "-o",
        str(out),
        "--json",
        str(summary),
        "--title",
        "Cancer models",
        "--quiet",
    )
    assert code == 0, err
    assert out.read_text().count("<script>") == 2
    data = json.loads(summary.read_text())
    assert data["reportgen_version"] == __version__
    assert [r["name"] for r in data["runs"]] == ["base", "tree"]
    first = data["runs"][0]
    assert first["task"] == "binary" and first["classes"] == ["0", "1"]
    assert first["positive_label"] == "1"
    assert first["n_examples"] == 228
    assert re.fullmatch(r"[0-9a-f]{64}", first["source"]["sha256"])
    assert set(first["metrics"]) >= {"accuracy", "roc_auc", "ece", "brier", "mcc"}
    assert first["confusion_matrix"]["labels"] == ["0", "1"]
    assert sum(map(sum, first["confusion_matrix"]["matrix"])) == 228
    assert {"class", "precision", "recall", "f1", "support"} <= set(first["per_class"][0])


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.strip() == f"reportgen {__version__}"


def test_help_and_version_load_the_command_line_only() -> None:
    """--help and --version answer without importing pandas, Altair or the pipeline."""
    script = (
        "import sys\nfrom reportgen.cli import app\n"
        "heavy = [m for m in ('pandas', 'altair', 'numpy', 'reportgen.pipeline') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert found.stdout.strip() == "[]"
    out = subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"reportgen {__version__}"


def test_profile_prints_each_stage(tmp_path: Path, cancer_logistic: Predictions) -> None:
    path = tmp_path / "m.csv"
    cancer_logistic.frame().to_csv(path, index=False)
    code, _, err = invoke("build", str(path), "-o", str(tmp_path / "r.html"), "-q", "--profile")
    assert code == 0
    (line,) = [x for x in err.splitlines() if x.startswith("profile (s):")]
    stages = re.findall(r"(\w+) (\d+\.\d\d)", line)
    names = [n for n, _ in stages]
    for stage in ("imports", "load", "evaluate", "verdicts", "charts", "fallbacks", "write"):
        assert stage in names
    total = float(line.rsplit("total ", 1)[1])
    assert sum(float(v) for n, v in stages if n != "total") <= total + 0.02


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "build",
            [
                "--output",
                "--json",
                "--title",
                "--task",
                "--positive-label",
                "--threshold",
                "--label-col",
                "--pred-col",
                "--score-col",
                "--id-col",
                "--quiet",
                "--baseline",
                "--unpaired",
                "--bootstrap",
                "--seed",
                "--top-k",
                "--text-col",
                "--slice",
                "--slice-bins",
                "--min-slice-size",
            ],
        ),
        ("demo", ["--output", "--quiet"]),
    ],
)
def test_help_explains_every_option_with_an_example(command: str, options: list[str]) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0
    assert "Example" in out
    for option in options:
        assert option in out, option


def test_build_help_is_grouped_and_copyable() -> None:
    """Options under headings; no internal placeholders; every option that takes a value
    shows an example of itself; the engines are listed; each example is one line."""
    import typer

    from reportgen.cli import app
    from reportgen.options import PANELS

    code, out, _ = invoke("build", "--help")
    assert code == 0
    for heading in PANELS:
        assert f"\n{heading}:\n" in out, heading
    assert "Usage: reportgen build [OPTIONS] RUNS..." in out
    for placeholder in ("{runs}", "{RUNS}", "<list[", "<str>", "<path>", "<int>", "<float>"):
        assert placeholder not in out, placeholder
    assert "<auto|memory|duckdb|spark>" in out
    command = typer.main.get_command(app).commands["build"]  # type: ignore[attr-defined]
    for param in command.params:
        if param.param_type_name == "option" and not param.is_flag and param.help:
            assert "e.g." in param.help.lower(), param.name
            assert param.rich_help_panel in PANELS, param.name
    examples = [x.strip() for x in out.splitlines() if x.strip().startswith("reportgen build ")]
    assert len(examples) == 9
    assert all(not line.endswith(("--embeddings", "-o", "\\")) for line in examples)
    assert any(line.endswith("--max-points 2000") for line in examples)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = b"label,prediction,score\n1,1,0.9\n0,0,0.2\n1,0,0.4\n"

BAD_INPUTS = [
    ("missing file", None, "nothere.csv", "file not found"),
    ("empty", b"", "empty.csv", "file is empty"),
    ("header only", b"label,prediction\n", "header.csv", "header but no rows"),
    ("extension", b"label\n1\n", "run.txt", "unsupported file type .txt"),
    ("no label", b"truth,prediction\n1,1\n", "nolabel.csv", "no label column"),
    (
        "non-numeric score",
        b"label,score\n1,0.3\n0,abc\n",
        "score.csv",
        "non-numeric value 'abc' in score column 'score' at line 3",
    ),
    ("missing label", b"label,prediction\n1,1\n,1\n", "nolab.csv", "missing label"),
    (
        "broken json line",
        b'{"label": 1, "prediction": 1}\n{oops}\n',
        "broken.jsonl",
        "line 2 is not valid JSON",
    ),
    ("corrupt parquet", b"PAR1garbagePAR1", "corrupt.parquet", "cannot read as PARQUET"),
    ("binary garbage", bytes(range(256)) * 8, "garbage.csv", "looks like a binary file"),
]


@pytest.mark.parametrize(
    ("case", "data", "name", "message"), BAD_INPUTS, ids=[case for case, *_ in BAD_INPUTS]
)
def test_bad_input_exits_2_with_one_line_and_no_report(
    tmp_path: Path, case: str, data: bytes | None, name: str, message: str
) -> None:
    good = write(tmp_path, "good.csv", GOOD)
    bad = tmp_path / name if data is None else write(tmp_path, name, data)
    out = tmp_path / "report.html"
    code, stdout, stderr = invoke("build", str(good), str(bad), "-o", str(out))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("reportgen: error: ")
    assert name in lines[0] and message in lines[0]
    assert "Traceback" not in stdout + stderr
    assert not out.exists()
    assert list(tmp_path.glob(".report.html.*")) == []


def test_duplicate_run_names(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", GOOD)
    code, _, err = invoke("build", f"same={a}", f"same={a}", "-o", str(tmp_path / "r.html"))
    assert code == 2 and "runs are named 'same'" in err


def test_ambiguous_positive_class_asks_for_the_option(tmp_path: Path) -> None:
    run = write(tmp_path, "animals.csv", b"label,prediction\ncat,dog\ndog,dog\n")
    code, _, err = invoke("build", str(run), "-o", str(tmp_path / "r.html"))
    assert code == 2 and "--positive-label" in err
    code, _, err = invoke(
        "build", str(run), "-o", str(tmp_path / "r.html"), "--positive-label", "dog", "-q"
    )
    assert code == 0, err


def test_bad_options_exit_2(tmp_path: Path) -> None:
    run = write(tmp_path, "a.csv", GOOD)
    code, _, err = invoke("build", str(run), "--positive-label", "7", "-o", str(tmp_path / "r"))
    assert code == 2 and "is not a class" in err
    three = write(tmp_path, "three.csv", b"label,prediction\n1,2\n2,3\n3,1\n")
    code, _, err = invoke("build", str(three), "--task", "binary", "-o", str(tmp_path / "r"))
    assert code == 2 and "use --task multiclass" in err
    code, _, err = invoke("build", str(run), "--task", "ranking", "-o", str(tmp_path / "r"))
    assert code == 2 and "ranking" in err


def test_existing_report_survives_a_failed_build(tmp_path: Path) -> None:
    out = write(tmp_path, "report.html", b"old report")
    bad = write(tmp_path, "bad.csv", b"")
    code, _, _ = invoke("build", str(bad), "-o", str(out))
    assert code == 2 and out.read_bytes() == b"old report"


def test_runs_with_different_classes_share_the_union(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", b"label,prediction\n1,1\n2,2\n3,1\n")
    b = write(tmp_path, "b.csv", b"label,prediction\n1,1\n2,4\n4,4\n")
    summary = tmp_path / "s.json"
    code, _, err = invoke(
        "build", str(a), str(b), "-o", str(tmp_path / "r.html"), "--json", str(summary), "-q"
    )
    assert code == 0, err
    runs = json.loads(summary.read_text())["runs"]
    assert runs[0]["classes"] == runs[1]["classes"] == ["1", "2", "3", "4"]


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "build", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "x.csv: file not found" in result.stderr and "Traceback" not in result.stderr


def test_demo_builds_both_reports(tmp_path: Path) -> None:
    code, out, err = invoke("demo", "-o", str(tmp_path), "--quiet")
    assert code == 0, err
    assert (tmp_path / "report.html").exists() and (tmp_path / "digits-report.html").exists()
    assert str((tmp_path / "report.html").resolve()) in out
    summary = json.loads((tmp_path / "digits-summary.json").read_text())
    assert [r["task"] for r in summary["runs"]] == ["multiclass"] * 3
    assert all(r["metrics"]["accuracy"] > 0.9 for r in summary["runs"])
    # the demo's runs are ordinary files a user could have written
    assert pd.read_csv(tmp_path / "cancer-logistic.csv").shape[0] == 171
    # and it prints the command that makes each report from them: the same numbers again
    commands = [line.split("made by: ", 1)[1] for line in out.splitlines() if "made by: " in line]
    assert len(commands) == 7 and all(c.startswith("reportgen build ") for c in commands)
    (digits,) = [c for c in commands if "digits-report.html" in c]
    code, _, err = invoke(*shlex.split(digits)[1:], "--quiet")
    assert code == 0, err
    again = json.loads((tmp_path / "digits-summary.json").read_text())
    assert again["command"] == digits
    assert again["scores"] == summary["scores"] and again["comparisons"] == summary["comparisons"]


@pytest.mark.parametrize(
    ("epoch", "message"),
    [
        (str(10**20), "out of range: give whole seconds since 1970-01-01 UTC"),
        (str(-(10**20)), "from -62135596800 (year 1) to 253402300799 (year 9999)"),
        ("253402300800", "SOURCE_DATE_EPOCH='253402300800' is out of range"),
        ("9" * 5000, "is out of range"),  # more digits than int() reads
        ("1.5", "SOURCE_DATE_EPOCH='1.5' is not a whole number of seconds"),
    ],
    ids=["1e20", "-1e20", "year 10000", "5000 digits", "fraction"],
)
def test_source_date_epoch_out_of_range_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: str, message: str
) -> None:
    """Past the year 9999 (or before year 1) it was an OverflowError (exit 3) or 'not a
    whole number'."""
    run = write(tmp_path, "a.csv", GOOD)
    out = tmp_path / "r.html"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    code, _, err = invoke("build", str(run), "-o", str(out), "-q")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in " ".join(err.split())
    assert not out.exists()


def test_source_date_epoch_reaches_the_last_and_first_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write(tmp_path, "a.csv", GOOD)
    for epoch, shown in (("253402300799", "9999-12-31 23:59 UTC"), ("-62135596800", "0001-01-01")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        code, _, err = invoke("build", str(run), "-o", str(tmp_path / "r.html"), "-q")
        assert code == 0, err
        assert shown in (tmp_path / "r.html").read_text()
