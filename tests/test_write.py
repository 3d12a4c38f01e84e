"""Outputs never lose data: no output over an input or another output, nothing renamed over a
device, all outputs put in place together, internal errors exit 3 and replace nothing."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.report import Report

from .conftest import build_cli

runner = CliRunner()


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.clip(y * 0.6 + rng.random(300) * 0.5, 0, 1).round(4)
    path = tmp_path / "a.csv"
    pd.DataFrame({"id": range(300), "label": y, "score": score}).to_csv(path, index=False)
    path.with_name("a.csv.meta.json").write_text('{"model": "a"}')
    return path


def build(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["build", *args, "--bootstrap", "50", "--quiet"])
    return result.exit_code, result.output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-o", "{run}"], "-o {run} would overwrite the input {run}"),
        (["--json", "{run}"], "--json {run} would overwrite the input {run}"),
        (["--json", "{run}.meta.json"], "would overwrite the input {run}.meta.json"),
        (["-o", "{link}"], "would overwrite the input {run}"),
        (["--json", "{dir}/r.html"], "--json {dir}/r.html and -o {dir}/r.html are the same file"),
        (["-o", "{dir}"], "names a folder"),
    ],
)
def test_outputs_never_overwrite_inputs_or_each_other(
    run_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    link = tmp_path / "link.html"
    link.symlink_to(run_file)
    names = {"run": str(run_file), "link": str(link), "dir": str(tmp_path)}
    before = _snapshot(tmp_path)
    args = [str(run_file), "-o", str(tmp_path / "r.html")]
    code, output = build(*args, *[e.format(**names) for e in extra])
    assert code == 2, output
    assert message.format(**names) in " ".join(output.split())
    assert _snapshot(tmp_path) == before  # no input touched, nothing written
    assert link.is_symlink()


def test_a_character_device_is_written_through_not_replaced(run_file: Path) -> None:
    code, output = build(str(run_file), "-o", "/dev/null", "--json", "/dev/null")
    assert code == 0, output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_failure_replaces_no_output_and_exits_3(
    run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, summary = tmp_path / "r.html", tmp_path / "r.json"
    out.write_text("the previous report")
    summary.write_text("the previous summary")

    def broken(self: Report) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(Report, "to_json", broken)
    code, output = build(str(run_file), "-o", str(out), "--json", str(summary))
    assert code == 3
    line = " ".join(output.split())
    assert "internal error: RuntimeError: boom second line; no output was replaced" in line
    assert "Traceback" not in output
    assert out.read_text() == "the previous report"  # the HTML was rendered, not put in place
    assert summary.read_text() == "the previous summary"
    assert not list(tmp_path.glob(".*.tmp"))
    result = runner.invoke(
        app,
        ["build", str(run_file), "-o", str(out), "--json", str(summary), "--debug"],
    )
    assert isinstance(result.exception, RuntimeError)  # --debug: the real exception


@pytest.mark.parametrize("how", ["--debug", "REPORTGEN_DEBUG=1"])
def test_debug_shows_the_traceback_and_still_exits_3(
    run_file: Path, tmp_path: Path, how: str
) -> None:
    """The real process (main(), as the console script runs it) with the error let through
    by --debug: it exited 1, the code of a failed gate."""
    out, summary = tmp_path / "r.html", tmp_path / "r.json"
    argv = ["reportgen", "build", str(run_file), "-o", str(out), "--json", str(summary), "-q"]
    argv += ["--debug"] if how == "--debug" else []
    script = (
        "import sys\n"
        "from reportgen.report import Report\n"
        "def broken(self):\n"
        "    raise RuntimeError('boom')\n"
        "Report.to_json = broken\n"  # an internal error, patched in the child only
        f"sys.argv = {argv!r}\n"
        "from reportgen.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "REPORTGEN_DEBUG": "1" if how != "--debug" else "0"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert result.stderr.rstrip().endswith(
        "reportgen: internal error (traceback above); please report it"
    )
    assert not out.exists() and not summary.exists()


def test_a_read_only_folder_names_the_output_not_the_temporary(
    run_file: Path, tmp_path: Path
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, output = build(str(run_file), "-o", str(folder / "r.html"))
    finally:
        folder.chmod(0o700)
    assert code == 2 and f"{folder / 'r.html'}: cannot write" in " ".join(output.split())
    assert ".tmp" not in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slice-bins", "0"], "--slice-bins"),
        (["--seed", "-1"], "--seed"),
        (["--threshold", "nan"], "--threshold nan: give a finite number"),
        (["--bootstrap", "100000000000"], "--bootstrap 100000000000: must be at most 1,000,000"),
        (["--text-col", "nope"], "--text-col 'nope': no run has such a column"),
    ],
)
def test_bad_option_values_are_errors(
    run_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = runner.invoke(app, ["build", str(run_file), "-o", str(tmp_path / "r.html"), *extra])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "r.html").exists()


def test_a_boolean_config_value_for_a_path_is_an_error(run_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "reportgen.toml"
    config.write_text("markdown = true\n")
    result = runner.invoke(
        app, ["build", str(run_file), "-o", str(tmp_path / "r.html"), "--config", str(config)]
    )
    assert result.exit_code == 2 and "setting 'markdown' = true" in result.output
    assert not (tmp_path / "True").exists()


def test_non_finite_numbers_are_written_as_names_in_the_json(
    run_file: Path, tmp_path: Path
) -> None:
    import json

    run_file.with_name("a.csv.meta.json").write_text('{"model": "a", "temperature": NaN}')
    code, output = build(
        str(run_file), "-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")
    )
    assert code == 0, output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["runs"][0]["metadata"]["temperature"] == "NaN"
    assert data["non_finite"] == ["runs[0].metadata.temperature"]


def test_email_headers_are_one_line_and_addresses_are_checked(
    run_file: Path, tmp_path: Path
) -> None:
    from email import message_from_bytes

    eml = tmp_path / "r.eml"
    code, output = build(
        str(run_file),
        "-o",
        str(tmp_path / "r.html"),
        "--eml",
        str(eml),
        "--email-subject",
        "weekly\r\nBcc: victim@example.com",
        "--email-to",
        "team@example.com",
    )
    assert code == 0, output
    message = message_from_bytes(eml.read_bytes())
    assert message["Subject"] == "weekly Bcc: victim@example.com"
    assert message["Bcc"] is None
    code, output = build(
        str(run_file),
        "-o",
        str(tmp_path / "s.html"),
        "--eml",
        str(tmp_path / "s.eml"),
        "--email-to",
        "not an address",
    )
    assert code == 2 and "--email-to 'not an address': not an e-mail address" in output


def test_negative_latency_and_infinite_cost_are_errors(tmp_path: Path) -> None:
    for column, bad in (("latency_ms", -5.0), ("cost", float("inf"))):
        frame = pd.DataFrame(
            {"id": range(10), "label": [0, 1] * 5, "prediction": [0, 1] * 5, column: [1.0] * 10}
        )
        frame.loc[3, column] = bad
        path = tmp_path / f"{column}.csv"
        frame.to_csv(path, index=False)
        code, output = build(str(path), "-o", str(tmp_path / "r.html"))
        assert code == 2, output
        assert f"column {column!r} is {bad:g} at row 4" in " ".join(output.split())


def test_a_latency_too_large_to_add_up_is_one_line_without_numpy_warnings(
    tmp_path: Path,
) -> None:
    """It printed numpy's overflow warnings and built a report of infinite means."""
    frame = pd.DataFrame({"id": range(10), "label": [0, 1] * 5, "prediction": [0, 1] * 5})
    path = tmp_path / "slow.csv"
    frame.assign(latency_ms=1e308).to_csv(path, index=False)
    done = build_cli(str(path), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"reportgen: error: {path}: column 'latency_ms' holds 1e+308, too large to add up over "
        "10 rows; give milliseconds, token counts and costs per example\n"
    )


def test_an_error_about_a_name_with_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nl.csv"
    pd.DataFrame({"id": [1, 2], "la\nbel": ["a", "b"], "prediction": ["a", "b"]}).to_csv(
        path, index=False
    )
    result = runner.invoke(
        app, ["build", str(path), "-o", str(tmp_path / "r.html"), "--label-col", "no\nsuch"]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no\\nsuch" in lines[0]


def test_a_fifo_or_device_as_a_run_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for run in (fifo, Path("/dev/zero")):
        result = runner.invoke(app, ["build", str(run), "-o", str(tmp_path / "r.html")])
        assert result.exit_code == 2 and "not a regular file or folder" in result.output


@pytest.mark.parametrize("role", ["history", "sidecar", "run.json", "config", "embeddings"])
def test_a_fifo_given_as_any_input_is_refused_without_reading(
    run_file: Path, tmp_path: Path, role: str
) -> None:
    """A FIFO as --history, a .meta.json sidecar, a run directory's run.json, --config or
    --embeddings blocked forever or was 'file not found': every input is checked with the
    runs' own check (check_regular_file) before it is opened. The timeout turns a hang
    into a failure."""
    fifo = tmp_path / "pipe"
    run, extra = str(run_file), []
    if role == "history":
        extra = ["--history", f"a={fifo}.csv"]
        fifo = Path(f"{fifo}.csv")
    elif role == "sidecar":
        fifo = run_file.with_name("a.csv.meta.json")
        fifo.unlink()
    elif role == "run.json":
        folder = tmp_path / "model"
        folder.mkdir()
        (folder / "predictions.csv").write_bytes(run_file.read_bytes())
        run, fifo = str(folder), folder / "run.json"
    elif role == "config":
        extra = ["--config", f"{fifo}.toml"]
        fifo = Path(f"{fifo}.toml")
    else:
        extra = ["--embeddings", f"a={fifo}.npy"]
        fifo = Path(f"{fifo}.npy")
    os.mkfifo(fifo)
    page = tmp_path / "r.html"
    done = build_cli(run, *extra, "-o", str(page), "--bootstrap", "0", timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert f"{fifo.name}: not a regular file (a FIFO, device or socket)" in lines[0]
    assert not page.exists()


def test_binary_config_and_pathological_metadata_get_messages(
    run_file: Path, tmp_path: Path
) -> None:
    config = tmp_path / "reportgen.toml"
    config.write_bytes(b"\xff\xfe\x00bootstrap = 5")
    result = runner.invoke(
        app, ["build", str(run_file), "-o", str(tmp_path / "r.html"), "--config", str(config)]
    )
    assert result.exit_code == 2 and "not UTF-8 text" in result.output
    for text, named in (("[" * 100_000 + "]" * 100_000, "nested too deeply"), ("9" * 5000, "")):
        run_file.with_name("a.csv.meta.json").write_text('{"x": ' + text + "}")
        code, output = build(str(run_file), "-o", str(tmp_path / "r.html"))
        assert code == 2 and "run metadata cannot be read" in output and named in output


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_a_hangup_or_kill_leaves_no_temporary_behind(tmp_path: Path, name: str) -> None:
    """The terminal closing (SIGHUP) cleans up like Ctrl-C and kill: no .r.html.*.tmp. In a
    child process, so that a missing handler fails this test, not the test session."""
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from reportgen.render.outputs import staging\n"
        "with staging() as outputs:\n"
        f"    outputs.add(Path(sys.argv[1]) / 'r.html', b'<!doctype html>')\n"
        "    assert list(Path(sys.argv[1]).iterdir())  # the temporary is there\n"
        f"    os.kill(os.getpid(), signal.{name})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path)], capture_output=True, timeout=120
    )
    import signal

    assert done.returncode == 128 + getattr(signal, name), done.stderr
    assert list(tmp_path.iterdir()) == []


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The real command line (:func:`conftest.build_cli`), quiet, no bootstrap; bytes out."""
    done = build_cli(*args, "--bootstrap", "0", "-q", env=env, cwd=cwd)
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.encode(), done.stderr.encode()
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="/dev/full is Linux's")
def test_a_device_that_fails_replaces_no_file(run_file: Path, tmp_path: Path) -> None:
    """--json /dev/full fails; the page written before it must not have been replaced."""
    page = tmp_path / "r.html"
    page.write_text("old page")
    done = _cli(str(run_file), "-o", str(page), "--json", "/dev/full")
    assert done.returncode == 2, done.stderr
    assert page.read_text() == "old page"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_dash_is_standard_output_and_a_folder_is_refused(run_file: Path, tmp_path: Path) -> None:
    done = _cli(str(run_file), "-o", "-", "--json", str(tmp_path / "s.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"<!doctype html>") and not (tmp_path / "-").exists()
    # the size said is what went to standard output (not a stat of a file named "-")
    (tmp_path / "-").write_text("an unrelated file")
    spoken = build_cli(str(run_file), "-o", "-", "--bootstrap", "0", cwd=tmp_path)
    size = {"B": 1, "kB": 1e3, "MB": 1e6}
    said = re.search(r"Wrote - \(([\d.]+) (B|kB|MB)\)", spoken.stderr)
    assert said is not None, spoken.stderr
    shown = float(said.group(1)) * size[said.group(2)]
    assert shown == pytest.approx(len(spoken.stdout.encode()), rel=0.06)
    folder = _cli(str(run_file), "-o", str(tmp_path / "reports") + "/")
    assert folder.returncode == 2 and b"names a folder" in folder.stderr
    assert not (tmp_path / "reports").exists()


def test_a_symlinked_output_replaces_the_file_not_the_link(run_file: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    done = _cli(str(run_file), "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and real.read_text().startswith("<!doctype html>")


def test_the_job_summary_goes_through_the_same_checks(run_file: Path, tmp_path: Path) -> None:
    """$GITHUB_STEP_SUMMARY naming an input or an output is refused before anything is
    written; a FIFO with no reader is an error, not a hang."""
    before = run_file.read_bytes()
    into_input = _cli(str(run_file), "--markdown", "-", env={"GITHUB_STEP_SUMMARY": str(run_file)})
    assert into_input.returncode == 2 and b"would overwrite the input" in into_input.stderr
    assert run_file.read_bytes() == before
    page = tmp_path / "r.html"
    into_page = _cli(
        str(run_file), "-o", str(page), "--markdown", "-", env={"GITHUB_STEP_SUMMARY": str(page)}
    )
    assert into_page.returncode == 2 and b"are the same file" in into_page.stderr
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    hung = _cli(
        str(run_file), "-o", str(page), "--markdown", "-", env={"GITHUB_STEP_SUMMARY": str(fifo)}
    )
    assert hung.returncode == 2 and b"no one reads" in hung.stderr
