"""Column names and layouts of real prediction files (issue 34, sections 3 and 5): aliases and
their precedence, ambiguous files, per-run column options, dotted paths into nested records,
multilabel suffix columns, headerless files; graders' score columns, numbers compared as
numbers, references written like lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, hamming_loss

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.columns import ColumnNames
from reportgen.ingest.runs import Run
from reportgen.kinds import load_source
from reportgen.options import resolve

from .conftest import build_cli, one_line_error

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-inputs" / "predictions"
N = 80


def _accuracy(report: object) -> dict[str, float]:
    evaluations = report.result("classification").evaluations  # type: ignore[attr-defined]
    return {e.name: e.metrics["accuracy"] for e in evaluations}


def _binary(seed: int = 0, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.where(rng.random(n) < 0.8, y, 1 - y)


# --- aliases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "prediction"),
    [
        ("label", "predictions"),  # Hugging Face Trainer
        ("label", "predict"),  # LLaMA-Factory
        ("actual", "answer"),
        ("gold", "output"),
        ("sentiment_true", "sentiment_pred"),
        ("true_class", "sentiment_prediction"),
        ("y_true", "pred_sentiment"),
        ("label", "predicted_sentiment"),
    ],
)
def test_aliases_people_use(tmp_path: Path, label: str, prediction: str) -> None:
    """Each of these files stopped with 'no label column' or 'no prediction or score column'."""
    y, p = _binary()
    path = tmp_path / "run.csv"
    pd.DataFrame({"id": range(N), label: y, prediction: p}).to_csv(path, index=False)
    (run,) = load_source(path).runs
    assert isinstance(run, Run)
    assert run.columns["label"] == label and run.columns["prediction"] == prediction


def test_score_suffix_alias(tmp_path: Path) -> None:
    y, _ = _binary()
    score = np.linspace(0, 1, N)
    path = tmp_path / "run.csv"
    pd.DataFrame({"label": y, "spam_proba": score}).to_csv(path, index=False)
    (run,) = load_source(path).runs
    assert run.columns["score"] == "spam_proba"
    np.testing.assert_allclose(run.score, score)


def test_an_exact_alias_wins_over_a_shaped_name(tmp_path: Path) -> None:
    """The Hugging Face Trainer file: label/predictions (ints) beside rev_label and
    predicted_classes (strings): the aliases win, as the README's table says."""
    y, p = _binary()
    names = np.array(["no", "yes"])
    frame = pd.DataFrame(
        {"label": y, "rev_label": names[y], "predictions": p, "predicted_classes": names[p]}
    )
    path = tmp_path / "val.csv"
    frame.to_csv(path, index=False)
    (run,) = load_source(path).runs
    assert run.columns["label"] == "label" and run.columns["prediction"] == "predictions"


def test_an_ambiguous_file_stops_naming_the_candidates(tmp_path: Path) -> None:
    """Before: read the first alias found or none; now exit 2 naming both columns."""
    y, p = _binary()
    path = tmp_path / "amb.csv"
    pd.DataFrame({"label": y, "lgbm_pred": p, "xgb_pred": 1 - p}).to_csv(path, index=False)
    result = build_cli(str(path), "-o", str(tmp_path / "r.html"))
    one_line_error(result, "amb.csv", "2 columns could be", "'lgbm_pred'", "--pred-col")
    assert not (tmp_path / "r.html").exists()
    chosen = build_report([str(path)], pred_col="xgb_pred", bootstrap=0)
    assert _accuracy(chosen) == {"amb": pytest.approx(accuracy_score(y, 1 - p))}


# --- per-run column options ---------------------------------------------------------------------


def test_per_run_columns_let_two_layouts_share_a_report(tmp_path: Path) -> None:
    y, p = _binary(1)
    _, q = _binary(2)
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    pd.DataFrame({"id": range(N), "gold": y, "guess": p}).to_csv(old, index=False)
    pd.DataFrame({"id": range(N), "truth": y, "verdict": q}).to_csv(new, index=False)
    report = build_report(
        [str(old), str(new)],
        label_col=["old=gold", "new=truth"],
        pred_col=["old=guess", "new=verdict"],
        bootstrap=0,
    )
    assert _accuracy(report) == {"old": accuracy_score(y, p), "new": accuracy_score(y, q)}
    result = build_cli(
        str(old), str(new), "--label-col", "old=gold", "--label-col", "nwe=truth",
        "--pred-col", "old=guess", "--pred-col", "new=verdict", "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    one_line_error(result, "--label-col nwe=truth: no run is named 'nwe'", "new, old")


def test_a_plain_column_option_given_twice_isone_line_error() -> None:
    options = resolve({"label_col": ["gold", "truth"]})
    with pytest.raises(ReportgenError, match=r"--label-col is given twice \('gold' and 'truth'\)"):
        ColumnNames.of(options)


# --- dotted paths into nested records -----------------------------------------------------------


def _nested(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, p = _binary(3)
    _, q = _binary(4)
    with path.open("w") as f:
        for i in range(N):
            record = {
                "id": i,
                "target": str(y[i]),
                "vanilla": {"answer": str(p[i]), "score": 0.5},
                "cot": {"answer": str(q[i])},
            }
            f.write(json.dumps(record) + "\n")
    return y, p, q


def test_dotted_paths_read_nested_records(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    y, p, q = _nested(path)
    report = build_report(
        [f"vanilla={path}", f"cot={path}"],
        pred_col=["vanilla=vanilla.answer", "cot=cot.answer"],
        bootstrap=0,
    )
    assert _accuracy(report) == {"vanilla": accuracy_score(y, p), "cot": accuracy_score(y, q)}
    records = pd.read_json(path, lines=True)
    run = Run.from_frame(records, "mem", columns={"prediction": "cot.answer"})
    assert run.columns["prediction"] == "cot.answer"
    result = build_cli(
        str(path), "--pred-col", "target.answer", "-o", str(tmp_path / "r.html")
    )  # a path into a column of plain values
    one_line_error(result, "nested.jsonl", "'target.answer' is a path into nested records")


# --- multilabel suffix columns ------------------------------------------------------------------


def test_multilabel_suffix_columns(tmp_path: Path) -> None:
    """<label>_true, <label>_pred, <label>_proba (and _outcome, kept as metadata) with a fold
    column: read as a multilabel run; before, 'no label column'."""
    rng = np.random.default_rng(5)
    labels = ["HARU_C1", "THAR_B2", "MYME_C1"]
    frame = pd.DataFrame({"fold": rng.integers(1, 6, N)})
    truth = rng.random((N, 3)) < 0.3
    proba = np.clip(truth * 0.6 + rng.random((N, 3)) * 0.5, 0, 1)
    for k, name in enumerate(labels):
        frame[f"{name}_true"] = truth[:, k].astype(int)
        frame[f"{name}_pred"] = (proba[:, k] >= 0.5).astype(int)
        frame[f"{name}_proba"] = proba[:, k]
        frame[f"{name}_outcome"] = np.where(truth[:, k], "TP", "TN")
    path = tmp_path / "birds.csv"
    frame.to_csv(path, index=False)
    report = build_report([str(path)], bootstrap=0)
    (result,) = report.result("multilabel").results
    order = [labels.index(n) for n in result.run.label_names]
    y_true, y_pred = truth[:, order], proba[:, order] >= 0.5
    assert result.metrics["hamming_loss"] == pytest.approx(hamming_loss(y_true, y_pred))
    assert result.metrics["f1_samples"] == pytest.approx(
        f1_score(y_true, y_pred, average="samples", zero_division=0)
    )
    assert result.run.scores is not None
    broken = tmp_path / "broken.csv"
    frame.drop(columns=["THAR_B2_pred"]).assign(MYME_X_true=0, MYME_X_pred=0).to_csv(
        broken, index=False
    )
    one_line_error(
        build_cli(str(broken), "-o", str(tmp_path / "r.html")),
        "broken.csv",
        "label 'THAR_B2' has no THAR_B2_pred column",
    )


# --- headerless files ---------------------------------------------------------------------------


def test_headerless_tsv(tmp_path: Path) -> None:
    y, p = _binary(6)
    path = tmp_path / "preds.tsv"
    path.write_text("".join(f"{i}\t{a}\t{b}\n" for i, (a, b) in enumerate(zip(y, p, strict=True))))
    report = build_report(
        [str(path)], header=False, column_names="id,label,prediction", bootstrap=0
    )
    (evaluation,) = report.result("classification").evaluations
    assert evaluation.encoded.run.n_examples == N  # the first line is an example, not a header
    assert evaluation.metrics["accuracy"] == pytest.approx(accuracy_score(y, p))
    out = str(tmp_path / "r.html")
    one_line_error(
        build_cli(str(path), "--no-header", "--columns", "id,label", "-o", out),
        "preds.tsv: line 1 has 3 fields but --columns names 2",
    )
    one_line_error(build_cli(str(path), "--no-header", "-o", out), "--no-header needs --columns")
    bad = tmp_path / "bad.tsv"
    bad.write_text("0\t1\t1\n1\t\t0\n")  # the second line's label is missing
    one_line_error(
        build_cli(str(bad), "--no-header", "--columns", "id,label,prediction", "-o", out),
        "bad.tsv: missing label in column 'label' at line 2",
    )
    one_line_error(
        build_cli(str(path), "--columns", "id,label,prediction", "-o", out),
        "--columns names the columns of a file without a header row",
    )


# --- generation runs as graders log them --------------------------------------------------------


def _graded(tmp_path: Path, name: str, right: float, seed: int) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    countries = np.array([f"Country {i}" for i in range(N)])
    score = (rng.random(N) < right).astype(int)
    rows = [
        {
            "id": i,
            "query": f"Which country is bar {i}?",
            "label": "[Australia, Italy]" if i == 3 else countries[i],
            "answer": f"The bar is {countries[i] if score[i] else 'Peru'}.",
            "score": int(score[i]),
        }
        for i in range(N)
    ]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, score.astype(float)


def test_a_graders_score_is_a_metric_with_paired_tests(tmp_path: Path) -> None:
    """simple-evals ChartQA: label, answer, score (0/1). Before: 'needs a prediction column',
    then "'label' ... starts with '[' but is not a JSON list"; now the grader's score is the
    first metric, exact match and token F1 beside it, compared paired by id."""
    a, score_a = _graded(tmp_path, "haiku", 0.65, 7)
    b, score_b = _graded(tmp_path, "turbo", 0.45, 8)
    report = build_report([str(a), str(b)], bootstrap=200, seed=0)
    found = report.result("generation")
    results = {r.name: r for r in found.results}
    assert list(results["haiku"].metrics)[:3] == ["grader_score", "exact_match", "token_f1"]
    assert results["haiku"].metrics["grader_score"] == pytest.approx(score_a.mean())
    assert results["turbo"].metrics["grader_score"] == pytest.approx(score_b.mean())
    (comparison,) = [c for c in found.comparisons if c.metric == "grader_score"]
    assert comparison.test == "mcnemar-exact"  # paired 0/1 outcomes
    assert comparison.delta == pytest.approx(score_b.mean() - score_a.mean())
    run = results["haiku"].run
    assert run.references[3] == ["[Australia, Italy]"]
    assert any("[Australia, Italy]" in n for n in run.notes)


def test_a_score_column_that_is_not_a_number_isone_line_error(tmp_path: Path) -> None:
    path, _ = _graded(tmp_path, "bad", 0.5, 9)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[4]["score"] = "n/a"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    one_line_error(
        build_cli(str(path), "-o", str(tmp_path / "r.html")),
        "bad.jsonl: score column 'score' holds 'n/a' at line 5",
    )


def test_numeric_class_labels_compare_as_numbers(tmp_path: Path) -> None:
    """'12.00' and 12 are one class; '-8' and 8 are two."""
    frame = pd.DataFrame(
        {"label": ["12.00", "-8", "8", "cat"] * 10, "prediction": ["12", "8", "8", "cat"] * 10}
    )
    path = tmp_path / "nums.csv"
    frame.to_csv(path, index=False)
    (run,) = load_source(path).runs
    assert set(run.labels.values) == {"12", "-8", "8", "cat"}
    report = build_report([str(path)], bootstrap=0)
    assert _accuracy(report) == {"nums": pytest.approx(0.75)}


# --- the real files, when ../shared is present --------------------------------------------------


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real-inputs is absent")
def test_real_prediction_files_need_no_column_options() -> None:
    chart = build_report(
        [str(REAL / "claude-3-haiku-20240307.jsonl"), str(REAL / "gpt-4-turbo-2024-04-09.jsonl")],
        bootstrap=0,
    )
    means = {r.name: r.metrics["grader_score"] for r in chart.result("generation").results}
    assert means == pytest.approx(
        {"claude-3-haiku-20240307": 0.66, "gpt-4-turbo-2024-04-09": 0.4872}
    )
    (trainer,) = load_source(REAL / "hf-trainer_val_predictions.csv").runs
    assert trainer.columns["prediction"] == "predictions"
    (llama,) = load_source(REAL / "llamafactory_generated_predictions.jsonl").runs
    assert llama.columns["prediction"] == "predict"
    (birds,) = load_source(REAL / "multilabel_suffix_columns.csv").runs
    assert len(birds.label_names) == 10


def test_an_answer_column_read_as_the_reference_is_not_the_output(tmp_path: Path) -> None:
    """'answer' is an alias of the prediction now; a generation file whose reference is its
    'answer' column (no label) reads the model's output from 'output'."""
    rows = [
        {"question": f"q{i}", "answer": f"city {i}", "output": f"city {i if i % 4 else 0}"}
        for i in range(1, 41)
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run,) = load_source(path, task="generation").runs
    assert run.columns["label"] == "answer" and run.columns["prediction"] == "output"
