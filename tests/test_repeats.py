"""Repeats of one model (seeds): declared three ways, one leaderboard row with the mean and
spread, intervals and paired tests that count the seeds, and clear errors otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.errors import ReportgenError

N = 4000
LABELS = np.random.default_rng(0).integers(0, 2, N)


def _frame(strength: float, bias: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logit = strength * (2 * LABELS - 1) + rng.normal(0, 1.2, N) + bias
    score = (1 / (1 + np.exp(-logit))).round(6)
    return pd.DataFrame({"id": np.arange(N), "label": LABELS, "score": score})


def _write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def seeds(tmp_path: Path) -> dict[str, list[Path]]:
    """A baseline run, a candidate of equal skill and a collapsed one, three seeds each."""
    return {
        "base": [_write(tmp_path, "base", _frame(1.5, 0, 1))],
        "new": [_write(tmp_path, f"new{s}", _frame(1.5, 0, 10 + s)) for s in range(3)],
        "bad": [_write(tmp_path, f"bad{s}", _frame(1.0, -1.8, 20 + s)) for s in range(3)],
    }


def _arguments(seeds: dict[str, list[Path]]) -> list[str]:
    return [f"{name}={p}" for name, paths in seeds.items() for p in paths]


def test_the_same_name_twice_is_an_error_that_says_how_to_declare_repeats(
    seeds: dict[str, list[Path]],
) -> None:
    with pytest.raises(ReportgenError, match=r"named 'new'.*pass --repeats or give each a seed"):
        build_report(_arguments(seeds), timestamp=False, bootstrap=0)


def test_repeats_are_one_row_with_the_mean_spread_and_an_interval(
    seeds: dict[str, list[Path]],
) -> None:
    report = build_report(_arguments(seeds), timestamp=False, bootstrap=300, repeats=True)
    result = report.result("classification")
    assert [e.name for e in result.evaluations] == ["base", "new", "bad"]
    oracle = [f1_score(LABELS, pd.read_csv(p)["score"] >= 0.5) for p in seeds["new"]]
    runs = {r["name"]: r for r in report.summary()["runs"]}
    assert runs["new"]["metrics"]["f1"] == pytest.approx(np.mean(oracle), abs=1e-12)
    spread = runs["new"]["repeats"]["metrics"]["f1"]
    assert spread["values"] == pytest.approx(oracle, abs=1e-12)
    assert (spread["min"], spread["max"]) == pytest.approx((min(oracle), max(oracle)))
    assert spread["sd"] == pytest.approx(np.std(oracle, ddof=1))
    assert runs["new"]["repeats"]["labels"] == ["#1", "#2", "#3"]
    low, high = runs["new"]["ci"]["f1"]
    assert low < np.mean(oracle) < high
    board = report.leaderboard
    assert board is not None and "Repeats" in board.header
    rows = {row[0].text: row for row in board.rows}
    shown = rows["new"][board.header.index("Repeats")].text
    assert shown.startswith("3 repeats: ") and "sd" in shown
    assert rows["base"][board.header.index("Repeats")].text == "1 run"
    assert "3 repeats" in report.to_html()


def test_paired_tests_use_every_repeat_and_count_the_seeds(
    seeds: dict[str, list[Path]],
) -> None:
    report = build_report(_arguments(seeds), timestamp=False, bootstrap=400, repeats=True)
    found = {(c.candidate, c.metric): c for c in report.result("classification").comparisons}
    bad = found[("bad", "f1")]
    base_f1 = f1_score(LABELS, pd.read_csv(seeds["base"][0])["score"] >= 0.5)
    bad_f1 = [f1_score(LABELS, pd.read_csv(p)["score"] >= 0.5) for p in seeds["bad"]]
    assert bad.delta == pytest.approx(np.mean(bad_f1) - base_f1, abs=1e-12)
    assert bad.test == "bootstrap-paired+repeats" and bad.verdict == "worse"
    # SE^2 = the joint bootstrap's variance of the delta + the seeds' s^2 / R
    assert bad.draws is not None and bad.se is not None
    seed_part = np.var(bad_f1, ddof=1) / 3
    assert bad.se**2 == pytest.approx(np.var(bad.draws, ddof=1) + seed_part, rel=1e-9)
    # the equal-skill candidate is a tie on every metric
    assert {c.verdict for (cand, _), c in found.items() if cand == "new"} == {"tie"}
    # and the ranks treat each repeated model as one
    assert report.result("classification").ranks == {"base": 1, "new": 1, "bad": 3}


def test_a_seed_column_and_a_seed_key_declare_repeats_too(
    tmp_path: Path, seeds: dict[str, list[Path]]
) -> None:
    long = pd.concat(
        [pd.read_csv(p).assign(seed=s) for s, p in enumerate(seeds["new"])], ignore_index=True
    )
    long_path = _write(tmp_path, "long", long)
    by_column = build_report(
        [f"base={seeds['base'][0]}", f"new={long_path}"], timestamp=False, bootstrap=200
    )
    listed = build_report(
        [f"base={seeds['base'][0]}", *(f"new={p}" for p in seeds["new"])],
        timestamp=False,
        bootstrap=200,
        repeats=True,
    )
    a = {r["name"]: r for r in by_column.summary()["runs"]}["new"]
    b = {r["name"]: r for r in listed.summary()["runs"]}["new"]
    assert a["metrics"] == b["metrics"]
    assert a["repeats"]["labels"] == ["seed=0", "seed=1", "seed=2"]
    # run directories whose run.json says which seed they are
    dirs = []
    for s, path in enumerate(seeds["new"]):
        folder = tmp_path / f"run{s}"
        folder.mkdir()
        (folder / "predictions.csv").write_bytes(path.read_bytes())
        (folder / "run.json").write_text(json.dumps({"seed": 100 + s}))
        dirs.append(f"new={folder}")
    keyed = build_report([f"base={seeds['base'][0]}", *dirs], timestamp=False, bootstrap=0)
    entry = {r["name"]: r for r in keyed.summary()["runs"]}["new"]
    assert entry["repeats"]["labels"] == ["seed=100", "seed=101", "seed=102"]
    assert entry["metrics"] == b["metrics"]


def test_repeats_on_other_examples_and_equal_seeds_are_errors(
    tmp_path: Path, seeds: dict[str, list[Path]]
) -> None:
    short = _write(tmp_path, "short", pd.read_csv(seeds["new"][1]).iloc[:-10])
    with pytest.raises(ReportgenError, match=r"short.csv: repeat #2 of 'new' does not hold"):
        build_report(
            [f"base={seeds['base'][0]}", f"new={seeds['new'][0]}", f"new={short}"],
            timestamp=False,
            bootstrap=0,
            repeats=True,
        )
    same = [pd.read_csv(p).assign(seed=7) for p in seeds["new"][:2]]
    paths = [_write(tmp_path, f"same{i}", f) for i, f in enumerate(same)]
    with pytest.raises(ReportgenError, match=r"two runs of 'new' are both seed=7"):
        build_report([f"new={p}" for p in paths], timestamp=False, bootstrap=0)


def test_repeats_that_disagree_are_told_apart(tmp_path: Path) -> None:
    """Two repeats of one name disagreeing on a label (or a regression target) read
    "runs 'v2' and 'v2' disagree"."""
    first = _frame(1.5, 0, 1)
    other = first.assign(label=np.where(first["id"] == 5, 1 - first["label"], first["label"]))
    runs = [_write(tmp_path, "a", first), _write(tmp_path, "b", other)]
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["build", *[f"v2={p}" for p in runs], "--repeats", "-o", str(out), "-q"]
    )
    assert result.exit_code == 2, result.output
    said = [repr(str(v)) for v in (first["label"][5], other["label"][5])]
    assert " ".join(result.output.split()) == (
        "reportgen: error: runs 'v2#1' and 'v2#2' disagree on the label of id 5 "
        f"('v2#1' says {said[0]}, 'v2#2' says {said[1]}; 1 ids in all); repeats of one model "
        "must hold the same labels; fix the labels"
    )
    assert not out.exists()
    targets = pd.read_csv(_regression(tmp_path, "r1", 1.0, 1))
    targets.loc[3, "label"] += 1
    seeded = pd.concat([pd.read_csv(tmp_path / "r1.csv").assign(seed=1), targets.assign(seed=2)])
    path = _write(tmp_path, "seeded", seeded)
    result = CliRunner().invoke(app, ["build", f"v2={path}", "-o", str(out), "-q"])
    assert result.exit_code == 2, result.output
    assert "regression runs 'v2 (seed=1)' and 'v2 (seed=2)' disagree on the target of id 3" in (
        " ".join(result.output.split())
    )


def test_cli_repeats_flag_and_gate(tmp_path: Path, seeds: dict[str, list[Path]]) -> None:
    out = tmp_path / "r.html"
    args = ["build", *_arguments(seeds), "-o", str(out), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--repeats" in result.output
    assert not out.exists()
    result = CliRunner().invoke(
        app, [*args, "--repeats", "--bootstrap", "200", "--fail-if", "regression(f1) for bad"]
    )
    assert result.exit_code == 1, result.output
    assert out.exists()


def _regression(tmp_path: Path, name: str, noise: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    y = np.random.default_rng(0).normal(0, 10, 3000)
    frame = pd.DataFrame(
        {"id": np.arange(3000), "label": y, "prediction": y + rng.normal(0, noise, 3000)}
    )
    return _write(tmp_path, name, frame)


def test_regression_repeats_are_one_row_and_tested_on_their_means(tmp_path: Path) -> None:
    from sklearn.metrics import mean_absolute_error

    base = _regression(tmp_path, "base", 3.0, 1)
    worse = [_regression(tmp_path, f"w{s}", 3.6, 10 + s) for s in range(3)]
    arguments = [f"base={base}", *(f"worse={p}" for p in worse)]
    with pytest.raises(ReportgenError, match="pass --repeats"):
        build_report(arguments, timestamp=False, bootstrap=0)
    report = build_report(arguments, timestamp=False, bootstrap=300, repeats=True)
    oracle = [
        mean_absolute_error(pd.read_csv(p)["label"], pd.read_csv(p)["prediction"]) for p in worse
    ]
    runs = {r["name"]: r for r in report.summary()["runs"]}
    assert runs["worse"]["metrics"]["mae"] == pytest.approx(np.mean(oracle), abs=1e-9)
    assert runs["worse"]["repeats"]["metrics"]["mae"]["values"] == pytest.approx(oracle)
    low, high = runs["worse"]["ci"]["mae"]
    assert low < np.mean(oracle) < high
    mae = next(c for c in report.result("regression").comparisons if c.metric == "mae")
    base_mae = mean_absolute_error(pd.read_csv(base)["label"], pd.read_csv(base)["prediction"])
    assert mae.delta == pytest.approx(np.mean(oracle) - base_mae, abs=1e-9)
    assert mae.test == "bootstrap-paired+repeats" and mae.verdict == "worse"
    assert mae.se**2 == pytest.approx(np.var(mae.draws, ddof=1) + np.var(oracle, ddof=1) / 3)
    board = report.leaderboard
    assert board is not None and "Repeats" in board.header
    shown = {row[0].text: row[board.header.index("Repeats")].text for row in board.rows}
    assert shown["base"] == "1 run" and shown["worse"].startswith("3 repeats: ")


def test_shuffling_the_rows_of_repeats_changes_no_number(tmp_path: Path) -> None:
    """Sums-kind repeats resample in id order too: shuffled files give the same figures."""
    found = []
    for shuffle in (False, True):
        folder = tmp_path / ("shuffled" if shuffle else "sorted")
        folder.mkdir()
        paths = [_regression(folder, "base", 3.0, 1)]
        paths += [_regression(folder, f"w{s}", 3.6, 10 + s) for s in range(3)]
        if shuffle:
            for i, path in enumerate(paths):
                frame = pd.read_csv(path)
                frame.sample(frac=1.0, random_state=i).to_csv(path, index=False)
        arguments = [f"base={paths[0]}", *(f"worse={p}" for p in paths[1:])]
        summary = build_report(arguments, timestamp=False, bootstrap=200, repeats=True).summary()
        figures = [v for r in summary["runs"] for ci in r["ci"].values() for v in ci or []]
        figures += [v for c in summary["comparisons"] for v in [*(c["ci"] or []), c["p_value"]]]
        found.append(figures)
    # the same resamples; only the exact sums' rounding (file order) moves the last digit
    assert found[0] == pytest.approx(found[1], rel=1e-12)
