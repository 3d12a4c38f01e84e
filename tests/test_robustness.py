"""Robustness under perturbation: digits classifiers on Gaussian-noise and feature-dropout
copies (the demo's data), checked against hand-computed mCE, flip rates and accuracies,
statsmodels' McNemar, Holm and Wilson, and aggregated tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from reportgen import build_report
from reportgen import formatting as fmt
from reportgen.charts import draw
from reportgen.demo.why_robust import robustness_frames, write_files
from reportgen.errors import ReportgenError
from reportgen.model import chart

from .conftest import build_cli

NAME = "</script><script>alert(1)</script>&amp;"  # a run name: no '=' (NAME=PATH)
HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return robustness_frames()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    runs, options = write_files(tmp_path_factory.mktemp("robust"))
    assert options == {}
    return runs


@pytest.fixture(scope="module")
def report(written: list[str]):
    return build_report(written, timestamp=False)


def hand_accuracy(frame: pd.DataFrame) -> pd.Series:
    return (
        (frame["label"] == frame["prediction"])
        .groupby([frame["perturbation"], frame["severity"]], sort=False)
        .mean()
    )


def hand_mce(model: pd.DataFrame, base: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """ImageNet-C's mCE written out with plain loops."""
    err_m, err_b = 1 - hand_accuracy(model), 1 - hand_accuracy(base)
    ce = {}
    for p in ("gaussian_noise", "feature_dropout"):
        ce[p] = sum(err_m[(p, s)] for s in (1, 2, 3)) / sum(err_b[(p, s)] for s in (1, 2, 3))
    return sum(ce.values()) / len(ce), ce


def scores(report) -> dict[tuple[str, str], float | None]:
    return {(s.model, s.metric): s.value for s in report.scores if s.kind == "robustness"}


def test_mce_robust_accuracy_and_flip_rate_match_the_hand_computation(
    report,
    frames: dict[str, pd.DataFrame],
) -> None:
    found = scores(report)
    logistic, knn = frames["digits-logistic"], frames["digits-knn"]
    mce, ce = hand_mce(knn, logistic)
    assert found[("digits-knn", "mce")] == pytest.approx(mce, abs=1e-12)
    assert found[("digits-logistic", "mce")] == 1.0
    assert 0.3 < mce < 0.7  # k-NN is far more robust than the logistic model on digits
    summary = {r["name"]: r for r in json.loads(report.to_json())["runs"]}
    assert summary["digits-knn"]["robustness"]["ce"] == pytest.approx(ce, abs=1e-12)
    for name, frame in frames.items():
        accuracy = hand_accuracy(frame)
        assert found[(name, "clean_accuracy")] == pytest.approx(accuracy[("none", 0)])
        perturbed = accuracy.drop(("none", 0))
        assert len(perturbed) == 6
        assert found[(name, "robust_accuracy")] == pytest.approx(perturbed.mean(), abs=1e-12)
        clean = frame[frame["perturbation"] == "none"].set_index("id")["prediction"]
        copies = frame[frame["perturbation"] != "none"]
        flipped = copies["prediction"].to_numpy() != clean.loc[copies["id"]].to_numpy()
        assert found[(name, "flip_rate")] == pytest.approx(flipped.mean(), abs=1e-12)
        rates = summary[name]["robustness"]["flip_rates"]
        by_setting = (
            pd.Series(flipped)
            .groupby([copies["perturbation"].to_numpy(), copies["severity"].to_numpy()])
            .mean()
        )
        for (p, s), rate in by_setting.items():
            assert rates[f"{p} {s:g}"] == pytest.approx(rate, abs=1e-12)
        assert summary[name]["robustness"]["accuracy"]["gaussian_noise 3"] == pytest.approx(
            accuracy[("gaussian_noise", 3)]
        )
        # severity hurts: noise at sigma 8 costs more than at sigma 2
        assert accuracy[("gaussian_noise", 3)] < accuracy[("gaussian_noise", 1)]


def test_intervals_and_mcnemar_match_statsmodels(report, frames) -> None:
    logistic = frames["digits-logistic"]
    clean = logistic[logistic["perturbation"] == "none"]
    right = int((clean["label"] == clean["prediction"]).sum())
    low, high = proportion_confint(right, len(clean), alpha=0.05, method="wilson")
    record = next(
        s for s in report.scores if s.model == "digits-logistic" and s.metric == "clean_accuracy"
    )
    assert (record.low, record.high) == pytest.approx((low, high), abs=1e-9)
    # clean against gaussian noise 3, then Holm over the model's 6 tests
    section = next(s for s in report.sections if s.id == "robustness")
    table = next(t for t in section.tables if t.title.startswith("McNemar: clean"))
    ok = (logistic["label"] == logistic["prediction"]).to_numpy()
    was = ok[: len(clean)]
    raw = []
    for p in ("gaussian_noise", "feature_dropout"):
        for s in (1, 2, 3):
            now = ok[((logistic["perturbation"] == p) & (logistic["severity"] == s)).to_numpy()]
            counts = [[np.sum(was & now), np.sum(was & ~now)], [np.sum(~was & now), 0]]
            raw.append(mcnemar(counts, exact=True).pvalue)
    adjusted = multipletests(raw, method="holm")[1]
    rows = [r for r in table.rows if r[0].text == "digits-logistic"]
    assert [r[7].title for r in rows] == [f"unadjusted {fmt.p_value(p)}" for p in raw]
    shown = [r[7].text for r in rows]
    assert shown == ["p < 0.001" if p < 0.001 else f"p = {p:.3f}" for p in adjusted]
    assert rows[2][7].tone == "worse"  # noise at sigma 8 loses accuracy, significantly
    # candidate against baseline, on the same ids
    summary = {r["name"]: r for r in json.loads(report.to_json())["runs"]}
    pairs = summary["digits-knn"]["robustness"]["mcnemar_vs_baseline"]
    knn_ok = (frames["digits-knn"]["label"] == frames["digits-knn"]["prediction"]).to_numpy()
    mask = (
        (logistic["perturbation"] == "feature_dropout") & (logistic["severity"] == 2)
    ).to_numpy()
    b, c = ok[mask], knn_ok[mask]
    expected = mcnemar([[np.sum(b & c), np.sum(b & ~c)], [np.sum(~b & c), 0]], exact=True).pvalue
    row = next(r for r in pairs if r["perturbation"] == "feature_dropout" and r["severity"] == 2)
    assert row["p"] == pytest.approx(expected, rel=1e-9)
    assert row["worse"] == int(np.sum(b & ~c)) and row["better"] == int(np.sum(~b & c))
    assert row["p_adjusted"] == pytest.approx(
        multipletests([r["p"] for r in pairs], method="holm")[1][pairs.index(row)]
    )


def test_board_markdown_email_and_gates(written: list[str], tmp_path: Path) -> None:
    report = build_report(written, fail_if=["mce > 0.4", "robust_accuracy < 0.5"], timestamp=False)
    gates = {g.expression: g for g in report.gates}
    assert not gates["mce > 0.4"].passed and gates["robust_accuracy < 0.5"].passed
    markdown = report.to_markdown()
    for text in ("mCE", "Robust accuracy", "Flip rate", "0.485", "0.131"):
        assert text in markdown
    report.save(tmp_path / "r.eml")
    email = (tmp_path / "r.eml").read_text(errors="replace")
    assert "Robust accuracy" in email and "mCE" in email
    assert report.leaderboard is not None
    assert report.leaderboard.header[1:] == [
        "Clean accuracy",
        "Robust accuracy",
        "mCE",
        "Flip rate",
    ]
    done = build_cli(*written, "--fail-if", "mce > 0.4", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 1, done.stderr


def test_task_multiclass_still_reads_a_robustness_run(report, written: list[str]) -> None:
    forced = build_report(written, task="multiclass", timestamp=False)
    assert scores(forced) == scores(report)


def test_most_flipped_examples_are_the_ones_flipped_most(report, frames) -> None:
    section = next(s for s in report.sections if s.id == "robustness")
    table = next(t for t in section.tables if t.title == "Most flipped examples")
    knn = frames["digits-knn"]
    clean = knn[knn["perturbation"] == "none"].set_index("id")["prediction"]
    copies = knn[knn["perturbation"] != "none"]
    flipped = copies["prediction"].to_numpy() != clean.loc[copies["id"]].to_numpy()
    counts = pd.Series(flipped).groupby(copies["id"].to_numpy()).sum()
    top = counts.sort_values(ascending=False, kind="stable").head(10)
    rows = [r for r in table.rows if r[0].text == "digits-knn"]
    assert [int(r[1].text) for r in rows] == list(top.index)
    assert [r[4].text for r in rows] == [f"{n} of 6" for n in top]


def test_an_aggregated_table_gives_the_same_mce(
    report,
    frames,
    written,
    tmp_path: Path,
) -> None:
    rows = []
    for name, frame in frames.items():
        for (p, s), value in hand_accuracy(frame).items():
            metric, shown = ("error", 1 - value) if name == "digits-knn" else ("accuracy", value)
            rows.append(
                {
                    "model": f"{name}-table",
                    "perturbation": p,
                    "severity": s,
                    "metric": metric,
                    "value": shown,
                }
            )
    rows.append(
        {
            "model": "digits-knn-table",
            "perturbation": "none",
            "severity": 0,
            "metric": "f1",
            "value": 0.5,
        }
    )
    path = tmp_path / "table.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    mixed = build_report(written, robustness_tables=[str(path)], timestamp=False)
    found = scores(mixed)
    assert found[("digits-knn-table", "mce")] == pytest.approx(
        scores(report)[("digits-knn", "mce")], abs=1e-12
    )
    assert found[("digits-logistic-table", "robust_accuracy")] == pytest.approx(
        scores(report)[("digits-logistic", "robust_accuracy")], abs=1e-12
    )
    assert ("digits-knn-table", "flip_rate") not in found
    section = next(s for s in mixed.sections if s.id == "robustness")
    assert any("ignored: f1" in n for n in section.notes)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f[f["perturbation"] != "none"], "no clean rows"),
        (lambda f: f.drop(columns=["id"]), "no id column"),
        (lambda f: f.drop(index=3), "id 3 at line 723 has no clean row"),
        (
            lambda f: pd.concat([f, f.iloc[[800]]]),
            r"id 81 appears twice for perturbation 'gaussian_noise' at severity 1 "
            r"\(again at line 5035\)",
        ),
        (
            lambda f: f.assign(severity=f["severity"].astype(object).where(f.index != 900, "high")),
            "severity 'high' in column 'severity' at line 902",
        ),
    ],
)
def test_bad_rows_are_one_line_naming_file_and_line(
    frames,
    tmp_path: Path,
    edit,
    message: str,
) -> None:
    path = tmp_path / "bad.csv"
    edit(frames["digits-knn"]).to_csv(path, index=False)
    with pytest.raises(ReportgenError, match=message):
        build_report([str(path)])
    done = build_cli(str(path), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and re.search(message, lines[0])


def test_a_bad_table_names_its_line(written: list[str], tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "model,perturbation,severity,metric,value\nm,none,,accuracy,0.9\nm,noise,1,accuracy,x\n"
    )
    with pytest.raises(ReportgenError, match=r"t.csv: value 'x' at line 3 is not a finite"):
        build_report(written, robustness_tables=[str(path)])
    done = build_cli(*written, "--robustness-table", str(path), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"reportgen: error: {path}: value 'x' at line 3 is not a finite number"
    ]
    path.write_text("model,perturbation,value\nm,none,0.9\n")
    with pytest.raises(ReportgenError, match="missing: severity, metric"):
        build_report(written, robustness_tables=[str(path)])
    path.write_text("model,perturbation,severity,metric,value\nm\u202e,none,,accuracy,0.9\n")
    with pytest.raises(ReportgenError, match="--robustness-table: "):
        build_report(written, robustness_tables=[str(path)])


def test_the_chart_draws_a_panel_per_perturbation_with_names_as_text() -> None:
    points = pd.DataFrame(
        {
            "model": ["a", "a", HOSTILE, HOSTILE],
            "perturbation": [HOSTILE, HOSTILE, HOSTILE, HOSTILE],
            "severity": [0.0, 1.0, 0.0, 1.0],
            "value": [0.9, 0.7, 0.8, 0.75],
            "low": [0.85, 0.6, np.nan, np.nan],
            "high": [0.95, 0.8, np.nan, np.nan],
        }
    )
    spec = draw(chart("severity_panels", points, [HOSTILE], ["a", HOSTILE], ["#111", "#222"]))
    values = [v for rows in spec["datasets"].values() for v in rows]
    assert {v["perturbation"] for v in values} == {HOSTILE}  # data, drawn as text by Vega
    assert spec["facet"]["field"] == "perturbation" and len(spec["spec"]["layer"]) == 3
    assert spec["spec"]["layer"][0]["mark"]["type"] == "area"


def test_the_page_is_bounded_and_names_stay_text(frames, tmp_path: Path) -> None:
    frame = frames["digits-knn"]
    path = tmp_path / "hostile.csv"
    frame.assign(
        perturbation=frame["perturbation"].where(
            frame["perturbation"] == "none", HOSTILE + frame["perturbation"]
        ),
        label=frame["label"].astype(str) + HOSTILE,
        prediction=frame["prediction"].astype(str) + HOSTILE,
    ).to_csv(path, index=False)
    out = tmp_path / "hostile.html"
    report = build_report([f"{NAME}={path}", f"v2={path}"], timestamp=False)
    report.save(out)
    html = out.read_text()
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    section = next(s for s in report.sections if s.id == "robustness")
    flipped = next(t for t in section.tables if t.title == "Most flipped examples")
    assert len(flipped.rows) <= 20  # 10 per model, whatever the run's size
    many = pd.concat(
        [
            frame.assign(
                perturbation=frame["perturbation"].where(
                    frame["perturbation"] == "none", frame["perturbation"] + str(k)
                )
            )
            for k in range(16)
        ]
    )
    many = many.drop_duplicates(["id", "perturbation", "severity"])
    many.to_csv(path, index=False)
    with pytest.raises(ReportgenError, match="32 perturbations; a report shows at most 30"):
        build_report([str(path)])


def test_per_setting_tables_are_bounded_by_the_charted_models(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    runs = []
    for k in range(10):
        frame = frames["digits-knn" if k % 2 else "digits-logistic"].copy()
        frame.loc[frame.index % (k + 2) == 0, "prediction"] = 0  # ten different models
        path = tmp_path / f"m{k}.csv"
        frame.to_csv(path, index=False)
        runs.append(f"m{k}={path}")
    report = build_report(runs, timestamp=False)
    section = next(s for s in report.sections if s.id == "robustness")
    tables = {t.title: t for t in section.tables}
    assert len({r[0].text for r in tables["Clean against perturbed accuracy"].rows}) == 10
    assert len({r[0].text for r in tables["McNemar: clean against each perturbation"].rows}) == 8
    assert len(tables["McNemar: clean against each perturbation"].rows) == 8 * 6
    assert any("list the charted models" in n for n in section.notes)
    assert len(json.loads(report.to_json())["runs"]) == 10


def test_robust_accuracy_interval_and_paired_test_agree_with_a_plain_bootstrap(
    report,
    frames: dict[str, pd.DataFrame],
) -> None:
    """An independent bootstrap (pandas, another generator) over example ids gives the same
    interval to within Monte Carlo error; the comparisons carry the hand-computed deltas."""
    rng = np.random.default_rng(12345)
    ok = {n: (f["label"] == f["prediction"]).to_numpy() for n, f in frames.items()}
    setting = frames["digits-knn"]["perturbation"] + frames["digits-knn"]["severity"].astype(str)
    perturbed = (frames["digits-knn"]["perturbation"] != "none").to_numpy()
    ids = frames["digits-knn"]["id"].to_numpy()
    table = {
        n: pd.DataFrame({"id": ids[perturbed], "s": setting[perturbed], "ok": ok[n][perturbed]})
        .pivot(index="id", columns="s", values="ok")
        .to_numpy(float)
        for n in ok
    }
    n = len(table["digits-knn"])
    draws = {m: [] for m in table}
    for _ in range(2000):
        pick = rng.integers(0, n, n)
        for m in table:
            draws[m].append(table[m][pick].mean(axis=0).mean())
    record = {s.model: s for s in report.scores if s.metric == "robust_accuracy"}
    for m in table:
        low, high = np.percentile(draws[m], [2.5, 97.5])
        assert record[m].low == pytest.approx(low, abs=0.004)
        assert record[m].high == pytest.approx(high, abs=0.004)
    delta = np.array(draws["digits-knn"]) - np.array(draws["digits-logistic"])
    found = {c.metric: c for c in report.comparisons}
    robust = found["robust_accuracy"]
    assert robust.delta == pytest.approx(
        table["digits-knn"].mean() - table["digits-logistic"].mean()
    )
    assert robust.ci == pytest.approx(tuple(np.percentile(delta, [2.5, 97.5])), abs=0.004)
    assert robust.se == pytest.approx(float(np.std(delta, ddof=1)), rel=0.1)
    assert robust.verdict == "better" and robust.test == "bootstrap-paired"
    clean = found["clean_accuracy"]
    b = ok["digits-logistic"][~perturbed]
    c = ok["digits-knn"][~perturbed]
    expected = mcnemar([[np.sum(b & c), np.sum(b & ~c)], [np.sum(~b & c), 0]], exact=True).pvalue
    assert clean.p_value == pytest.approx(expected, rel=1e-9) and clean.n_paired == 719
    assert (
        "digits-knn beats digits-logistic on clean accuracy and robust accuracy" in report.verdict
    )


def test_without_bootstrap_robust_accuracy_is_untested_with_a_reason(written: list[str]) -> None:
    report = build_report(written, bootstrap=0, timestamp=False)
    robust = next(c for c in report.comparisons if c.metric == "robust_accuracy")
    assert (
        robust.p_value is None and robust.verdict == "untested" and "--bootstrap 0" in robust.reason
    )
    record = next(
        s for s in report.scores if s.metric == "robust_accuracy" and s.model == "digits-knn"
    )
    assert record.low is None and record.value is not None
