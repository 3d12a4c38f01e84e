"""Runs from arrays and DataFrames (reportgen.ingest.memory, Run.from_arrays/from_frame,
build_report({name: frame})): the numbers and JSON of the same data read from a file, the
file rules' messages naming the run and row, and the notebook conveniences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import classification_report, confusion_matrix, mean_absolute_error

import reportgen
from reportgen import ReportgenError, Run, build_report
from reportgen.ingest.language import PerplexityRun
from reportgen.ingest.tabular import MultilabelRun, RegressionRun

from .conftest import Predictions

ROOT = Path(__file__).resolve().parent.parent
TOY_TRUE = [0, 1, 1, 0, 1, 0]
TOY_PRED = [0, 0, 1, 0, 1, 1]


def arrays_frame(p: Predictions) -> pd.DataFrame:
    """The table Run.from_arrays builds from these predictions, as a file would hold it."""
    frame = pd.DataFrame({"y_true": p.y_true, "y_pred": p.y_pred})
    if p.proba.shape[1] == 2:
        frame["y_score"] = p.proba[:, 1]
    else:
        for k in range(p.proba.shape[1]):
            frame[f"prob_{k}"] = p.proba[:, k]
    frame["id"] = np.arange(len(p.y_true))
    return frame


def from_arrays(p: Predictions, name: str) -> Any:
    score = p.proba[:, 1] if p.proba.shape[1] == 2 else p.proba
    classes = None if p.proba.shape[1] == 2 else list(range(p.proba.shape[1]))
    return Run.from_arrays(
        name, p.y_true, p.y_pred, score, classes=classes, ids=np.arange(len(p.y_true))
    )


def without_source(report: Any) -> dict[str, Any]:
    """The JSON summary without what says where runs came from (the source, the call)."""
    found = json.loads(report.to_json())
    for run in found["runs"]:
        run.pop("source")
    found.pop("command")
    return found


@pytest.mark.parametrize("data", ["cancer", "digits"])
@pytest.mark.parametrize("how", ["arrays", "pandas", "pyarrow"])
def test_in_memory_runs_give_the_file_numbers_and_json(
    data: str, how: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same data from a file and from memory: the same JSON, byte for byte, apart from
    each run's source (which says memory, with the table's SHA-256) and the call."""
    models = ("logistic", "tree") if data == "cancer" else ("logistic", "forest")
    found = [request.getfixturevalue(f"{data}_{m}") for m in models]
    frames = {
        m: arrays_frame(p) if how == "arrays" else p.frame()
        for m, p in zip(models, found, strict=True)
    }
    paths = []
    for name, frame in frames.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
        paths.append(f"{name}={tmp_path / f'{name}.parquet'}")
    if how == "arrays":
        given: Any = {m: from_arrays(p, m) for m, p in zip(models, found, strict=True)}
    elif how == "pandas":
        given = frames
    else:
        pa = pytest.importorskip("pyarrow")
        given = {m: pa.Table.from_pandas(f, preserve_index=False) for m, f in frames.items()}
    settings = {"bootstrap": 200, "timestamp": False}
    from_file, in_memory = build_report(paths, **settings), build_report(given, **settings)
    assert without_source(in_memory) == without_source(from_file)
    # byte-identical once the sources are set equal
    text = json.dumps(without_source(in_memory), indent=2)
    assert text == json.dumps(without_source(from_file), indent=2)
    summary = in_memory.summary()
    for run in summary["runs"]:
        assert run["source"]["type"] == "memory" and run["source"]["path"] is None
        assert run["source"]["format"] == ("arrays" if how == "arrays" else "dataframe")
        assert len(run["source"]["sha256"]) == 64
    assert "type" not in from_file.summary()["runs"][0]["source"]  # files as before
    # the oracle: scikit-learn's confusion matrix of each model
    for run, p in zip(summary["runs"], found, strict=True):
        labels = run["confusion_matrix"]["labels"]
        expected = confusion_matrix(p.y_true, p.y_pred, labels=[int(c) for c in labels])
        assert run["confusion_matrix"]["matrix"] == expected.tolist()


def test_the_checksum_is_of_the_table_not_how_it_was_held() -> None:
    pa = pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"label": [0, 1, 1, 0], "prediction": [0, 1, 0, 0], "g": list("abab")})
    first = Run.from_frame(frame, "a").sha256
    assert Run.from_frame(frame.copy(), "b").sha256 == first  # the name is not the data
    assert Run.from_frame(pa.Table.from_pandas(frame), "a").sha256 == first
    assert Run.from_frame(frame.set_index(pd.Index([9, 8, 7, 6])), "a").sha256 == first
    changed = frame.assign(prediction=[0, 1, 1, 0])
    assert Run.from_frame(changed, "a").sha256 != first


def test_the_toy_example_matches_sklearn_classification_report(tmp_path: Path) -> None:
    """Six examples: sklearn's per-class precision, recall, F1 and support, its confusion
    matrix, and no interval anywhere (six examples cannot support one)."""
    run = Run.from_arrays("toy", TOY_TRUE, TOY_PRED)
    report = build_report([run])
    entry = report.summary()["runs"][0]
    expected = classification_report(TOY_TRUE, TOY_PRED, output_dict=True)
    for row in entry["per_class"]:
        want = expected[row["class"]]
        assert row["precision"] == pytest.approx(want["precision"])
        assert row["recall"] == pytest.approx(want["recall"])
        assert row["f1"] == pytest.approx(want["f1-score"])
        assert row["support"] == want["support"]
    assert entry["metrics"]["accuracy"] == pytest.approx(expected["accuracy"])
    assert entry["confusion_matrix"]["matrix"] == confusion_matrix(TOY_TRUE, TOY_PRED).tolist()
    assert all(v is None for v in entry["ci"].values())
    assert any("too few for a bootstrap interval" in n for n in entry["notes"])
    frame = report.metrics_frame()
    assert frame["low"].isna().all() and frame["high"].isna().all()
    page = report.save(tmp_path / "toy.html").read_text()
    assert "95% CI" not in page and "Confusion" in page
    assert "6 examples: too few for a bootstrap interval" in page


def test_six_examples_compared_give_a_verdict_but_no_interval() -> None:
    """McNemar still tests the pair; neither the bootstrap interval of Δ nor the one implied
    by the p-value is shown (it was -1.5 to +1.83 for a difference of accuracies)."""
    toy = Run.from_arrays("toy", TOY_TRUE, TOY_PRED)
    other = Run.from_arrays("other", TOY_TRUE, [0, 1, 1, 0, 1, 1])
    compared = build_report([toy, other]).summary()["comparisons"]
    accuracy = next(c for c in compared if c["metric"] == "accuracy")
    assert accuracy["test"] == "mcnemar-exact" and accuracy["p_value"] is not None
    assert accuracy["verdict"] == "tie"
    assert all(c["ci"] is None and c["ci_adjusted"] is None for c in compared)


def test_a_small_run_file_gets_no_interval_either(tmp_path: Path) -> None:
    """The minimum is the bootstrap's, not the API's: a six-row file gets none either, in
    classification and in the sums kinds (regression), and 20 rows get one."""
    from reportgen.stats.bootstrap import MIN_INTERVAL_EXAMPLES

    small = tmp_path / "small.csv"
    pd.DataFrame({"label": TOY_TRUE, "prediction": TOY_PRED}).to_csv(small, index=False)
    entry = build_report([small]).summary()["runs"][0]
    assert all(v is None for v in entry["ci"].values())
    rng = np.random.default_rng(0)
    y = rng.normal(size=6)
    regression = Run.from_arrays("r", y, y + 0.1, task="regression")
    entry = build_report([regression]).summary()["runs"][0]
    assert all(v is None for v in entry["ci"].values())
    assert any("too few" in n for n in entry["notes"])
    shifted = Run.from_arrays("s", y, y + 0.5, task="regression")
    compared = build_report([regression, shifted]).summary()["comparisons"]
    assert compared and all(c["ci"] is None and c["verdict"] == "untested" for c in compared)
    assert compared[0]["reason"] == "6 examples: too few for a bootstrap test"
    n = MIN_INTERVAL_EXAMPLES
    labels = np.tile([0, 1], n // 2)
    enough = Run.from_arrays("e", labels, np.roll(labels, 1) | labels)
    entry = build_report([enough], bootstrap=200).summary()["runs"][0]
    assert entry["ci"]["accuracy"] is not None


# --- errors: the file rules, naming the run and the row --------------------------------------


def error_of(call: Any) -> str:
    with pytest.raises(ReportgenError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_dataframe_without_a_label_column_is_named() -> None:
    frame = pd.DataFrame({"truth": [0, 1], "prediction": [0, 1]})
    message = error_of(lambda: Run.from_frame(frame, "candidate"))
    assert message.startswith("DataFrame 'candidate': no label column;")
    assert 'columns={"label": NAME}' in message and "--label-col" not in message
    run = Run.from_frame(frame, "candidate", columns={"label": "truth"})
    assert run.columns["label"] == "truth"
    message = error_of(lambda: build_report({"candidate": frame}))
    assert message.startswith("DataFrame 'candidate': no label column;")


def test_arrays_of_different_lengths_are_refused() -> None:
    message = error_of(lambda: Run.from_arrays("candidate", [0, 1, 1], [0, 1]))
    assert message == (
        "arrays 'candidate': y_pred has 2 rows but y_true has 3; give every array one value "
        "per example, in the same order"
    )
    message = error_of(lambda: Run.from_arrays("c", [0, 1], [0, 1], group=["a"]))
    assert "group has 1 rows but y_true has 2" in message


def test_y_score_with_the_wrong_number_of_columns_is_refused() -> None:
    y = [0, 1, 2, 1]
    message = error_of(lambda: Run.from_arrays("c", y, y, np.full((4, 2), 0.5), classes=[0, 1, 2]))
    assert message.startswith("arrays 'c': y_score has 2 columns but classes names 3 (0, 1, 2)")
    message = error_of(lambda: Run.from_arrays("c", y, y, np.full((4, 2), 0.5)))
    assert "y_score has 2 columns but the labels and predictions hold 3 classes" in message
    assert "pass classes=" in message
    run = Run.from_arrays("c", y, y, np.eye(3)[[0, 1, 2, 1]], classes=["0", "1", "2"])
    assert sorted(run.class_scores) == ["0", "1", "2"]


def test_bad_cells_are_named_by_run_column_and_row() -> None:
    frame = pd.DataFrame({"label": [0, 1, None, 1], "prediction": [0, 1, 1, 1]})
    message = error_of(lambda: Run.from_frame(frame, "candidate"))
    assert message.startswith("DataFrame 'candidate': missing label in column 'label' at row 2")
    message = error_of(lambda: Run.from_arrays("c", [0, 1, 0], y_score=[0.1, float("inf"), 0.3]))
    assert message.startswith("arrays 'c': infinite value 'inf' in score column 'y_score'")
    assert "at index 1" in message
    ids = error_of(lambda: Run.from_arrays("c", [0, 1, 0], [0, 1, 1], ids=[7, 8, 7]))
    assert "duplicate id 7 in column 'id' at index 2" in ids


def test_what_is_not_a_run_is_refused_with_how_to_give_it() -> None:
    frame = pd.DataFrame({"label": [0, 1], "prediction": [0, 1]})
    assert "name DataFrames in a mapping" in error_of(lambda: build_report([frame]))
    assert "run 'a' is a int" in error_of(lambda: build_report({"a": 3}))
    assert "not 3" in error_of(lambda: build_report({3: frame}))
    assert "no rows" in error_of(lambda: Run.from_frame(frame.iloc[:0], "e"))
    assert "not a table" in error_of(lambda: Run.from_frame([1, 2], "e"))
    assert "no arrays given" in error_of(lambda: Run.from_arrays("e"))
    message = error_of(lambda: Run.from_arrays("e", [0, 1], [0, 1], label=[1, 0]))
    assert "the keyword 'label' would be read as y_true" in message
    message = error_of(lambda: build_report({"a": frame}, engine="duckdb"))
    assert message.startswith("--engine duckdb reads run files where they lie")


def test_the_callers_frame_is_left_as_it_was() -> None:
    frame = pd.DataFrame({0: [0, 1], "label": [0, 1], "prediction": [0, 1]})
    frame.index = pd.Index([10, 11])
    before = frame.copy()
    run = Run.from_frame(frame, "a")
    pd.testing.assert_frame_equal(frame, before)
    assert list(run.extra.columns) == ["0"] and run.n_examples == 2


def test_tables_through_the_arrow_interface_or_to_pandas() -> None:
    pa = pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"label": ["a", "b", "a"], "prediction": ["a", "a", "a"]})

    class Capsule:  # what polars and DuckDB results offer
        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            return pa.Table.from_pandas(frame).__arrow_c_stream__(requested_schema)

    class Converts:
        def to_pandas(self) -> pd.DataFrame:
            return frame

    for table in (Capsule(), Converts()):
        run = Run.from_frame(table, "t")
        assert run.labels.values == ("a", "b") and run.n_examples == 3
    polars = pytest.importorskip("polars")
    run = Run.from_frame(polars.from_pandas(frame), "p")
    assert run.labels.values == ("a", "b")


# --- every kind in memory ---------------------------------------------------------------------


def test_regression_multilabel_and_language_runs_from_arrays() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    y_hat = y + rng.normal(scale=0.3, size=40)
    regression = Run.from_arrays("r", y, y_hat)  # detected: many distinct floats
    assert isinstance(regression, RegressionRun)
    report = build_report({"r": regression}, bootstrap=0)
    mae = report.metrics_frame().set_index("metric").loc["mae", "value"]
    assert mae == pytest.approx(mean_absolute_error(y, y_hat))

    y_true = rng.integers(0, 2, size=(30, 3))
    y_pred = rng.integers(0, 2, size=(30, 3))
    multilabel = Run.from_arrays("m", y_true, y_pred, classes=["sport", "news", "tech"])
    assert isinstance(multilabel, MultilabelRun)
    assert multilabel.label_names == ("news", "sport", "tech")
    assert (multilabel.y_true[:, 1] == y_true[:, 0].astype(bool)).all()
    message = error_of(lambda: Run.from_arrays("m", y_true, y_pred[:, 0]))
    assert "y_true is an indicator matrix (multilabel) but y_pred is not" in message

    nll, tokens = rng.uniform(1, 5, size=20), rng.integers(5, 50, size=20)
    perplexity = Run.from_arrays("lm", nll=nll, num_tokens=tokens)
    assert isinstance(perplexity, PerplexityRun)
    report = build_report([perplexity], bootstrap=0)
    value = report.metrics_frame().set_index("metric").loc["perplexity", "value"]
    assert value == pytest.approx(np.exp(nll.sum() / tokens.sum()))


def test_keywords_are_columns_as_a_files_are() -> None:
    """Extra keywords are example metadata (a slice, latency), a 2-D one a vector per
    example (an embedding); texts with task="generation" are a generation run."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 30)
    wrong = y.copy()
    wrong[:7] = 1 - wrong[:7]
    group, latency = np.array(["a", "b", "c"] * 20), rng.uniform(5, 50, 60)
    run = Run.from_arrays(
        "m", y, wrong, group=group, latency_ms=latency, embedding=rng.normal(size=(60, 8))
    )
    assert list(run.extra.columns) == ["group", "latency_ms"]
    assert run.embedding is not None and len(run.embedding.column.iloc[0]) == 8
    other = Run.from_arrays("n", y, y, group=group, latency_ms=latency)
    summary = build_report({"m": run, "n": other}, slices=["group"], bootstrap=0).summary()
    assert {c["value"] for c in summary["slice_comparisons"]} == {"a", "b", "c"}
    assert summary["runs"][0]["metrics"]["latency_p50_ms"] == pytest.approx(np.median(latency))
    generation = Run.from_arrays(
        "g", reference=["the cat", "a dog"], prediction=["the cat", "dog"], task="generation"
    )
    assert type(generation).__name__ == "TextRun"


def test_a_frame_of_repeats_is_one_build_not_one_run() -> None:
    frame = pd.DataFrame(
        {"label": [0, 1] * 20, "prediction": [0, 1] * 20, "seed": [1] * 20 + [2] * 20}
    )
    message = error_of(lambda: Run.from_frame(frame, "v1"))
    assert message.startswith("DataFrame 'v1' holds 2 repeats (seed=1, seed=2)")
    report = build_report({"v1": frame}, bootstrap=0)
    repeats = report.summary()["runs"][0]["repeats"]
    assert repeats["n"] == 2 and repeats["labels"] == ["seed=1", "seed=2"]


# --- build_report and the notebook -------------------------------------------------------------


def test_a_mapping_takes_paths_runs_and_frames(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "old.csv"
    pd.DataFrame({"label": TOY_TRUE * 5, "prediction": TOY_PRED * 5}).to_csv(path, index=False)
    frame = pd.DataFrame({"label": TOY_TRUE * 5, "prediction": TOY_TRUE * 5})
    run = Run.from_arrays("renamed", TOY_TRUE * 5, TOY_PRED[::-1] * 5)
    report = build_report({"old": str(path), "new": frame, "third": run}, bootstrap=0)
    summary = report.summary()
    assert [r["name"] for r in summary["runs"]] == ["old", "new", "third"]
    assert summary["runs"][0]["source"]["path"] == str(path)
    assert summary["command"] == (
        f"reportgen.build_report({{'old': {str(path)!r}, 'new': <DataFrame>, 'third': <Run>}}, "
        "bootstrap=0)"
    )
    assert isinstance(summary, dict) and summary["baseline"] == "old"
    comparisons = report.comparisons_frame()
    assert set(comparisons["candidate"]) == {"new", "third"}
    metrics = report.metrics_frame()
    assert list(metrics.columns[:4]) == ["model", "kind", "scope", "metric"]
    assert len(metrics) == 3 * metrics["metric"].nunique()
    same = build_report({"a": frame, "b": frame.copy()}, bootstrap=0)
    assert same.warnings == [
        "a and b hold the same data (same SHA-256 of their tables): the report compares it "
        "with itself"
    ]
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    saved = report.save(tmp_path / "mine.html")
    assert report.show() == saved and opened == [saved.resolve().as_uri()]
    assert "<iframe srcdoc=" in report._repr_html_()


def test_python_dash_m_reportgen_is_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "reportgen"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and reportgen.__version__ in version.stdout
    missing = subprocess.run(
        [*run, "build", str(tmp_path / "nope.csv")], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 2
    assert "nope.csv" in missing.stderr and "Traceback" not in missing.stderr


def test_the_public_api_is_listed_typed_and_ships_its_marker() -> None:
    assert (ROOT / "reportgen" / "py.typed").is_file()
    for name in reportgen.__all__:
        assert getattr(reportgen, name) is not None
    for function in (Run.from_arrays, Run.from_frame, reportgen.load_run):
        hints = typing.get_type_hints(function)
        assert "return" in hints
    assert "runs" in typing.get_type_hints(build_report)


def test_the_notebook_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "0"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "notebook.py"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["tree", "logistic"]
    assert all(r["source"]["type"] == "memory" for r in summary["runs"])
    assert "logistic beats tree" in result.stdout
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000


def test_the_readme_from_python_section_runs(tmp_path: Path, monkeypatch: Any) -> None:
    """The README's "From Python" block, as written, with two DataFrames in hand."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### From Python", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in code.splitlines() if line.strip()]) == 3
    frames = {
        "df_old": pd.DataFrame({"label": TOY_TRUE * 5, "prediction": TOY_PRED * 5}),
        "df_new": pd.DataFrame({"label": TOY_TRUE * 5, "prediction": TOY_TRUE * 5}),
    }
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), dict(frames))
    assert "new beats old" in (tmp_path / "report.html").read_text()
