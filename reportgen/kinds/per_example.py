"""The drawing half shared by kinds of per-example runs (:class:`~reportgen.kinds.sums.SumsKind`):
a comparison section, slice sections, leaderboard columns, the runs table and the JSON entries,
and :class:`LanguageKind`, the base of the language-model kinds that share one leaderboard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.ingest.language import TextRun
from reportgen.ingest.tabular import MultilabelRun, RegressionRun
from reportgen.kinds.base import TREND_METRICS, BoardColumn, BoardPart, Context, SummaryPart
from reportgen.kinds.board import shaped
from reportgen.kinds.cells import (
    TEXT_HOVER,
    TEXT_PREVIEW,
    add_delta,
    best_index,
    comparison_views,
    correction_text,
    interval_text,
    metadata_items,
    model_cell,
    ranked_verdict,
    slug_of,
    verdict_clauses,
)
from reportgen.kinds.power_text import margin_sentences
from reportgen.kinds.sums import LanguageAssessment, LanguageResult, LMSlices, SumsKind
from reportgen.model import Cell, Figure, RunInfo, Section, Table, chart
from reportgen.stats.comparison import Comparison
from reportgen.stats.score import Score, interval, number


def label(metric: str) -> str:
    return registry.label(metric)


def value_text(metric: str, value: float | None) -> str:
    return registry.format_value(metric, value)


def short_cell(text: str) -> Cell:
    short = text if len(text) <= TEXT_PREVIEW else text[:TEXT_PREVIEW] + "…"
    return Cell(short, title=text[:TEXT_HOVER] if short != text else None, role="text")


# --- runs ------------------------------------------------------------------------------------


def run_info(run: Any, colour: str, notes: Sequence[str] = ()) -> RunInfo:
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
        notes=[*run.notes, *notes],
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
    draws: Callable[[str], bool] = lambda name: True,
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
        draws=draws,
    )
    section = Section(
        section_id,
        title,
        lead=f"{lead}; p-values corrected {correction_text(comparisons)}.",
        tables=[table],
        figures=[figure] if figure is not None else [],
    )
    for (group, name), pairing in assessment.pairings.items():
        section.notes.append(f"{run_label(group, name)}: {pairing.note}")
    section.notes += margin_sentences(comparisons, metric_name)
    section.notes.append(
        f"Unadjusted intervals: percentile bootstrap over examples, {replicates:,} replicates, "
        f"seed {seed}; p-values: McNemar's exact test for 0/1 outcomes, else a Wald test whose "
        "standard error is the bootstrap deltas' spread."
    )
    return section


# --- slices ----------------------------------------------------------------------------------


def slice_section(
    analysis: LMSlices,
    colours: dict[str, str],
    index: int,
    kind: str,
    prefix: str,
    group_title: Callable[[str], str],
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
            "slice_dots",
            frame,
            values,
            models,
            [colours[m] for m in models],
            label(metric),
            registry.bounded(metric),
        )
        section.figures.append(
            Figure(
                f"{prefix}-slice-{index}-{slug_of(group)}",
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
                        model_cell(c.model, colours),
                        Cell(c.value),
                        Cell(fmt.count(c.n), role="num"),
                        Cell(value_text(metric, c.score), role="num", undefined=c.small),
                    ]
                    for c in cells
                ],
                title=f"{group_title(group)} by {analysis.column}",
                numeric=[False, False, True, True],
            )
        )
    return section


def round_to_span(values: np.ndarray, span: float) -> np.ndarray:
    """Enough decimals to place a point within 1/10,000 of the axis span, no more."""
    decimals = int(max(0, 4 - np.floor(np.log10(span)))) if span > 0 else 6
    return np.round(values, decimals)


def metrics_table(
    results: Sequence[LanguageResult],
    assessment: LanguageAssessment,
    colours: dict[str, str],
    metrics: Sequence[str],
    caption: str,
) -> Table:
    """Every metric (columns) of every model (rows), best in bold, delta under candidates,
    interval on hover."""
    shown = [m for m in metrics if any(r.metrics.get(m) is not None for r in results)]
    deltas = {(c.candidate, c.metric): c for c in assessment.comparisons}
    best = {m: best_index([r.metrics.get(m) for r in results], m) for m in shown}
    rows = []
    for i, r in enumerate(results):
        row = [model_cell(r.name, colours), Cell(fmt.count(r.run.n_examples), role="num")]
        for m in shown:
            value = r.metrics.get(m)
            c = Cell(
                value_text(m, value),
                role="num",
                best=i in best[m],
                undefined=value is None,
                title=(interval_text(r.intervals.get(m)) or r.metric_notes.get(m)) or None,
            )
            comparison = deltas.get((r.name, m))
            if comparison is not None and comparison.delta is not None:
                add_delta(c, comparison)
            row.append(c)
        rows.append(row)
    table = Table(
        ["Model", "Examples", *[label(m) for m in shown]],
        rows,
        title="All metrics",
        lead=True,
        caption=caption,
        numeric=[False, True, *[True] * len(shown)],
    )
    # many metrics: turned (a row per metric) on phones and paper, or everywhere when wide
    return shaped(table, assessment.baseline)


def metric_notes_of(results: Sequence[LanguageResult]) -> list[str]:
    notes = []
    for r in results:
        notes += [f"{r.name}: {label(m)} {why}." for m, why in r.metric_notes.items()]
        notes += [f"{r.name}: {n}" for n in r.run.notes]
    return notes


def has_column(run: RegressionRun | MultilabelRun, column: str | None) -> bool:
    return column is not None and column in run.extra.columns


def example_id(run: RegressionRun | MultilabelRun, row: int) -> str:
    return str(row + 1) if run.ids is None else str(run.ids[row])


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def drawn_part(result: LanguageAssessment, ctx: Context) -> LanguageAssessment:
    """The result narrowed to the models the kind's charts draw (``ctx.draws``)."""
    if ctx.drawn is None:
        return result
    return replace(
        result,
        results=[r for r in result.results if ctx.draws(r.name)],
        slices=[
            replace(a, cells=[c for c in a.cells if ctx.draws(c.model)]) for a in result.slices
        ],
    )


class ExampleKind(SumsKind):
    """A sums kind with the shared views: comparison, its own views, slices; its leaderboard
    columns, runs table and JSON entries."""

    slug: ClassVar[str]  # element ids: "{slug}-comparison", "{slug}-slice-0"
    compare_lead: ClassVar[str] = "Paired bootstrap over examples"

    def group_title(self, group: str) -> str:
        return self.title

    def evaluate(self, runs: list[Any], ctx: Context) -> LanguageAssessment | None:
        found = super().evaluate(runs, ctx)
        for r in found.results if found is not None else []:
            found.labels.setdefault(r.group, self.group_title(r.group))  # type: ignore[union-attr]
            found.headlines[(r.name, r.group)] = r.headline[0]  # type: ignore[union-attr]
        return found

    def metric_heading(self, group: str, metric: str) -> str:
        return label(metric)

    def ranked_by(self, result: LanguageAssessment) -> str | None:
        """The headline metric (exact match, perplexity, ...), not the first record, which
        may be a latency."""
        return next((r.headline[0] for r in result.results if r.headline), None)

    def headline_metrics(self, result: LanguageAssessment) -> list[str]:
        found = (m for r in result.results for m in r.headline)
        return list(dict.fromkeys(found))[:TREND_METRICS]

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        """The kind's own sections, between its comparison and its slices."""
        return []

    def comparison_section(self, result: LanguageAssessment, ctx: Context) -> Section | None:
        baseline = next(iter(result.baselines.values()), "")
        return paired_comparison_section(
            result,
            ctx.colours,
            ctx.options.bootstrap,
            ctx.options.seed,
            section_id=f"{self.slug}-comparison",
            title=f"{self.title}: against the baseline {baseline}",
            lead="Is each candidate really different from the baseline on the same examples? "
            + self.compare_lead,
            metric_name=lambda c: self.metric_heading(c.scope, c.metric),
            run_label=lambda group, name: name,
            draws=ctx.draws,
        )

    def sections(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        found = []
        comparison = self.comparison_section(result, ctx)
        if comparison is not None:
            found.append(comparison)
        shown = drawn_part(result, ctx)
        found += self.views(shown, ctx)
        found += [
            slice_section(a, ctx.colours, i, self.title, self.slug, self.group_title)
            for i, a in enumerate(shown.slices)
        ]
        return found

    def on_board(self, result: LanguageAssessment, ctx: Context) -> BoardPart:
        return BoardPart(columns=self.columns(result, ctx), verdict=self.verdict(result))

    def columns(self, result: LanguageAssessment, ctx: Context) -> list[BoardColumn]:
        columns = []
        for group in dict.fromkeys(r.group for r in result.results):
            members = [r for r in result.results if r.group == group]
            for k, metric in enumerate(members[0].headline[: self.leaderboard_metrics]):
                columns.append(
                    BoardColumn(
                        key=(group, metric),
                        metric=metric,
                        header=self.metric_heading(group, metric),
                        values={r.name: r.metrics.get(metric) for r in members},
                        intervals={r.name: interval_text(r.intervals.get(metric)) for r in members},
                        higher_is_better=registry.higher_is_better(metric),
                        deltas={
                            c.candidate: c
                            for c in result.comparisons
                            if c.scope == group and c.metric == metric
                        },
                        ranks=result.ranks.get(group) if k == 0 else None,
                        spread={
                            name: found.spread_text(metric, partial(value_text, metric))
                            for (g, name), found in result.repeats.items()
                            if g == group
                        },
                    )
                )
        return columns

    def verdict(self, result: LanguageAssessment) -> list[str]:
        clauses = verdict_clauses(result.comparisons, result.baseline, f"{self.name} metrics")
        if len(result.ranks) != 1:  # ranked within one group only
            return list(clauses.values())
        ((group, ranks),) = result.ranks.items()
        metric = next(r.headline[0] for r in result.results if r.group == group)
        return ranked_verdict(clauses, ranks, metric, result.baselines[group], result.comparisons)

    def scores(self, result: LanguageAssessment) -> list[Score]:
        found = []
        for r in result.results:
            repeats = result.repeats.get((r.group, r.name))
            for metric, value in {**r.efficiency, **r.metrics}.items():
                spread = repeats.spread(metric) if repeats is not None else None
                found.append(
                    Score(
                        r.name,
                        result.kind,
                        metric,
                        number(value),
                        result.baselines[r.group],
                        *interval(r.intervals.get(metric)),
                        n=r.run.n_examples,
                        repeats=len(repeats.members) if repeats is not None else None,
                        spread=spread.get("sd") if spread else None,
                        reason=r.metric_notes.get(metric) if value is None else None,
                        scope=r.group,
                    )
                )
            found += [
                Score(
                    r.name,
                    result.kind,
                    c.metric,
                    number(c.score),
                    result.baselines[r.group],
                    n=c.n,
                    slice_column=s.column,
                    slice_value=c.value,
                    scope=r.group,
                )
                for s in result.slices
                for c in s.cells
                if c.model == r.name and c.group == r.group
            ]
        return found

    def run_infos(self, result: LanguageAssessment, ctx: Context) -> list[RunInfo]:
        return [run_info(r.run, ctx.colours[r.name], r.notes) for r in result.results]

    def summary_entry(self, result: LanguageResult) -> dict[str, Any]:
        """Keys of a run's JSON entry beyond the shared ones."""
        run = result.run
        return {"benchmark_task": run.task if isinstance(run, TextRun) else None}

    def summary(self, result: LanguageAssessment) -> SummaryPart:
        found = []
        for r in result.results:
            run = r.run
            pairing = result.pairings.get((r.group, r.name))
            entry: dict[str, Any] = {
                "name": r.name,
                "task": run.kind,
                "benchmark_task": None,
                "n_examples": run.n_examples,
                "source": run.source_entry(),
                "columns": run.columns,
                "metadata": run.metadata,
                "metrics": {k: _number(v) for k, v in r.metrics.items()},
                "metric_notes": dict(sorted(r.metric_notes.items())),
                "ci": r.intervals,
                "pairing": None
                if pairing is None
                else {
                    "with": result.baselines[r.group],
                    "mode": pairing.mode,
                    "n_paired": pairing.n_paired,
                    "note": pairing.note,
                },
                "slices": {s.column: s.summary_of(r.group, r.name) for s in result.slices},
                "notes": [*run.notes, *r.notes],
            }
            if (r.group, r.name) in result.repeats:
                entry["repeats"] = result.repeats[(r.group, r.name)].summary()
            if r.group in result.ranks:
                metric = r.headline[0]
                entry["rank"] = {"metric": metric, "rank": result.ranks[r.group][r.name]}
            extra = self.summary_entry(r)
            if "benchmark_task" in extra:
                entry["benchmark_task"] = extra.pop("benchmark_task")
            else:
                entry.pop("benchmark_task")
            found.append({**entry, **extra})
        return SummaryPart(runs=found)


class LanguageKind(ExampleKind):
    """Language-model runs of one kind; every such kind shares the language-model board."""

    board = "lm"
    board_title = "Language models"

    def verdict(self, result: LanguageAssessment) -> list[str]:
        parts = []
        for c in result.comparisons:
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
        return parts
