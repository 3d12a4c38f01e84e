"""Benchmark scores of other harnesses and inspect-ai logs: look-alikes built here, checked
against what each file states (and the real files in ../shared when it is there)."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import classification_report

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.inspect_logs import value_to_float
from reportgen.kinds import load_source
from tests.conftest import build_cli

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-inputs"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real-inputs is absent")


# ----------------------------------------------------------------------------- inspect-ai


def inspect_log(
    model: str,
    values: dict[int, list[Any]],
    *,
    task: str = "popularity",
    scorer: str = "match",
    created: str = "2025-02-11T15:18:04-05:00",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An inspect log's header and samples: ``values`` maps sample id -> its score per epoch
    (C/I/P/N, a number or a dict); accuracy and stderr as inspect computes them."""
    samples = [
        {
            "id": sample_id,
            "epoch": epoch + 1,
            "input": f"question {sample_id}",
            "target": "Yes",
            "output": {"completion": "Yes"},
            "scores": {scorer: {"value": value, "answer": "Yes"}},
        }
        for sample_id, per_epoch in values.items()
        for epoch, value in enumerate(per_epoch)
    ]
    numbers = [
        np.mean([value_to_float(v) or 0.0 for v in per_epoch]) for per_epoch in values.values()
    ]
    accuracy = float(np.mean(numbers))
    stderr = float(np.std(numbers, ddof=1) / math.sqrt(len(numbers)))
    header = {
        "version": 2,
        "status": "success",
        "eval": {
            "task": task,
            "task_version": 0,
            "created": created,
            "dataset": {"name": task, "samples": 100},
            "model": model,
            "packages": {"inspect_ai": "0.3.58"},
        },
        "results": {
            "total_samples": len(values),
            "completed_samples": len(values),
            "scores": [
                {
                    "name": scorer,
                    "scorer": scorer,
                    "metrics": {
                        "accuracy": {"name": "accuracy", "value": accuracy},
                        "stderr": {"name": "stderr", "value": stderr},
                    },
                }
            ],
        },
        "stats": {},
    }
    return header, samples


def write_json_log(path: Path, header: dict[str, Any], samples: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({**header, "samples": samples}))
    return path


def write_eval_log(path: Path, header: dict[str, Any], samples: list[dict[str, Any]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for sample in samples:
            archive.writestr(
                f"samples/{sample['id']}_epoch_{sample['epoch']}.json", json.dumps(sample)
            )
        archive.writestr("header.json", json.dumps(header))
        archive.writestr("reductions.json", "[]")
        archive.writestr("summaries.json", "[]")
    return path


def test_value_to_float_maps_scores_as_inspect_does() -> None:
    assert [value_to_float(v) for v in ("C", "I", "P", "N")] == [1.0, 0.0, 0.5, 0.0]
    assert value_to_float(True) == 1.0 and value_to_float(0.25) == 0.25
    assert value_to_float("yes") == 1.0 and value_to_float("False") == 0.0
    assert value_to_float("0.75") == 0.75 and value_to_float("maybe") is None


def test_a_json_inspect_log_gives_task_scores_and_sample_scores(tmp_path: Path) -> None:
    """Before: exit 2, "results['total_samples'] should be an object" (read as lm-eval)."""
    header, samples = inspect_log("openai/gpt-4o-mini", {1: ["C"], 2: ["I"], 3: ["P"], 4: ["N"]})
    log = write_json_log(tmp_path / "2025-05-12T20-28-13-04-00_popularity.json", header, samples)
    done = build_cli(str(log), "-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    scores = pd.DataFrame(json.loads((tmp_path / "r.json").read_text())["scores"])
    task = scores[scores.kind == "benchmark scores"].iloc[0]
    assert task.model == "openai/gpt-4o-mini" and task.metric == "popularity"
    assert task.value == pytest.approx(0.375) and task.measure == "accuracy,match"
    assert task.stderr == pytest.approx(
        header["results"]["scores"][0]["metrics"]["stderr"]["value"]
    )
    sample = scores[scores.kind == "lm-eval samples"].iloc[0]
    assert sample.metric == "match" and sample.value == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert sample.n == 4


def test_eval_zips_pair_samples_by_id_and_epochs_are_repeats(tmp_path: Path) -> None:
    """Before: exit 2, "unsupported file type .eval"."""
    base = {i: ["C" if i % 2 else "I", "C" if i % 3 else "I"] for i in range(1, 41)}
    cand = {i: ["C", "C" if i % 5 else "I"] for i in range(1, 41)}
    first = write_eval_log(tmp_path / "a.eval", *inspect_log("openai/base", base))
    second = write_eval_log(tmp_path / "b.eval", *inspect_log("openai/cand", cand))
    done = build_cli(
        str(first), str(second), "-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    samples = [s for s in data["scores"] if s["kind"] == "lm-eval samples"]
    assert {s["model"]: s["repeats"] for s in samples} == {"openai/base": 2, "openai/cand": 2}
    mean = {s["model"]: s["value"] for s in samples}
    assert mean["openai/cand"] == pytest.approx(
        np.mean([[value_to_float(v) for v in e] for e in cand.values()])
    )
    paired = [c for c in data["comparisons"] if c["scope"].startswith("samples:")]
    assert paired and paired[0]["candidate"] == "openai/cand"
    task = [c for c in data["comparisons"] if c["scope"] == "benchmark"]
    assert task and task[0]["test"] == "z-test" and task[0]["verdict"] == "better"


def test_dict_scores_are_kept_per_scorer_key(tmp_path: Path) -> None:
    header, samples = inspect_log("m/x", {1: [0.0], 2: [1.0], 3: [1.0]}, scorer="judge")
    for sample, (a, b) in zip(samples, [("C", 0.2), ("I", 0.9), ("P", 0.4)], strict=True):
        sample["scores"]["judge"]["value"] = {"correct": a, "quality": b}
    run = next(
        r
        for r in load_source(write_json_log(tmp_path / "x.json", header, samples)).runs
        if r.format == "inspect-ai samples"
    )
    assert list(run.sample_metrics) == ["judge.correct", "judge.quality"]
    assert run.sample_metrics["judge.correct"].tolist() == [1.0, 0.0, 0.5]
    assert run.sample_metrics["judge.quality"].tolist() == [0.2, 0.9, 0.4]


def test_a_folder_of_logs_names_each_model_and_keeps_the_latest_of_a_task(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_eval_log(logs / "1.eval", *inspect_log("org/a", {1: ["C"], 2: ["C"]}, created="2025-01"))
    write_eval_log(logs / "2.eval", *inspect_log("org/a", {1: ["I"], 2: ["C"]}, created="2025-02"))
    write_json_log(logs / "3.json", *inspect_log("org/b", {1: ["C"], 2: ["I"]}))
    (logs / "notes.json").write_text('{"other": 1}')
    found = load_source(logs).runs
    scores = {r.name: r for r in found if r.format == "inspect-ai log"}
    assert set(scores) == {"org/a", "org/b"}
    assert scores["org/a"].tasks["popularity"].metrics["accuracy,match"] == 0.5  # the later log
    assert "latest log" in scores["org/a"].notes[0]
    with pytest.raises(ReportgenError, match=r"logs of 2 models \(org/a, org/b\); pass the folder"):
        load_source(f"x={logs}")


def test_broken_eval_files_are_refused_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.eval"
    bad.write_text("not a zip")
    done = build_cli(str(bad), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "bad.eval: not a zip archive, so not an inspect-ai .eval log" in done.stderr
    unfinished = tmp_path / "unfinished.eval"
    with zipfile.ZipFile(unfinished, "w") as archive:
        archive.writestr("samples/1_epoch_1.json", "{}")
    done = build_cli(str(unfinished), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2 and "unfinished.eval: an .eval file without header.json" in (
        done.stderr
    )
    assert not (tmp_path / "r.html").exists()


@needs_real
def test_real_inspect_logs_give_what_they_state() -> None:
    folder = REAL / "inspect-ai"
    zipped = load_source(
        folder / "2025-02-11T15-18-04-05-00_popularity_mj7khqpMM4GBCfVQozKgzB.eval"
    )
    task = next(r for r in zipped.runs if r.format == "inspect-ai log").tasks["popularity"]
    assert task.metrics == {"accuracy,match": 0.8}
    assert task.stderrs["accuracy,match"] == pytest.approx(0.13333333333333333)
    plain = load_source(folder / "2025-05-12T20-28-13-04-00_popularity.json").runs
    samples = next(r for r in plain if r.format == "inspect-ai samples")
    assert samples.sample_metrics["match"].mean() == pytest.approx(0.6666666666666666)
    choice = load_source(folder / "mmlu-summary-choices.eval").runs
    assert choice[0].name == "openai/gpt-4o" and "inspect_evals/mmlu_0_shot" in choice[0].tasks


# ----------------------------------------------------------------------------- other harnesses


def mteb_result(accuracies: list[float]) -> dict[str, Any]:
    mean = float(np.mean(accuracies))
    return {
        "dataset_revision": "0fd18e",
        "task_name": "Banking77Classification",
        "mteb_version": "1.39.7",
        "scores": {
            "test": [
                {
                    "accuracy": mean,
                    "f1": mean - 0.01,
                    "scores_per_experiment": [{"accuracy": a, "f1": a - 0.01} for a in accuracies],
                    "main_score": mean,
                    "hf_subset": "default",
                    "languages": ["eng-Latn"],
                }
            ]
        },
        "evaluation_time": 18.1,
    }


def test_mteb_results_give_the_main_score_with_the_experiments_spread(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0.80, 0.008, 10), rng.normal(0.55, 0.01, 10)
    for name, values in (("small", first), ("llm", second)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Banking77Classification.json").write_text(
            json.dumps(mteb_result(values.tolist()))
        )
        (tmp_path / name / "model_meta.json").write_text(json.dumps({"name": f"org/{name}"}))
    report = build_report(
        [
            tmp_path / "small" / "Banking77Classification.json",
            tmp_path / "llm" / "Banking77Classification.json",
        ],
        timestamp=False,
    )
    frame = report.scores_frame().set_index("model")
    assert frame.loc["org/small", "value"] == pytest.approx(first.mean())
    assert frame.loc["org/small", "stderr"] == pytest.approx(first.std(ddof=1) / math.sqrt(10))
    assert frame.loc["org/llm", "repeats"] == 10
    (comparison,) = report.comparisons
    assert comparison.verdict == "worse" and comparison.test == "z-test"


def card(results: list[tuple[str, str, float]]) -> str:
    lines = ["---", "license: apache-2.0", "model-index:", "- name: org/embedder", "  results:"]
    for dataset, kind, value in results:
        lines += [
            "  - dataset:",
            f"      name: {dataset}",
            "      split: test",
            "    metrics:",
            "    - type: accuracy",
            f"      value: {value + 1}",
            "    - type: main_score",
            f"      value: {value}",
            "    task:",
            f"      type: {kind}",
        ]
    return "\n".join([*lines, "---", "", "# org/embedder", "Text."])


def test_a_model_card_model_index_gives_its_results(tmp_path: Path) -> None:
    few = tmp_path / "README.md"
    few.write_text(card([("MTEB A (en)", "Classification", 70.0), ("MTEB B", "Retrieval", 40.0)]))
    (run,) = load_source(few).runs
    assert run.name == "org/embedder" and run.format == "model-card model-index"
    assert run.tasks["MTEB A (en)"].metrics == {"main_score,none": 70.0, "accuracy,none": 71.0}
    many = tmp_path / "big" / "README.md"
    many.parent.mkdir()
    rows = [(f"MTEB C{i}", "Classification" if i % 2 else "STS", float(i)) for i in range(14)]
    many.write_text(card(rows))
    report = build_report([many], timestamp=False)
    board = report.leaderboard
    assert board is not None and any("Classification (main_score" in h for h in board.header)
    frame = report.scores_frame().set_index("metric")
    assert frame.loc["Classification", "value"] == pytest.approx(np.mean(range(1, 14, 2)))


def test_broken_or_foreign_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    """Before: exit 2, "unsupported file type .yaml"."""
    for text, message in (
        ("model-index:\n- name: x\n  results: [\n", "eval.yaml: not valid YAML (line 4, column 1)"),
        ("model-index:\n- name: x\n  results: 3\n", "eval.yaml: model-index[0].results should be"),
        ("a: 1\n", "eval.yaml: YAML, but neither a model card's model-index"),
    ):
        path = tmp_path / "eval.yaml"
        path.write_text(text)
        done = build_cli(str(path), "-o", str(tmp_path / "r.html"))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert message in done.stderr, done.stderr
        assert not (tmp_path / "r.html").exists()


def test_eval_results_yaml_is_named_by_its_repository(tmp_path: Path) -> None:
    folder = tmp_path / "Trinity-Large" / ".eval_results"
    folder.mkdir(parents=True)
    (folder / "gpqa.yaml").write_text(
        "- dataset:\n    id: Idavidrein/gpqa\n    task_id: gpqa_diamond\n  value: 63.3\n"
        "  date: '2026-02-03'\n  source:\n    name: Model Card\n"
    )
    (run,) = load_source(folder / "gpqa.yaml").runs
    assert run.name == "Trinity-Large"
    assert run.tasks["Idavidrein/gpqa/gpqa_diamond"].metrics == {"score,none": 63.3}


def test_simple_evals_results_keep_the_score_and_its_sd(tmp_path: Path) -> None:
    path = tmp_path / "mmlu_gpt-4o.json"
    path.write_text(json.dumps({"other": 0.8, "other:std": 0.4, "score:std": 0.45, "score": 0.7}))
    (run,) = load_source(path).runs
    assert run.name == "gpt-4o" and run.tasks["mmlu"].metrics == {"score,none": 0.7}
    assert run.groups == {"mmlu": ["mmlu: other"]}
    assert run.spreads["mmlu"] == "sd 0.450 over samples"
    report = build_report([path], timestamp=False)
    column = next(c for c in report.leaderboard.header if "mmlu" in c)
    assert "mmlu (score)" in column


def test_llamafactory_results_give_each_metric_without_speed_keys(tmp_path: Path) -> None:
    out = tmp_path / "saves" / "qwen-lora"
    out.mkdir(parents=True)
    (out / "all_results.json").write_text(
        json.dumps(
            {
                "predict_bleu-4": 92.2,
                "predict_model_preparation_time": 0.007,
                "predict_rouge-l": 85.1,
                "predict_runtime": 674.4,
                "predict_samples_per_second": 1.5,
                "predict_steps_per_second": 0.76,
            }
        )
    )
    (run,) = load_source(out / "all_results.json").runs
    assert run.name == "qwen-lora" and run.format == "LLaMA-Factory results"
    assert {t: r.metrics for t, r in run.tasks.items()} == {
        "predict_bleu-4": {"bleu-4,none": 92.2},
        "predict_rouge-l": {"rouge-l,none": 85.1},
    }


def test_robustbench_accuracies_written_as_text_are_read_as_numbers(tmp_path: Path) -> None:
    entry = {"name": "Standardly trained model", "dataset": "cifar10", "eps": "8/255"}
    path = tmp_path / "cifar10__Linf__Standard.json"
    path.write_text(json.dumps({**entry, "clean_acc": "94.78", "autoattack_acc": "0.0"}))
    (run,) = load_source(path).runs
    assert run.name == "Standard"
    assert run.tasks["cifar10 clean"].metrics == {"acc,none": 94.78}
    assert run.tasks["cifar10 Linf autoattack (eps 8/255)"].metrics == {"acc,none": 0.0}
    path.write_text(json.dumps({**entry, "clean_acc": "n/a"}))
    with pytest.raises(ReportgenError, match=r"Standard.json: 'clean_acc' is 'n/a', not a number"):
        load_source(path)


def test_a_summary_table_is_a_leaderboard_without_intervals(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("Model,Accuracy,F1\nLogistic Regression,0.96,0.95\nkNN,0.95,0.96\n")
    report = build_report([path], timestamp=False)
    board = report.leaderboard
    assert board is not None
    assert board.header[1:] == ["Accuracy (accuracy) · no intervals", "F1 (f1) · no intervals"]
    assert {c.verdict for c in report.comparisons} == {"untested"}
    frame = report.scores_frame().set_index(["model", "metric"])
    assert frame.loc[("kNN", "F1"), "value"] == 0.96
    assert report.verdict == ""
    done = build_cli(f"m={path}", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert "metrics.csv: a summary table of 2 models; pass it without NAME=" in done.stderr
    one = tmp_path / "one.csv"
    one.write_text("model,accuracy\nlogreg,0.9\n")
    (run,) = load_source(f"mine={one}").runs
    assert (
        run.name == "mine"
        and run.sha256
        and run.tasks["accuracy"].metrics == {"accuracy,none": 0.9}
    )


def test_a_classification_report_csv_is_one_models_report() -> None:
    y_true = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1, 1])
    y_pred = np.array([0, 1, 0, 0, 1, 1, 1, 0, 1, 1])
    table = pd.DataFrame(classification_report(y_true, y_pred, output_dict=True)).transpose()
    expected = classification_report(y_true, y_pred, output_dict=True)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "svm_report.csv"
        table.to_csv(path)
        (run,) = load_source(path).runs
    assert run.name == "svm_report" and run.format == "classification report"
    assert run.tasks["accuracy"].metrics["accuracy,none"] == pytest.approx(expected["accuracy"])
    assert run.tasks["f1-score (macro avg)"].metrics["f1-score,none"] == pytest.approx(
        expected["macro avg"]["f1-score"]
    )
    assert run.groups["per class"] == [
        "precision (0)",
        "recall (0)",
        "f1-score (0)",
        "precision (1)",
        "recall (1)",
        "f1-score (1)",
    ]


def test_prediction_files_are_not_taken_for_summary_tables(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    path.write_text("name,label,prediction\na,1,1\nb,0,1\n")
    (run,) = load_source(path).runs
    assert run.format == "csv"


def test_an_unknown_json_object_names_the_formats_tried(tmp_path: Path) -> None:
    path = tmp_path / "scores.json"
    path.write_text(json.dumps({"model": "x", "value": 3}))
    done = build_cli(str(path), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for name in (
        "lm-eval results",
        "inspect-ai log",
        "MTEB results",
        "simple-evals result",
        "LLaMA-Factory",
        "RobustBench model_info",
    ):
        assert name in done.stderr


@needs_real
def test_real_harness_files_give_what_they_state() -> None:
    folder = REAL / "benchmark-scores"
    (mteb,) = load_source(folder / "mteb_all-MiniLM-L6-v2.Banking77Classification.json").runs
    assert mteb.tasks["Banking77Classification"].metrics["main_score,none"] == 0.800422
    assert len(mteb.tasks["Banking77Classification"].repeats["main_score,none"]) == 10
    (card,) = load_source(folder / "model-index_granite-embedding-107m-multilingual.README.md").runs
    assert card.name == "ibm-granite/granite-embedding-107m-multilingual"
    assert (
        card.tasks["MTEB AmazonCounterfactualClassification (en-ext)"].metrics["main_score,none"]
        == 72.7136
    )
    (simple,) = load_source(folder / "math_customgpt.json").runs
    assert simple.name == "customgpt" and simple.tasks["math"].metrics == {"score,none": 1.0}
    (robust,) = load_source(folder / "cifar10__corruptions__Standard.json").runs
    assert robust.tasks["cifar10 corruptions"].metrics == {"acc,none": 73.46}
    (factory,) = load_source(folder / "llamafactory_all_results.json").runs
    assert factory.tasks["predict_bleu-4"].metrics == {"bleu-4,none": 92.21327412109375}
    table = load_source(folder / "summary_table_metrics.csv").runs
    assert table[0].name == "Logistic Regression" and len(table) == 6
    assert table[4].tasks["MCC"].metrics == {"mcc,none": 0.9441549509633318}


def test_benchmark_metric_reaches_other_harnesses_tasks(tmp_path: Path) -> None:
    """An override of another harness's task is that kind's (not refused as "no lm-eval
    results among the runs"); a task no kind holds is refused."""
    (tmp_path / "Banking77Classification.json").write_text(
        json.dumps(mteb_result([0.8, 0.81, 0.79]))
    )
    path = tmp_path / "Banking77Classification.json"
    report = build_report(
        [f"m={path}"], benchmark_metrics=["Banking77Classification=f1"], timestamp=False
    )
    (score,) = report.scores
    assert score.measure == "f1,none" and score.value == pytest.approx(0.79)
    done = build_cli(
        f"m={path}", "--benchmark-metric", "nosuch=acc", "-o", str(tmp_path / "r.html")
    )
    assert done.returncode == 2
    assert "--benchmark-metric names task 'nosuch', which no lm-eval result holds" in done.stderr
