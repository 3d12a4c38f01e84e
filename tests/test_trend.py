"""Model versions over time (issue 20): ``reportgen history``, ``build --trend``, the summary's
schema and ``--markdown-marker``. Summaries are made in code (tests/trend_data.py), the ones
of real builds by build_report."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.history import history_report
from reportgen.summaries import SCHEMA_VERSION, load_summary, parse_summary
from reportgen.trend import build_trend, order_builds, sparkline
from tests.summary_schema import problems
from tests.trend_data import METRICS, REGRESSION_AT, drifting_builds, summary, write_builds

HOSTILE = "</script><script>window.__pwned=1</script>"
LINK = "[click](https://evil.example/x) @someone"


def history_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "history", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )


def loaded(found: list[dict[str, object]]) -> list:
    return [parse_summary(s, Path(f"build-{i}.json")) for i, s in enumerate(found, start=1)]


# --- order and labels -------------------------------------------------------------------------


def test_builds_are_ordered_by_date_then_labelled_with_a_short_commit() -> None:
    builds = drifting_builds(12)
    shuffled = [builds[i] for i in (5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6)]
    ordered = order_builds(loaded(shuffled))
    assert [b.summary.title for b in ordered] == [f"build {n}" for n in range(1, 13)]
    assert [b.tick for b in ordered][:3] == ["01c0ffe", "02c0ffe", "03c0ffe"]  # 7 hex digits
    assert [b.position for b in ordered] == list(range(1, 13))


def test_order_by_version_is_natural_and_builds_without_it_come_first() -> None:
    values = {"base": dict.fromkeys(METRICS, 0.8), "cand": dict.fromkeys(METRICS, 0.8)}
    found = [
        summary(1, values, labels={"version": "v1.10"}),
        summary(2, values, labels={"version": "v1.9"}),
        summary(3, values, labels={}),
        summary(4, values, labels={"version": "v1.2"}),
    ]
    for s in found:  # the version is the build's label here, not a run's metadata
        for run in s["runs"]:
            run["metadata"] = {}
    ordered = order_builds(loaded(found), "version")
    assert [b.order for b in ordered] == ["", "v1.2", "v1.9", "v1.10"]
    assert [b.tick for b in ordered] == ["2026-11-03 12:00", "v1.2", "v1.9", "v1.10"]


def test_order_by_a_run_metadata_key_and_duplicate_ticks_stay_apart() -> None:
    values = {"base": dict.fromkeys(METRICS, 0.8), "cand": dict.fromkeys(METRICS, 0.8)}
    found = [summary(n, values, labels={"commit": "same"}) for n in (3, 1, 2)]
    ordered = order_builds(loaded(found), "version")  # the candidate run's metadata: 1.<n>
    assert [b.order for b in ordered] == ["1.1", "1.2", "1.3"]
    assert [b.tick for b in ordered] == ["same", "same #2", "same #3"]


# --- the trend --------------------------------------------------------------------------------


def test_the_regression_is_flagged_with_bands_thresholds_and_the_largest_jumps() -> None:
    trend = build_trend(loaded(drifting_builds(12)))
    assert trend.metrics == [("classification", "", m) for m in METRICS]
    assert trend.models == ["base", "cand"]
    flagged = {(p.build, p.model, p.metric, p.flag) for p in trend.flagged}
    assert flagged == {(REGRESSION_AT, "cand", m, "worse") for m in METRICS}
    assert all(p.baseline == "base" for p in trend.flagged)
    accuracy = trend.series("classification", "", "accuracy", "cand")
    assert len(accuracy) == 12 and all(p.low < p.value < p.high for p in accuracy)
    assert trend.thresholds == {"accuracy": [("accuracy < 0.75", 0.75)]}
    jumps = trend.jumps()
    assert len(jumps) == 10
    top = {(j.model, j.before.build, j.after.build) for j in jumps[:8]}
    assert top == {
        ("cand", REGRESSION_AT - 1, REGRESSION_AT),
        ("cand", REGRESSION_AT, REGRESSION_AT + 1),
    }
    assert jumps[0].by == "intervals" and jumps[0].size > 1
    fall = next(j for j in jumps if j.metric == "accuracy" and j.after.build == REGRESSION_AT)
    assert fall.change == pytest.approx(accuracy[7].value - accuracy[6].value)


def test_the_history_page_draws_one_chart_per_metric_with_its_band_and_rule() -> None:
    report = history_report(loaded(drifting_builds(12)), timestamp=False)
    charts = [f for s in report.sections for f in s.figures]
    assert [f.title for f in charts] == ["Accuracy", "F1", "ROC AUC", "Log loss"]
    spec = charts[0].spec
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in spec["layer"]
    ]
    assert marks == ["area", "line", "point", "rule"]  # band, lines, flags, the gate's rule
    record = spec["data"]["values"][0]
    assert record["model"].count("cand") == 12 and record["flag"].count("worse") == 1
    assert spec["layer"][3]["data"]["values"] == [{"gate": "accuracy < 0.75", "threshold": 0.75}]
    assert "1 significant regression (cand at 08c0ffe on 4 metrics)" in report.verdict
    changes = next(s for s in report.sections if s.id == "trend-changes")
    flagged = changes.tables[0]
    first = [c.text for c in flagged.rows[0]]
    assert first[:3] == ["08c0ffe", "cand", "Accuracy"] and first[4:] == [
        "base",
        "significantly worse",
    ]
    assert {row[5].tone for row in flagged.rows} == {"worse"}


def test_sparklines_follow_the_values() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([2.0, 2.0]) == "▁▁"
    assert sparkline([1.0, None, 3.0]) == "▁ █"
    assert sparkline([None]) == ""


def test_markdown_has_a_sparkline_per_metric_and_the_marker_first(tmp_path: Path) -> None:
    builds = drifting_builds(12)
    report = history_report(loaded(builds), timestamp=False)
    text = report.to_markdown(marker="pr-42")
    latest = next(r for r in builds[-1]["runs"] if r["name"] == "cand")["metrics"]["accuracy"]
    assert text.startswith("<!-- reportgen:pr-42 -->\n")
    row = next(line for line in text.splitlines() if line.startswith("| Accuracy | cand |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells[2]) == 12 and cells[2][REGRESSION_AT - 1] == "▁"  # the fall is the low
    assert cells[4] == f"{latest:.3f}"
    with pytest.raises(ReportgenError, match="marker"):
        report.to_markdown(marker="x --> <script>")


# --- the command ------------------------------------------------------------------------------


def test_history_command_takes_a_folder_and_writes_every_output(tmp_path: Path) -> None:
    write_builds(tmp_path / "summaries", drifting_builds(12))
    done = history_cli(
        "summaries",
        "-o",
        "history.html",
        "--json",
        "history.json",
        "--markdown",
        "history.md",
        "--markdown-marker",
        "trend",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "history.html").read_text()
    assert (
        page.count('data-chart="chart-trend-') == 4 and "https://" not in page.split("<script>")[0]
    )
    found = json.loads((tmp_path / "history.json").read_text())
    assert found["document"] == "history" and problems(found) == []
    assert len(found["builds"]) == 12 and found["builds"][7]["tick"] == "08c0ffe"
    flags = [p for p in found["points"] if p["flag"]]
    assert {(p["build"], p["model"]) for p in flags} == {(REGRESSION_AT, "cand")}
    assert (tmp_path / "history.md").read_text().startswith("<!-- reportgen:trend -->")


def test_history_command_takes_a_glob_and_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    paths = write_builds(tmp_path / "s", drifting_builds(3))
    assert (
        history_cli(str(tmp_path / "s" / "build-*.json"), "-o", str(tmp_path / "h.html")).returncode
        == 0
    )
    (tmp_path / "empty").mkdir()
    cases = {
        "empty": ([str(tmp_path / "empty")], "no .json summaries in this folder"),
        "pattern": ([str(tmp_path / "nothing-*.json")], "no file matches this pattern"),
        "twice": ([str(paths[0]), str(paths[0])], "given twice"),
        "history": ([str(tmp_path / "hist.json")], "is the JSON of a history page"),
        "marker": ([str(paths[0]), "--markdown-marker", "a b"], "--markdown-marker"),
        "overwrite": ([str(paths[0]), "--json", str(paths[0])], "input"),
    }
    (tmp_path / "hist.json").write_text(json.dumps({"document": "history", "runs": []}))
    for name, (args, message) in cases.items():
        done = history_cli(*args, "-o", str(tmp_path / f"{name}.html"))
        assert done.returncode == 2, (name, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (name, done.stderr)
        assert "Traceback" not in done.stderr and not (tmp_path / f"{name}.html").exists()


def test_a_newer_schema_is_refused_and_schema_1_still_reads(tmp_path: Path) -> None:
    newer = drifting_builds(1)[0] | {"schema_version": SCHEMA_VERSION + 1}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(ReportgenError, match="newer than this reportgen reads"):
        load_summary(tmp_path / "newer.json")
    old = {
        "title": "old",
        "runs": [
            {
                "name": "v1",
                "task": "binary",
                "metrics": {"accuracy": 0.8},
                "ci": {"accuracy": [0.7, 0.9]},
            }
        ],
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    found = load_summary(tmp_path / "old.json")
    assert found.schema == 1 and [(s.metric, s.value, s.low) for s in found.scores] == [
        ("accuracy", 0.8, 0.7)
    ]
    trend = build_trend([found, *loaded(drifting_builds(2))])
    assert ("classification", "", "accuracy") in trend.metrics  # old builds join the chart


# --- a real build: the round trip and --trend ---------------------------------------------------


def _runs(tmp_path: Path, accuracy: float, seed: int = 0, n: int = 400) -> list[Path]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    paths = []
    for name, acc in (("v1", 0.9), ("v2", accuracy)):
        right = rng.random(n) < acc
        pred = np.where(right, y, 1 - y)
        score = np.clip(np.where(pred == 1, 0.75, 0.25) + rng.normal(0, 0.1, n), 0, 1)
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"id": range(n), "label": y, "score": score}).to_csv(path, index=False)
        paths.append(path)
    (tmp_path / "v2.csv.meta.json").write_text(
        json.dumps({"version": "2.0", "commit": "abcdef0123456"})
    )
    return paths


def test_a_build_summary_round_trips_with_labels_metadata_gates_and_headlines(
    tmp_path: Path,
) -> None:
    report = build_report(
        _runs(tmp_path, 0.88), bootstrap=200, labels=[f"note={LINK}"], fail_if=["accuracy < 0.5"]
    )
    found = json.loads(report.to_json())
    assert problems(found) == []
    assert found["headlines"] == {"classification": ["accuracy", "f1", "roc_auc", "log_loss"]}
    (tmp_path / "s.json").write_text(report.to_json())
    back = load_summary(tmp_path / "s.json")
    assert back.labels == {"note": LINK}
    assert back.metadata["v2"] == {"version": "2.0", "commit": "abcdef0123456"}
    assert back.gates == ["accuracy < 0.5"] and back.baseline == "v1"
    assert back.headlines == found["headlines"]
    assert {(s.model, s.metric) for s in back.scores} >= {("v2", "accuracy"), ("v1", "f1")}


def test_the_schema_can_fail() -> None:
    good = drifting_builds(1)[0]
    assert problems(good) == []
    for path, value in (
        (("comparisons", 0, "verdict"), "maybe"),
        (("scores", 0, "value"), "0.8"),
        (("labels", "commit"), 12),
        (("schema_version",), 3),
    ):
        bad = copy.deepcopy(good)
        place = bad
        for key in path[:-1]:
            place = place[key]
        place[path[-1]] = value
        assert problems(bad), path


def test_build_trend_adds_a_history_section_and_says_when_the_build_breaks_it(
    tmp_path: Path,
) -> None:
    earlier = []
    for number in range(1, 9):  # v2 held 0.89 to 0.91 for eight builds
        values = {
            "v1": dict(zip(METRICS, (0.9, 0.9, 0.95, 0.3), strict=True)),
            "v2": dict(zip(METRICS, (0.89 + number * 0.002, 0.9, 0.95, 0.3), strict=True)),
        }
        earlier.append(summary(number, values, baseline="v1"))
    folder = tmp_path / "earlier"
    write_builds(folder, earlier)
    runs = _runs(tmp_path, 0.7)  # this build: v2 falls to about 0.7, significantly worse
    report = build_report(runs, bootstrap=200, trend=[str(folder)], trend_window=5)
    history = [s for s in report.sections if s.id.startswith("history")]
    assert [s.title for s in history] == ["History", "Changes over builds", "Builds"]
    assert [f.title for f in history[0].figures] == ["Accuracy", "F1", "ROC AUC", "Log loss"]
    assert report.trend is not None and report.trend.builds[-1].current
    assert report.trend.builds[-1].tick == "abcdef0"  # the run's commit
    assert "Breaks the trend: v2's Accuracy 0.7" in report.verdict
    assert "outside the last 5 builds' range (0.898 to 0.906)" in report.verdict
    assert "(also v2's F1, v2's ROC AUC, v2's Log loss)." in report.verdict
    found = json.loads(report.to_json())
    assert found["trend"]["builds"] == 9
    assert next((b["model"], b["metric"]) for b in found["trend"]["breaks"]) == ("v2", "accuracy")
    same = build_report(runs, bootstrap=200, trend=[str(folder)], labels=["commit=1234567"])
    assert same.trend.builds[-1].tick == "1234567"  # a --label wins over run metadata


def test_an_unchanged_build_does_not_break_its_trend(tmp_path: Path) -> None:
    earlier = []
    for number in range(1, 6):
        values = {
            "v1": dict(zip(METRICS, (0.9, 0.9, 0.95, 0.3), strict=True)),
            "v2": dict(zip(METRICS, (0.95, 0.95, 0.97, 0.2), strict=True)),
        }
        earlier.append(summary(number, values, baseline="v1"))
    write_builds(tmp_path / "earlier", earlier)
    report = build_report(_runs(tmp_path, 0.88), bootstrap=200, trend=[str(tmp_path / "earlier")])
    assert "Breaks the trend" not in report.verdict  # lower than before, but no worse than v1
    assert json.loads(report.to_json())["trend"]["breaks"] == []


def test_bad_trend_summaries_stop_the_build_before_any_work(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    from tests.conftest import build_cli

    runs = _runs(tmp_path, 0.88)
    done = build_cli(
        *map(str, runs), "--trend", str(tmp_path / "broken.json"), "-o", str(tmp_path / "r.html")
    )
    assert done.returncode == 2 and "broken.json: not a JSON file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r.html").exists()


# --- hostile labels and scale -------------------------------------------------------------------


def test_hostile_labels_stay_text_in_html_and_markdown(tmp_path: Path) -> None:
    builds = drifting_builds(3)
    builds[1]["labels"] = {"commit": HOSTILE, "note": LINK}
    builds[1]["title"] = HOSTILE
    report = history_report(loaded(builds), timestamp=False)
    page = report.to_html()
    assert HOSTILE not in page and "window.__pwned=1</script>" not in page
    assert "&lt;/script&gt;&lt;script&gt;" in page
    text = report.to_markdown()
    assert "[click](" not in text and "<script>" not in text


def test_two_hundred_builds_of_five_models_make_a_page_under_two_megabytes(tmp_path: Path) -> None:
    paths = write_builds(tmp_path / "s", drifting_builds(200, models=5))
    report = history_report(paths, timestamp=False)
    out = report.save(tmp_path / "history.html")
    assert out.stat().st_size < 2_000_000
    assert len(report.trend.builds) == 200 and report.n_models == 5


def _trend_ci_scripts() -> dict[str, str]:
    """The shell of each trend example, as its CI system runs it (installs, the evaluation
    and the package-manager lines left out: the test writes the runs itself)."""
    import yaml

    ci = Path(__file__).resolve().parent.parent / "examples" / "ci"
    github = yaml.safe_load((ci / "github-actions-trend.yml").read_text())
    steps = github["jobs"]["report"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Build the report and the trend"]
    job = yaml.safe_load((ci / "gitlab-ci-trend.yml").read_text())["model-trend"]
    lines = [*job["before_script"], *job["script"], *job["after_script"]]
    kept = [
        line
        for line in lines
        if not any(word in line for word in ("apt-get", "pip install", "evaluate.py"))
    ]
    return {"github": step["run"], "gitlab": "\n".join(kept)}


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_ci_trend_examples_keep_summaries_and_pass_them_back(system: str, tmp_path: Path) -> None:
    """Three builds on main, as the trend examples run them in a folder holding only the
    run files: the first warns that the trend starts there, the later ones carry a History
    section over the kept summaries, and the history page is written."""
    script = _trend_ci_scripts()[system]
    assert "examples/" not in script
    (tmp_path / "runs").mkdir()
    for number in range(3):
        for path in _runs(tmp_path, 0.88, seed=number):
            frame = pd.read_csv(path)
            frame.to_parquet(
                tmp_path / "runs" / f"{'baseline' if 'v1' in path.name else 'candidate'}.parquet"
            )
        sha = f"{number}" * 40
        env = {
            **__import__("os").environ,
            "GITHUB_SHA": sha,
            "BRANCH": "main",
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_SHORT_SHA": sha[:8],
            "CI_COMMIT_BRANCH": "main",
            "CI_DEFAULT_BRANCH": "main",
            "REPORT_BOT_TOKEN": "",
        }
        done = subprocess.run(
            ["bash", "-ec", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert ("the trend starts here" in done.stderr) == (number == 0)
        summary = json.loads((tmp_path / "reportgen-out" / "summary.json").read_text())
        assert summary["labels"]["commit"] == sha
        assert summary.get("trend", {}).get("builds", 0) == (number + 1 if number else 0)
        assert len(list((tmp_path / "summaries").glob("*.json"))) == number + 1
        assert (
            (tmp_path / "reportgen-out" / "summary.md")
            .read_text()
            .startswith("<!-- reportgen:model-report -->")
        )
    page = (tmp_path / "reportgen-out" / "history.html").read_text()
    assert page.count('data-chart="chart-trend-') == 4
