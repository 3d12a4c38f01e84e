"""Training histories: loss and metrics per step, one chart per metric with the models
overlaid and each model's best validation step marked; each series simplified to at most
``HISTORY_POINTS`` points, so the page does not grow with the number of steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.ingest.history import History
from reportgen.kinds.base import Context, Kind, KindResult, SummaryPart
from reportgen.kinds.cells import (
    model_cell,
    slug_of,
)
from reportgen.kinds.classification.curves import simplify_bounded
from reportgen.model import PALETTE, Cell, Figure, RunInfo, Section, Table, chart

HISTORY_POINTS = 300  # per (model, split, metric) series


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
        key=lambda m: (not registry.lower_is_better(m) or "loss" not in m.lower(), m),
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
        lower = registry.lower_is_better(metric)
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
                    model_cell(model, palette),
                    Cell(metric, role="mono"),
                    Cell(fmt.count(int(mine.at[at, "step"])), role="num"),
                    Cell(f"{mine.at[at, 'value']:.4g}", role="num"),
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
                f"history-{slug_of(metric)}",
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


@dataclass
class HistoryResult(KindResult):
    histories: list[History] = field(default_factory=list)


class HistoryKind(Kind):
    """Training curves, from ``history.<ext>`` in a run folder, ``<stem>.history.<ext>``
    beside a run file, or ``--history NAME=PATH`` (long or wide form)."""

    name = "training history"
    compares = False
    title = "Training curves"
    board = "history"
    run_types = (History,)

    def evaluate(self, runs: list[Any], ctx: Context) -> HistoryResult | None:
        if not runs:
            return None
        return HistoryResult(self.name, "", [h.name for h in runs], histories=runs)

    def run_infos(self, result: HistoryResult, ctx: Context) -> list[RunInfo]:
        return []  # a history is drawn, not evaluated: it is not a run of the runs table

    def summary(self, result: HistoryResult) -> SummaryPart:
        return SummaryPart()

    def sections(self, result: HistoryResult, ctx: Context) -> list[Section]:
        histories = [h for h in result.histories if ctx.draws(h.name)]
        found = history_section(histories, ctx.colours, ctx.options.history_scale)
        return [found] if found is not None else []


HISTORY = HistoryKind()
