"""Slices drawn: every headline metric per slice value and model, each model's worst slice,
fairness gaps, and the per-slice delta against the baseline."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from reportgen import formatting as fmt
from reportgen.kinds.cells import (
    best_index,
    metric_label,
    model_cell,
    slug_of,
)
from reportgen.kinds.classification.slices import SliceAnalysis
from reportgen.model import Cell, Figure, Section, Table, chart


def slice_section(
    analysis: SliceAnalysis,
    colours: dict[str, str],
    baseline: str,
    position: int,
    draws: Callable[[str], bool] = lambda name: True,
) -> Section:
    """One metadata column: every model on every slice, deltas and fairness gaps (the heatmap
    draws the models ``draws`` says, the tables list every one)."""
    primary = analysis.primary
    cells = [c for c in analysis.cells if draws(c.model)]
    models = list(dict.fromkeys(c.model for c in cells))
    values = [c.metrics.get(primary) for c in cells]
    present = [v for v in values if v is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    frame = pd.DataFrame(
        {
            "model": [c.model for c in cells],
            "slice": [c.value for c in cells],
            "n": [c.n for c in cells],
            "value": values,
            "text": [fmt.rate(v) for v in values],
            "small": [c.small for c in cells],
            "worst": [analysis.worst.get(c.model) == c.value for c in cells],
            "shade": [
                0.0 if v is None or high == low else (v - low) / (high - low) for v in values
            ],
            "note": [
                ("worst slice; " if analysis.worst.get(c.model) == c.value else "")
                + ("too small to judge" if c.small else "")
                for c in cells
            ],
        }
    )
    drawn = chart("slice_heatmap", frame, analysis.values, models, metric_label(primary))
    deltas = {(d.candidate, d.value): d for d in analysis.deltas if d.metric == primary}
    header = [
        "Model",
        "Slice",
        "Examples",
        metric_label(primary),
        f"Δ {metric_label(primary)}",
        "95% CI of Δ",
    ]
    rows = []
    for cell in analysis.cells:
        delta = deltas.get((cell.model, cell.value))
        worst = analysis.worst.get(cell.model) == cell.value
        rows.append(
            [
                model_cell(cell.model, colours),
                Cell(
                    cell.value + (" (worst)" if worst else ""),
                    role="mono",
                    tone="worse" if worst else "",
                ),
                Cell(fmt.count(cell.n), role="num", undefined=cell.small),
                Cell(fmt.rate(cell.metrics.get(primary)), role="num"),
                Cell(fmt.signed(delta.delta) if delta else "", role="num"),
                Cell(
                    f"{fmt.signed(delta.ci[0])} to {fmt.signed(delta.ci[1])}"
                    if delta and delta.ci
                    else "",
                    role="num",
                ),
            ]
        )
    section = Section(
        f"slice-{position}-{slug_of(analysis.column)}",
        f"Slices by {analysis.column}",
        lead=f"{metric_label(primary)} of every model on every value of {analysis.column}"
        + (" (quantile bins of the baseline's values)" if analysis.binned else "")
        + "; the red outline marks each model's worst slice, faded cells have fewer examples "
        "than the minimum slice size.",
        figures=[
            Figure(
                f"slices-{slug_of(analysis.column)}",
                f"{metric_label(primary)} by {analysis.column}",
                drawn,
                table=Table(
                    header,
                    rows,
                    title="Slice table",
                    caption=f"Δ against {baseline}, on paired examples.",
                    numeric=[False, False, True, True, True, True],
                ),
            )
        ],
    )
    section.tables.append(_all_metrics(analysis, colours))
    if analysis.fairness:
        section.tables.append(
            Table(
                ["Model", "Demographic parity difference", "Equal opportunity difference"],
                [
                    [
                        model_cell(model, colours),
                        Cell(fmt.rate(gaps["demographic_parity_difference"]), role="num"),
                        Cell(fmt.rate(gaps["equal_opportunity_difference"]), role="num"),
                    ]
                    for model, gaps in analysis.fairness.items()
                ],
                title="Fairness gaps across slices",
                caption="Largest difference between slices in the share predicted positive, and "
                "in the true-positive rate (slices above the minimum size). 0 is parity.",
                numeric=[False, True, True],
            )
        )
    return section


def _all_metrics(analysis: SliceAnalysis, colours: dict[str, str]) -> Table:
    """Every headline metric of every model on every slice value, best per slice in bold."""
    names = list(dict.fromkeys(m for c in analysis.cells for m in c.metrics))
    names = [m for m in names if any(c.metrics.get(m) is not None for c in analysis.cells)]
    by_value: dict[str, list[int]] = {}
    for i, cell in enumerate(analysis.cells):
        by_value.setdefault(cell.value, []).append(i)
    best = {
        (value, m): {
            members[j] for j in best_index([analysis.cells[i].metrics.get(m) for i in members], m)
        }
        for value, members in by_value.items()
        for m in names
    }
    rows = []
    for value in analysis.values:
        for i in by_value.get(value, []):
            cell = analysis.cells[i]
            rows.append(
                [
                    Cell(value, role="mono"),
                    model_cell(cell.model, colours),
                    Cell(fmt.count(cell.n), role="num", undefined=cell.small),
                    *[
                        Cell(
                            fmt.rate(cell.metrics.get(m)),
                            role="num",
                            best=i in best[(value, m)],
                        )
                        for m in names
                    ],
                ]
            )
    return Table(
        ["Slice", "Model", "Examples", *[metric_label(m) for m in names]],
        rows,
        title=f"Every headline metric by {analysis.column}",
        caption="Best value per slice in bold; faded counts are below the minimum slice size.",
        numeric=[False, False, True, *[True] * len(names)],
        collapsed=True,
    )
