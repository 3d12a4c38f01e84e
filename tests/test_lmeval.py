"""lm-evaluation-harness output: results files (real ones, from examples/lm-eval), per-sample
logs, the benchmark comparison, and LLM reports end to end."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reportgen import build_report
from reportgen.cli import app
from reportgen.errors import ReportgenError
from reportgen.kinds import kind_of, load_source, load_sources
from reportgen.kinds.lmeval_results.table import benchmark_table
from reportgen.render.html import javascript_bundle
from reportgen.stats.significance import mcnemar_exact, normal_two_sided_p

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "lm-eval"
BASE, INSTRUCT = EXAMPLES / "Meta-Llama-3-8B", EXAMPLES / "Meta-Llama-3-8B-Instruct"
HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def benchmark(path: Path | str, name: str = "m"):  # type: ignore[no-untyped-def]
    (run,) = load_source(f"{name}={path}").runs
    return run


def test_real_results_are_read_back_exactly() -> None:
    run = benchmark(BASE, "base")
    assert len(run.files) == 6 and len(run.tasks) == 70
    for file in run.files:
        raw = json.loads(file.read_text())
        for task, entries in raw["results"].items():
            for key, value in entries.items():
                if key == "alias" or "_stderr" in key:
                    continue
                assert run.tasks[task].metrics[key] == value  # exact, not approximately
                assert (
                    run.tasks[task].stderrs[
                        key.replace(",", "_stderr,", 1).replace("_stderr,", ",")
                    ]
                    == entries[key.replace(",", "_stderr,", 1)]
                )
    arc = run.tasks["arc_challenge"]
    assert arc.metrics["acc_norm,none"] == pytest.approx(0.575, abs=5e-4)
    assert arc.n_shot == 25 and arc.version == "1"
    assert run.tasks["gsm8k"].metrics["exact_match,strict-match"] == pytest.approx(0.509, abs=5e-4)
    assert "Meta-Llama-3-8B" in run.model_args


def test_mmlu_groups_are_recognised() -> None:
    table = benchmark_table([benchmark(BASE, "base"), benchmark(INSTRUCT, "instruct")], None, {})
    assert set(table.groups) == {"mmlu"} and len(table.groups["mmlu"]) == 57
    assert table.depth["mmlu"] == 0 and table.depth["mmlu_stem"] == 1
    assert "mmlu_anatomy" not in table.shown  # subjects go to the heatmap, not the table
    assert table.aliases["mmlu_formal_logic"] == "formal_logic"  # " - " indent stripped
    scores = {t: table.scores["instruct"][t].value for t in ("arc_challenge", "hellaswag", "mmlu")}
    assert [round(v, 3) for v in scores.values()] == [0.622, 0.788, 0.658]
    assert table.scores["base"]["hellaswag"].metric == "acc_norm"
    assert table.scores["base"]["mmlu"].metric == "acc"
    assert table.scores["base"]["gsm8k"].key == "exact_match,strict-match"


def test_z_test_against_a_hand_computation() -> None:
    table = benchmark_table([benchmark(BASE, "base"), benchmark(INSTRUCT, "instruct")], None, {})
    (gsm8k,) = [d for d in table.deltas if d.task == "gsm8k"]
    b, c = table.scores["base"]["gsm8k"], table.scores["instruct"]["gsm8k"]
    se = math.sqrt(b.stderr**2 + c.stderr**2)
    assert gsm8k.delta == pytest.approx(c.value - b.value)
    assert gsm8k.ci == pytest.approx((gsm8k.delta - 1.959964 * se, gsm8k.delta + 1.959964 * se))
    assert gsm8k.p_value == pytest.approx(normal_two_sided_p((c.value - b.value) / se))
    assert gsm8k.verdict == "better"
    tested = [d for d in table.deltas if d.p_value is not None]
    assert all(d.p_value_adjusted >= d.p_value for d in tested)  # Holm only raises p


def test_overrides_na_stderr_old_files_and_merging(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(BASE, folder)
    gsm = json.loads((folder / "gsm8k.json").read_text())
    gsm["results"]["gsm8k"]["exact_match_stderr,flexible-extract"] = "N/A"
    (folder / "gsm8k.json").write_text(json.dumps(gsm))
    run = benchmark(folder)
    assert run.tasks["gsm8k"].stderrs["exact_match,flexible-extract"] is None
    table = benchmark_table([run], None, {"gsm8k": "exact_match,flexible-extract"})
    assert table.scores["m"]["gsm8k"].stderr is None
    assert (
        table.scores["m"]["gsm8k"].value == gsm["results"]["gsm8k"]["exact_match,flexible-extract"]
    )
    with pytest.raises(ReportgenError, match=r"gsm8k=bleu: the task has no such metric"):
        benchmark_table([run], None, {"gsm8k": "bleu"})
    with pytest.raises(ReportgenError, match=r"names task 'nope'"):
        benchmark_table([run], None, {"nope": "acc"})
    # an old-style file: bare metric names, no n-shot, configs or versions
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps({"results": {"piqa": {"acc": 0.79, "acc_stderr": 0.01, "acc_norm": 0.8}}})
    )
    piqa = benchmark(old).tasks["piqa"]
    assert piqa.metrics == {"acc,none": 0.79, "acc_norm,none": 0.8}
    assert piqa.n_shot is None and piqa.version is None
    # the same task in two files: the later date wins, with a note
    later = dict(gsm, date=gsm["date"] + 100)
    later["results"] = {"gsm8k": dict(gsm["results"]["gsm8k"], **{"exact_match,strict-match": 0.6})}
    (folder / "results_later.json").write_text(json.dumps(later))
    merged = benchmark(folder)
    assert merged.tasks["gsm8k"].metrics["exact_match,strict-match"] == 0.6
    assert any("results_later.json" in n for n in merged.notes)


def test_setting_mismatches_are_warned() -> None:
    base, instruct = benchmark(BASE, "base"), benchmark(INSTRUCT, "instruct")
    arc = instruct.tasks["arc_challenge"]
    instruct.tasks["arc_challenge"] = type(arc)(**{**arc.__dict__, "n_shot": 0, "version": "2"})
    table = benchmark_table([base, instruct], None, {})
    assert any("arc_challenge was run with different n-shot" in w for w in table.warnings)
    assert any("arc_challenge was run with different task versions" in w for w in table.warnings)


def write_samples(
    path: Path, correct: np.ndarray, order: np.ndarray | None = None, task_text: str = "Q"
) -> Path:
    """A per-sample log as lm-eval 0.4 writes it (multiple choice, two logged filters)."""
    lines = []
    for doc_id in (int(d) for d in (order if order is not None else range(len(correct)))):
        for filt in ("none", "other-filter"):
            target = doc_id % 4
            chosen = target if correct[doc_id] else (target + 1) % 4
            logliks = [[-3.0, False]] * 4
            logliks = [[-1.0, True] if i == chosen else v for i, v in enumerate(logliks)]
            lines.append(
                json.dumps(
                    {
                        "doc_id": int(doc_id),
                        "doc": {"question": f"{task_text} {doc_id}"},
                        "target": target,
                        "arguments": [[f"{task_text} {doc_id}", " A"]],
                        "resps": [[v] for v in logliks],
                        "filtered_resps": logliks,
                        "filter": filt,
                        "metrics": ["acc"],
                        "doc_hash": "0" * 64,
                        "prompt_hash": "1" * 64,
                        "target_hash": "2" * 64,
                        "acc": float(correct[doc_id]),
                    }
                )
            )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sample_logs_are_paired_by_doc_id_with_mcnemar(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a_ok, b_ok = rng.random(300) < 0.55, rng.random(300) < 0.65
    a = write_samples(tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl", a_ok)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = write_samples(
        b_dir / "samples_arc_easy_2024-05-01T11-00-00.jsonl", b_ok, order=rng.permutation(300)
    )
    report = build_report([f"a={a}", f"b={b}"], bootstrap=200)
    samples = report.result("lm-eval samples")
    run = samples.results[0].run
    assert run.task == "arc_easy" and run.n_examples == 300
    assert "first (none) is used" in run.notes[0]
    assert run.predictions[0].startswith("choice ")
    (comparison,) = samples.comparisons
    assert comparison.test == "McNemar exact" and comparison.n_paired == 300
    assert comparison.p_value == pytest.approx(mcnemar_exact(a_ok, b_ok))
    assert comparison.delta == pytest.approx(b_ok.mean() - a_ok.mean())


def test_sample_log_errors(tmp_path: Path) -> None:
    path = tmp_path / "samples_x_2024.jsonl"
    path.write_text(json.dumps({"doc_id": 0, "filtered_resps": ["a"], "target": "a"}) + "\n")
    with pytest.raises(ReportgenError, match=r"no numeric per-sample metric"):
        load_source(path)


def test_generation_runs_detect_json_answer_lists(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": range(4),
            "label": ['["Paris", "Paris, France"]', '["4"]', '["blue"]', '["Lima"]'],
            "prediction": ["paris", "four", "The blue one", "Lima."],
        }
    )
    path = tmp_path / "qa.csv"
    frame.to_csv(path, index=False)
    report = build_report([path], bootstrap=0)
    (result,) = report.result("generation").results
    assert result.metrics["exact_match"] == 0.5
    assert result.metrics["token_f1"] == pytest.approx((1 + 0 + 2 * 0.5 / 1.5 + 1) / 4)
    broken = tmp_path / "broken.csv"
    frame.assign(label=["[oops", "[1]", "[2]", "[3]"]).to_csv(broken, index=False)
    with pytest.raises(ReportgenError, match=r"broken\.csv: 'label' at line 2 .*not a JSON list"):
        load_source(broken)


def llm_runs(tmp_path: Path, name_a: str = "base", name_b: str = "instruct") -> list[str]:
    rng = np.random.default_rng(0)
    runs = [f"{name_a}={BASE}", f"{name_b}={INSTRUCT}"]
    for name, shift, accuracy in ((name_a, 0.0, 0.6), (name_b, 0.05, 0.75)):
        n = 300
        tokens = rng.integers(10, 300, n)
        ppl = tmp_path / f"ppl-{len(runs)}.csv"
        pd.DataFrame(
            {
                "id": range(n),
                "nll": (rng.gamma(4, 0.5, n) + shift) * tokens,
                "num_tokens": tokens,
                "domain": np.where(np.arange(n) % 2, "a", "b"),
            }
        ).to_csv(ppl, index=False)
        right = rng.random(n) < accuracy
        qa = tmp_path / f"qa-{len(runs)}.jsonl"
        pd.DataFrame(
            {
                "id": range(n),
                "question": [f"{HOSTILE} q{i}" for i in range(n)],
                "label": [[f"answer {i}", f"{HOSTILE}"] for i in range(n)],
                "prediction": [
                    f"answer {i}" if r else f"{HOSTILE} wrong" for i, r in enumerate(right)
                ],
                "latency_ms": rng.gamma(2, 50, n),
                "completion_tokens": rng.integers(1, 9, n),
                "domain": np.where(np.arange(n) % 2, "a", "b"),
            }
        ).to_json(qa, orient="records", lines=True)
        runs += [f"{name}={ppl}", f"{name}={qa}"]
    return runs


def test_llm_report_json_summary(tmp_path: Path) -> None:
    out, summary = tmp_path / "llm.html", tmp_path / "llm.json"
    result = CliRunner().invoke(
        app,
        [
            "build",
            *llm_runs(tmp_path),
            "-o",
            str(out),
            "--json",
            str(summary),
            "--slice",
            "domain",
            "--bootstrap",
            "200",
            "--benchmark-metric",
            "gsm8k=exact_match,flexible-extract",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text())
    bench = data["benchmarks"]
    assert bench["models"]["base"]["arc_challenge"] == {
        "metric": "acc_norm",
        "filter": "none",
        "value": 0.5750853242320819,
        "stderr": 0.014445698968520769,
        "n_shot": 25,
        "version": "1",
        "higher_is_better": True,
    }
    assert bench["models"]["instruct"]["gsm8k"]["filter"] == "flexible-extract"
    assert "mmlu_anatomy" in bench["tasks"]
    kinds = {(r["name"], r["task"]) for r in data["runs"]}
    assert kinds == {
        (m, k) for m in ("base", "instruct") for k in ("perplexity", "generation", "benchmark")
    }
    ppl = next(r for r in data["runs"] if r["task"] == "perplexity" and r["name"] == "base")
    assert set(ppl["metrics"]) >= {"perplexity", "mean_nll"}
    assert ppl["ci"]["perplexity"][0] < ppl["metrics"]["perplexity"] < ppl["ci"]["perplexity"][1]
    assert {s["value"] for s in ppl["slices"]["domain"]} == {"a", "b"}
    qa = next(r for r in data["runs"] if r["task"] == "generation" and r["name"] == "instruct")
    assert set(qa["metrics"]) >= {
        "exact_match",
        "token_f1",
        "latency_p50_ms",
        "latency_p99_ms",
        "tokens_per_s",
    }
    scopes = {c["scope"] for c in data["comparisons"]}
    assert scopes == {"perplexity", "generation"}
    page = out.read_text()
    for section in ("benchmarks", "perplexity", "efficiency", "perplexity-comparison"):
        assert f'id="{section}"' in page


def test_llm_errors_exit_2(tmp_path: Path) -> None:
    ppl = tmp_path / "p.csv"
    pd.DataFrame({"perplexity": [3.0]}).to_csv(ppl, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["build", str(ppl), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "needs per-example token counts" in result.output
    result = runner.invoke(
        app, ["build", f"m={BASE}", "--benchmark-metric", "gsm8k", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2 and "write TASK=METRIC" in result.output
    result = runner.invoke(
        app, ["build", f"m={BASE}", "--history", "m=nothing.csv", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2 and "nothing.csv: file not found" in result.output
    assert not (tmp_path / "r.html").exists()


def hostile_lm_report(tmp_path: Path) -> tuple[Path, int]:
    """An LLM report whose model names, task names, aliases, prompts and answers are hostile."""
    folder = tmp_path / "hostile-lm-eval"
    shutil.copytree(INSTRUCT, folder)
    arc = json.loads((folder / "arc.json").read_text())
    arc["results"][HOSTILE] = dict(arc["results"]["arc_challenge"], alias=HOSTILE)
    arc["n-shot"][HOSTILE] = 3
    (folder / "arc.json").write_text(json.dumps(arc))
    pd.DataFrame(
        {
            "step": np.arange(0, 500, 5),
            "train_loss": np.linspace(3, 1, 100),
            f"val_{HOSTILE}": np.linspace(0.2, 0.8, 100),
        }
    ).to_csv(folder / "history.csv")
    arguments = llm_runs(tmp_path)
    arguments[1] = f"instruct={folder}"
    found = load_sources(arguments)  # names with '=' cannot be given as NAME=PATH
    for item in [*found.runs, *found.histories]:
        item.name = f"{HOSTILE} {item.name}"
    out = tmp_path / "hostile-llm.html"
    report = build_report(
        found.runs, histories=found.histories, title=HOSTILE, slices=["domain"], bootstrap=100
    )
    report.save(out)
    return out, sum(len(s.figures) for s in report.sections)


def test_hostile_llm_text_is_escaped(tmp_path: Path) -> None:
    out, _ = hostile_lm_report(tmp_path)
    page = out.read_text().replace(javascript_bundle(), "")
    assert "window.__pwned" in page and "<img" not in page
    script_tags = re.findall(r"<script[^>]*>", page)
    assert script_tags.count("<script>") == 2
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in block and ">" not in block


def test_loading_keeps_kinds_apart_and_names_unique(tmp_path: Path) -> None:
    runs = llm_runs(tmp_path)
    found = load_sources(runs)
    kinds = [kind_of(r).name for r in found.runs]
    assert kinds.count("lm-eval results") == 2
    assert kinds.count("perplexity") + kinds.count("generation") == 4
    assert len(found.histories) == 0
    with pytest.raises(ReportgenError, match=r"two perplexity runs are named 'base'"):
        load_sources([runs[2], runs[2]])


def test_kind_detection(tmp_path: Path) -> None:
    def kind(frame: pd.DataFrame, task: str | None = None) -> str:
        path = tmp_path / "run.csv"
        frame.to_csv(path, index=False)
        (run,) = load_source(path, task=task).runs
        return type(run).__name__ + ":" + getattr(run, "kind", "classification")

    labels = pd.DataFrame({"label": [0, 1, 1, 0], "prediction": [0, 1, 0, 0]})
    assert kind(labels) == "Run:classification"
    # a classifier's per-example loss column does not make it a language-modelling run
    assert kind(labels.assign(loss=[0.1, 0.2, 0.3, 0.4])) == "Run:classification"
    assert kind(labels.assign(loss=0.5, tokens=3).drop(columns="label")) == (
        "PerplexityRun:perplexity"
    )
    short = pd.DataFrame({"label": ["yes", "no"] * 2, "prediction": ["yes"] * 4})
    assert kind(short) == "Run:classification"
    assert kind(short, task="generation") == "TextRun:generation"
    squad = pd.DataFrame({"answers": ['["a"]', '["b"]'], "prediction": ["a", "c"]})
    assert kind(squad) == "TextRun:generation"
    free = pd.DataFrame({"label": [f"answer {i}" for i in range(40)], "prediction": ["x"] * 40})
    assert kind(free) == "TextRun:generation"


def test_llm_report_is_byte_identical_when_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runs = llm_runs(tmp_path)
    first = build_report(runs, slices=["domain"], bootstrap=100)
    second = build_report(runs, slices=["domain"], bootstrap=100)
    assert first.to_html() == second.to_html()
    assert first.to_json() == second.to_json()
    assert "2023-11-14 22:13 UTC" in first.to_html()
