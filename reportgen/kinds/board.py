"""A leaderboard from columns that several kinds contribute: one row per model, each kind's
headline metrics (and lm-eval suites' top-level scores) as columns, the best value per column
in bold as the metric registry directs, deltas against the baseline under candidates' values."""

from __future__ import annotations

from collections.abc import Sequence

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.kinds.base import BoardColumn
from reportgen.kinds.cells import (
    add_delta,
    delta_interval_text,
    model_cell,
)
from reportgen.kinds.power_text import gated_ties
from reportgen.model import Cell, Table
from reportgen.stats.comparison import RANK_NOTE

__all__ = ["board_table", "gated_ties", "shaped"]  # gated_ties: under the verdict, for the page


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
        # the baseline is tagged, unless its name says so already ("baseline (baseline)")
        if model == baseline and len(models) > 1 and not says_baseline(model):
            cell.sub, cell.sub_role = "baseline", "tag"
        row = [cell]
        if ranked is not None:
            row.append(_rank_cell(ranked.ranks.get(model)))  # type: ignore[union-attr]
        if spread is not None:
            text = spread.spread.get(model)
            row.append(
                Cell(text or "1 run", title=f"on {spread.header}" if text else None, role="num")
            )
        for column in columns:
            best = registry.best_indices(
                [column.values.get(m) for m in models], column.higher_is_better
            )
            value = column.values.get(model)
            c = Cell(
                registry.format_value(column.metric, value),
                title=column.intervals.get(model) or None,
                role="num",
                best=models.index(model) in best,
                undefined=value is None,
            )
            if model in column.spread and value is not None:
                c.title = f"mean of {column.spread[model]}; {c.title or ''}"
            comparison = column.deltas.get(model)
            if comparison is not None and comparison.delta is not None:
                add_delta(c, comparison)
                c.title = (
                    c.title or ""
                ) + f"; Δ {delta_interval_text(comparison.ci)}, {comparison.verdict}"
            row.append(c)
        rows.append(row)
    lower = [c.header for c in columns if not c.higher_is_better]
    caption = (
        "Best value per column in bold"
        + (f"; lower is better for {', '.join(lower)}" if lower else "")
        + ". Hover a value for its 95% interval"
        + (" (benchmarks: lm-eval's standard error)" if any(c.stderr for c in columns) else "")
        + ". Under each candidate value: its difference from the baseline, coloured when "
        "significant, marked n.s. when not; a delta with neither was not tested."
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


def shaped(board: Table, baseline: str) -> Table:
    """A leaderboard with its turned layout (a row per metric) attached when the models are
    fewer than the metrics: shown everywhere when the board is too wide to read across
    (:func:`wide`), else on narrow pages (phones, print, email)."""
    if len(board.rows) < len(board.header) - 1:
        board.turned = transposed(board, baseline if len(board.rows) > 1 else None)
        board.turn = "always" if wide(board) else "narrow"
    return board


WIDE_BOARD = 1180  # under a desktop card (1,260 px in a 1,400 px window), with a margin
CHAR_PX = 8.5


VALUE_CHARS = 10  # a value and its delta line ("▲ +0.012 n.s.", in smaller type)


def wide(board: Table) -> bool:
    """Too wide to read across at desktop width (a suite of 57 subjects, a dozen headline
    metrics with long names): the board is then shown with a row per metric. The width is
    estimated from the names alone (the models' and the metrics'), never from the values, so
    that the same job keeps its layout from run to run whatever its numbers. Called for
    boards with fewer models than metrics (:func:`shaped`)."""
    names = max((len(r[0].text) for r in board.rows), default=0)  # the tag is a second line
    width = CHAR_PX * max(len(board.header[0]), names)
    width += sum(CHAR_PX * max(len(h), VALUE_CHARS) for h in board.header[1:])
    return width > WIDE_BOARD


def transposed(board: Table, baseline: str | None) -> Table:
    """The same leaderboard with a row per metric and a column per model; the best value per
    row stays in bold, and the baseline is named in its column's header."""
    tagged = baseline if baseline is not None and not says_baseline(baseline) else None
    models = [row[0].text + (" (baseline)" if row[0].text == tagged else "") for row in board.rows]
    rows = [
        [Cell(metric), *(row[j] for row in board.rows)]
        for j, metric in enumerate(board.header[1:], start=1)
    ]
    caption = board.caption.replace("Best value per column", "Best value per row", 1)
    return Table(["Metric", *models], rows, caption=caption, numeric=[False] + [True] * len(models))


def _rank_cell(rank: int | None) -> Cell:
    if rank is None:
        return Cell(
            fmt.MISSING,
            title="not ranked: no value on the ranked metric",
            role="num",
            undefined=True,
        )
    return Cell(
        str(rank),
        title="cannot be told apart from the best" if rank == 1 else None,
        role="num",
        best=rank == 1,
    )


def says_baseline(name: str) -> bool:
    """A model whose name already says it is the baseline ("baseline", "Baseline")."""
    return name.strip().lower() == "baseline"
