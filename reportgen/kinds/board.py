"""A leaderboard from columns that several kinds contribute: one row per model, each kind's
headline metrics (and lm-eval suites' top-level scores) as columns, the best value per column
in bold as the metric registry directs, deltas against the baseline under candidates' values."""

from __future__ import annotations

from collections.abc import Sequence

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.kinds.base import BoardColumn
from reportgen.kinds.cells import (
    delta_cell_parts,
    interval_text,
    model_cell,
)
from reportgen.model import Cell, Table
from reportgen.stats.comparison import RANK_NOTE


def board_table(
    models: Sequence[str],
    colours: dict[str, str],
    columns: Sequence[BoardColumn],
    baseline: str,
) -> Table:
    models = list(models)
    ranked = next((c for c in columns if c.ranks), None)  # the first column that has ranks
    spread = next((c for c in columns if c.spread), None)  # models given as repeats (seeds)
    header = [
        "Model",
        *(["Rank"] if ranked else []),
        *(["Repeats"] if spread else []),
        *[c.header for c in columns],
    ]
    rows = []
    for model in models:
        cell = model_cell(model, colours)
        if model == baseline and len(models) > 1:
            cell.sub, cell.sub_css = "baseline", "tag"
        row = [cell]
        if ranked is not None:
            row.append(_rank_cell(ranked.ranks.get(model)))  # type: ignore[union-attr]
        if spread is not None:
            text = spread.spread.get(model)
            row.append(
                Cell(text or "1 run", title=f"on {spread.header}" if text else None, css="num")
            )
        for column in columns:
            best = registry.best_indices(
                [column.values.get(m) for m in models], column.higher_is_better
            )
            value = column.values.get(model)
            css = "num" + (" best" if models.index(model) in best else "")
            c = Cell(
                registry.format_value(column.metric, value),
                title=column.intervals.get(model) or None,
                css=css,
            )
            if value is None:
                c.css += " missing"
            if model in column.spread and value is not None:
                c.title = f"mean of {column.spread[model]}; {c.title or ''}"
            comparison = column.deltas.get(model)
            if comparison is not None and comparison.delta is not None:
                c.sub, c.sub_css = delta_cell_parts(comparison)
                c.title = (
                    c.title or ""
                ) + f"; Δ {interval_text(comparison.ci)}, {comparison.verdict}"
            row.append(c)
        rows.append(row)
    lower = [c.header for c in columns if not c.higher_is_better]
    caption = (
        "Best value per column in bold"
        + (f"; lower is better for {', '.join(lower)}" if lower else "")
        + ". Hover a value for its 95% interval"
        + (" (benchmarks: lm-eval's standard error)" if any(c.stderr for c in columns) else "")
        + ". Under each candidate value: its difference from the baseline, coloured when "
        "significant, grey when not."
        + (" " + RANK_NOTE.format(metric=ranked.header) if ranked else "")
        + (
            " A model given as repeats (seeds) shows the mean over them; its interval counts "
            "the test set and the seeds' spread."
            if spread
            else ""
        )
    )
    numeric = [False, *([True] if ranked else []), *([True] if spread else [])]
    numeric += [True] * len(columns)
    return Table(header, rows, caption=caption, numeric=numeric)


def _rank_cell(rank: int | None) -> Cell:
    if rank is None:
        return Cell(
            fmt.MISSING, title="not ranked: no value on the ranked metric", css="num missing"
        )
    return Cell(
        str(rank),
        title="cannot be told apart from the best" if rank == 1 else None,
        css="num" + (" best" if rank == 1 else ""),
    )
