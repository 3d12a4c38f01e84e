"""Issue 35: what a small evaluation set can detect. Each comparison's minimum detectable
effect (MDE) and the examples a margin needs, against statsmodels' power functions; bound
gates (lower/upper(delta(M))) that read the interval the page shows; the exit codes a CI sees;
and the power simulation of benchmarks/, run in its quick mode."""

from __future__ import annotations

import email
import json
import math
import subprocess
import sys
from email import policy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, tt_solve_power

from reportgen import build_report
from reportgen import formatting as fmt
from reportgen.stats import significance
from reportgen.stats.comparison import Comparison
from reportgen.stats.power import about, mde, multiplier, n_for_margin

from .conftest import build_cli

ROOT = Path(__file__).resolve().parents[1]


def paired_runs(
    tmp_path: Path, n: int, only_base: int, only_cand: int, accuracy: float = 0.8
) -> list[str]:
    """Two binary runs of ``n`` examples: the baseline right on ``accuracy`` of them; the
    candidate the same but wrong on ``only_base`` of the baseline's right answers and right on
    ``only_cand`` of its wrong ones (the discordant pairs)."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, n)
    wrong = round(n * (1 - accuracy))
    base = y.copy()
    base[:wrong] = 1 - y[:wrong]
    cand = base.copy()
    lost = np.arange(wrong, n)[:only_base]
    gained = np.arange(wrong)[:only_cand]
    cand[lost] = 1 - y[lost]
    cand[gained] = y[gained]
    paths = []
    for name, pred in (("v1", base), ("v2", cand)):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"id": np.arange(n), "label": y, "prediction": pred}).to_csv(path, index=False)
        paths.append(f"{name}={path}")
    return paths


def _scored_runs(tmp_path: Path, n: int = 400) -> list[str]:
    """Two binary runs with scores (DeLong) that differ a little."""
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, n)
    signal = y * 1.2 + rng.normal(0, 1, n)
    paths = []
    for name, noise in (("v1", 0.0), ("v2", 0.6)):
        score = 1 / (1 + np.exp(-(signal + rng.normal(0, noise + 1e-9, n))))
        path = tmp_path / f"{name}.csv"
        frame = pd.DataFrame({"id": np.arange(n), "label": y, "score": score})
        frame.to_csv(path, index=False)
        paths.append(f"{name}={path}")
    return paths


def _one(report: object, metric: str) -> Comparison:
    (found,) = [c for c in report.comparisons if c.metric == metric]  # type: ignore[attr-defined]
    return found


def test_the_mde_of_a_paired_proportion_is_statsmodels_power_on_the_paired_differences(
    tmp_path: Path,
) -> None:
    """McNemar's MDE from the discordant-pair rate d: (z(1 − a/2) + z(0.8)) · sqrt(d / n), at
    the comparison's own level a after max-T. statsmodels' one-sample normal power
    (NormalIndPower with ratio=0) and the paired t-test's (tt_solve_power) on the per-example
    differences (−1, 0, +1) give the same effect size in units of their spread."""
    runs = paired_runs(tmp_path, 150, 10, 10)
    report = build_report(runs, bootstrap=200, timestamp=False)
    c = _one(report, "accuracy")
    assert c.test == "mcnemar-exact" and c.verdict == "tie"
    assert c.discordance == pytest.approx(20 / 150)
    assert c.level is not None and 0 < c.level <= 0.05  # max-T over the 6 tested metrics
    effect = NormalIndPower().solve_power(
        effect_size=None, nobs1=150, alpha=c.level, power=0.8, ratio=0
    )
    assert c.mde == pytest.approx(effect * math.sqrt(20 / 150), rel=1e-4)
    differences = np.r_[np.full(10, -1.0), np.full(10, 1.0), np.zeros(130)]
    t_effect = tt_solve_power(effect_size=None, nobs=150, alpha=c.level, power=0.8)
    assert c.mde == pytest.approx(t_effect * differences.std(ddof=1), rel=0.02)
    # the examples a margin of 0.01 needs: the n at which statsmodels gives 80% power
    needed = NormalIndPower().solve_power(
        effect_size=0.01 / math.sqrt(20 / 150), nobs1=None, alpha=c.level, power=0.8, ratio=0
    )
    assert c.margin == 0.01
    assert c.n_for_margin == pytest.approx(needed, abs=1.5)


def test_bootstrap_wald_and_delong_mdes_are_their_standard_errors_times_z(tmp_path: Path) -> None:
    """Bootstrap and Wald: (z(1 − a/2) + z(0.8)) · SE; DeLong: the same from its variance,
    recomputed here from the runs."""
    runs = _scored_runs(tmp_path)
    report = build_report(runs, bootstrap=300, timestamp=False)
    z = significance.normal_quantile
    f1 = _one(report, "f1")
    assert f1.test == "bootstrap-paired" and f1.se and f1.level
    assert f1.mde == pytest.approx((z(f1.level / 2) + 0.8416212335729143) * f1.se, rel=1e-9)
    auc = _one(report, "roc_auc")
    assert auc.test == "delong" and auc.level
    frames = [pd.read_csv(r.partition("=")[2]) for r in runs]
    _, variance, _ = significance.delong(
        frames[0]["label"].to_numpy() == 1,
        frames[0]["score"].to_numpy(),
        frames[1]["score"].to_numpy(),
    )
    effect = NormalIndPower().solve_power(
        effect_size=None, nobs1=1, alpha=auc.level, power=0.8, ratio=0
    )
    assert auc.mde == pytest.approx(effect * math.sqrt(variance), rel=1e-4)
    # n for a margin: the per-example spread SE · sqrt(n) at the same level
    spread = math.sqrt(variance * 400)
    needed = NormalIndPower().solve_power(
        effect_size=0.01 / spread, nobs1=None, alpha=auc.level, power=0.8, ratio=0
    )
    assert auc.n_for_margin == pytest.approx(needed, abs=1.5)


def test_untested_and_unpaired_comparisons_have_no_n_for_margin() -> None:
    c = Comparison("a", "b", "f1", 0.5, 0.5, 0.0, None, None, "none", 0)
    assert mde(c) is None and n_for_margin(c, 0.01) is None
    c = Comparison("a", "b", "f1", 0.5, 0.6, 0.1, None, 0.2, "bootstrap-unpaired", 0, se=0.05)
    assert mde(c) == pytest.approx(multiplier(0.05) * 0.05)
    assert n_for_margin(c, 0.01) is None  # no paired examples to count
    identical = Comparison("a", "b", "accuracy", 0.9, 0.9, 0.0, None, 1.0, "mcnemar-exact", 50)
    identical.discordance = 0.0
    assert mde(identical) is None  # no discordant pair: the spread is unknown, not zero
    assert [about(n) for n in (87, 171, 2417, 13380)] == [87, 170, 2400, 13000]


def test_a_bound_gate_on_a_small_set_exits_1_and_regression_exits_0(tmp_path: Path) -> None:
    """The issue's case: 150 examples, equal accuracy, 20 disagreements. Nothing is
    significant, so regression(accuracy) passes; the set cannot show the candidate within
    0.01 of the baseline, so the bound gate fails, saying why in one line."""
    runs = paired_runs(tmp_path, 150, 10, 10)
    out = tmp_path / "out"
    bound = build_cli(
        *runs,
        "--bootstrap", "200",
        "--fail-if", "lower(delta(accuracy)) < -0.01",
        "-o", str(out / "r.html"),
        "--json", str(out / "r.json"),
        "--markdown", str(out / "r.md"),
        "--eml", str(out / "r.eml"),
    )  # fmt: skip
    assert bound.returncode == 1, bound.stderr
    summary = json.loads((out / "r.json").read_text())
    (accuracy,) = [c for c in summary["comparisons"] if c["metric"] == "accuracy"]
    low, high = accuracy["ci_adjusted"]
    (line,) = [x for x in bound.stderr.splitlines() if x.startswith("reportgen: gate failed")]
    assert line == (
        "reportgen: gate failed: lower(delta(accuracy)) < -0.01 (lower(delta(accuracy)) = "
        f"{low:.3f} < -0.01: 150 examples cannot show accuracy within 0.01 of the baseline "
        f"(the interval is [{low:+.3f}, {high:+.3f}], v2 minus v1))"
    )
    # the bound is the interval the page shows (the comparison table's adjusted interval)
    page = (out / "r.html").read_text()
    assert f"{fmt.signed(low)} to {fmt.signed(high)}" in page
    assert accuracy["mde"] > 0.05 and accuracy["n_for_margin"] > 150
    assert "(you have 150)" in page and "examples would detect an accuracy change of 0.01" in page
    assert "this set detects" in summary["verdict"]
    message = email.message_from_bytes((out / "r.eml").read_bytes(), policy=policy.default)
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for text in ((out / "r.md").read_text(), plain, html):
        assert "v2 ties v1 on accuracy (this set detects changes of" in text
        assert "examples would detect a change of 0.01, you have 150." in text
    regression = build_cli(
        *runs, "--bootstrap", "200", "--fail-if", "regression(accuracy)", "-o", str(out / "g.html")
    )
    assert regression.returncode == 0, regression.stderr


def test_on_a_large_set_ten_flipped_predictions_pass_both_gates(tmp_path: Path) -> None:
    """20,000 examples, a candidate with 10 predictions flipped (5 right answers lost, 5
    wrong ones fixed): both the bound gate and regression(accuracy) pass."""
    runs = paired_runs(tmp_path, 20_000, 5, 5)
    done = build_cli(
        *runs,
        "--bootstrap", "200",
        "--fail-if", "lower(delta(accuracy)) < -0.01",
        "--fail-if", "regression(accuracy)",
        "-o", str(tmp_path / "r.html"),
        "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    gates = json.loads((tmp_path / "r.json").read_text())["gates"]["results"]
    assert [g["passed"] for g in gates] == [True, True]
    assert "20,000 examples show accuracy within 0.01 of the baseline" in gates[0]["detail"]


def test_upper_bound_for_a_lower_is_better_metric_and_the_margin_option(tmp_path: Path) -> None:
    """upper(delta(log_loss)) > 0.02 is the non-inferiority gate of a lower-is-better metric;
    a bound gate's margin is the one n_for_margin uses for its metric, --margin the others'."""
    runs = _scored_runs(tmp_path)
    report = build_report(
        runs,
        bootstrap=200,
        timestamp=False,
        margin=0.05,
        fail_if=["upper(delta(log_loss)) > 0.02", "lower(delta(f1)) < -1"],
    )
    by_gate = {g.expression: g for g in report.gates}
    log_loss = _one(report, "log_loss")
    assert log_loss.ci_adjusted is not None
    upper = by_gate["upper(delta(log_loss)) > 0.02"]
    assert upper.passed == (log_loss.ci_adjusted[1] <= 0.02)
    assert upper.detail.startswith(f"upper(delta(log_loss)) = {log_loss.ci_adjusted[1]:.3f}")
    assert by_gate["lower(delta(f1)) < -1"].passed
    assert log_loss.margin == 0.02 and _one(report, "f1").margin == 1.0
    assert _one(report, "accuracy").margin == 0.05  # no bound gate: --margin


@pytest.mark.parametrize("value", ["0", "-0.01", "nan"])
def test_a_margin_that_is_not_positive_exits_2(tmp_path: Path, value: str) -> None:
    runs = paired_runs(tmp_path, 60, 2, 2)
    done = build_cli(*runs, "--margin", value, "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("reportgen: error: --margin ")
    assert "give a positive number, e.g. 0.01" in line
    assert "Traceback" not in done.stderr and not (tmp_path / "r.html").exists()


@pytest.mark.slow  # runs the simulation (about a minute); still part of the normal run
def test_the_power_simulation_quick_mode_measures_what_the_report_claims(tmp_path: Path) -> None:
    """benchmarks/power_simulation.py --quick: 400 draws per check, each a real test of
    reportgen's statistics; the script exits 0 only when every check holds."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "power_simulation.py"), "--quick", "--json",
         str(tmp_path / "power.json")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads((tmp_path / "power.json").read_text())
    checks = {(c["data"], c["check"]): c for c in found["checks"]}
    assert {d for d, _ in checks} == {"binary", "regression"}
    for (data, check), c in checks.items():
        assert c["draws"] == 400 and c["ok"], (data, check, c)
        if check == "power at the MDE":
            assert abs(c["rate"] - 0.8) <= 0.05
        elif check == "bound gate at -margin":
            assert c["rate"] <= 0.07
        else:
            assert check == "bound gate at 0 with n_for_margin"
            assert abs(c["rate"] - 0.8) <= 0.07
