"""Perplexity runs, their intervals and comparisons; efficiency; training histories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report, metrics
from reportgen.errors import ReportgenError
from reportgen.ingest.history import load_history
from reportgen.kinds import kind_of, load_source
from reportgen.kinds.cells import slug_of
from reportgen.kinds.efficiency import efficiency_metrics, pareto_front
from reportgen.kinds.perplexity import PERPLEXITY
from reportgen.stats.comparison import settle

from .conftest import Predictions, build_cli


def serial(function, items):  # type: ignore[no-untyped-def]
    return [function(i) for i in items]


def perplexity_frame(seed: int, n: int = 400, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(5, 400, size=n)
    per_token = rng.gamma(4.0, 0.5, size=n) + shift
    return pd.DataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "nll": per_token * tokens,
            "num_tokens": tokens,
            "num_bytes": tokens * 4,
            "domain": np.where(np.arange(n) % 3 == 0, "code", "prose"),
        }
    )


def layer_data(spec: dict, index: int) -> list[dict]:
    data = spec["layer"][index]["data"]
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def load(path: Path, name: str | None = None):  # type: ignore[no-untyped-def]
    (run,) = load_source(f"{name}={path}" if name else path).runs
    return run


def test_corpus_perplexity_weighs_by_tokens_not_examples(tmp_path: Path) -> None:
    # two examples: 1 token with nll 4.0 (ppl e^4 = 54.6), 99 tokens with nll 99 (ppl e)
    frame = pd.DataFrame({"nll": [4.0, 99.0], "num_tokens": [1, 99], "num_bytes": [3, 400]})
    path = tmp_path / "ppl.csv"
    frame.to_csv(path, index=False)
    result = _evaluate(load(path))
    assert result.metrics["perplexity"] == pytest.approx(math.exp(103 / 100), rel=1e-15)
    assert result.metrics["mean_nll"] == pytest.approx(1.03)
    assert result.metrics["bits_per_byte"] == pytest.approx(103 / (math.log(2) * 403))
    naive = (math.exp(4.0) + math.e) / 2  # the mean of per-example perplexities: wrong
    assert abs(result.metrics["perplexity"] - naive) > 25


def test_per_example_perplexity_is_converted_exactly(tmp_path: Path) -> None:
    frame = perplexity_frame(0)
    direct = tmp_path / "direct.csv"
    frame.to_csv(direct, index=False)
    converted = tmp_path / "converted.csv"
    frame.assign(perplexity=np.exp(frame["nll"] / frame["num_tokens"])).drop(columns="nll").to_csv(
        converted, index=False
    )
    a = _evaluate(load(direct)).metrics["perplexity"]
    b = _evaluate(load(converted)).metrics["perplexity"]
    assert b == pytest.approx(a, rel=1e-12)
    assert "converted" in load(converted).notes[0]


def test_perplexity_without_token_counts_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ppl.csv"
    pd.DataFrame({"perplexity": [5.0, 7.0]}).to_csv(path, index=False)
    with pytest.raises(ReportgenError, match=r"ppl\.csv: column 'perplexity' needs per-example"):
        load(path)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"loss": [1.0, -2.0], "tokens": [3, 4]}).to_csv(bad, index=False)
    with pytest.raises(ReportgenError, match=r"bad\.csv: .*'loss' has -2\.0 at line 3"):
        load(bad)


def test_intervals_cover_the_estimate_and_paired_delta_matches(tmp_path: Path) -> None:
    base, cand = tmp_path / "base.csv", tmp_path / "cand.csv"
    perplexity_frame(1).to_csv(base, index=False)
    shuffled = perplexity_frame(1, shift=0.1).sample(frac=1.0, random_state=3)  # other order
    shuffled.to_csv(cand, index=False)
    runs = [load(base, "base"), load(cand, "cand")]
    found = PERPLEXITY.assess(runs, None, 500, 0, serial)
    settle(found.comparisons)
    base_result, cand_result = found.results
    low, high = base_result.intervals["perplexity"]
    assert low < base_result.metrics["perplexity"] < high
    (comparison,) = [c for c in found.comparisons if c.metric == "perplexity"]
    assert comparison.test == "bootstrap-paired" and comparison.n_paired == 400
    assert comparison.delta == pytest.approx(
        cand_result.metrics["perplexity"] - base_result.metrics["perplexity"]
    )
    # +0.1 nats on every token: perplexity rises by a factor e^0.1 on every resample
    assert comparison.ci[0] > 0 and comparison.verdict == "worse"
    again = PERPLEXITY.assess(runs, None, 500, 0, serial)
    assert again.comparisons[0].ci == comparison.ci  # deterministic


def test_slices_match_a_hand_computation(tmp_path: Path) -> None:
    frame = perplexity_frame(2)
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    result = _evaluate(load(path))
    found = PERPLEXITY.slice([result], "domain", 4, 30)
    code = frame[frame["domain"] == "code"]
    (cell,) = [c for c in found.cells if c.value == "code"]
    assert cell.n == len(code)
    assert cell.score == pytest.approx(math.exp(code["nll"].sum() / code["num_tokens"].sum()))


def test_efficiency_figures() -> None:
    latency = np.array([100.0, 200.0, 300.0, 400.0, 1000.0])
    extra = pd.DataFrame(
        {"latency_ms": latency, "completion_tokens": [10, 20, 30, 40, 50], "cost": [0.01] * 5}
    )
    found = efficiency_metrics(extra)
    assert found["latency_p50_ms"] == 300.0
    assert found["latency_p99_ms"] == pytest.approx(np.percentile(latency, 99))
    assert found["examples_per_s"] == pytest.approx(5 / 2.0)  # 5 examples in 2 s
    assert found["tokens_per_s"] == pytest.approx(150 / 2.0)
    assert found["cost_per_1k"] == pytest.approx(10.0)
    assert efficiency_metrics(pd.DataFrame({"x": [1]})) == {}
    # fast-and-bad, slow-and-good are both on the front; slower and worse is not
    assert pareto_front([100, 300, 400], [0.6, 0.8, 0.7], higher=True) == [True, True, False]
    assert pareto_front([100, 300], [9.0, 7.0], higher=False) == [True, True]


def test_histories_long_and_wide(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    pd.DataFrame(
        {"step": [0, 10, 20], "train_loss": [3.0, 2.0, 1.5], "val_loss": [3.1, None, 1.9]}
    ).to_csv(wide, index=False)
    history = load_history(wide, "m")
    assert set(history.frame["split"]) == {"train", "validation"}
    assert len(history.frame) == 5  # the missing validation value is dropped
    long = tmp_path / "long.jsonl"
    pd.DataFrame(
        {
            "step": [1, 1, 2],
            "split": ["train", "val", "val"],
            "metric": ["loss"] * 3,
            "value": [2.0, 2.5, 2.2],
        }
    ).to_json(long, orient="records", lines=True)
    assert list(load_history(long, "m").frame["value"]) == [2.0, 2.5, 2.2]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"time": [1], "loss": [2.0]}).to_csv(bad, index=False)
    with pytest.raises(ReportgenError, match=r"bad\.csv: training history needs a 'step'"):
        load_history(bad, "m")


def test_long_histories_are_simplified_and_best_step_marked(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    steps = np.arange(100_000)
    loss = 2 + np.exp(-steps / 20_000) + rng.normal(0, 0.01, len(steps))
    val_steps = steps[::1000]
    val = 2.1 + np.exp(-val_steps / 20_000) + 1e-11 * (val_steps - 60_000) ** 2
    frame = pd.DataFrame({"step": steps, "train_loss": loss})
    frame = frame.merge(pd.DataFrame({"step": val_steps, "val_loss": val}), how="left")
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    ppl = tmp_path / "ppl.csv"
    perplexity_frame(0).to_csv(ppl, index=False)
    report = build_report([f"m={ppl}"], histories=[f"m={path}"], bootstrap=0)
    (section,) = [s for s in report.sections if s.id == "training"]
    (figure,) = section.figures
    points, best = (layer_data(figure.spec, i) for i in (0, 1))
    assert 20 < len(points) <= 2 * 300  # two series, each at most HISTORY_POINTS
    assert best == [
        {
            "model": "m",
            "step": float(val_steps[np.argmin(val)]),
            "value": pytest.approx(float(val.min())),
        }
    ]


def _evaluate(run):  # type: ignore[no-untyped-def]
    return kind_of(run).evaluate_run(run)


def _numpy_free(stderr: str) -> bool:
    return "Warning" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("nll", "tokens", "message"),
    [
        (1e308, 1, "column 'nll' at line 2 is 1e+308 nats per token, a perplexity past 1e150"),
        (1.0, 1e-300, "column 'nll' at line 2 is 1e+300 nats per token"),
        (1e307, 1e306, "column 'nll' holds 1e+307, too large to add up over 50 examples"),
    ],
    ids=["huge nll", "tiny token count", "sum overflows"],
)
def test_perplexities_past_any_float_are_one_line_without_numpy_warnings(
    tmp_path: Path, nll: float, tokens: float, message: str
) -> None:
    """They printed numpy overflow warnings, then an internal error (exit 3) or a report of
    infinities."""
    path = tmp_path / "ppl.csv"
    pd.DataFrame({"id": range(50), "nll": nll, "num_tokens": tokens}).to_csv(path, index=False)
    done = build_cli(str(path), "-o", str(tmp_path / "r.html"), "--bootstrap", "50")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and _numpy_free(done.stderr), done.stderr
    assert done.stderr.startswith(f"reportgen: error: {path}: {message}")
    assert not (tmp_path / "r.html").exists()


def test_large_perplexities_and_tiny_latencies_build_without_numpy_warnings(
    tmp_path: Path,
) -> None:
    ppl = tmp_path / "ppl.csv"
    pd.DataFrame({"id": range(50), "nll": [345.0] * 49 + [1.0], "num_tokens": 1}).to_csv(
        ppl, index=False
    )
    fast = tmp_path / "fast.csv"
    frame = pd.DataFrame({"id": range(50), "label": [0, 1] * 25, "prediction": [0, 1] * 25})
    frame.assign(latency_ms=1e-320, completion_tokens=1e10).to_csv(fast, index=False)
    done = build_cli(str(ppl), str(fast), "-o", str(tmp_path / "r.html"), "-q")
    assert done.returncode == 0, done.stderr
    assert _numpy_free(done.stderr), done.stderr


def test_a_binary_classification_run_with_latency_gets_the_speed_section(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    """The efficiency view reads every kind's records: binary classification runs that log
    latency_ms get the same section, table and quality-latency chart as regression runs
    (their records' scope is '', which the view looked up as None and so never found)."""
    runs, regression = [], []
    for i, p in enumerate((cancer_logistic, cancer_tree)):
        latency = 20.0 * (i + 1) + np.arange(len(p.y_true)) % 7
        frame = p.frame().assign(latency_ms=latency)
        frame.to_csv(tmp_path / f"{p.name}.csv", index=False)
        runs.append(f"{p.name}={tmp_path / f'{p.name}.csv'}")
        numeric = pd.DataFrame(
            {"id": frame["id"], "label": p.y_true * 9.5, "prediction": p.proba[:, 1] * 9.0}
        ).assign(latency_ms=latency)
        numeric.to_csv(tmp_path / f"r{i}.csv", index=False)
        regression.append(f"{p.name}={tmp_path / f'r{i}.csv'}")

    def accuracy(p: Predictions) -> float:
        return float(np.mean(p.y_pred == p.y_true))

    def mae(p: Predictions) -> float:
        return float(np.mean(np.abs(p.y_true * 9.5 - p.proba[:, 1] * 9.0)))

    for given, kind, quality, value in [
        (runs, "binary classification", "accuracy", accuracy),
        (regression, "Regression", "mae", mae),
    ]:
        task = "regression" if given is regression else None
        report = build_report(given, task=task, bootstrap=0, timestamp=False)
        (section,) = [s for s in report.sections if s.id == "efficiency"]
        (table,) = section.tables
        assert table.header[:4] == ["Model", "Runs", "Quality", "Latency p50 (ms)"]
        rows = [[c.text for c in row] for row in table.rows]
        assert [r[:2] for r in rows] == [["logistic", kind], ["tree", kind]]
        for row, p, i in zip(rows, (cancer_logistic, cancer_tree), (0, 1), strict=True):
            shown = metrics.format_value(quality, value(p))
            assert row[2] == f"{metrics.label(quality)} {shown}"
            p50 = np.percentile(20.0 * (i + 1) + np.arange(len(p.y_true)) % 7, 50)
            assert row[3] == metrics.format_value("latency_p50_ms", p50)
        assert [f.id for f in section.figures] == [f"pareto-{slug_of(kind)}"]
        html = report.to_html()
        assert 'id="efficiency"' in html and "Speed and cost" in html
