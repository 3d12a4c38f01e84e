"""The metric registry: every metric declared once, and every view agreeing with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportgen import build_report, metrics
from reportgen.kinds.classification.evaluate import BINARY_METRICS, MULTICLASS_METRICS
from reportgen.kinds.efficiency import efficiency_metrics
from reportgen.kinds.multilabel import formulas as multilabel_metrics
from reportgen.kinds.regression import formulas as regression_metrics

from .conftest import Predictions


def test_every_computed_metric_is_registered() -> None:
    import pandas as pd

    computed = {
        *BINARY_METRICS,
        *MULTICLASS_METRICS,
        *regression_metrics.METRICS,
        *multilabel_metrics.METRICS,
        "perplexity",
        "mean_nll",
        "bits_per_byte",
        "exact_match",
        "token_f1",
        *efficiency_metrics(
            pd.DataFrame(
                {
                    "latency_ms": [1.0, 2.0],
                    "prompt_tokens": [3, 4],
                    "completion_tokens": [5, 6],
                    "cost": [0.1, 0.2],
                }
            )
        ),
    }
    missing = sorted(m for m in computed if not metrics.is_known(m))
    assert missing == []
    assert metrics.is_known("top_5_accuracy") and metrics.label("top_5_accuracy") == "Top-5 acc."


@pytest.mark.parametrize(
    "name",
    [
        "perplexity",
        "word_perplexity",
        "byte_perplexity",
        "bits_per_byte",
        "log_loss",
        "train_loss",
        "val/loss",
        "max_error",
        "mae",
        "rmse",
        "ter",
        "wer",
        "cer",
        "nll",
        "ppl",
        "hamming_loss",
        "brier",
        "ece",
        "latency_p99_ms",
        "cost_per_1k",
    ],
)
def test_lower_is_better_names(name: str) -> None:
    assert metrics.lower_is_better(name)


@pytest.mark.parametrize(
    "name", ["accuracy", "acc", "acc_norm", "f1", "bleu", "rouge1", "exact_match", "mcc", "r2"]
)
def test_higher_is_better_names(name: str) -> None:
    assert metrics.higher_is_better(name)


def test_a_files_declaration_wins() -> None:
    assert metrics.higher_is_better("perplexity", declared=True)
    assert not metrics.higher_is_better("acc", declared=False)


def test_best_indices() -> None:
    assert metrics.best_indices([0.5, None, 0.7, 0.7], higher=True) == {2, 3}
    assert metrics.best_indices([0.5, None, 0.7], higher=False) == {0}
    assert metrics.best_indices([0.5, None], higher=True) == set()


def test_format_value() -> None:
    assert metrics.format_value("accuracy", 0.97312) == "0.973"
    assert metrics.format_value("latency_p99_ms", 1234.56) == "1,234.6"
    assert metrics.format_value("cost_per_1k", 0.0123456) == "0.01235"
    assert metrics.format_value("accuracy", None) == metrics.format_value("mae", float("nan"))


def _old_style(path: Path, bpb: float, ppl: float, acc: float) -> Path:
    """A harness 0.3 results file: no higher_is_better anywhere."""
    path.write_text(
        json.dumps(
            {
                "results": {
                    "wikitext": {"word_perplexity": ppl, "bits_per_byte": bpb},
                    "pile_arxiv": {"bits_per_byte": bpb * 1.1, "bits_per_byte_stderr": 0.001},
                    "piqa": {"acc": acc, "acc_stderr": 0.01},
                },
                "versions": {"wikitext": 1, "pile_arxiv": 1, "piqa": 0},
            }
        )
    )
    return path


def test_lower_is_better_tasks_are_bold_and_verdicts_agree(tmp_path: Path) -> None:
    """The bug a new user met: 0.3-style files carry no direction, so the worst model's
    bits_per_byte was bolded as best. Leaderboard, benchmark table and verdict must agree."""
    good = _old_style(tmp_path / "good.json", bpb=0.60, ppl=9.0, acc=0.70)
    bad = _old_style(tmp_path / "bad.json", bpb=0.90, ppl=19.0, acc=0.60)
    report = build_report([f"bad={bad}", f"good={good}"], timestamp=False)
    for _title, table in report.leaderboards:
        header = table.header
        for column, title in enumerate(header):
            if "pile_arxiv" not in title:
                continue
            bold = [row[0].text for row in table.rows if row[column].best]
            assert bold == ["good"], (title, bold)
    benchmark = next(s for s in report.sections if s.id == "benchmarks")
    task_rows = {row[0].text.strip(): row for row in benchmark.tables[0].rows}
    arxiv = task_rows["pile_arxiv"]
    models = benchmark.tables[0].header[4:]
    bold = [models[i] for i, cell in enumerate(arxiv[4:]) if cell.best]
    assert bold == ["good"]
    summary = json.loads(report.to_json())["benchmarks"]
    deltas = {c["task"]: c for c in summary["comparisons"]}
    assert deltas["pile_arxiv"]["verdict"] == "better"  # lower bits per byte: better
    assert deltas["piqa"]["verdict"] == "better"


def test_every_comparison_uses_the_test_the_registry_declares(
    cancer_logistic: Predictions, cancer_tree: Predictions, tmp_path: Path
) -> None:
    """In memory, a classification comparison's test is the registry's (McNemar for accuracy,
    DeLong for ROC AUC, the paired bootstrap for the rest)."""
    paths = []
    for p in (cancer_logistic, cancer_tree):
        path = tmp_path / f"{p.name}.csv"
        p.frame().to_csv(path, index=False)
        paths.append(f"{p.name}={path}")
    report = build_report(paths, timestamp=False, bootstrap=200)
    expected = {
        "mcnemar-exact": "mcnemar-exact",
        "delong": "delong",
        "bootstrap": "bootstrap-paired",
    }
    seen = set()
    for comparison in report.result("classification").assessment.comparisons:
        declared = metrics.get(comparison.metric)
        assert declared is not None, comparison.metric
        assert comparison.test == expected[declared.test], comparison.metric
        seen.add(declared.test)
    assert seen == {"mcnemar-exact", "delong", "bootstrap"}
