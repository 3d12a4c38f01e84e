"""Verdicts that keep their power: p-values not floored by the replicate count, one family of
tests per candidate against its baseline, intervals that agree with verdicts, gates that fail
when a model regresses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.stats import significance
from reportgen.stats.comparison import Comparison, settle

N = 5000


def test_a_difference_six_standard_errors_away_has_p_below_one_in_a_million() -> None:
    rng = np.random.default_rng(0)
    deltas = rng.normal(0.06, 0.01, size=1000)  # delta 0.06, SE 0.01
    p, se = significance.wald_p_value(deltas, 0.06, 0.06)  # type: ignore[misc]
    assert p < 1e-6 and se == pytest.approx(0.01, rel=0.1)
    # the percentile p-value of the same replicates cannot go below 1 / (B + 1)
    floored = significance.bootstrap_p_value(deltas, 0.06, 0.06)
    assert floored == pytest.approx(2 / 1001)


@pytest.mark.parametrize("delta", [0.005, 0.01, 0.02, 0.03])
def test_wald_agrees_with_the_percentile_bootstrap_where_both_resolve(delta: float) -> None:
    """For normal-looking replicates, the two p-values agree where the percentile p-value has
    resolution (p well above 1 / B)."""
    rng = np.random.default_rng(1)
    deltas = rng.normal(delta, 0.01, size=20_000)
    wald, _ = significance.wald_p_value(deltas, delta, delta)  # type: ignore[misc]
    percentile = significance.bootstrap_p_value(deltas, delta, delta)
    assert percentile is not None
    assert wald == pytest.approx(percentile, rel=0.15, abs=0.002)


def _comparison(metric: str, delta: float, p: float) -> Comparison:
    return Comparison("base", "cand", metric, 0.5, 0.5 + delta, delta, None, p, "t", 100)


def test_holm_within_one_comparison_matches_statsmodels() -> None:
    ps = [0.001, 0.011, 0.02, 0.04, 0.3]
    found = [_comparison(f"m{i}", 0.1, p) for i, p in enumerate(ps)]
    settle(found)
    expected = multipletests(ps, alpha=0.05, method="holm")[1]
    assert [c.p_value_adjusted for c in found] == pytest.approx(list(expected))
    assert [c.verdict for c in found] == ["better", "better", "tie", "tie", "tie"]
    assert {c.family for c in found} == {5}


def test_families_are_per_candidate_and_unrelated_models_change_nothing() -> None:
    mine = [_comparison(f"m{i}", 0.1, p) for i, p in enumerate([0.004, 0.02])]
    others = [
        Comparison("base", f"other{j}", "m0", 0.5, 0.5, 0.0, None, 0.9, "t", 100) for j in range(20)
    ]
    settle([*mine, *others])
    assert [c.verdict for c in mine] == ["better", "better"]  # 2 tests, not 22
    settle([*mine, *others], "report")
    assert [c.verdict for c in mine] == ["tie", "tie"]  # 22 tests: 0.004 x 22 > 0.05
    settle([*mine, *others], "none")
    assert [c.p_value_adjusted for c in mine] == [0.004, 0.02]


@pytest.mark.parametrize("method", ["per-comparison", "report", "none"])
def test_the_adjusted_interval_crosses_zero_exactly_for_a_tie(method: str) -> None:
    rng = np.random.default_rng(2)
    found = []
    for i in range(60):
        delta = float(rng.normal(0, 0.02))
        se = float(rng.uniform(0.005, 0.02))
        c = _comparison(f"m{i % 7}", delta, significance.normal_two_sided_p(delta / se))
        c.candidate = f"cand{i // 7}"
        found.append(c)
    settle(found, method)
    for c in found:
        assert c.ci_adjusted is not None
        crosses = c.ci_adjusted[0] <= 0 <= c.ci_adjusted[1]
        assert crosses == (c.verdict == "tie"), (c.metric, c.p_value, c.verdict)


def _five_models(tmp_path: Path) -> list[str]:
    """Five binary classifiers on one 5,000-example test set, paired by id; "collapsed" lost
    most of its recall (F1 from about 0.78 to about 0.49)."""
    rng = np.random.default_rng(7)
    y = (rng.random(N) < 0.4).astype(int)
    runs = []
    for name, strength, bias in (
        ("current", 1.0, 0.0),
        ("peer1", 1.0, 0.0),
        ("peer2", 0.95, 0.0),
        ("peer3", 1.05, 0.0),
        ("collapsed", 1.0, -1.8),
    ):
        logit = strength * (2 * y - 1) + rng.normal(0, 1.2, N) + bias
        score = 1 / (1 + np.exp(-logit))
        frame = pd.DataFrame({"id": np.arange(N), "label": y, "score": score.round(6)})
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        runs.append(f"{name}={path}")
    return runs


def test_five_models_the_collapsed_f1_is_worse_and_the_gate_fails(tmp_path: Path) -> None:
    runs = _five_models(tmp_path)
    report = build_report(runs, timestamp=False)
    f1 = {
        c.candidate: c
        for c in report.result("classification").assessment.comparisons
        if c.metric == "f1"
    }
    assert f1["collapsed"].baseline_value > 0.7 and f1["collapsed"].candidate_value < 0.55
    assert f1["collapsed"].verdict == "worse"
    assert f1["collapsed"].p_value < 1e-6
    # the same verdicts for the pair (current, collapsed) with or without the three peers
    alone = build_report([runs[0], runs[-1]], timestamp=False)
    pair = {c.metric: c.verdict for c in alone.result("classification").assessment.comparisons}
    assert pair == {
        c.metric: c.verdict
        for c in report.result("classification").assessment.comparisons
        if c.candidate == "collapsed"
    }
    # and every comparison's adjusted interval agrees with its verdict
    for c in report.result("classification").assessment.comparisons:
        if c.ci_adjusted is not None:
            crosses = c.ci_adjusted[0] <= 0 <= c.ci_adjusted[1]
            assert crosses == (c.verdict == "tie"), (c.candidate, c.metric)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["build", *runs, "-o", str(out), "--fail-if", "regression(f1)", "--quiet"]
    )
    assert result.exit_code == 1, result.output
    assert "collapsed" in result.output


def test_the_improvement_chart_draws_the_interval_the_verdict_uses(tmp_path: Path) -> None:
    """Every bar of the drawn chart: it crosses zero exactly when its verdict is a tie."""
    report = build_report(_five_models(tmp_path), timestamp=False, bootstrap=300)
    (section,) = [s for s in report.sections if s.id == "comparison"]
    (figure,) = [f for f in section.figures if f.id == "improvements"]
    spec = figure.spec
    assert isinstance(spec, dict)
    values = [v for d in spec["datasets"].values() for v in d if "verdict" in v]
    assert len(values) == 4 * 11
    for v in values:
        assert (v["low"] <= 0 <= v["high"]) == (v["verdict"] == "tie"), v
    assert {v["verdict"] for v in values} >= {"worse", "tie"}
    # the verdict is the colour, zero is always in view, and rates share one scale
    text = json.dumps(spec)
    assert '"field": "shown"' in text and '"zero": true' in text
    assert {v["scale"] for v in values} == {"shared", "own"}
    shared = {v["metric"] for v in values if v["scale"] == "shared"}
    assert {"Accuracy", "F1", "ROC AUC"} <= shared and "Log loss" not in shared
    panels = spec["vconcat"]
    assert [p["resolve"]["scale"]["x"] for p in panels] == ["shared", "independent"]


def _regional(tmp_path: Path) -> list[str]:
    """Two models, identical but in one region, where the candidate loses most of its recall
    (F1 about 0.77 -> about 0.5), as the new user's case."""
    rng = np.random.default_rng(11)
    y = (rng.random(N) < 0.4).astype(int)
    region = rng.choice(["north", "south", "east", "west"], size=N)
    noise = rng.normal(0, 1.2, N)
    runs = []
    for name, bias in (("current", 0.0), ("new", -1.4)):
        logit = (2 * y - 1) + noise + np.where(region == "north", bias, 0.0)
        frame = pd.DataFrame(
            {"id": np.arange(N), "label": y, "score": (1 / (1 + np.exp(-logit))).round(6)}
        ).assign(region=region)
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        runs.append(f"{name}={path}")
    return runs


def test_a_slice_regression_is_named_in_the_verdict_json_markdown_and_gate(
    tmp_path: Path,
) -> None:
    runs = _regional(tmp_path)
    report = build_report(runs, timestamp=False, slices=["region"])
    assert "new is worse on region=north: F1 " in report.verdict
    assert "new is worse on region=north" in report.to_markdown()
    summary = report.summary()
    north = {
        d["metric"]: d
        for d in summary["slice_comparisons"]
        if d["value"] == "north" and d["candidate"] == "new"
    }
    assert north["f1"]["verdict"] == "worse" and north["f1"]["p_value_adjusted"] < 0.05
    assert north["f1"]["baseline_value"] > north["f1"]["candidate_value"] + 0.15
    others = [
        d for d in summary["slice_comparisons"] if d["value"] != "north" and d["metric"] == "f1"
    ]
    assert {d["verdict"] for d in others} == {"tie"}  # identical predictions elsewhere
    out, gate = tmp_path / "r.html", "regression(f1) by region"
    failing = CliRunner().invoke(
        app,
        ["build", *runs, "--slice", "region", "-o", str(out), "--quiet", "--fail-if", gate],
    )
    assert failing.exit_code == 1, failing.output
    assert "where region is north" in failing.output
    passing = CliRunner().invoke(
        app,
        [
            "build",
            *runs,
            "--slice",
            "region",
            "-o",
            str(out),
            "--quiet",
            "--fail-if",
            f"{gate} for current",
        ],
    )
    assert passing.exit_code == 2  # the baseline has no comparison of its own


def test_the_largest_fairness_gap_change_is_beside_the_leaderboard(tmp_path: Path) -> None:
    report = build_report(_regional(tmp_path), timestamp=False, slices=["region"], bootstrap=200)
    assert report.leaderboard is not None
    caption = report.leaderboard.caption
    assert "Largest fairness-gap change against current: new's" in caption
    gaps = report.result("classification").slices[0].fairness
    moved = max(
        abs(gaps["new"][k] - gaps["current"][k])
        for k in ("demographic_parity_difference", "equal_opportunity_difference")
    )
    assert f"({moved:+.3f})" in caption or f"({-moved:+.3f})" in caption
    assert moved > 0.2  # recall collapsed in one region: the equal-opportunity gap widened


def test_ranks_share_the_places_models_cannot_be_told_apart_in(tmp_path: Path) -> None:
    runs = _five_models(tmp_path)
    report = build_report(runs, timestamp=False, bootstrap=200)
    ranks = report.result("classification").ranks
    # models of equal skill share a place; the collapsed one comes last, alone
    assert ranks["collapsed"] == 5
    assert ranks["current"] == ranks["peer1"] and min(ranks.values()) == 1
    assert sum(r == 1 for r in ranks.values()) >= 2
    board = report.leaderboard
    assert board is not None and board.header[1] == "Rank"
    shown = {row[0].text: row[1].text for row in board.rows}
    assert shown["collapsed"] == "5" and shown["peer1"] == "1"
    runs_json = {r["name"]: r for r in report.summary()["runs"]}
    assert runs_json["collapsed"]["rank"] == {"metric": "accuracy", "rank": 5}
    markdown = report.to_markdown()  # too wide to read across: a row per metric
    assert "| Metric | current (baseline) | peer1 |" in markdown
    assert "\n| Rank | **1** |" in markdown
    two = build_report(runs[:2], timestamp=False, bootstrap=0)
    assert two.leaderboard is not None and "Rank" not in two.leaderboard.header


def test_a_p_value_near_one_does_not_make_an_unbounded_interval() -> None:
    """McNemar's p of 1 discordant pair against 2 is near 1: the interval comes from the
    comparison's own standard error, not from the one such a p-value implies."""
    c = _comparison("accuracy", -0.002, 0.99999)
    c.se = 0.003
    settle([c])
    assert c.verdict == "tie" and c.ci_adjusted is not None
    low, high = c.ci_adjusted
    assert low <= 0 <= high and high - low < 0.02


def test_regression_boards_rank_with_the_kinds_own_test(tmp_path: Path) -> None:
    """Three regressors on one test set: two of equal skill share rank 1, a worse one is 3."""
    rng = np.random.default_rng(4)
    n = 3000
    y = rng.normal(0, 10, n)
    runs = []
    for name, noise in (("a", 3.0), ("b", 3.0), ("c", 6.0)):
        path = tmp_path / f"{name}.csv"
        frame = pd.DataFrame(
            {"id": np.arange(n), "label": y, "prediction": y + rng.normal(0, noise, n)}
        )
        frame.to_csv(path, index=False)
        runs.append(f"{name}={path}")
    report = build_report(runs, timestamp=False, bootstrap=300)
    board = report.leaderboard
    assert board is not None
    assert board.header[:2] == ["Model", "Rank"]
    shown = {row[0].text: row[1].text for row in board.rows}
    assert shown == {"a": "1", "b": "1", "c": "3"}
    runs_json = {r["name"]: r for r in report.summary()["runs"]}
    assert runs_json["c"]["rank"]["rank"] == 3
    assert "| Model | Rank |" in report.to_markdown()


def test_lm_eval_boards_rank_by_the_z_test_on_standard_errors(tmp_path: Path) -> None:
    import json

    runs = []
    for name, acc in (("x", 0.70), ("y", 0.705), ("z", 0.60)):
        path = tmp_path / f"{name}.json"
        results = {"arc_easy": {"acc,none": acc, "acc_stderr,none": 0.01, "alias": "arc_easy"}}
        path.write_text(json.dumps({"results": results, "versions": {"arc_easy": 1}}))
        runs.append(f"{name}={path}")
    report = build_report(runs, timestamp=False)
    ranks = report.result("lm-eval results").ranks
    # x - z = 0.10, 7 standard errors: significant; x - y = 0.005: not
    assert ranks == {"x": 1, "y": 1, "z": 3}
    runs_json = {r["name"]: r for r in report.summary()["runs"]}
    assert runs_json["z"]["rank"] == {"metric": "arc_easy", "rank": 3}


def test_the_slice_clauses_of_a_verdict_stay_bounded() -> None:
    """Many candidates worse on many slice values: the verdict names the first two candidates
    with each value's first metric, counts the rest, and never lists every regression."""
    from types import SimpleNamespace

    from reportgen.kinds.classification.kind import slice_regressions

    def delta(candidate: str, value: str, metric: str) -> SimpleNamespace:
        test = SimpleNamespace(baseline_value=0.9, candidate_value=0.8)
        return SimpleNamespace(
            candidate=candidate, value=value, metric=metric, verdict="worse", test=test
        )

    deltas = [
        delta(c, v, m)
        for c in ("b", "c", "d", "e")
        for v in ("north", "south", "east")
        for m in ("recall", "f1")
    ]
    deltas.append(delta("f", "west", "f1"))
    deltas[0] = SimpleNamespace(**{**vars(deltas[0]), "verdict": "tie"})  # b north recall
    analysis = SimpleNamespace(column="region", primary="f1", deltas=deltas)
    parts = slice_regressions(SimpleNamespace(slices=[analysis]))  # type: ignore[arg-type]
    assert parts == [
        "b is worse on region=north (F1 0.900 → 0.800), region=south (F1 0.900 → 0.800) "
        "and 1 more region value",
        "c is worse on region=north (F1 0.900 → 0.800), region=south (F1 0.900 → 0.800) "
        "and 1 more region value",
        "3 more candidates are worse on some slices (the slice sections list them)",
    ]
    one = SimpleNamespace(column="region", primary="f1", deltas=deltas[-1:])
    assert slice_regressions(SimpleNamespace(slices=[one])) == [  # type: ignore[arg-type]
        "f is worse on region=west: F1 0.900 → 0.800"
    ]


def test_verdict_clauses_lead_with_the_majority_and_name_the_few() -> None:
    from types import SimpleNamespace

    from reportgen.kinds.cells import verdict_parts

    def clause(*verdicts: str, metrics: tuple[str, ...] = (), mde: float | None = None) -> str:
        names = metrics or tuple(f"m{i}" for i in range(len(verdicts)))
        found = [
            SimpleNamespace(candidate="new", verdict=v, metric=m, mde=mde)
            for v, m in zip(verdicts, names, strict=True)
        ]
        (text,) = verdict_parts(found, "old", "metrics")  # type: ignore[arg-type]
        return text

    eleven = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "roc_auc")
    eleven += ("average_precision", "log_loss", "brier", "ece")
    worse_but_ece = ["worse"] * 10 + ["better"]
    assert (
        clause(*worse_but_ece, metrics=eleven)
        == "new is worse than old on 10 of 11 metrics (better on ECE)"
    )
    assert (
        clause(*(["tie"] * 8 + ["worse", "worse", "tie"]), metrics=eleven)
        == "new is worse than old on log loss and Brier, ties on 9"
    )
    assert (
        clause("better", "worse", "tie", metrics=("f1", "log_loss", "ece"))
        == "new beats old on F1 (worse on log loss), ties on 1"
    )
    assert (
        clause("better", "better", metrics=("f1", "accuracy")) == "new beats old on F1 and accuracy"
    )
    assert clause("worse", "tie", "untested", metrics=("f1", "ece", "brier")) == (
        "new is worse than old on F1, ties on 1"
    )
    assert clause("tie", "tie") == "new and old tie on all 2 metrics"
    # issue 35: a tie says the smallest change the set detects (the first tied metric's MDE)
    assert clause("tie", metrics=("f1",), mde=0.0312) == (
        "new ties old on F1 (this set detects changes of 0.031 or more)"
    )
    assert clause("tie", "tie", metrics=("accuracy", "f1"), mde=0.05) == (
        "new and old tie on all 2 metrics (this set detects accuracy changes of 0.050 or more)"
    )
    assert clause("worse", "tie", metrics=("f1", "log_loss"), mde=0.0004) == (
        "new is worse than old on F1, ties on 1 (this set detects log loss changes of 0.0004 "
        "or more)"
    )


def test_three_or_more_models_lead_with_the_best() -> None:
    from reportgen.kinds.cells import ranked_verdict

    clauses = {m: f"{m} clause" for m in ("v2", "v3", "v4", "v5")}
    ranks = {"v1": 3, "v2": 2, "v3": 1, "v4": 4, "v5": 1}
    assert ranked_verdict(clauses, ranks, "f1", "v1", []) == [
        "Best: v3 (rank 1 of 5 on F1; v5 is not distinguishable)",
        "v3 clause",
        "v5 clause",
        "2 more candidates in the comparisons",
    ]
    tied = dict.fromkeys(("v1", "v2", "v3"), 1)
    assert ranked_verdict({"v2": "a", "v3": "b"}, tied, "accuracy", "v1", [])[0] == (
        "No model ranks above the others on accuracy (all 3 share rank 1)"
    )
    assert ranked_verdict({"v2": "a"}, {"v1": 1, "v2": 2}, "f1", "v1", []) == ["a"]


def test_the_headline_reads_the_same_in_every_output(tmp_path: Path) -> None:
    """Page, Markdown, the email's text and HTML bodies, and the JSON's verdict: one sentence."""
    import email
    import email.policy

    from reportgen.demo.classic import write_demo_runs

    demo = write_demo_runs(tmp_path)[0]
    report = build_report(demo.runs, bootstrap=200, timestamp=False, **demo.options)
    verdict = report.verdict
    assert verdict.startswith("No model ranks above the others on accuracy (all 3 share rank 1)")
    assert report.summary()["verdict"] == verdict
    assert verdict in report.to_html()
    assert verdict in report.to_markdown()
    message = email.message_from_bytes(report.to_email(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    body = message.get_body(preferencelist=("html",))  # the email's own body, not the attachment
    assert text is not None and verdict in text.get_content()
    assert body is not None and len(body.get_content()) < 200_000
    assert verdict in body.get_content()


def test_a_crowded_headline_names_the_candidates_that_differ() -> None:
    """Of four candidates, the two spelled out are those with significant differences
    (regressions first); the rest are counted as ties."""
    from reportgen.kinds.cells import ranked_verdict
    from reportgen.kinds.lmeval_results.table import TaskDelta

    clauses = {m: f"{m} clause" for m in ("a", "b", "c", "d")}
    ranks = {"base": 1, "a": 1, "b": 1, "c": 2, "d": 1}
    counts = {"a": (0, 0), "b": (0, 0), "c": (8, 1), "d": (0, 2)}
    for make in (  # a metric's comparison record, and an lm-eval task's delta: the same words
        lambda m, v: Comparison("base", m, "f1", 0.5, 0.5, 0.0, None, None, "t", 9, None, v),
        lambda m, v: TaskDelta(m, "task", "acc", 0.5, 0.5, 0.0, None, None, None, v),
    ):
        records = [
            make(m, verdict)
            for m, (worse, better) in counts.items()
            for verdict in ["worse"] * worse + ["better"] * better + ["tie"]
        ]
        assert ranked_verdict(clauses, ranks, "f1", "base", records)[1:] == [
            "c clause",
            "d clause",
            "2 more candidates tie with base throughout",
        ]
    # a hidden candidate never compared is not said to tie
    records = [r for r in records if r.candidate != "b"]
    assert ranked_verdict(clauses, ranks, "f1", "base", records)[-1] == (
        "2 more candidates in the comparisons"
    )


def test_a_five_model_email_fits_a_phone(tmp_path: Path) -> None:
    """Turned leaderboards of more than three models go out as tables of three model columns
    (the baseline in each), so a 400 px screen shows them without scrolling sideways."""
    from reportgen.model import Cell, Table
    from reportgen.render.publish import email_parts

    header = ["Metric", "v1 (baseline)", "v2", "v3", "v4", "v5"]
    board = Table(header, [[Cell(h) for h in header]], numeric=[False] + [True] * 5)
    parts = email_parts(board)
    assert [p.header for p in parts] == [
        ["Metric", "v1 (baseline)", "v2", "v3"],
        ["Metric", "v1 (baseline)", "v4", "v5"],
    ]
    assert email_parts(Table(header[:4], [])) == [Table(header[:4], [])]
    # the baseline need not be the first model: its column is the one repeated
    header = ["Metric", "v1", "v2", "v3 (baseline)", "v4"]
    board = Table(header, [[Cell(h) for h in header]], numeric=[False] + [True] * 4)
    assert [p.header for p in email_parts(board, baseline=3)] == [
        ["Metric", "v3 (baseline)", "v1", "v2"],
        ["Metric", "v3 (baseline)", "v4"],
    ]
    # end to end: --baseline peer2 of five models; every part carries it, nothing is hidden
    from reportgen.render.publish import email_leaderboard

    report = build_report(_five_models(tmp_path), baseline="peer2", bootstrap=0)
    parts, hidden = email_leaderboard(report)
    assert hidden == 0 and len(parts) == 2
    assert all(p.header[:2] == ["Metric", "peer2 (baseline)"] for p in parts), parts
    shown = [h for p in parts for h in p.header[2:]]
    assert sorted(shown) == ["collapsed", "current", "peer1", "peer3"]
    body = report.to_email().decode()
    assert "more columns" not in body


def test_one_rule_makes_every_verdict() -> None:
    """verdict_of (settle and lm-eval's task deltas): equal values are a tie, tested or not;
    untested stays untested; not significant is a tie; else the metric's direction decides."""
    from reportgen.stats.comparison import verdict_of

    assert verdict_of(0.0, True, True) == "tie"
    assert verdict_of(0.0, None, True) == "tie"
    assert verdict_of(0.01, None, True) == "untested"
    assert verdict_of(0.01, False, True) == "tie"
    assert verdict_of(None, True, True) == "tie"
    assert verdict_of(0.01, True, True) == "better"
    assert verdict_of(0.01, True, False) == "worse"
    assert verdict_of(-0.01, True, False) == "better"
