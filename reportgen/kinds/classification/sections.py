"""Evaluations -> the report's tables and figures (tidy data for each chart, then the chart).

Caps that keep charts readable and the file small live here: at most ``MAX_MATRIX_CLASSES``
classes in a confusion matrix (the rest pooled as "(other)"), the ``MAX_CLASS_ROWS`` weakest
classes in per-class charts, the ``MAX_PAIRS`` most frequent mistakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.kinds.board import says_baseline
from reportgen.kinds.cells import (
    add_delta,
    best_index,
    comparison_views,
    correction_text,
    delta_interval_text,
    interval_text,
    metadata_items,
    metric_label,
    model_cell,
)
from reportgen.kinds.classification.assess import Assessment
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
)
from reportgen.kinds.classification.repeats import RepeatSet, spread_text
from reportgen.kinds.power_text import margin_sentences
from reportgen.model import Cell, RunInfo, Section, Table
from reportgen.stats.comparison import RANK_NOTE


def leaderboard(
    evaluations: Sequence[RunEvaluation],
    colours: dict[str, str],
    assessment: Assessment,
    ranks: dict[str, int] | None = None,
    repeats: Mapping[str, RepeatSet] | None = None,
) -> Table:
    """One row per model, headline metrics as columns, the best value per column in bold,
    deltas against the baseline under the candidates' values. A model given as repeats shows
    the mean over them, and its spread in a Repeats column and on hover."""
    repeats = repeats or {}
    task = evaluations[0].task
    names = [m for m in HEADLINE[task] if any(e.metrics.get(m) is not None for e in evaluations)]
    header = [
        "Model",
        *(["Rank"] if ranks else []),
        "Examples",
        *(["Repeats"] if repeats else []),
        *[metric_label(m) for m in names],
    ]
    best = {m: best_index([e.metrics.get(m) for e in evaluations], m) for m in names}
    deltas = {(c.candidate, c.metric): c for c in assessment.comparisons}
    rows = []
    for i, evaluation in enumerate(evaluations):
        model = model_cell(evaluation.name, colours)
        name = evaluation.name
        if name == assessment.baseline and len(evaluations) > 1 and not says_baseline(name):
            model.sub, model.sub_role = "baseline", "tag"
        row = [model]
        if ranks:
            rank = ranks[evaluation.name]
            row.append(
                Cell(
                    str(rank),
                    title="cannot be told apart from the best" if rank == 1 else None,
                    role="num",
                    best=rank == 1,
                )
            )
        row.append(Cell(fmt.count(evaluation.confusion.n), role="num"))
        repeated = repeats.get(evaluation.name)
        if repeats:
            row.append(
                Cell(
                    spread_text(repeated, names[0], fmt.rate) if repeated else "1 run",
                    title=f"on {metric_label(names[0])}; " + ", ".join(repeated.labels)
                    if repeated
                    else None,
                    role="num",
                )
            )
        for metric in names:
            value = evaluation.metrics.get(metric)
            interval = assessment.intervals.get(evaluation.name, {}).get(metric)
            cell = Cell(
                fmt.rate(value),
                title=evaluation.metric_notes.get(metric)
                if value is None
                else (interval_text(interval) or f"{value:.6g}"),
                role="num",
                best=i in best[metric],
                undefined=value is None,
            )
            comparison = deltas.get((evaluation.name, metric))
            if comparison is not None and comparison.delta is not None:
                add_delta(cell, comparison)
                cell.title = (cell.title or "") + (
                    f"; delta {delta_interval_text(comparison.ci)}, {comparison.verdict}"
                )
            if repeated is not None and value is not None:
                cell.title = f"mean of {spread_text(repeated, metric, fmt.rate)}; {cell.title}"
            row.append(cell)
        rows.append(row)
    arrows = ", ".join(metric_label(m) for m in names if metrics.lower_is_better(m))
    caption = "Best value per column in bold. Hover a value for its 95% interval."
    if assessment.comparisons:
        caption += (
            " Under each candidate value: its difference from the baseline, coloured "
            "when significant (adjusted p < 0.05), marked n.s. when not; a delta with neither was "
            "not tested."
        )
    if arrows:
        caption += f" Lower is better for {arrows}; higher for the rest."
    if ranks:
        caption += " " + RANK_NOTE.format(metric=metric_label(names[0]))
    if repeats:
        caption += (
            " A model given as repeats (seeds) shows the mean over them; its interval counts "
            "the test set and the seeds' spread."
        )
    numeric = [False, *([True] if ranks else []), True, *([True] if repeats else [])]
    numeric += [True] * len(names)
    return Table(header, rows, caption=caption, numeric=numeric)


def comparison_section(
    assessment: Assessment, colours: dict[str, str], draws: Callable[[str], bool]
) -> Section:
    """Each candidate against the baseline: deltas, intervals, tests and verdicts (the chart
    draws the candidates ``draws`` says)."""
    comparisons = [c for c in assessment.comparisons if c.delta is not None]
    table, figure = comparison_views(comparisons, colours, "improvements", draws=draws)
    section = Section(
        "comparison",
        f"Against the baseline: {assessment.baseline}",
        lead="Is each candidate really different from the baseline? Intervals and tests are "
        "paired on shared examples where possible; p-values are corrected "
        + correction_text(comparisons)
        + ".",
        tables=[table],
        figures=[figure] if figure is not None else [],
    )
    section.notes += pairing_notes({n: p.note for n, p in assessment.pairings.items()})
    section.notes += margin_sentences(comparisons)
    section.notes.append(
        f"Unadjusted intervals: percentile bootstrap, {assessment.replicates:,} replicates, "
        f"seed {assessment.seed}. Tests: accuracy by McNemar's exact test, ROC AUC by DeLong's "
        "test, the rest by a Wald test whose standard error is the bootstrap deltas' spread."
    )
    return section


def pairing_notes(notes: Mapping[str, str]) -> list[str]:
    """One note per way candidates were paired with the baseline: a sweep's 24 candidates all
    "paired by id" say so once."""
    by_note: dict[str, list[str]] = {}
    for name, note in notes.items():
        by_note.setdefault(note, []).append(name)
    found = []
    for note, names in by_note.items():
        who = (
            ", ".join(names)
            if len(names) <= 3
            else f"{len(names)} candidates ({names[0]} to {names[-1]})"
        )
        found.append(f"{who}: {note}")
    return found


def all_metrics_table(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Table:
    metric_names = list(evaluations[0].metrics)
    header = ["Metric", *[e.name for e in evaluations]]
    rows = []
    for metric in metric_names:
        values = [e.metrics.get(metric) for e in evaluations]
        best = best_index(values, metric)
        row = [Cell(metric, title=metric_label(metric), role="mono")]
        for i, (evaluation, value) in enumerate(zip(evaluations, values, strict=True)):
            note = evaluation.metric_notes.get(metric)
            row.append(
                Cell(
                    fmt.rate(value),
                    title=note or (f"{value:.6g}" if value is not None else None),
                    role="num",
                    best=i in best,
                    undefined=value is None,
                )
            )
        rows.append(row)
    return Table(
        header,
        rows,
        title="Every metric",
        numeric=[False, *[True] * len(evaluations)],
        caption="Hover a value for more digits, or an empty value for the reason.",
    )


def run_info(evaluation: RunEvaluation, colour: str) -> RunInfo:
    encoded = evaluation.encoded
    run = encoded.run
    classes = encoded.classes
    shown = ", ".join(classes[:20]) + (f", … ({len(classes)} in all)" if len(classes) > 20 else "")
    return RunInfo(
        name=run.name,
        colour=colour,
        path=str(run.path),
        sha256=run.sha256,
        n_examples=fmt.count(run.n_examples),
        task=encoded.task,
        classes=shown,
        positive_label=classes[encoded.positive] if encoded.positive is not None else None,
        predictions_from=encoded.prediction_source,
        columns=sorted(run.columns.items()),
        metadata=metadata_items(run.metadata),
        notes=[*run.notes, *encoded.notes, *evaluation.notes],
    )


# --- confusion matrices -------------------------------------------------------------------


# --- curves -------------------------------------------------------------------------------


# --- calibration --------------------------------------------------------------------------


# --- per class ----------------------------------------------------------------------------


def details_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    """Every metric of every model, and why any is missing."""
    notes = []
    for evaluation in evaluations:
        for metric, reason in sorted(evaluation.metric_notes.items()):
            value = evaluation.metrics.get(metric)
            state = "not computed" if value is None else "note"
            notes.append(f"{evaluation.name}: {metric} {state}: {reason}.")
    return Section(
        "all-metrics",
        "All metrics",
        tables=[all_metrics_table(evaluations, colours)],
        notes=notes,
        lead="Every metric reportgen computes, as in the JSON summary.",
    )
