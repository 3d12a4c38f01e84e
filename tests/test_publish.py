"""Publishing: CI gates and exit codes, Markdown and JUnit summaries, config files, the CI
examples, email (MIME) output, the no-JavaScript page and reproducible bytes."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.errors import ReportgenError
from reportgen.gates import parse_gate
from reportgen.render.publish import markdown_text

from .conftest import Predictions

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


@pytest.fixture
def pair(
    cancer_logistic: Predictions, cancer_tree: Predictions, write_run: Callable[..., Path]
) -> list[str]:
    return [
        f"logistic={write_run(cancer_logistic.frame(), 'logistic.csv')}",
        f"tree={write_run(cancer_tree.frame(), 'tree.csv')}",
    ]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("expression", "kind", "metric", "op", "threshold", "model"),
    [
        ("f1 < 0.90", "value", "f1", "<", 0.9, None),
        ("roc_auc<0.95 for candidate", "value", "roc_auc", "<", 0.95, "candidate"),
        ("delta(accuracy) < -0.01", "delta", "accuracy", "<", -0.01, None),
        ("delta( log_loss ) >= 1e-2 for 'v2 (int8)'", "delta", "log_loss", ">=", 0.01, "v2 (int8)"),
        ("regression(f1)", "regression", "f1", None, None, None),
        ('regression(roc_auc) for "new model"', "regression", "roc_auc", None, None, "new model"),
        ("latency_p99_ms != 500", "value", "latency_p99_ms", "!=", 500.0, None),
    ],
)
def test_gate_grammar(
    expression: str,
    kind: str,
    metric: str,
    op: str | None,
    threshold: float | None,
    model: str | None,
) -> None:
    gate = parse_gate(expression)
    assert (gate.kind, gate.metric, gate.op, gate.threshold, gate.model) == (
        kind,
        metric,
        op,
        threshold,
        model,
    )


@pytest.mark.parametrize(
    "bad",
    [
        "f1",
        "f1 < ",
        "f1 < high",
        "delta f1 < 1",
        "regression(f1) < 1",
        "f1 << 1",
        "f1 < 1 for",
        "f1 < 1 extra words",
    ],
)
def test_malformed_gates_are_errors(bad: str) -> None:
    with pytest.raises(ReportgenError, match=r"--fail-if .*cannot parse; write METRIC OP NUMBER"):
        parse_gate(bad)


def test_gates_exit_codes_and_outputs(tmp_path: Path, pair: list[str]) -> None:
    out = tmp_path / "r.html"
    md, junit, js = tmp_path / "s.md", tmp_path / "g.xml", tmp_path / "s.json"
    code, _, err = invoke(
        "build",
        *pair,
        "-o",
        str(out),
        "--markdown",
        str(md),
        "--junit",
        str(junit),
        "--json",
        str(js),
        "--bootstrap",
        "200",
        "--fail-if",
        "f1 < 0.5",  # passes
        "--fail-if",
        "accuracy < 0.99 for tree",  # fails
        "--fail-if",
        "delta(log_loss) > 0.05",  # the tree's log loss is far worse: fails
        "--fail-if",
        "regression(precision)",  # precision barely moves: passes
    )
    assert code == 1, err
    assert "gate failed: accuracy < 0.99 for tree" in err
    summary = json.loads(js.read_text())["gates"]
    assert summary["passed"] is False
    results = summary["results"]
    assert [r["passed"] for r in results][:2] == [False, False]  # failed first
    assert {r["gate"] for r in results} == {
        "f1 < 0.5",
        "accuracy < 0.99 for tree",
        "delta(log_loss) > 0.05",
        "regression(precision)",
    }
    page = out.read_text()
    assert page.index('id="gates"') < page.index('id="leaderboard"')  # gates at the top
    assert "FAIL" in page
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "2"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert set(failed) == {"accuracy < 0.99 for tree", "delta(log_loss) > 0.05"}
    text = md.read_text()
    assert "❌ 2 failed" in text and "| Model |" in text and len(text) < 6000
    # all gates pass: exit 0
    code, _, err = invoke("build", *pair, "-o", str(out), "--fail-if", "f1 < 0.5")
    assert code == 0, err


def test_unknown_names_are_usage_errors_before_computing(tmp_path: Path, pair: list[str]) -> None:
    out = tmp_path / "r.html"
    code, _, err = invoke("build", *pair, "-o", str(out), "--fail-if", "f2 < 0.5")
    assert code == 2 and "unknown metric 'f2'" in err
    code, _, err = invoke("build", *pair, "-o", str(out), "--fail-if", "f1 < 0.5 for nobody")
    assert code == 2 and "no model named 'nobody'" in err
    code, _, err = invoke(
        "build", *pair, "-o", str(out), "--fail-if", "regression(f1) for logistic"
    )
    assert code == 2 and "is the baseline" in err
    assert not out.exists()


def test_markdown_to_github_step_summary(tmp_path: Path, pair: list[str]) -> None:
    summary = tmp_path / "step.md"
    summary.write_text("earlier step\n")
    code, stdout, err = invoke(
        "build",
        *pair,
        "-o",
        str(tmp_path / "r.html"),
        "--markdown",
        "-",
        "--bootstrap",
        "0",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert code == 0, err
    written = summary.read_text()
    assert written.startswith("earlier step\n") and "### logistic vs tree" in written
    code, stdout, _ = invoke(
        "build",
        *pair,
        "-o",
        str(tmp_path / "r.html"),
        "--markdown",
        "-",
        "--bootstrap",
        "0",
        env={"GITHUB_STEP_SUMMARY": ""},
    )
    assert "| Model |" in stdout  # no step summary: printed


def test_markdown_escapes_user_text() -> None:
    assert markdown_text("a|b <img> *x* [l](u) `c`") == (
        "a\\|b \\<img\\> \\*x\\* \\[l\\](u) \\`c\\`"
    )
    assert markdown_text("line\nbreak") == "line break"


def test_config_file_defaults_and_overrides(tmp_path: Path, pair: list[str]) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.reportgen]\nfail-if = ["f1 < 0.99"]\nbootstrap = 0\n'
        'title = "From the config"\n'
    )
    cwd = Path.cwd()
    os.chdir(project / "sub")  # found in a parent folder
    try:
        code, _, err = invoke(
            "build", *pair, "-o", str(tmp_path / "a.html"), "--json", str(tmp_path / "a.json")
        )
        assert code == 1 and "gate failed: f1 < 0.99" in err
        data = json.loads((tmp_path / "a.json").read_text())
        assert data["title"] == "From the config" and data["bootstrap"]["replicates"] == 0
        # options on the command line win
        code, _, err = invoke(
            "build",
            *pair,
            "-o",
            str(tmp_path / "b.html"),
            "--fail-if",
            "f1 < 0.5",
            "--title",
            "Mine",
            "--json",
            str(tmp_path / "b.json"),
        )
        assert code == 0, err
        assert json.loads((tmp_path / "b.json").read_text())["title"] == "Mine"
        (project / "reportgen.toml").write_text("bootstrap = 'many'\n")  # wins over pyproject
        code, _, err = invoke("build", *pair, "-o", str(tmp_path / "c.html"))
        assert code == 2 and "reportgen.toml: setting 'bootstrap'" in err
        (project / "reportgen.toml").write_text("colour = 'red'\n")
        code, _, err = invoke("build", *pair, "-o", str(tmp_path / "c.html"))
        assert code == 2 and "unknown setting 'colour'" in err
        (project / "reportgen.toml").write_text("bootstrap = [\n")
        code, _, err = invoke("build", *pair, "-o", str(tmp_path / "c.html"))
        assert code == 2 and "not valid TOML" in err
    finally:
        os.chdir(cwd)


def _ci_commands() -> dict[str, str]:
    """The shell each CI example runs to build the report, as the CI system would run it:
    the GitHub step's ``run`` block, and the GitLab job's script after its install and
    evaluation lines."""
    import yaml

    ci = ROOT / "examples" / "ci"
    github = yaml.safe_load((ci / "github-actions.yml").read_text())
    steps = github["jobs"]["report"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Build the report and check the gates"]
    gitlab = yaml.safe_load((ci / "gitlab-ci.yml").read_text())["model-report"]["script"]
    installs = [line for line in (*[s.get("run", "") for s in steps], *gitlab) if "pip" in line]
    assert installs and all(line.split()[-1] == "reportgen-ml" for line in installs)
    shown = [line for line in gitlab if "pip install" not in line and "evaluate.py" not in line]
    return {"github": "set -e\n" + step["run"], "gitlab": "set -e\n" + "\n".join(shown)}


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_ci_examples_run_their_commands(
    system: str,
    tmp_path: Path,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
) -> None:
    """The CI examples work in a user's own repository: their commands, run as written in a
    folder with nothing but the run files, build every output and fail on a gate."""
    script = _ci_commands()[system]
    assert "examples/" not in script  # nothing that exists only in this repository
    runs = tmp_path / "runs"
    runs.mkdir()
    step = tmp_path / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step)}
    for candidate, expected in ((cancer_logistic, 0), (cancer_tree, 1)):
        shutil.rmtree(tmp_path / "reportgen-out", ignore_errors=True)  # each run writes anew
        cancer_logistic.frame().to_parquet(runs / "baseline.parquet")
        candidate.frame().to_parquet(runs / "candidate.parquet")
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == expected, done.stderr
        assert ("gate failed" in done.stderr) == (expected == 1)
        for name in ("report.html", "summary.json", "summary.md", "gates.xml"):
            assert (tmp_path / "reportgen-out" / name).stat().st_size > 0
        summary = json.loads((tmp_path / "reportgen-out" / "summary.json").read_text())
        assert summary["gates"]["passed"] is (expected == 0)
    if system == "github":
        text = step.read_text()
        assert "Gates: ✅ all passed" in text and "Gates: ❌" in text


def test_email_parses_back(tmp_path: Path, pair: list[str]) -> None:
    eml = tmp_path / "report.eml"
    code, _, err = invoke(
        "build",
        *pair,
        "-o",
        str(tmp_path / "r.html"),
        "--eml",
        str(eml),
        "--bootstrap",
        "100",
        "--email-to",
        "ml-team@example.com",
        "--email-subject",
        f"Nightly {HOSTILE}",
        "--fail-if",
        "f1 < 0.99",
    )
    assert code == 1, err
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ml-team@example.com"
    assert message["Subject"].startswith("Nightly ")
    # no --email-from: a draft that mail clients send from the reader's account
    assert message["From"] is None and message["X-Unsent"] == "1"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and "Gates: 1 failed" in text.get_content()
    assert "n.s. when it is not significant" in text.get_content()
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    html_body = body.get_content()
    cids = re.findall(r'src="cid:([^"]+)"', html_body)
    assert 2 <= len(cids) <= 3
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(cids) == set(images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    (attachment,) = [p for p in message.iter_attachments() if p.get_filename() == "report.html"]
    assert "<script>" in attachment.get_content()  # the full interactive report
    assert "<script" not in html_body  # no JavaScript in the body
    assert "style=" in html_body and "<link" not in html_body  # inline CSS only


def test_the_attached_report_declares_utf8_and_is_the_page_byte_for_byte(
    tmp_path: Path, pair: list[str]
) -> None:
    """The attachment had no charset: a client decoding by MIME type read ASCII (mojibake,
    and the CSP hashes of the scripts no longer matched)."""
    eml, page = tmp_path / "report.eml", tmp_path / "r.html"
    code, _, err = invoke(
        "build", *pair, "-o", str(page), "--eml", str(eml), "--bootstrap", "20",
        "--title", "Évaluation — 模型 ✓",
    )  # fmt: skip
    assert code == 0, err
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    (attachment,) = [p for p in message.iter_attachments() if p.get_filename() == "report.html"]
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_param("charset") == "utf-8"
    assert attachment.get_payload(decode=True) == page.read_bytes()
    text = attachment.get_content()  # decoded as the header says
    assert text == page.read_text(encoding="utf-8") and "Évaluation — 模型 ✓" in text


def test_email_images_are_inline_words_fit_an_email_and_the_attachment_is_chosen(
    tmp_path: Path, pair: list[str]
) -> None:
    """Charts are part of the body (not listed as attachments); no caption asks to hover;
    the text part says where the brackets sit; --eml-attach report|static|none picks what
    rides along, and the terminal says each output's size."""
    sizes = {}
    for attach in ("report", "static", "none"):
        eml = tmp_path / f"{attach}.eml"
        code, _, err = invoke(
            "build", *pair, "-o", str(tmp_path / "r.html"), "--eml", str(eml),
            "--eml-attach", attach, "--bootstrap", "50",
        )  # fmt: skip
        assert code == 0, err
        assert re.search(rf"{re.escape(str(eml))} \(\d[\d.]* (kB|MB)\)", " ".join(err.split()))
        sizes[attach] = eml.stat().st_size
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        images = [p for p in message.walk() if p.get_content_type() == "image/png"]
        assert images and all(p.get_content_disposition() == "inline" for p in images)
        attached = [p.get_filename() for p in message.iter_attachments()]
        assert attached == ([] if attach == "none" else ["report.html"])
        html_body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "Hover" not in html_body and "hover" not in html_body
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "In brackets after a candidate's value" in text
        assert not re.search(r"\bunder\b", text)
    assert sizes["none"] < sizes["static"] < sizes["report"]


def test_email_from_a_sender_is_not_a_draft(pair: list[str]) -> None:
    from reportgen.render.publish import to_email

    report = build_report(pair, bootstrap=50, timestamp=False)
    message = email.message_from_bytes(
        to_email(report, sender="ci@example.com"), policy=email.policy.default
    )
    assert message["From"] == "ci@example.com" and message["X-Unsent"] is None


def test_static_page_has_no_javascript(tmp_path: Path, pair: list[str]) -> None:
    full, static = tmp_path / "full.html", tmp_path / "static.html"
    report = build_report(pair, bootstrap=0)
    report.save(full)
    report.save(static, format="static")
    page = static.read_text()
    assert "<script" not in page
    n_figures = sum(len(s.figures) for s in report.sections)
    assert page.count('class="static-chart"') == n_figures
    assert page.count("<svg") == n_figures
    assert static.stat().st_size < full.stat().st_size / 3
    # the interactive page carries the same drawings as its fallback
    assert full.read_text().count('class="static-chart"') == n_figures


def test_markdown_and_junit_are_reproducible(
    tmp_path: Path, pair: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = build_report(pair, bootstrap=100, fail_if=["f1 < 0.99"])
    second = build_report(pair, bootstrap=100, fail_if=["f1 < 0.99"])
    assert first.to_markdown() == second.to_markdown()
    assert first.to_junit() == second.to_junit()
    assert first.to_email() == second.to_email()
    assert "2023-11-14 22:13 UTC" in first.to_markdown()
    none = build_report(pair, bootstrap=100, timestamp=False)
    assert "UTC" not in none.to_markdown() and "generated" not in none.to_html()


def test_markdown_names_stay_text_no_links_or_mentions(tmp_path: Path, pair: list[str]) -> None:
    from reportgen import build_report

    name = "[x](javascript:alert(1)) <img src=x> @someone www.example.com https://evil.example"
    report = build_report(pair, timestamp=False, bootstrap=0, title=name)
    markdown = report.to_markdown()
    import re

    assert re.search(r"(?<!\\)\]\(", markdown) is None  # no live link: the bracket is escaped
    assert re.search(r"(?<!\\)<img", markdown) is None
    for live in ("@someone", "www.example", "https://evil"):
        assert live not in markdown
    assert "\\[x\\]" in markdown and "\\<img" in markdown  # shown as text


def test_no_output_shows_a_zero_delta_as_minus_zero(tmp_path: Path) -> None:
    """Identical runs differ by ±0; one flipped prediction in 5,000 by 0.0002, shown as
    "<0.001" beside its arrow (every delta of a column has three decimals), never as −0.000
    or +0.000 (HTML, Markdown, plain-text email), nor as +0.0002 in a delta (the page's
    comparison table gives intervals their significant digits)."""
    import numpy as np
    import pandas as pd

    from reportgen.render.publish import to_markdown, to_text

    rng = np.random.default_rng(0)
    n = 5000
    label = rng.integers(0, 2, n)
    score = np.clip(label * 0.4 + rng.random(n) * 0.6, 0, 1)
    frame = pd.DataFrame({"id": np.arange(n), "label": label, "score": score})
    frame["prediction"] = (frame["score"] >= 0.5).astype(int)
    flipped = frame.copy()
    flipped.loc[0, "prediction"] = 1 - flipped.loc[0, "prediction"]
    paths = []
    for name, data in (("base", frame), ("same", frame), ("flip", flipped)):
        data.to_csv(tmp_path / f"{name}.csv", index=False)
        paths.append(tmp_path / f"{name}.csv")
    report = build_report(paths, bootstrap=200, timestamp=False)
    outputs = {"html": report.to_html(), "md": to_markdown(report), "text": to_text(report)}
    for name, text in outputs.items():
        assert not re.search(r"[−+-]0\.000(?![0-9])", text), name
        assert "±0" in text, name
        if name != "html":  # the page's comparison table gives intervals their digits
            assert not re.search(r"[−+]0\.0002", text), name
        assert re.search(r"[▲▼]\s*(&lt;|<|\\<)0\.001", text), name


def test_board_layout_and_words_follow_the_job_not_its_numbers(tmp_path: Path) -> None:
    """The same job keeps its layout whether or not its deltas are significant; the caption
    says row or column as the layout is; a model named "baseline" is not tagged twice; the
    page and the JSON say the call that built the report."""
    import markupsafe
    import numpy as np
    import pandas as pd

    from reportgen.kinds.board import shaped
    from reportgen.model import Cell, Table

    header = ["Model", *[f"metric number {i}" for i in range(9)]]

    def board(sub: str) -> Table:
        rows = [[Cell(m)] + [Cell("0.912", sub=sub) for _ in header[1:]] for m in ("a", "b")]
        return shaped(Table(list(header), rows), "a")

    quiet, loud = board("▲ +0.012"), board("▼ −0.0123 n.s.")
    assert quiet.turn == loud.turn == "always"  # nine long names: too wide, whatever values
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    for name in ("baseline", "candidate"):
        frame = pd.DataFrame(
            {"label": y, "score": np.clip(y * 0.5 + rng.normal(0.25, 0.3, 300), 0, 1)}
        )
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    runs = [f"baseline={tmp_path / 'baseline.csv'}", f"candidate={tmp_path / 'candidate.csv'}"]
    report = build_report(runs, bootstrap=100, timestamp=False)
    markdown = report.to_markdown()
    assert "baseline (baseline)" not in markdown and "| baseline |" in markdown
    # two models, eleven metrics: a row per model on a desktop and in Markdown, turned on
    # phones, paper and email
    assert report.leaderboard.turn == "narrow"  # type: ignore[union-attr]
    assert "Best value per column in bold" in markdown
    message = email.message_from_bytes(report.to_email(), policy=email.policy.default)
    body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Best value per row in bold" in body
    assert report.command == f"reportgen.build_report({runs!r}, bootstrap=100, timestamp=False)"
    assert report.summary()["command"] == report.command
    assert str(markupsafe.escape(report.command)) in report.to_html()
