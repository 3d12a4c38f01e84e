"""lm-eval results drawn: a models x tasks table (± stderr, best in bold, n-shot and version,
small groups' subtasks indented), grouped bars with 95% error bars, a sorted heatmap of a large
group's subtask deltas (MMLU's 57 subjects), and the largest strengths and weaknesses."""

from __future__ import annotations

import math

import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.kinds.cells import (
    add_delta,
    delta_cell_parts,
    delta_interval_text,
    model_cell,
    slug_of,
)
from reportgen.kinds.lmeval_results.table import Z95, BenchmarkTable, Score, fmt_value
from reportgen.model import Cell, Figure, Section, Table, chart


def _score_text(score: object) -> str:
    return fmt.rate(score.value) if score is not None else fmt.MISSING  # type: ignore[attr-defined]


def _not_a_rate(scores: list[Score]) -> str | None:
    """Why a task's scores do not belong on a chart of rates where higher is better."""
    if not scores:
        return "no score"
    if not all(math.isfinite(s.value) for s in scores):
        return "a value is not finite"
    if not all(s.higher_is_better for s in scores):
        return "lower is better"
    if not all(0 <= s.value <= 1 for s in scores):
        return "values outside [0, 1]"
    return None


def repeats_text(score: Score) -> str | None:
    """ "mean of 4 runs: 0.512–0.530" for a task that was re-run."""
    if len(score.repeats) < 2:
        return None
    low, high = min(score.repeats), max(score.repeats)
    return f"mean of {len(score.repeats)} runs: {fmt.rate(low)}–{fmt.rate(high)}"


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
        shots = {s.n_shot for s in present if s is not None and s.n_shot is not None}
        versions = {s.version for s in present if s is not None and s.version is not None}
        computed = next((s.computed for s in present if s is not None and s.computed), None)
        indent = "\u2003" * table.depth[task]
        row = [
            Cell(indent + table.aliases[task], title=task, role="task"),
            Cell(
                (first.shown_metric or first.metric)
                + ("" if first.filter == "none" else f" ({first.filter})"),
                role="mono",
                sub=computed,
                sub_role="tag" if computed else "",
            ),
            Cell(
                " / ".join(str(s) for s in sorted(shots, key=str)) if shots else fmt.MISSING,
                role="num",
                warning=len(shots) > 1,
            ),
            Cell(
                " / ".join(str(v) for v in sorted(versions, key=str)) if versions else fmt.MISSING,
                role="num",
                warning=len(versions) > 1,
            ),
        ]
        for i, (model, score) in enumerate(zip(models, present, strict=True)):
            if score is None:
                row.append(Cell(fmt.MISSING, role="num", undefined=True))
                continue
            finite = math.isfinite(score.value)
            text = fmt_value(score.value)
            if score.stderr is not None and finite:
                text += f" ± {fmt.rate(score.stderr)}"
            exact = (
                f"{score.value:.6g}" if finite else fmt_value(score.value) + ", as the file says"
            )
            c = Cell(
                text,
                role="num",
                best=i in best,
                warning=not finite,
                title=f"{score.metric},{score.filter} = {exact}",
            )
            d = delta_of.get((model, task))
            if d is not None:
                add_delta(c, d.as_comparison(table.baseline))
                c.title = (
                    (c.title or "")
                    + f"; Δ {delta_interval_text(d.ci_adjusted or d.ci)} (adjusted), "
                    + f"{fmt.p_value(d.p_value_adjusted)} (Holm), {d.verdict}"
                )
            notes = "; ".join(n for n in (score.subset, repeats_text(score)) if n)
            if notes:  # visible: a --limit subset or a mean over re-runs is not a full run
                c.title = f"{c.title}; {notes}"
                c.sub = f"{c.sub} · {notes}" if c.sub else notes
                c.sub_role = c.sub_role or "tag"
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
    left_out = []
    for task in table.shown:
        if table.depth[task] != 0:
            continue
        present = [s for m in models if (s := table.scores[m].get(task)) is not None]
        if not present:
            continue  # no model has a score for it: nothing to draw or explain
        why = _not_a_rate(present)
        if why:
            left_out.append(f"{table.aliases[task]} ({present[0].metric}: {why})")
            continue
        for model in models:
            s = table.scores[model].get(task)
            if s is None:
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
        tasks = list(dict.fromkeys(frame["task"]))
        cut = ""
        if len(tasks) > MAX_BAR_TASKS:  # the leaderboard above has them all
            cut = f" The first {MAX_BAR_TASKS} of {fmt.count(len(tasks))} tasks; all are in the "
            cut += "leaderboard."
            tasks = tasks[:MAX_BAR_TASKS]
            frame = frame[frame["task"].isin(set(tasks))]
        drawn = chart("benchmark_bars", frame, tasks, models, [colours[m] for m in models])
        section.figures.append(
            Figure(
                "benchmark-bars",
                "Top-level tasks side by side",
                drawn,
                lead="Higher is better; error bars are 95% intervals (±1.96 standard errors)."
                + (
                    " Not drawn on this [0, 1] scale: " + "; ".join(left_out) + "."
                    if left_out
                    else ""
                )
                + cut,
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
        section.figures.append(
            _group_figure(group, subtasks, pd.DataFrame(cells), candidates, table)
        )
    section.tables.append(strengths_table(table, colours))
    return section


MAX_BAR_TASKS = 40  # top-level tasks drawn as bars, in leaderboard order
HEATMAP_SIDE = 40  # a large group's heatmap: at most this many gains and as many losses


def _group_figure(
    group: str,
    subtasks: list[str],
    frame: pd.DataFrame,
    candidates: list[str],
    table: BenchmarkTable,
) -> Figure:
    """A group's subtask deltas as a heatmap sorted from largest gain to largest loss, with
    every subtask in the table behind it. Past 2 x HEATMAP_SIDE subtasks the heatmap keeps
    the largest gains and losses only: a chart of 1,500 rows is neither readable nor
    drawable."""
    order = frame.groupby("subtask")["delta"].mean().sort_values(ascending=False).index.tolist()
    name = table.aliases.get(group, group)
    title = f"{name}: {fmt.count(len(subtasks))} subtasks against {table.baseline}"
    lead = (
        "Sorted from largest gain to largest loss; blue is better, red worse. "
        "A * marks a difference that is significant after Holm correction."
    )
    if len(order) > 2 * HEATMAP_SIDE:
        order = order[:HEATMAP_SIDE] + order[-HEATMAP_SIDE:]
        title += f" (the {HEATMAP_SIDE} largest gains and {HEATMAP_SIDE} largest losses)"
        lead += " Every subtask is in the table below the chart."
    drawn_rows = frame[frame["subtask"].isin(set(order))].copy()
    bound = float(max(0.05, frame["delta"].abs().max()))
    drawn_rows["shade"] = (drawn_rows["delta"].abs() / bound).round(3)
    rows = [
        [
            Cell(r.subtask),
            Cell(r.candidate),
            Cell(fmt.rate(r.baseline), role="num"),
            Cell(fmt.rate(r.value), role="num"),
            Cell(fmt.signed(r.delta, 3), role="num"),
            Cell(r.p, role="num"),
        ]
        for r in frame.sort_values(["delta", "subtask"], ascending=[False, True]).itertuples()
    ]
    numbers = Table(
        ["Subtask", "Model", table.baseline, "Model's score", "Δ", "p (Holm)"],
        rows,
        title=f"All {fmt.count(len(subtasks))} subtasks of {name}",
        numeric=[False, False, True, True, True, True],
        collapsed=True,
    )
    return Figure(
        f"subtasks-{slug_of(group)}",
        title,
        chart("delta_heatmap", drawn_rows, order, candidates, bound),
        lead=lead,
        table=numbers,
    )


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
                text, tone = delta_cell_parts(d.as_comparison(table.baseline))
                rows.append(
                    [
                        model_cell(model, colours),
                        Cell(kind, role="verdict", tone=d.verdict),
                        Cell(table.aliases[d.task], title=d.task),
                        Cell(d.metric, role="mono"),
                        Cell(
                            f"{fmt.rate(d.baseline_value)} → {fmt.rate(d.candidate_value)}",
                            role="num",
                        ),
                        Cell(text, role="num", delta=True, tone=tone),
                        Cell(fmt.p_value(d.p_value_adjusted), role="num"),
                    ]
                )
        if not significant:
            rows.append(
                [
                    model_cell(model, colours),
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
