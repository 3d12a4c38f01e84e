"""Language-model evaluations -> the report's tables and figures: perplexity, generation and
lm-eval sample logs, lm-eval benchmark results, efficiency and training curves.

Sizes stay bounded: distributions are pre-binned, histories simplified, example lists capped
at ``top_k``, and a large group's subtasks (MMLU's 57 subjects) drawn as one sorted heatmap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.ingest.language import BenchmarkRun, History, PerplexityRun, TextRun
from reportgen.ingest.tabular import MultilabelRun, RegressionRun
from reportgen.kinds.benchmarks import Z95, BenchmarkTable
from reportgen.kinds.classification.assess import Comparison
from reportgen.kinds.classification.curves import simplify_bounded
from reportgen.kinds.classification.sections import (
    TEXT_HOVER,
    TEXT_PREVIEW,
    _delta_cell_parts,
    _interval_text,
    _model_cell,
    _slug,
    best_index,
    comparison_views,
    metadata_items,
)
from reportgen.kinds.perplexity_metrics import example_perplexity
from reportgen.kinds.sums import LanguageAssessment, LanguageResult, LMSlices
from reportgen.model import PALETTE, Cell, Figure, RunInfo, Section, Table, chart

DISTRIBUTION_BINS = 40
LEADERBOARD_METRICS = {"generation": 2, "regression": 3, "multilabel": 4}  # else 1 per group
HISTORY_POINTS = 300  # per (model, split, metric) series
EFFICIENCY_ORDER = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "examples_per_s",
    "tokens_per_s",
    "cost_per_1k",
    "prompt_tokens_mean",
    "completion_tokens_mean",
)


def label(metric: str) -> str:
    return registry.label(metric)


def value_text(metric: str, value: float | None) -> str:
    return registry.format_value(metric, value)


def metric_heading(group: str, metric: str) -> str:
    """A metric named with the runs it comes from, when the metric alone is ambiguous."""
    if group in ("perplexity", "generation", "regression", "multilabel"):
        return label(metric)
    return f"{label(metric)} ({group.removeprefix('samples:')} samples)"


def group_title(group: str) -> str:
    if group == "perplexity":
        return "Perplexity"
    if group == "generation":
        return "Generation (exact match, token F1)"
    if group in ("regression", "multilabel"):
        return group.capitalize()
    return f"lm-eval samples: {group.removeprefix('samples:')}"


def _short(text: str) -> Cell:
    short = text if len(text) <= TEXT_PREVIEW else text[:TEXT_PREVIEW] + "…"
    return Cell(short, title=text[:TEXT_HOVER] if short != text else None, css="text")


# --- runs ------------------------------------------------------------------------------------


def run_info(
    run: PerplexityRun | TextRun | BenchmarkRun | RegressionRun | MultilabelRun, colour: str
) -> RunInfo:
    if isinstance(run, BenchmarkRun):
        n_tasks = len(run.tasks)
        return RunInfo(
            name=run.name,
            colour=colour,
            path=str(run.path),
            sha256=run.sha256,
            n_examples=fmt.count(run.n_examples) if run.n_examples else fmt.MISSING,
            task=f"lm-eval results ({n_tasks} task{'s' if n_tasks != 1 else ''})",
            classes=None,
            positive_label=None,
            predictions_from=None,
            columns=[("files", ", ".join(p.name for p in run.files))],
            metadata=metadata_items(run.metadata),
            notes=run.notes,
        )
    kind = f"{run.kind} ({run.task})" if isinstance(run, TextRun) else run.kind
    classes = None
    if isinstance(run, MultilabelRun):
        shown = ", ".join(run.label_names[:20]) + (", …" if len(run.label_names) > 20 else "")
        classes = f"{len(run.label_names)} labels: {shown}"
    return RunInfo(
        name=run.name,
        colour=colour,
        path=str(run.path),
        sha256=run.sha256,
        n_examples=fmt.count(run.n_examples),
        task=kind,
        classes=classes,
        positive_label=None,
        predictions_from=None,
        columns=sorted(run.columns.items()),
        metadata=metadata_items(run.metadata),
        notes=run.notes,
    )


# --- leaderboard -----------------------------------------------------------------------------


def leaderboard(
    models: Sequence[str],
    colours: dict[str, str],
    assessment: LanguageAssessment | None,
    table: BenchmarkTable | None,
    baseline: str,
) -> Table:
    """One row per model: each kind's headline metrics and the benchmark suites' top-level
    scores; deltas against the baseline under the candidates' values."""
    columns: list[tuple[str, str, str]] = []  # (source key, metric, header)
    values: dict[tuple[str, str], dict[str, float | None]] = {}
    intervals: dict[tuple[str, str], dict[str, str]] = {}
    deltas: dict[tuple[str, str, str], Comparison] = {}
    higher: dict[tuple[str, str], bool] = {}
    if table is not None:
        for task in table.shown:
            if table.depth[task] != 0:
                continue
            present = [table.scores[m][task] for m in table.models if task in table.scores[m]]
            if not present or any(not 0 <= s.value <= 1 for s in present):
                continue
            key = ("benchmark", task)
            higher[key] = present[0].higher_is_better
            columns.append(("benchmark", task, f"{table.aliases[task]} ({present[0].metric})"))
            values[key] = {
                m: table.scores[m][task].value for m in table.models if task in table.scores[m]
            }
            intervals[key] = {
                m: (
                    f"± {fmt.rate(table.scores[m][task].stderr)} stderr"
                    if table.scores[m][task].stderr is not None
                    else ""
                )
                for m in table.models
                if task in table.scores[m]
            }
        for d in table.deltas:
            deltas[("benchmark", d.task, d.candidate)] = d.as_comparison(table.baseline)
    if assessment is not None:
        for group in dict.fromkeys(r.group for r in assessment.results):
            members = [r for r in assessment.results if r.group == group]
            shown = members[0].headline[: LEADERBOARD_METRICS.get(group, 1)]
            for metric in shown:
                key = (group, metric)
                columns.append((group, metric, metric_heading(group, metric)))
                values[key] = {r.name: r.metrics.get(metric) for r in members}
                intervals[key] = {r.name: _interval_text(r.intervals.get(metric)) for r in members}
        for c in assessment.comparisons:
            deltas[(c.scope, c.metric, c.candidate)] = c
    header = ["Model", *[h for _, _, h in columns]]
    rows = []
    for model in models:
        cell = _model_cell(model, colours)
        if model == baseline and len(models) > 1:
            cell.sub, cell.sub_css = "baseline", "tag"
        row = [cell]
        for group, metric, _ in columns:
            key = (group, metric)
            shown_values = [values[key].get(m) for m in models]
            best = registry.best_indices(
                shown_values, higher.get(key, registry.higher_is_better(metric))
            )
            value = values[key].get(model)
            css = "num" + (" best" if models.index(model) in best else "")
            c = Cell(value_text(metric, value), title=intervals[key].get(model) or None, css=css)
            if value is None:
                c.css += " missing"
            comparison = deltas.get((group, metric, model))
            if comparison is not None and comparison.delta is not None:
                c.sub, c.sub_css = _delta_cell_parts(comparison)
                c.title = (
                    c.title or ""
                ) + f"; Δ {_interval_text(comparison.ci)}, {comparison.verdict}"
            row.append(c)
        rows.append(row)
    lower = [h for g, m, h in columns if not higher.get((g, m), registry.higher_is_better(m))]
    caption = (
        "Best value per column in bold"
        + (f"; lower is better for {', '.join(lower)}" if lower else "")
        + ". Hover a value for its 95% interval"
        + (" (benchmarks: lm-eval's standard error)" if table is not None else "")
        + ". Under each candidate value: its difference from the baseline, coloured when "
        "significant, grey when not."
    )
    return Table(header, rows, caption=caption, numeric=[False, *[True] * len(columns)])


def verdict_line(assessment: LanguageAssessment | None, table: BenchmarkTable | None) -> str:
    parts = []
    if table is not None:
        for model in table.models:
            mine = [d for d in table.deltas if d.candidate == model and d.verdict != "untested"]
            if mine:
                better = sum(d.verdict == "better" for d in mine)
                worse = sum(d.verdict == "worse" for d in mine)
                parts.append(
                    f"{model} beats {table.baseline} on {better} of {len(mine)} benchmark tasks, "
                    f"is worse on {worse}"
                )
    if assessment is not None:
        for c in assessment.comparisons:
            if c.metric in ("perplexity", "exact_match") and c.verdict in (
                "better",
                "worse",
                "tie",
            ):
                word = {"better": "better", "worse": "worse", "tie": "no different"}[c.verdict]
                parts.append(
                    f"{c.candidate}'s {label(c.metric).lower()} is {word} "
                    f"({value_text(c.metric, c.candidate_value)} vs "
                    f"{value_text(c.metric, c.baseline_value)})"
                )
    return "; ".join(parts) + ("." if parts else "")


# --- comparisons -----------------------------------------------------------------------------


def comparison_section(
    assessment: LanguageAssessment, colours: dict[str, str], replicates: int, seed: int
) -> Section | None:
    return paired_comparison_section(
        assessment,
        colours,
        replicates,
        seed,
        section_id="lm-comparison",
        title="Language models against the baseline",
        lead="Is each candidate really different from its baseline on the same examples? "
        "Perplexity and F1 by the paired bootstrap, exact match and per-sample accuracy by "
        "McNemar's exact test",
        metric_name=lambda c: metric_heading(c.scope, c.metric),
        run_label=lambda group, name: f"{name} ({group_title(group)})",
    )


def paired_comparison_section(
    assessment: LanguageAssessment,
    colours: dict[str, str],
    replicates: int,
    seed: int,
    *,
    section_id: str,
    title: str,
    lead: str,
    metric_name: Callable[[Comparison], str],
    run_label: Callable[[str, str], str],
) -> Section | None:
    """Candidates against their baseline on per-example runs: the comparison table and chart,
    the pairing of each candidate, and how the intervals were drawn."""
    comparisons = [c for c in assessment.comparisons if c.delta is not None]
    if not comparisons:
        return None
    table, figure = comparison_views(
        comparisons,
        colours,
        section_id.replace("comparison", "improvements"),
        metric_name=metric_name,
        value_text=value_text,
    )
    section = Section(
        section_id,
        title,
        lead=f"{lead}; p-values Holm-corrected across these {len(comparisons)} tests.",
        tables=[table],
        figures=[figure] if figure is not None else [],
    )
    for (group, name), pairing in assessment.pairings.items():
        section.notes.append(f"{run_label(group, name)}: {pairing.note}")
    section.notes.append(
        f"Intervals: percentile bootstrap over examples, {replicates:,} replicates, seed {seed}."
    )
    return section


# --- perplexity ------------------------------------------------------------------------------


def _distribution(results: Sequence[LanguageResult]) -> pd.DataFrame:
    per_example = {
        r.name: example_perplexity(r.columns["nll"], r.columns["tokens"]) for r in results
    }
    finite = np.concatenate([v[np.isfinite(v)] for v in per_example.values()])
    low, high = np.log10(max(finite.min(), 1.0)), np.log10(max(finite.max(), 1.0 + 1e-9))
    if high - low < 1e-6:
        high = low + 0.1
    edges = np.logspace(low, high, DISTRIBUTION_BINS + 1)
    frames = []
    for name, values in per_example.items():
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "low": edges[:-1].round(6),
                    "high": edges[1:].round(6),
                    "mid": np.sqrt(edges[:-1] * edges[1:]).round(6),
                    "count": counts,
                    "share": (counts / max(1, len(values))).round(6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def perplexity_section(assessment: LanguageAssessment, colours: dict[str, str]) -> Section | None:
    results = [r for r in assessment.results if isinstance(r.run, PerplexityRun)]
    if not results:
        return None
    deltas = {
        c.candidate: c
        for c in assessment.comparisons
        if c.scope == "perplexity" and c.metric == "perplexity"
    }
    metrics = [
        m
        for m in ("perplexity", "mean_nll", "bits_per_byte")
        if any(m in r.metrics for r in results)
    ]
    header = ["Model", "Examples", "Tokens", *[label(m) for m in metrics], "95% CI of perplexity"]
    best = {m: best_index([r.metrics.get(m) for r in results], m) for m in metrics}
    rows = []
    for i, r in enumerate(results):
        row = [
            _model_cell(r.name, colours),
            Cell(fmt.count(r.run.n_examples), css="num"),
            Cell(fmt.count(int(r.columns["tokens"].sum())), css="num"),
        ]
        for m in metrics:
            c = Cell(
                value_text(m, r.metrics.get(m)),
                css="num" + (" best" if i in best[m] else ""),
                title=_interval_text(r.intervals.get(m)) or None,
            )
            if m == "perplexity" and r.name in deltas:
                c.sub, c.sub_css = _delta_cell_parts(deltas[r.name])
            row.append(c)
        ci = r.intervals.get("perplexity")
        row.append(
            Cell(f"{fmt.rate(ci[0])} to {fmt.rate(ci[1])}" if ci else fmt.MISSING, css="num")
        )
        rows.append(row)
    table = Table(
        header,
        rows,
        title="Perplexity per model",
        lead=True,
        caption="Corpus perplexity = exp(Σ NLL / Σ tokens): long examples weigh by their tokens. "
        "Bits per byte = Σ NLL / (ln 2 · Σ bytes), comparable across tokenizers. Lower is better.",
        numeric=[False, True, True, *[True] * len(metrics), True],
    )
    names = [r.name for r in results]
    drawn = chart(
        "distribution_chart",
        _distribution(results),
        names,
        [colours[n] for n in names],
        "Per-example perplexity (log scale)",
    )
    section = Section(
        "perplexity",
        "Perplexity",
        lead="How well each model predicts held-out text. The table weighs every token equally; "
        "the chart shows how per-example perplexities spread (further left is better).",
        tables=[table],
        figures=[
            Figure(
                "perplexity-distribution",
                "Per-example perplexity, distribution",
                drawn,
                lead="Share of examples per perplexity bin; a long right tail means a few "
                "texts the model finds very surprising.",
            )
        ],
    )
    for r in results:
        section.notes += [f"{r.name}: {n}" for n in r.run.notes]
    return section


# --- generation and sample logs --------------------------------------------------------------


def _text_examples(
    result: LanguageResult,
    rows: np.ndarray,
    other: LanguageResult | None = None,
    other_rows: np.ndarray | None = None,
) -> list[list[Cell]]:
    run = result.run
    assert isinstance(run, TextRun)
    out = []
    for j, row in enumerate(rows):
        ident = fmt.MISSING if run.ids is None else str(run.ids[row])
        cells = [Cell(ident, css="mono")]
        cells.append(_short(run.prompts[row]) if run.prompts is not None else Cell(fmt.MISSING))
        cells.append(_short(" | ".join(run.references[row])))
        if other is not None and other_rows is not None:
            assert isinstance(other.run, TextRun)
            cells.append(_short(other.run.predictions[other_rows[j]]))
        cells.append(_short(run.predictions[row]))
        out.append(cells)
    return out


def text_sections(
    assessment: LanguageAssessment, colours: dict[str, str], top_k: int
) -> list[Section]:
    """One section per generation group / lm-eval task log: scores, then example tables."""
    sections = []
    groups = dict.fromkeys(r.group for r in assessment.results if isinstance(r.run, TextRun))
    for group in groups:
        results = [r for r in assessment.results if r.group == group]
        metrics = list(results[0].columns)
        deltas = {(c.candidate, c.metric): c for c in assessment.comparisons if c.scope == group}
        best = {m: best_index([r.metrics.get(m) for r in results], m) for m in metrics}
        rows = []
        for i, r in enumerate(results):
            row = [_model_cell(r.name, colours), Cell(fmt.count(r.run.n_examples), css="num")]
            for m in metrics:
                c = Cell(
                    fmt.rate(r.metrics.get(m)),
                    css="num" + (" best" if i in best[m] else ""),
                    title=_interval_text(r.intervals.get(m)) or None,
                )
                comparison = deltas.get((r.name, m))
                if comparison is not None:
                    c.sub, c.sub_css = _delta_cell_parts(comparison)
                row.append(c)
            rows.append(row)
        caption = (
            "Exact match and token F1 after SQuAD normalisation (lower case, no punctuation, "
            "articles or extra spaces), best over the acceptable answers."
            if group == "generation"
            else "Per-sample metrics as lm-eval logged them, averaged over the samples."
        )
        section = Section(
            f"text-{_slug(group)}",
            group_title(group),
            lead="Share of examples answered right per model; hover a value for its 95% interval.",
            tables=[
                Table(
                    ["Model", "Examples", *[label(m) for m in metrics]],
                    rows,
                    title="Scores",
                    lead=True,
                    caption=caption,
                    numeric=[False, True, *[True] * len(metrics)],
                )
            ],
        )
        primary = metrics[0]
        base_name = assessment.baselines[group]
        by_name = {r.name: r for r in results}
        base = by_name[base_name]
        for r in results:
            if r.name == base_name:
                continue
            pairing = assessment.pairings.get((group, r.name))
            if pairing is None or pairing.baseline_rows is None:
                section.notes.append(
                    f"{r.name}: unpaired with {base_name}, so no newly-wrong list."
                )
                continue
            b_ok = base.columns[primary][pairing.baseline_rows] == 1
            c_ok = r.columns[primary][pairing.candidate_rows] == 1
            for title, mask in (
                (f"{r.name}: newly wrong", b_ok & ~c_ok),
                (f"{r.name}: newly right", ~b_ok & c_ok),
            ):
                picked = np.flatnonzero(mask)[:top_k]
                section.tables.append(
                    Table(
                        ["Id", "Prompt", "Reference", f"{base_name} answer", f"{r.name} answer"],
                        _text_examples(
                            r, pairing.candidate_rows[picked], base, pairing.baseline_rows[picked]
                        ),
                        title=f"{title} ({fmt.count(int(mask.sum()))})",
                        caption=f"By {label(primary).lower()}; at most {top_k} examples, in "
                        f"{base_name}'s order.",
                        collapsed=True,
                    )
                )
        for r in results:
            wrong = np.flatnonzero(r.columns[primary] < 1)
            section.tables.append(
                Table(
                    ["Id", "Prompt", "Reference", "Answer"],
                    _text_examples(r, wrong[:top_k]),
                    title=f"{r.name}: wrong answers ({fmt.count(len(wrong))})",
                    caption=f"The first {min(top_k, len(wrong))} in file order.",
                    collapsed=True,
                )
            )
            section.notes += [f"{r.name}: {n}" for n in r.run.notes]
        sections.append(section)
    return sections


# --- lm-eval benchmark results ---------------------------------------------------------------


def _score_text(score: object) -> str:
    return fmt.rate(score.value) if score is not None else fmt.MISSING  # type: ignore[attr-defined]


def benchmark_section(table: BenchmarkTable, colours: dict[str, str]) -> Section:
    models = table.models
    header = ["Task", "Metric", "n-shot", "Version", *models]
    rows = []
    delta_of = {(d.candidate, d.task): d for d in table.deltas}
    for task in table.shown:
        present = [table.scores[m].get(task) for m in models]
        first = next(s for s in present if s is not None) if any(present) else None
        if first is None:
            continue
        best = registry.best_indices(
            [s.value if s is not None else None for s in present], first.higher_is_better
        )
        shots = {s.n_shot for s in present if s is not None}
        versions = {s.version for s in present if s is not None}
        indent = "\u2003" * table.depth[task]
        row = [
            Cell(indent + table.aliases[task], title=task, css="task"),
            Cell(
                first.metric + ("" if first.filter == "none" else f" ({first.filter})"), css="mono"
            ),
            Cell(
                " / ".join(str(s) for s in sorted(shots, key=str))
                if shots != {None}
                else fmt.MISSING,
                css="num" + (" warn" if len(shots) > 1 else ""),
            ),
            Cell(
                " / ".join(str(v) for v in sorted(versions, key=str))
                if versions != {None}
                else fmt.MISSING,
                css="num" + (" warn" if len(versions) > 1 else ""),
            ),
        ]
        for i, (model, score) in enumerate(zip(models, present, strict=True)):
            if score is None:
                row.append(Cell(fmt.MISSING, css="num missing"))
                continue
            text = fmt.rate(score.value)
            if score.stderr is not None:
                text += f" ± {fmt.rate(score.stderr)}"
            c = Cell(
                text,
                css="num" + (" best" if i in best else ""),
                title=f"{score.metric},{score.filter} = {score.value:.6g}",
            )
            d = delta_of.get((model, task))
            if d is not None:
                c.sub, c.sub_css = _delta_cell_parts(d.as_comparison(table.baseline))
                c.title = (
                    (c.title or "")
                    + f"; Δ {_interval_text(d.ci)}, "
                    + f"{fmt.p_value(d.p_value_adjusted)} (Holm), {d.verdict}"
                )
            row.append(c)
        rows.append(row)
    leaderboard = Table(
        header,
        rows,
        title="Benchmark leaderboard",
        lead=True,
        caption="Each task's primary metric (acc_norm where present, else acc, else exact_match; "
        "--benchmark-metric overrides) ± lm-eval's standard error; best per task in bold; Δ "
        "against the baseline coloured when significant (z-test, Holm-adjusted per model).",
        numeric=[False, False, True, True, *[True] * len(models)],
    )
    section = Section(
        "benchmarks",
        "Benchmark suites (lm-evaluation-harness)",
        lead=f"Scores as lm-eval reported them; {table.baseline} is the baseline. Subtasks of "
        "small groups are indented under their group.",
        tables=[leaderboard],
        notes=list(table.warnings),
    )
    bars = []
    for task in table.shown:
        if table.depth[task] != 0:
            continue
        for model in models:
            s = table.scores[model].get(task)
            if s is None or not 0 <= s.value <= 1:
                continue
            half = Z95 * s.stderr if s.stderr is not None else 0.0
            bars.append(
                {
                    "task": table.aliases[task],
                    "model": model,
                    "metric": s.metric,
                    "value": round(s.value, 6),
                    "stderr": None if s.stderr is None else round(s.stderr, 6),
                    "low": round(max(0.0, s.value - half), 6),
                    "high": round(min(1.0, s.value + half), 6),
                }
            )
    if bars:
        frame = pd.DataFrame(bars)
        drawn = chart(
            "benchmark_bars",
            frame,
            list(dict.fromkeys(frame["task"])),
            models,
            [colours[m] for m in models],
        )
        section.figures.append(
            Figure(
                "benchmark-bars",
                "Top-level tasks side by side",
                drawn,
                lead="Higher is better; error bars are 95% intervals (±1.96 standard errors).",
            )
        )
    candidates = [m for m in models if m != table.baseline]
    for group, subtasks in table.groups.items():
        if not candidates:
            break
        cells = []
        for d in table.deltas:
            if d.task in subtasks:
                cells.append(
                    {
                        "subtask": table.aliases[d.task],
                        "candidate": d.candidate,
                        "baseline": round(d.baseline_value, 6),
                        "value": round(d.candidate_value, 6),
                        "delta": round(d.delta, 6),
                        "text": fmt.signed(d.delta, 2)
                        + ("*" if d.verdict in ("better", "worse") else ""),
                        "significant": d.verdict in ("better", "worse"),
                        "p": fmt.p_value(d.p_value_adjusted),
                    }
                )
        if not cells:
            continue
        frame = pd.DataFrame(cells)
        order = frame.groupby("subtask")["delta"].mean().sort_values(ascending=False).index.tolist()
        bound = float(max(0.05, frame["delta"].abs().max()))
        frame["shade"] = (frame["delta"].abs() / bound).round(3)
        drawn = chart("delta_heatmap", frame, order, candidates, bound)
        section.figures.append(
            Figure(
                f"subtasks-{_slug(group)}",
                f"{table.aliases.get(group, group)}: {len(subtasks)} subtasks "
                f"against {table.baseline}",
                drawn,
                lead="Sorted from largest gain to largest loss; blue is better, red worse. "
                "A * marks a difference that is significant after Holm correction.",
            )
        )
    section.tables.append(strengths_table(table, colours))
    return section


def strengths_table(table: BenchmarkTable, colours: dict[str, str], per_side: int = 5) -> Table:
    """The largest significant gains and losses of each candidate against the baseline."""
    rows = []
    for model in table.models:
        if model == table.baseline:
            continue
        mine = [d for d in table.deltas if d.candidate == model]
        significant = [d for d in mine if d.verdict in ("better", "worse")]
        gains = sorted(
            (d for d in significant if d.verdict == "better"), key=lambda d: -abs(d.delta)
        )
        losses = sorted(
            (d for d in significant if d.verdict == "worse"), key=lambda d: -abs(d.delta)
        )
        for kind, picked in (("strength", gains[:per_side]), ("weakness", losses[:per_side])):
            for d in picked:
                text, css = _delta_cell_parts(d.as_comparison(table.baseline))
                rows.append(
                    [
                        _model_cell(model, colours),
                        Cell(kind, css=f"verdict {d.verdict}"),
                        Cell(table.aliases[d.task], title=d.task),
                        Cell(d.metric, css="mono"),
                        Cell(
                            f"{fmt.rate(d.baseline_value)} → {fmt.rate(d.candidate_value)}",
                            css="num",
                        ),
                        Cell(text, css="num " + css),
                        Cell(fmt.p_value(d.p_value_adjusted), css="num"),
                    ]
                )
        if not significant:
            rows.append(
                [
                    _model_cell(model, colours),
                    Cell("none"),
                    Cell(
                        f"no task differs significantly from {table.baseline} after Holm "
                        f"correction ({len(mine)} tasks compared)"
                    ),
                    Cell(""),
                    Cell(""),
                    Cell(""),
                    Cell(""),
                ]
            )
    return Table(
        ["Model", "", "Task", "Metric", "Baseline → model", "Δ", "p (Holm)"],
        rows,
        title="Strengths and weaknesses against the baseline",
        lead=True,
        caption=f"The {per_side} largest significant gains and losses per model (z-test on the "
        "difference, from the two standard errors; Holm-adjusted over the model's tasks).",
        numeric=[False, False, False, False, True, True, True],
    )


# --- efficiency ------------------------------------------------------------------------------


def efficiency_section(
    entries: Sequence[tuple[str, str, dict[str, float], str, float | None]],
    colours: dict[str, str],
) -> Section | None:
    """``entries``: (model, kind, efficiency metrics, quality metric, quality value) per run
    that logged latency, tokens or cost."""
    entries = [e for e in entries if e[2]]
    if not entries:
        return None
    from reportgen.kinds.efficiency import pareto_front

    metrics = [m for m in EFFICIENCY_ORDER if any(m in e[2] for e in entries)]
    rows = []
    for model, kind, found, quality, value in entries:
        rows.append(
            [
                _model_cell(model, colours),
                Cell(kind),
                Cell(f"{label(quality)} {value_text(quality, value)}", css="num"),
            ]
            + [Cell(value_text(m, found.get(m)), css="num") for m in metrics]
        )
    section = Section(
        "efficiency",
        "Speed and cost",
        lead="Latency percentiles over examples; throughput assumes examples were served one "
        "after another (examples/s = 1,000 / mean latency in ms, tokens/s = completion tokens "
        "/ total latency).",
        tables=[
            Table(
                ["Model", "Runs", "Quality", *[label(m) for m in metrics]],
                rows,
                title="Efficiency per run",
                numeric=[False, False, True, *[True] * len(metrics)],
            )
        ],
    )
    for kind in dict.fromkeys(e[1] for e in entries):
        mine = [
            e for e in entries if e[1] == kind and "latency_p50_ms" in e[2] and e[4] is not None
        ]
        if len(mine) < 2:
            continue
        quality = mine[0][3]
        higher = registry.higher_is_better(quality)
        front = pareto_front([e[2]["latency_p50_ms"] for e in mine], [e[4] for e in mine], higher)  # type: ignore[misc]
        frame = pd.DataFrame(
            {
                "model": [e[0] for e in mine],
                "latency": [round(e[2]["latency_p50_ms"], 4) for e in mine],
                "quality": [round(float(e[4]), 6) for e in mine],  # type: ignore[arg-type]
                "front": front,
                "front_text": [
                    "yes" if f else "no (another model is faster and better)" for f in front
                ],
            }
        )
        models = list(frame["model"])
        drawn = chart(
            "quality_latency_chart",
            frame,
            models,
            [colours[m] for m in models],
            label(quality),
            higher,
        )
        section.figures.append(
            Figure(
                f"pareto-{_slug(kind)}",
                f"{label(quality)} against median latency ({kind})",
                drawn,
                lead="Towards the "
                + ("top" if higher else "bottom")
                + "-left is better; the dashed "
                "line joins the Pareto front (no other model is both faster and better).",
            )
        )
    return section


# --- training curves -------------------------------------------------------------------------


def _lower_is_better(metric: str) -> bool:
    return registry.lower_is_better(metric)


def history_section(
    histories: Sequence[History], colours: dict[str, str], scale: str
) -> Section | None:
    if not histories:
        return None
    frame = pd.concat([h.frame.assign(model=h.name) for h in histories], ignore_index=True)
    models = [h.name for h in histories]
    palette = {m: colours.get(m, PALETTE[i % len(PALETTE)]) for i, m in enumerate(models)}
    metrics = sorted(
        frame["metric"].unique(),
        key=lambda m: (not _lower_is_better(m) or "loss" not in m.lower(), m),
    )
    section = Section(
        "training",
        "Training curves",
        lead="Loss and metrics over training steps; "
        "the diamond marks each model's best validation step.",
    )
    rows = []
    for metric in metrics:
        part = frame[frame["metric"] == metric]
        lower = _lower_is_better(metric)
        kept = []
        for (_, _), series in part.groupby(["model", "split"], sort=False):
            series = series.sort_values("step", kind="stable")
            x, y = series["step"].to_numpy(np.float64), series["value"].to_numpy(np.float64)
            span_x = (x.max() - x.min()) or 1.0
            span_y = (y.max() - y.min()) or 1.0
            idx = simplify_bounded(
                (x - x.min()) / span_x, (y - y.min()) / span_y, max_points=HISTORY_POINTS
            )
            kept.append(series.iloc[idx])
        points = pd.concat(kept, ignore_index=True)[["model", "split", "step", "value"]]
        validation = part[part["split"] == "validation"]
        best_rows = []
        for model in models:
            mine = validation[validation["model"] == model]
            if mine.empty:
                continue
            at = mine["value"].idxmin() if lower else mine["value"].idxmax()
            best_rows.append(
                {
                    "model": model,
                    "step": float(mine.at[at, "step"]),
                    "value": float(mine.at[at, "value"]),
                }
            )
            rows.append(
                [
                    _model_cell(model, palette),
                    Cell(metric, css="mono"),
                    Cell(fmt.count(int(mine.at[at, "step"])), css="num"),
                    Cell(f"{mine.at[at, 'value']:.4g}", css="num"),
                ]
            )
        values = part["value"].to_numpy(np.float64)
        log = scale == "log" or (
            scale == "auto" and lower and values.min() > 0 and values.max() / values.min() > 10
        )
        best = pd.DataFrame(best_rows, columns=["model", "step", "value"])
        drawn = chart(
            "history_chart",
            points.round(6),
            best,
            models,
            [palette[m] for m in models],
            metric,
            log,
        )
        section.figures.append(
            Figure(
                f"history-{_slug(metric)}",
                metric,
                drawn,
                lead=("Lower" if lower else "Higher") + " is better; solid and dashed lines are "
                "the splits.",
            )
        )
    if rows:
        section.tables.append(
            Table(
                ["Model", "Metric", "Best validation step", "Value"],
                rows,
                title="Best validation steps",
                numeric=[False, False, True, True],
            )
        )
    return section


# --- slices ----------------------------------------------------------------------------------


def slice_section(
    analysis: LMSlices,
    colours: dict[str, str],
    index: int,
    kind: str = "Language models",
    prefix: str = "lm",
) -> Section:
    section = Section(
        f"{prefix}-slice-{index}",
        f"{kind} by {analysis.column}",
        lead="Each model's headline metric per slice; faded points are slices with "
        "too few examples to trust.",
    )
    for group in dict.fromkeys(c.group for c in analysis.cells):
        cells = [c for c in analysis.cells if c.group == group and c.score is not None]
        if not cells:
            continue
        metric = cells[0].metric
        models = list(dict.fromkeys(c.model for c in cells))
        frame = pd.DataFrame(
            [
                {
                    "model": c.model,
                    "slice": c.value,
                    "score": round(c.score, 6),
                    "n": c.n,
                    "small": c.small,
                }
                for c in cells
            ]
        )
        values = [v for v in analysis.values if v in set(frame["slice"])]
        drawn = chart(
            "slice_dots", frame, values, models, [colours[m] for m in models], label(metric)
        )
        section.figures.append(
            Figure(
                f"{prefix}-slice-{index}-{_slug(group)}",
                f"{group_title(group)} by {analysis.column}",
                drawn,
                lead=(
                    "Further left is better."
                    if registry.lower_is_better(metric)
                    else "Further right is better."
                ),
            )
        )
        section.tables.append(
            Table(
                ["Model", "Slice", "Examples", label(metric)],
                [
                    [
                        _model_cell(c.model, colours),
                        Cell(c.value),
                        Cell(fmt.count(c.n), css="num"),
                        Cell(
                            value_text(metric, c.score), css="num" + (" missing" if c.small else "")
                        ),
                    ]
                    for c in cells
                ],
                title=f"{group_title(group)} by {analysis.column}",
                numeric=[False, False, True, True],
            )
        )
    return section
