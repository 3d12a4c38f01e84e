"""Regression runs: ingest, metrics against scikit-learn on real data, intervals, comparisons,
slices and the bounded views."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.tabular import RegressionRun
from reportgen.kinds import kind_of, load_source
from reportgen.kinds.regression import formulas as regression
from reportgen.kinds.regression.views import SCATTER_LIMIT
from reportgen.stats.bootstrap import resampled_sums


def diabetes_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ridge and gradient boosting on scikit-learn's diabetes data, on one held-out split."""
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
    frames = []
    for model in (Ridge(alpha=0.1), GradientBoostingRegressor(random_state=0)):
        predicted = model.fit(x_train, y_train).predict(x_test)
        frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(len(y_test)),
                    "label": y_test,
                    "prediction": predicted,
                    "sex": np.where(x_test[:, 1] > 0, "f", "m"),
                }
            )
        )
    return frames[0], frames[1]


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.DataFrame]:
    return diabetes_frames()


def _sklearn(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "mae": skm.mean_absolute_error(y, p),
        "rmse": skm.root_mean_squared_error(y, p),
        "mape": skm.mean_absolute_percentage_error(y, p),
        "r2": skm.r2_score(y, p),
        "explained_variance": skm.explained_variance_score(y, p),
        "median_absolute_error": skm.median_absolute_error(y, p),
        "max_error": skm.max_error(y, p),
    }


def test_metrics_match_scikit_learn_on_diabetes(
    diabetes: tuple[pd.DataFrame, pd.DataFrame], write_run: Callable[..., Path]
) -> None:
    for i, frame in enumerate(diabetes):
        run = load_source(write_run(frame, f"m{i}.csv")).runs[0]
        assert isinstance(run, RegressionRun)  # float labels, many values: detected
        result = _evaluate(run)
        expected = _sklearn(frame["label"].to_numpy(), frame["prediction"].to_numpy())
        for name, value in expected.items():
            assert result.metrics[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_sums_stay_exact_with_a_large_offset(diabetes: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame = diabetes[0]
    y = frame["label"].to_numpy() + 1e7
    p = frame["prediction"].to_numpy() + 1e7
    columns = regression.example_columns(y, p)
    found = regression.metrics_from_sums({k: v.sum() for k, v in columns.items()}, len(y))
    assert found["r2"] == pytest.approx(skm.r2_score(y, p), abs=1e-9)
    assert found["explained_variance"] == pytest.approx(
        skm.explained_variance_score(y, p), abs=1e-9
    )


def test_mape_is_null_with_a_reason_when_a_label_is_zero(
    tmp_path: Path, diabetes: tuple[pd.DataFrame, pd.DataFrame], write_run: Callable[..., Path]
) -> None:
    frame = diabetes[0].copy()
    frame["label"] = frame["label"] - frame["label"].iloc[3]  # one label becomes exactly 0
    path = write_run(frame, "zero.csv")
    report = build_report([path], task="regression", bootstrap=50, timestamp=False)
    run = json.loads(report.to_json())["runs"][0]
    assert run["task"] == "regression"
    assert run["metrics"]["mape"] is None
    assert "label is 0" in run["metric_notes"]["mape"]
    assert run["metrics"]["mae"] == pytest.approx(
        skm.mean_absolute_error(frame["label"], frame["prediction"])
    )


def test_median_interval_is_the_binomial_order_statistics() -> None:
    values = np.arange(1.0, 101.0)  # n = 100: the 95% interval is the 40th and 61st values
    assert regression.median_interval(values) == [40.0, 61.0]
    rng = np.random.default_rng(0)
    sample = rng.exponential(size=2001)
    low, high = regression.median_interval(sample)  # type: ignore[misc]
    assert low < np.median(sample) < high
    assert regression.median_interval(values[:5]) is None


def test_resampled_sums_equal_the_sums_of_resampled_rows() -> None:
    rng = np.random.default_rng(3)
    columns = rng.normal(size=(3, 500))
    found = resampled_sums(columns, 7, seed=11)
    replay = np.random.default_rng(11)
    rows = replay.integers(0, 500, size=(7, 500))
    expected = np.stack([columns[:, r].sum(axis=1) for r in rows])
    np.testing.assert_allclose(found, expected, rtol=1e-12)


def test_intervals_cover_and_the_better_model_wins(
    diabetes: tuple[pd.DataFrame, pd.DataFrame], write_run: Callable[..., Path]
) -> None:
    ridge, boosted = diabetes
    paths = [write_run(ridge, "ridge.csv"), write_run(boosted, "boosted.csv")]
    report = build_report(paths, bootstrap=400, seed=1, timestamp=False)
    summary = json.loads(report.to_json())
    by_name = {r["name"]: r for r in summary["runs"]}
    for run in by_name.values():
        for metric in ("mae", "rmse", "r2", "median_absolute_error"):
            low, high = run["ci"][metric]
            assert low <= run["metrics"][metric] <= high, metric
        assert run["ci"]["max_error"] is None
    assert by_name["boosted"]["pairing"]["mode"] == "id"
    deltas = {c["metric"]: c for c in summary["comparisons"]}
    mae = deltas["mae"]
    assert mae["delta"] == pytest.approx(
        by_name["boosted"]["metrics"]["mae"] - by_name["ridge"]["metrics"]["mae"]
    )
    assert set(deltas) == {"mae", "rmse", "r2", "mape"}
    assert report.verdict.startswith("boosted is worse than ridge on 4 of 4")  # ridge wins


def test_error_by_slice_is_the_groupby_mae(
    diabetes: tuple[pd.DataFrame, pd.DataFrame], write_run: Callable[..., Path]
) -> None:
    frame = diabetes[0]
    report = build_report(
        [write_run(frame, "ridge.csv")], slices=["sex"], bootstrap=0, timestamp=False
    )
    cells = json.loads(report.to_json())["runs"][0]["slices"]["sex"]
    expected = (frame["label"] - frame["prediction"]).abs().groupby(frame["sex"]).mean()
    assert {c["value"]: c["mae"] for c in cells} == pytest.approx(expected.to_dict())
    assert any(s.id == "regression-slice-0" for s in report.sections)


def test_large_runs_draw_binned_heatmaps_of_bounded_size(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    def spec_sizes(n: int) -> dict[str, int]:
        rng = np.random.default_rng(0)
        y = rng.normal(50, 10, n)
        frame = pd.DataFrame({"label": y, "prediction": y + rng.normal(0, 3, n)})
        report = build_report([write_run(frame, f"r{n}.parquet")], bootstrap=0, timestamp=False)
        figures = {f.id: f for s in report.sections for f in s.figures}
        fit = figures["regression-fit"]
        assert fit.raster is (n <= SCATTER_LIMIT)
        text = json.dumps(fit.spec)
        assert ('"count"' in text) is (n > SCATTER_LIMIT)
        return {k: len(json.dumps(f.spec)) for k, f in figures.items()}

    small, large, huge = spec_sizes(500), spec_sizes(20_000), spec_sizes(400_000)
    assert huge["regression-fit"] < 60_000  # at most 40 x 40 cells, whatever the rows
    assert huge["regression-fit"] < 1.5 * large["regression-fit"]
    assert (
        huge["regression-residual-distribution"] < 1.2 * large["regression-residual-distribution"]
    )
    assert small["regression-fit"] < 40_000


def test_bad_regression_input_gets_a_clear_error(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    frame = pd.DataFrame({"label": [1.5, 2.5, "twelve", 3.0], "prediction": [1.0, 2.0, 3.0, 4.0]})
    path = write_run(frame, "bad.csv")
    with pytest.raises(
        ReportgenError,
        match=r"bad\.csv: non-numeric label 'twelve' in column "
        r"'label' at line 4",
    ):
        build_report([path], task="regression")
    frame = pd.DataFrame({"label": [1.5, 2.5, 3.0], "prediction": [1.0, float("inf"), 4.0]})
    with pytest.raises(ReportgenError, match="infinite prediction"):
        build_report([write_run(frame, "inf.csv")], task="regression")


def test_whole_number_labels_stay_classes(write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame({"label": [0.0, 1.0] * 20, "prediction": [0.0, 1.0, 1.0, 0.0] * 10})
    run = load_source(write_run(frame, "classes.csv")).runs[0]
    assert not isinstance(run, RegressionRun)
    forced = load_source(write_run(frame, "classes2.csv"), task="regression").runs[0]
    assert isinstance(forced, RegressionRun)


def _evaluate(run):  # type: ignore[no-untyped-def]
    return kind_of(run).evaluate_run(run)


def test_shuffling_the_rows_changes_no_number(
    diabetes: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """With ids, the bootstrap resamples in id order: the file's row order changes nothing."""
    a, b = diabetes
    reports = []
    for name, order in (
        ("sorted", None),
        ("shuffled", np.random.default_rng(5).permutation(len(a))),
    ):
        paths = []
        for label, frame in (("ridge", a), ("boost", b)):
            path = tmp_path / f"{name}-{label}.csv"
            (frame if order is None else frame.iloc[order]).to_csv(path, index=False)
            paths.append(f"{label}={path}")
        summary = build_report(paths, timestamp=False, bootstrap=200).summary()
        reports.append(
            (
                [r["ci"] for r in summary["runs"]],
                [(c["metric"], c["ci"], c["p_value"]) for c in summary["comparisons"]],
            )
        )
    assert reports[0] == reports[1]


def test_the_metrics_table_turns_and_names_the_chosen_baseline(
    diabetes: tuple[pd.DataFrame, pd.DataFrame], write_run: Callable[..., Path]
) -> None:
    """Two models and many metrics: the table turns (a row per metric) on phones and paper,
    and the column tagged baseline is the one --baseline chose, not the first run."""
    ridge, boosted = diabetes
    paths = [write_run(ridge, "ridge.csv"), write_run(boosted, "boosted.csv")]
    report = build_report(paths, baseline="boosted", bootstrap=0, timestamp=False)
    (table,) = [t for s in report.sections for t in s.tables if t.title == "All metrics"]
    assert table.turned is not None and table.turn == "narrow"
    assert table.turned.header == ["Metric", "ridge", "boosted (baseline)"]
    assert [r[0].text for r in table.turned.rows[:2]] == ["Examples", table.header[2]]
