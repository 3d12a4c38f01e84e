"""lm-evaluation-harness output: results files (look-alikes written in code; the real ones in
../shared when it is there), per-sample logs, the benchmark comparison, and LLM reports end to
end."""

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
from reportgen.demo.lmeval_files import write_lmeval_results
from reportgen.errors import ReportgenError
from reportgen.kinds import kind_of, load_source, load_sources
from reportgen.kinds.lmeval_results.table import benchmark_table
from reportgen.render.html import javascript_bundle
from reportgen.stats.significance import mcnemar_exact, normal_two_sided_p

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "lm-eval"
REAL_BASE, REAL_INSTRUCT = SHARED / "Meta-Llama-3-8B", SHARED / "Meta-Llama-3-8B-Instruct"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/lm-eval is absent")
MAIN = "results_2026-01-10T10-00-00.000000.json"  # the look-alikes' main suite


def lookalike(tmp_path: Path) -> tuple[Path, Path]:
    """Two models' lm-eval output folders in the harness's 0.4 format, written in code."""
    base, chat = tmp_path / "lm-base", tmp_path / "lm-chat"
    if not base.exists():
        write_lmeval_results(base, "demo-lm-7b", 0)
        write_lmeval_results(chat, "demo-lm-7b-chat", 1)
    return base, chat


HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def benchmark(path: Path | str, name: str = "m"):  # type: ignore[no-untyped-def]
    (run,) = load_source(f"{name}={path}").runs
    return run


def _read_back_exactly(run) -> None:  # type: ignore[no-untyped-def]
    for file in run.files:
        raw = json.loads(file.read_text())
        for task, entries in raw["results"].items():
            for key, value in entries.items():
                if key in ("alias", " ") or "_stderr" in key:  # " ": a group placeholder
                    continue
                assert run.tasks[task].metrics[key] == value  # exact, not approximately
                stderr = entries.get(key.replace(",", "_stderr,", 1))
                expected = None if stderr in (None, "N/A") else stderr
                assert run.tasks[task].stderrs.get(key) == expected


def test_lookalike_results_are_read_back_exactly(tmp_path: Path) -> None:
    base, _ = lookalike(tmp_path)
    run = benchmark(base, "base")
    assert len(run.files) == 2 and "leaderboard_ifeval" in run.tasks
    _read_back_exactly(run)


@needs_shared
def test_real_results_are_read_back_exactly() -> None:
    run = benchmark(REAL_BASE, "base")
    assert len(run.files) == 6 and len(run.tasks) == 70
    _read_back_exactly(run)
    arc = run.tasks["arc_challenge"]
    assert arc.metrics["acc_norm,none"] == pytest.approx(0.575, abs=5e-4)
    assert arc.n_shot == 25 and arc.version == "1"
    assert run.tasks["gsm8k"].metrics["exact_match,strict-match"] == pytest.approx(0.509, abs=5e-4)
    assert "Meta-Llama-3-8B" in run.model_args


@needs_shared
def test_mmlu_groups_are_recognised() -> None:
    table = benchmark_table(
        [benchmark(REAL_BASE, "base"), benchmark(REAL_INSTRUCT, "instruct")], None, {}
    )
    assert set(table.groups) == {"mmlu"} and len(table.groups["mmlu"]) == 57
    assert table.depth["mmlu"] == 0 and table.depth["mmlu_stem"] == 1
    assert "mmlu_anatomy" not in table.shown  # subjects go to the heatmap, not the table
    assert table.aliases["mmlu_formal_logic"] == "formal_logic"  # " - " indent stripped
    scores = {t: table.scores["instruct"][t].value for t in ("arc_challenge", "hellaswag", "mmlu")}
    assert [round(v, 3) for v in scores.values()] == [0.622, 0.788, 0.658]
    assert table.scores["base"]["hellaswag"].metric == "acc_norm"
    assert table.scores["base"]["mmlu"].metric == "acc"
    assert table.scores["base"]["gsm8k"].key == "exact_match,strict-match"


def test_z_test_against_a_hand_computation(tmp_path: Path) -> None:
    base, chat = lookalike(tmp_path)
    table = benchmark_table([benchmark(base, "base"), benchmark(chat, "instruct")], None, {})
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
    shutil.copytree(lookalike(tmp_path)[0], folder)
    gsm = json.loads((folder / MAIN).read_text())
    assert gsm["results"]["gsm8k"]["exact_match_stderr,flexible-extract"] == "N/A"
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


def test_setting_mismatches_are_warned(tmp_path: Path) -> None:
    base_dir, chat_dir = lookalike(tmp_path)
    base, instruct = benchmark(base_dir, "base"), benchmark(chat_dir, "instruct")
    arc = instruct.tasks["arc_challenge"]
    instruct.tasks["arc_challenge"] = type(arc)(**{**arc.__dict__, "n_shot": 0, "version": "2"})
    table = benchmark_table([base, instruct], None, {})
    assert "1 task with different n-shot settings: arc_challenge (base 25, instruct 0)." in (
        table.warnings
    )
    assert "1 task with different task versions: arc_challenge (base 1, instruct 2)." in (
        table.warnings
    )
    # many subjects with one difference: one line, with a count and the first three
    for subject in (
        "mmlu_abstract_algebra",
        "mmlu_college_physics",
        "mmlu_philosophy",
        "mmlu_world_religions",
    ):
        result = instruct.tasks[subject]
        instruct.tasks[subject] = type(result)(**{**result.__dict__, "n_shot": None})
    table = benchmark_table([base, instruct], None, {})
    (line,) = [w for w in table.warnings if "n-shot" in w]
    assert line.startswith("5 tasks with different n-shot settings: arc_challenge (base 25, ")
    assert line.endswith("; and 2 more.") and "not given" in line and "None" not in line


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
                        "arguments": [[f"{task_text} {doc_id}", f" {o}"] for o in "ABCD"],
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
    # the chosen option's text (the highest log-prob), not raw [logprob, is_greedy] pairs
    first_id = int(run.ids[0])
    chosen = first_id % 4 if a_ok[first_id] else (first_id % 4 + 1) % 4
    assert run.predictions[0] == "ABCD"[chosen]
    (comparison,) = samples.comparisons
    assert comparison.test == "mcnemar-exact" and comparison.n_paired == 300
    assert comparison.p_value == pytest.approx(mcnemar_exact(a_ok, b_ok))
    assert comparison.delta == pytest.approx(b_ok.mean() - a_ok.mean())


def test_a_candidates_wrong_answers_show_the_baseline_and_flag_the_changed(
    tmp_path: Path,
) -> None:
    """Paired by doc_id in shuffled files: beside each of b's wrong answers, a's verdict on the
    same document; rows are flagged changed exactly where a was right."""
    rng = np.random.default_rng(1)
    a_ok, b_ok = rng.random(120) < 0.5, rng.random(120) < 0.6
    a = write_samples(tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl", a_ok)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = write_samples(
        b_dir / "samples_arc_easy_2024-05-01T11-00-00.jsonl", b_ok, order=rng.permutation(120)
    )
    report = build_report([f"a={a}", f"b={b}"], bootstrap=0, top_k=500)
    tables = [t for s in report.sections for t in s.tables if t.title.startswith("b: wrong")]
    (table,) = tables
    assert table.header[-2:] == ["a answer", "a accuracy"] and table.changed_vs == "a"
    ids = [int(row[0].text) for row in table.rows]
    assert sorted(ids) == sorted(np.flatnonzero(~b_ok).tolist())  # every wrong answer of b
    assert [row[-1].text for row in table.rows] == ["right" if a_ok[i] else "wrong" for i in ids]
    assert table.changed == [bool(a_ok[i]) for i in ids]
    page = report.to_html()
    assert page.count('data-changed="yes"') == sum(a_ok[i] for i in ids)
    assert 'data-changed-vs="a"' in page
    base_tables = [t for s in report.sections for t in s.tables if t.title.startswith("a: wrong")]
    assert base_tables[0].changed is None  # the baseline is not compared with itself


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
    # not JSON lists (``[Australia, Italy]`` as simple-evals writes them): read as text, noted
    # (before: refused, "'label' at line 2 starts with '[' but is not a JSON list")
    written = tmp_path / "written.csv"
    frame.assign(label=["[oops", "[1]", "[Australia, Italy]", "[3]"]).to_csv(written, index=False)
    (run,) = load_source(written).runs
    assert run.references == [["[oops"], ["1"], ["[Australia, Italy]"], ["3"]]
    assert any("2 references in 'label' start with '['" in n for n in run.notes)


def llm_runs(tmp_path: Path, name_a: str = "base", name_b: str = "instruct") -> list[str]:
    rng = np.random.default_rng(0)
    base, chat = lookalike(tmp_path)
    runs = [f"{name_a}={base}", f"{name_b}={chat}"]
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
    arc = json.loads((lookalike(tmp_path)[0] / MAIN).read_text())["results"]["arc_challenge"]
    assert bench["models"]["base"]["arc_challenge"] == {
        "metric": "acc_norm",
        "filter": "none",
        "value": arc["acc_norm,none"],
        "stderr": arc["acc_norm_stderr,none"],
        "n_shot": 25,
        "version": "1",
        "higher_is_better": True,
    }
    assert bench["models"]["instruct"]["gsm8k"]["filter"] == "flexible-extract"
    assert "mmlu_philosophy" in bench["tasks"]
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
    assert scopes == {"perplexity", "generation", "benchmark"}  # lm-eval tasks' z-tests too
    tasks = [c for c in data["comparisons"] if c["scope"] == "benchmark"]
    assert {c["test"] for c in tasks} == {"z-test"}
    assert all(c["correction"] in ("Holm", "none") for c in tasks if c["p_value"] is not None)
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
        app,
        [
            "build",
            f"m={lookalike(tmp_path)[0]}",
            "--benchmark-metric",
            "gsm8k",
            "-o",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 2 and "write TASK=METRIC" in result.output
    result = runner.invoke(
        app,
        [
            "build",
            f"m={lookalike(tmp_path)[0]}",
            "--history",
            "m=nothing.csv",
            "-o",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 2 and "nothing.csv: file not found" in result.output
    assert not (tmp_path / "r.html").exists()


def hostile_lm_report(tmp_path: Path) -> tuple[Path, int]:
    """An LLM report whose model names, task names, aliases, prompts and answers are hostile."""
    folder = tmp_path / "hostile-lm-eval"
    shutil.copytree(lookalike(tmp_path)[1], folder)
    arc = json.loads((folder / MAIN).read_text())
    arc["results"][HOSTILE] = dict(arc["results"]["arc_challenge"], alias=HOSTILE)
    arc["n-shot"][HOSTILE] = 3
    (folder / MAIN).write_text(json.dumps(arc))
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


def test_a_group_without_an_aggregate_gets_a_computed_sample_weighted_score(
    tmp_path: Path,
) -> None:
    base, chat = lookalike(tmp_path)
    raw = json.loads((base / MAIN).read_text())
    members = raw["group_subtasks"]["leaderboard_bbh"]
    values = [raw["results"][t]["acc_norm,none"] for t in members]
    sizes = [raw["n-samples"][t]["effective"] for t in members]
    errors = [raw["results"][t]["acc_norm_stderr,none"] for t in members]
    report = build_report([f"base={base}", f"chat={chat}"], timestamp=False)
    table = report.result("lm-eval results").table
    bbh = table.scores["base"]["leaderboard_bbh"]
    assert bbh.value == pytest.approx(np.average(values, weights=sizes), abs=1e-12)
    weights = np.array(sizes) / sum(sizes)
    assert bbh.stderr == pytest.approx(math.sqrt(np.sum(weights**2 * np.array(errors) ** 2)))
    assert bbh.computed == "mean of 2 subtasks (computed, sample-weighted)"
    assert not any("lacks" in w for w in table.warnings)
    assert table.depth["leaderboard_bbh"] == 0
    assert table.shown.index("leaderboard_bbh_boolean_expressions") == (
        table.shown.index("leaderboard_bbh") + 1
    )  # the subtasks sit under their own group
    board = report.leaderboard
    assert board is not None and "leaderboard_bbh (acc_norm, computed mean)" in board.header
    assert "mean of 2 subtasks (computed, sample-weighted)" in report.to_html()
    # without sample counts the mean is unweighted, and says so
    del raw["n-samples"]
    (base / MAIN).write_text(json.dumps(raw))
    unweighted = build_report([f"base={base}"], timestamp=False)
    score = unweighted.result("lm-eval results").table.scores["base"]["leaderboard_bbh"]
    assert score.value == pytest.approx(np.mean(values))
    assert score.computed == "mean of 2 subtasks (computed, unweighted: sample counts unknown)"


WILD = SHARED.parent / "lm-eval-wild"


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/data/lm-eval-wild is absent")
def test_open_llm_leaderboard_v2_shows_all_six_benchmarks() -> None:
    folder = WILD / "leaderboard-v2" / "meta-llama__Llama-3.1-8B-Instruct"
    report = build_report([f"llama={folder}"], timestamp=False)
    table = report.result("lm-eval results").table
    six = [
        "leaderboard_ifeval",
        "leaderboard_bbh",
        "leaderboard_math_hard",
        "leaderboard_gpqa",
        "leaderboard_musr",
        "leaderboard_mmlu_pro",
    ]
    board = report.leaderboard
    assert board is not None
    assert all(any(h.startswith(f"{t} (") for h in board.header) for t in six)
    assert not any("lacks" in w for w in table.warnings)
    (raw_file,) = folder.glob("results_*.json")
    raw = json.loads(raw_file.read_text())
    members = raw["group_subtasks"]["leaderboard_gpqa"]
    values = [raw["results"][t]["acc_norm,none"] for t in members]
    sizes = [raw["n-samples"][t]["effective"] for t in members]
    gpqa = table.scores["llama"]["leaderboard_gpqa"]
    assert gpqa.value == pytest.approx(np.average(values, weights=sizes), abs=1e-12)
    assert gpqa.computed is not None and "3 subtasks" in gpqa.computed


def _output_folder(tmp_path: Path) -> Path:
    """lm-eval's usual layout: OUT/<model_sanitized>/results_<date>.json, two models."""
    out = tmp_path / "OUT"
    write_lmeval_results(out / "demo__demo-lm-7b", "demo-lm-7b", 0)
    write_lmeval_results(out / "demo__demo-lm-7b-chat", "demo-lm-7b-chat", 1)
    return out


def test_a_folder_of_several_models_is_one_run_per_model(tmp_path: Path) -> None:
    out = _output_folder(tmp_path)
    runs = load_source(out).runs
    assert [r.name for r in runs] == ["demo/demo-lm-7b", "demo/demo-lm-7b-chat"]
    assert all(len(r.files) == 2 for r in runs)
    assert runs[0].metadata["model"] == "demo/demo-lm-7b"
    assert runs[0].metadata["batch size"] == "auto" and runs[0].metadata["dtype"] == "bfloat16"
    assert runs[0].metadata["limit"] == "50"
    assert runs[0].metadata["date"] == "2026-01-10 10:00 UTC, 2026-01-11 09:30 UTC"
    with pytest.raises(ReportgenError, match=r"holds the results of 2 models .*demo/demo-lm-7b in"):
        load_source(f"x={out}")


def test_files_of_two_models_under_one_name_are_refused(tmp_path: Path) -> None:
    out = _output_folder(tmp_path)
    a = out / "demo__demo-lm-7b" / MAIN
    b = out / "demo__demo-lm-7b-chat" / MAIN
    with pytest.raises(ReportgenError, match=r"files of two models .*demo/demo-lm-7b-chat"):
        load_sources([f"m={a}", f"m={b}"])


def test_one_model_given_twice_is_merged_and_identical_runs_are_repeats(tmp_path: Path) -> None:
    out = _output_folder(tmp_path)
    folder = out / "demo__demo-lm-7b"
    main, limited = folder / MAIN, next(p for p in folder.glob("results_*") if p != folder / MAIN)
    merged = load_sources([f"m={main}", f"m={limited}"]).runs
    assert len(merged) == 1 and {"arc_challenge", "leaderboard_ifeval"} <= set(merged[0].tasks)
    # a re-run of the main suite: the same tasks again, one value moved
    again = json.loads(main.read_text())
    again["date"] += 3600
    again["results"]["arc_challenge"]["acc_norm,none"] += 0.02
    rerun = folder / "results_2026-01-10T11-00-00.000000.json"
    rerun.write_text(json.dumps(again))
    run = benchmark(folder)
    arc = run.tasks["arc_challenge"]
    first = json.loads(main.read_text())["results"]["arc_challenge"]
    values = [first["acc_norm,none"], first["acc_norm,none"] + 0.02]
    assert arc.repeats["acc_norm,none"] == pytest.approx(values)
    assert arc.metrics["acc_norm,none"] == pytest.approx(np.mean(values))
    se = math.sqrt(first["acc_norm_stderr,none"] ** 2 + np.var(values, ddof=1) / 2)
    assert arc.stderrs["acc_norm,none"] == pytest.approx(se)
    assert sum("they are repeats" in n for n in run.notes) == 1


def test_git_lfs_pointers_are_named_and_skipped_in_folders(tmp_path: Path) -> None:
    base, _ = lookalike(tmp_path)
    pointer = base / "samples_arc_challenge_2026-01-10T10-00-00.000000.jsonl"
    pointer.write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123\n"
    )
    with pytest.raises(ReportgenError, match=r"a Git LFS pointer, not the file; run git lfs pull"):
        load_source(f"m={pointer}")
    (run,) = load_source(f"m={base}").runs
    assert any("Git LFS pointer" in n and pointer.name in n for n in run.notes)


def test_a_limit_subset_is_badged_on_the_leaderboards(tmp_path: Path) -> None:
    base, chat = lookalike(tmp_path)
    report = build_report([f"base={base}", f"chat={chat}"], timestamp=False)
    board = report.leaderboard
    assert board is not None
    assert "leaderboard_ifeval (prompt_level_strict_acc) · subset: 50 of 541" in board.header
    table = report.result("lm-eval results").table
    assert table.scores["base"]["leaderboard_ifeval"].subset == "subset: 50 of 541"
    assert table.scores["base"]["arc_challenge"].subset is None
    page = report.to_html()
    assert "subset: 50 of 541" in page
    runs = {r["name"]: r for r in report.summary()["runs"] if r["task"] == "benchmark"}
    assert runs["base"]["metadata"]["limit"] == "50"
    ifeval = report.summary()["benchmarks"]["models"]["base"]["leaderboard_ifeval"]
    assert ifeval["subset"] == "subset: 50 of 541"


def test_every_value_is_shown_whatever_its_range(tmp_path: Path) -> None:
    base, chat = lookalike(tmp_path)
    for folder, judge, mcc, ppl in ((base, 61.5, -0.12, float("inf")), (chat, 70.25, 0.31, 9.5)):
        main = json.loads((folder / MAIN).read_text())
        main["results"]["judge"] = {"alias": "judge", "score,none": judge}
        main["results"]["cola"] = {"alias": "cola", "mcc,none": mcc, "mcc_stderr,none": 0.03}
        main["results"]["wikitext"]["word_perplexity,none"] = ppl
        (folder / MAIN).write_text(json.dumps(main))  # json writes Infinity, as lm-eval does
    report = build_report([f"base={base}", f"chat={chat}"], timestamp=False)
    board = report.leaderboard
    assert board is not None
    headers = " | ".join(board.header)
    for task in ("judge (score)", "cola (mcc)", "wikitext (word_perplexity)"):
        assert task in headers
    column = board.header.index(next(h for h in board.header if h.startswith("wikitext")))
    assert board.rows[0][column].text == "Infinity"
    table = report.result("lm-eval results").table
    assert table.scores["base"]["cola"].value == -0.12
    assert any("not finite" in w and "wikitext (base Infinity)" in w for w in table.warnings)
    assert not any(d.task == "wikitext" for d in table.deltas)  # shown, not compared
    (bars,) = [f for s in report.sections for f in s.figures if f.id == "benchmark-bars"]
    assert "judge (score: values outside [0, 1])" in bars.lead
    assert "wikitext (word_perplexity: a value is not finite)" in bars.lead
    assert "None" not in " ".join(table.warnings)


def test_truthfulqa_follows_the_leaderboards_mc2(tmp_path: Path) -> None:
    old = tmp_path / "old.json"  # harness 0.3: mc1 and mc2 of one task
    old.write_text(
        json.dumps(
            {
                "results": {"truthfulqa_mc": {"mc1": 0.23, "mc1_stderr": 0.015, "mc2": 0.45}},
                "versions": {"truthfulqa_mc": 1},
            }
        )
    )
    table = benchmark_table([benchmark(old)], None, {})
    assert table.scores["m"]["truthfulqa_mc"].metric == "mc2"
    assert table.scores["m"]["truthfulqa_mc"].value == 0.45
    new = tmp_path / "new.json"  # harness 0.4: a group of mc1, mc2 and gen
    new.write_text(
        json.dumps(
            {
                "results": {
                    "truthfulqa": {
                        "acc,none": 0.35,
                        "acc_stderr,none": 0.01,
                        "alias": "truthfulqa",
                    },
                    "truthfulqa_mc1": {"acc,none": 0.27, "acc_stderr,none": 0.015},
                    "truthfulqa_mc2": {"acc,none": 0.43, "acc_stderr,none": 0.014},
                },
                "group_subtasks": {"truthfulqa": ["truthfulqa_mc2", "truthfulqa_mc1"]},
            }
        )
    )
    report = build_report([f"m={new}"], timestamp=False)
    score = report.result("lm-eval results").table.scores["m"]["truthfulqa"]
    assert score.value == 0.43 and score.shown_metric == "mc2"
    assert report.leaderboard is not None and "truthfulqa (mc2)" in report.leaderboard.header
    override = benchmark_table([benchmark(new)], None, {"truthfulqa": "acc"})
    assert override.scores["m"]["truthfulqa"].value == 0.35


def test_a_bare_results_object_is_read_and_other_objects_get_a_clear_error(
    tmp_path: Path,
) -> None:
    bare = tmp_path / "bare.json"
    bare.write_text(
        json.dumps({"arc_easy": {"acc": 0.71, "acc_stderr": 0.01}, "piqa": {"acc": 0.8}})
    )
    run = benchmark(bare)
    assert run.tasks["arc_easy"].metrics == {"acc,none": 0.71}
    assert run.tasks["piqa"].stderrs == {}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model": "x", "score": 3}))
    with pytest.raises(
        ReportgenError, match=r"other.json: a JSON object of none of the formats tried \(lm-eval"
    ):
        load_source(other)


def _continuous_log(path: Path, bleu: np.ndarray) -> Path:
    lines = [
        json.dumps(
            {
                "doc_id": i,
                "doc": {"question": f"q{i}"},
                "target": "an answer",
                "arguments": [[f"q{i}", {"until": ["\\n"]}]],
                "resps": [[f"answer {i}"]],
                "filtered_resps": [f"answer {i}"],
                "filter": "none",
                "metrics": ["bleu_max"],
                "bleu_max": None if not np.isfinite(b) else float(b),
            }
        )
        for i, b in enumerate(bleu)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sample_logs_with_continuous_metrics(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 40, 200)
    cand = np.clip(base + rng.normal(3, 5, 200), 0, None)
    a = _continuous_log(tmp_path / "samples_truthfulqa_gen_2025-01-01T00-00-00.jsonl", base)
    (tmp_path / "b").mkdir()
    b = _continuous_log(tmp_path / "b" / "samples_truthfulqa_gen_2025-01-02T00-00-00.jsonl", cand)
    report = build_report([f"a={a}", f"b={b}"], timestamp=False, bootstrap=300)
    (comparison,) = report.result("lm-eval samples").comparisons
    assert comparison.test == "bootstrap-paired"  # not McNemar: the metric is not 0/1
    assert comparison.delta == pytest.approx(cand.mean() - base.mean())
    (section,) = [s for s in report.sections if s.id.startswith("text-samples")]
    titles = [t.title for t in section.tables]
    assert any(t.startswith("b: largest drops (") for t in titles)
    assert any(t.startswith("b: largest gains (") for t in titles)
    assert "a: lowest bleu" in " ".join(titles).lower()
    assert not any("wrong answers" in t or "newly" in t for t in titles)
    gains = next(t for t in section.tables if t.title.startswith("b: largest gains"))
    first = int(gains.rows[0][0].text)
    assert first == int(np.argmax(cand - base))
    broken = base.copy()
    broken[[4, 9]] = np.nan
    bad = _continuous_log(tmp_path / "samples_x_2025-01-01T00-00-00.jsonl", broken)
    with pytest.raises(
        ReportgenError, match=r"'bleu_max' is not a finite number at line 5, line 10"
    ):
        load_source(f"m={bad}")


def test_loglikelihood_answers_and_deltas_on_shared_documents(tmp_path: Path) -> None:
    from reportgen.ingest.lmeval_samples import _response_text

    # one continuation (asdiv-like), numbers written as strings
    one = _response_text([["-9.5e-07", "True"]], {"gen_args_0": {"arg_0": "Q", "arg_1": " 9"}})
    assert one == "9 (log-prob -9.5e-07, greedy)"
    two = _response_text([[-2.0, False], [-0.5, True]], [["Q", " yes"], ["Q", " no"]])
    assert two == "no"
    # runs on different documents: the delta is on the shared ones, and says so
    rng = np.random.default_rng(1)
    a = write_samples(
        tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl", rng.random(300) < 0.6
    )
    (tmp_path / "b").mkdir()
    b = write_samples(
        tmp_path / "b" / "samples_arc_easy_2024-05-01T11-00-00.jsonl",
        rng.random(300) < 0.6,
        order=np.arange(100, 300),
    )
    report = build_report([f"a={a}", f"b={b}"], timestamp=False, bootstrap=100)
    (comparison,) = report.result("lm-eval samples").comparisons
    assert comparison.n_paired == 200 and comparison.shared_only
    board = report.leaderboard
    assert board is not None
    assert any("on 200 shared" in (c.sub or "") for row in board.rows for c in row)


def test_old_files_without_directions_count_perplexity_and_bits_per_byte_lower(
    tmp_path: Path,
) -> None:
    """0.3-style files carry no higher_is_better: the registry gives the direction."""
    runs = []
    for name, bits in (("a", 0.70), ("b", 0.65)):
        path = tmp_path / f"{name}.json"
        results = {
            "wikitext": {
                "bits_per_byte": bits,
                "byte_perplexity": 2**bits,
                "word_perplexity": 14.0,
            },
            "lambada_openai": {
                "ppl": 4.0 + bits,
                "ppl_stderr": 0.1,
                "acc": 0.6,
                "acc_stderr": 0.01,
            },
        }
        path.write_text(json.dumps({"results": results, "versions": {"wikitext": 0}}))
        runs.append(f"{name}={path}")
    report = build_report(runs, timestamp=False)
    table = report.result("lm-eval results").table
    wikitext = table.scores["b"]["wikitext"]
    assert wikitext.metric == "bits_per_byte" and wikitext.higher_is_better is False
    board = report.leaderboard
    assert board is not None
    column = next(i for i, h in enumerate(board.header) if h.startswith("wikitext"))
    bold = [row[0].text for row in board.rows if row[column].best]
    assert bold == ["b"]  # the lower bits per byte is the better one
    assert "lower is better for wikitext (bits_per_byte)" in board.caption


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/data/lm-eval-wild is absent")
def test_real_old_fixtures_directions() -> None:
    fixtures = WILD / "harness-fixtures"
    for stem, task in (("wikitext-v1-res", "wikitext"), ("pile_arxiv-v1-res", "pile_arxiv")):
        table = benchmark_table([benchmark(fixtures / f"{stem}.json")], None, {})
        score = table.scores["m"][task]
        assert score.metric == "bits_per_byte" and score.higher_is_better is False
    lambada = benchmark_table(
        [benchmark(fixtures / "lambada_openai-v2.0-res.json")], None, {"lambada_openai": "ppl"}
    )
    assert lambada.scores["m"]["lambada_openai"].higher_is_better is False


@pytest.mark.skipif(not WILD.is_dir(), reason="../shared/data/lm-eval-wild is absent")
def test_real_output_folders() -> None:
    multi = WILD / "multi-model-folder"
    runs = load_source(multi).runs
    assert [r.name for r in runs] == ["qwen/qwen2.5-1.5B", "qwen/qwen2.5-3B", "qwen/qwen2.5-7B"]
    with pytest.raises(ReportgenError, match=r"holds the results of 3 models"):
        load_source(f"qwen={multi}")
    repeated = load_source(WILD / "repeated-runs").runs
    (bench,) = [r for r in repeated if hasattr(r, "files")]
    assert len(bench.files) == 4 and any("4 files hold the same 4 tasks" in n for n in bench.notes)
    logs = [r for r in repeated if not hasattr(r, "files")]
    assert len(logs) == 12 and all(
        r.repeat and r.repeat.startswith("run 2026-07-08T") for r in logs
    )
    report = build_report([WILD / "repeated-runs"], timestamp=False, bootstrap=100)
    assert report.result("lm-eval samples").repeats  # the sample logs' repeats are one row each
    v2 = load_source(WILD / "leaderboard-v2").runs
    assert any("Git LFS pointer" in n for r in v2 for n in r.notes)


def test_run_details_read_as_people_write_them() -> None:
    from reportgen.ingest.lmeval import run_details

    details = run_details(
        [
            {
                "lm_eval_version": "0.4.7",
                "date": 1737783980.8,
                "config": {"limit": 512.0, "batch_size": "auto:4", "model_dtype": "torch.float16"},
            },
            {"config": {"model_args": {"pretrained": "x", "dtype": "bfloat16"}, "limit": None}},
        ]
    )
    assert details == {
        "harness": "lm-eval 0.4.7",
        "date": "2025-01-25 05:46 UTC",
        "limit": "512",
        "batch size": "auto:4",
        "dtype": "torch.float16, bfloat16",
    }


def test_sample_logs_that_disagree_on_a_target_are_not_paired_silently(tmp_path: Path) -> None:
    a = write_samples(tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl", np.ones(20, bool))
    (tmp_path / "b").mkdir()
    b = tmp_path / "b" / "samples_arc_easy_2024-05-01T11-00-00.jsonl"
    lines = [json.loads(line) for line in a.read_text().splitlines()]
    for line in lines:
        if line["doc_id"] == 7:
            line["target"] = 99
    b.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(ReportgenError, match=r"disagree on the target of id 7 \('3' against '99'"):
        build_report([f"a={a}", f"b={b}"], timestamp=False, bootstrap=0)


def _huge_results(path: Path, model: str, shift: float, group: bool) -> Path:
    rng = np.random.default_rng(7)
    names = [f"sub_{i:04d}" for i in range(1_600)]
    results = {
        n: {"alias": n, "acc,none": float(rng.uniform(0.2, 0.8) + shift), "acc_stderr,none": 0.01}
        for n in names
    }
    data: dict[str, object] = {
        "results": results,
        "config": {"model": "hf", "model_args": f"pretrained=org/{model}"},
    }
    if group:
        results["huge"] = {"alias": "huge", "acc,none": 0.5, "acc_stderr,none": 0.002}
        data["groups"] = {"huge": results["huge"]}
        data["group_subtasks"] = {"huge": names}
    path.write_text(json.dumps(data))
    return path


def test_a_group_of_1600_subtasks_gets_a_bounded_heatmap_and_a_full_table(
    tmp_path: Path,
) -> None:
    from reportgen.kinds.lmeval_results.views import HEATMAP_SIDE

    runs = [
        str(_huge_results(tmp_path / f"results_{m}.json", m, s, group=True))
        for m, s in (("a", 0.0), ("b", 0.01))
    ]
    report = build_report(runs, timestamp=False)
    (figure,) = [f for s in report.sections for f in s.figures if f.id.startswith("subtasks-")]
    drawn = {v["subtask"] for v in figure.spec["datasets"].values() for v in v}  # type: ignore[index]
    assert len(drawn) == 2 * HEATMAP_SIDE and "40 largest gains" in figure.title
    assert figure.table is not None and len(figure.table.rows) == 1_600
    assert "<svg" in report.to_html()  # the static fallback draws it (vl-convert crashed)


def test_1600_top_level_tasks_are_bars_for_the_first_40_and_rows_for_all(tmp_path: Path) -> None:
    from reportgen.kinds.lmeval_results.views import MAX_BAR_TASKS

    runs = [
        str(_huge_results(tmp_path / f"results_{m}.json", m, s, group=False))
        for m, s in (("a", 0.0), ("b", 0.01))
    ]
    report = build_report(runs, timestamp=False)
    (bars,) = [f for s in report.sections for f in s.figures if f.id == "benchmark-bars"]
    drawn = {v["task"] for v in bars.spec["datasets"].values() for v in v}  # type: ignore[index]
    assert len(drawn) == MAX_BAR_TASKS and "all are in the leaderboard" in bars.lead
    (board,) = [t for s in report.sections for t in s.tables if t.title == "Benchmark leaderboard"]
    assert len(board.rows) == 1_600
    assert "<svg" in report.to_html()


def _results_with_groups(path: Path, groups: dict[str, list[str]], **keys: object) -> Path:
    results: dict[str, dict[str, object]] = {
        leaf: {"alias": leaf, "acc,none": 0.5 + i / 10, "acc_stderr,none": 0.01}
        for i, leaf in enumerate(["leaf_a", "leaf_b"])
    }
    results |= {g: {"alias": g, " ": " "} for g in groups}
    path.write_text(json.dumps({"results": results, "group_subtasks": groups, **keys}))
    return path


def test_groups_sharing_subgroups_are_walked_once_and_a_cycle_is_refused(tmp_path: Path) -> None:
    """58 groups, each listing the next two as subgroups: 2^28 paths to the two leaf tasks,
    which the group walk followed one by one (it never finished); each group is walked once.
    A group that contains itself through its subgroups is an error naming the cycle."""
    from reportgen.ingest.lmeval import group_leaves

    from .conftest import build_cli

    shared = {f"g{i}": [f"g{i + 1}", f"g{i + 2}"] for i in range(56)}
    shared |= {"g56": ["leaf_a", "leaf_b"], "g57": ["leaf_b", "leaf_a"]}
    assert group_leaves(shared)["g0"] == ["leaf_a", "leaf_b"]
    path = _results_with_groups(tmp_path / "shared.json", shared)
    done = build_cli(
        str(path), "-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json"), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "leaf_a" in (tmp_path / "r.json").read_text()

    cycle = _results_with_groups(
        tmp_path / "cycle.json", {"a": ["b", "leaf_a"], "b": ["c"], "c": ["a"]}
    )
    done = build_cli(str(cycle), "-o", str(tmp_path / "c.html"), timeout=60)
    assert done.returncode == 2 and not (tmp_path / "c.html").exists()
    assert done.stderr.strip().splitlines() == [
        f"reportgen: error: {cycle}: group_subtasks has a cycle: a -> b -> c -> a (a group "
        "cannot contain itself through its subgroups); fix group_subtasks"
    ]
    # a cycle made by two files of one model, merged: both files named
    one = _results_with_groups(tmp_path / "one.json", {"a": ["b", "leaf_a"]}, date=1.0)
    two = _results_with_groups(tmp_path / "two.json", {"b": ["a", "leaf_b"]}, date=2.0)
    done = build_cli(f"m={one}", f"m={two}", "-o", str(tmp_path / "m.html"), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "(one.json, two.json): group_subtasks has a cycle: a -> b -> a" in done.stderr


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('"date": 1e20', "'date' should be a Unix time in seconds"),
        ('"date": NaN', "'date' should be a Unix time in seconds"),
        ('"date": -1e300', "'date' should be a Unix time in seconds"),
        ('"date": "yesterday"', "'date' should be a Unix time in seconds"),
        (
            '"higher_is_better": {"arc": {"acc": "false"}}',
            "higher_is_better['arc']['acc'] should be true or false (not \"false\")",
        ),
        (
            '"configs": {"arc": {"metric_list": [{"metric": "acc", "higher_is_better": "false"}]}}',
            "configs['arc'].metric_list[0].higher_is_better should be true or false",
        ),
    ],
)
def test_unusable_dates_and_directions_written_as_text_are_refused(
    tmp_path: Path, text: str, named: str
) -> None:
    """A date no calendar has (1e20, NaN, -1e300) was an internal error; "false" as a
    direction was read as true (lower-is-better metrics ranked the wrong way)."""
    path = tmp_path / "results.json"
    path.write_text('{"results": {"arc": {"acc,none": 0.5}}, ' + text + "}")
    result = CliRunner().invoke(app, ["build", str(path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2, result.output
    assert f"{path}: {named}" in result.output and "fix or remove it" in result.output
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("doc_id", "said"),
    [
        ({"id": 3}, "id column 'doc_id' holds an object at line 7"),
        ([3, 4], "id column 'doc_id' holds a list at line 7"),
        (None, "doc_id is missing (null or empty) at line 7"),
    ],
)
def test_a_doc_id_that_is_not_one_value_names_the_line(
    tmp_path: Path, doc_id: object, said: str
) -> None:
    """An object or list as doc_id was an internal error (or paired silently); the line is
    the file's (two filters per document), not the row among the first filter's."""
    path = write_samples(tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl", np.ones(5, bool))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[6]["doc_id"] = doc_id
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(app, ["build", str(path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and f"{path}: {said}" in result.output, result.output


def test_a_repeated_doc_id_is_located_in_the_file_not_among_the_filtered_rows(
    tmp_path: Path,
) -> None:
    path = write_samples(
        tmp_path / "samples_arc_easy_2024-05-01T10-00-00.jsonl",
        np.ones(2, bool),
        order=np.array([0, 1, 0]),
    )
    with pytest.raises(ReportgenError, match=r"doc_id 0 appears twice at line 5 for one filter"):
        load_source(path)
