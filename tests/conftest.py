"""Shared test data: real models on the datasets that ship with scikit-learn."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier


@dataclass(frozen=True)
class Predictions:
    """A model's predictions on a held-out split of a real dataset."""

    name: str
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray  # (n, K)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {"id": np.arange(len(self.y_true)), "label": self.y_true, "prediction": self.y_pred}
        )
        if self.proba.shape[1] == 2:
            frame["score"] = self.proba[:, 1]
        else:
            for k in range(self.proba.shape[1]):
                frame[f"prob_{k}"] = self.proba[:, k]
        return frame


def build_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``reportgen build ARGS`` as a shell runs it: a child process whose standard output and
    error are pipes, not a terminal (what CI sees). ``timeout``: a hang fails the test;
    ``preexec_fn``: run in the child before it starts (e.g. to cap its memory)."""
    return subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "build", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The single stderr line of a refused build (exit 2, no traceback), holding every needle."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _fit(
    loader: Callable[..., tuple[np.ndarray, np.ndarray]], model: object, name: str
) -> Predictions:
    x, y = loader(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.4, random_state=0, stratify=y
    )
    model.fit(x_train, y_train)  # type: ignore[attr-defined]
    return Predictions(
        name,
        y_test,
        model.predict(x_test),  # type: ignore[attr-defined]
        model.predict_proba(x_test),
    )  # type: ignore[attr-defined]


def _logistic() -> object:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


@pytest.fixture(scope="session")
def cancer_logistic() -> Predictions:
    return _fit(load_breast_cancer, _logistic(), "logistic")


@pytest.fixture(scope="session")
def cancer_tree() -> Predictions:
    """A shallow tree: few distinct scores, so many ties."""
    return _fit(load_breast_cancer, DecisionTreeClassifier(max_depth=3, random_state=0), "tree")


@pytest.fixture(scope="session")
def digits_logistic() -> Predictions:
    return _fit(load_digits, _logistic(), "logistic")


@pytest.fixture(scope="session")
def digits_forest() -> Predictions:
    return _fit(load_digits, RandomForestClassifier(n_estimators=30, random_state=0), "forest")


@pytest.fixture(scope="session")
def wine_tree() -> Predictions:
    """Three classes, tied probabilities."""
    return _fit(load_wine, DecisionTreeClassifier(max_depth=2, random_state=0), "tree")


@pytest.fixture(scope="session")
def iris_logistic() -> Predictions:
    return _fit(load_iris, _logistic(), "iris")


@pytest.fixture
def write_run(tmp_path: Path) -> Callable[..., Path]:
    """Write a frame as a run file in the format its name asks for."""

    def write(frame: pd.DataFrame, name: str = "run.csv") -> Path:
        path = tmp_path / name
        lower = name.lower()
        if lower.endswith((".parquet", ".pq")):
            frame.to_parquet(path, index=False)
        elif lower.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            frame.to_json(path, orient="records", lines=True)
        elif lower.endswith(".json"):
            frame.to_json(path, orient="records")
        elif lower.endswith((".tsv", ".tsv.gz")):
            frame.to_csv(path, sep="\t", index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    return write


@pytest.fixture(scope="session")
def spark_engine() -> object:
    """One local Spark session for the whole test run (the JVM takes seconds to start)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("reportgen-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    from reportgen.engines.sql import SparkEngine

    yield SparkEngine(session)
    session.stop()


@pytest.fixture(scope="session", autouse=True)
def _summaries_in_process() -> Any:
    """Every ``Report.to_json`` of the test process is checked against the summary schema."""
    import reportgen
    from tests.summary_schema import check

    original = reportgen.Report.to_json

    def checked(self: Any) -> str:
        text = original(self)
        check(json.loads(text), f"{self.title!r}.to_json()")
        return text

    reportgen.Report.to_json = checked  # type: ignore[method-assign]
    yield
    reportgen.Report.to_json = original  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def _charts_in_process() -> Any:
    """The first specs each chart builder makes in the test process are checked against the
    Vega-Lite schema: builds turn Altair's own checks off for speed (``charts.draw``)."""
    import reportgen.charts as charts
    from tests.chart_schema import check_spec

    original = charts.draw
    seen: dict[str, int] = {}  # builder -> specs checked

    def checked(chart: Any) -> dict[str, Any]:
        spec = original(chart)
        if seen.get(chart.builder, 0) < 3:
            seen[chart.builder] = seen.get(chart.builder, 0) + 1
            check_spec(spec, chart.builder)
        return spec

    charts.draw = checked  # type: ignore[assignment]
    yield
    charts.draw = original  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _summaries_written(request: pytest.FixtureRequest) -> Any:
    """...and every summary a test leaves in its tmp_path (the command line's --json)."""
    wanted = "tmp_path" in request.fixturenames and not request.node.get_closest_marker(
        "invalid_summaries"
    )
    folder = request.getfixturevalue("tmp_path") if wanted else None  # torn down after this
    yield
    if folder is not None:
        from tests.summary_schema import check_folder

        check_folder(folder)


def pytest_configure(config: pytest.Config) -> None:
    """With REPORTGEN_SNAPSHOT=FILE, record the SHA-256 of every output a test renders
    (``benchmarks/snapshot.py`` compares two such records for byte identity)."""
    record = os.environ.get("REPORTGEN_SNAPSHOT")
    if not record:
        return
    import reportgen

    counts: dict[str, int] = {}

    def wrap(method_name: str) -> None:
        original = getattr(reportgen.Report, method_name)

        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
            key = f"{test}::{method_name}{list(args)}{sorted(kwargs.items())}"
            counts[key] = counts.get(key, 0) + 1
            data = out if isinstance(out, bytes) else str(out).encode()
            data = data.replace(str(Path(__file__).parent.parent).encode(), b"<checkout>")
            work = os.environ.get("REPORTGEN_SNAPSHOT_WORK")
            if work:  # two checkouts snapshotted side by side build in different folders
                data = data.replace(work.encode(), b"<work>")
            dump = os.environ.get("REPORTGEN_SNAPSHOT_DUMP")
            if dump:  # keep the outputs too, to diff two snapshots
                name = "".join(ch if ch.isalnum() else "_" for ch in f"{key}#{counts[key]}")
                Path(dump, name[-150:]).write_bytes(data)
            with open(record, "a", encoding="utf-8") as handle:
                entry = {"key": f"{key}#{counts[key]}", "sha256": hashlib.sha256(data).hexdigest()}
                handle.write(json.dumps(entry) + "\n")
            return out

        setattr(reportgen.Report, method_name, recorded)

    for name in ("to_html", "to_json", "to_markdown", "to_junit", "to_email"):
        wrap(name)
