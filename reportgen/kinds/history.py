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


TRAINING_QUANTITIES = frozenset({"learning_rate", "lr", "grad_norm"})  # no better direction


def axis_title(histories: Sequence[History]) -> str:
    """The x axis of the histories' charts: what their steps count."""
    axes = sorted({h.axis for h in histories})
    return "Epoch" if axes == ["epoch"] else "Step" if axes == ["step"] else "Step or epoch"


def best_validation(history: History) -> list[dict[str, Any]]:
    """Each metric's best validation value and the step (or epoch) it was reached at: the
    lowest for a loss, the highest otherwise (the first of equal ones)."""
    validation = history.frame[history.frame["split"] == "validation"]
    found = []
    for metric, mine in validation.groupby("metric", sort=True):
        name = str(metric)
        if name.lower() in TRAINING_QUANTITIES:
            continue
        lower = registry.lower_is_better(name)
        at = mine["value"].idxmin() if lower else mine["value"].idxmax()
        found.append(
            {
                "metric": name,
                "value": float(mine.at[at, "value"]),
                history.axis: float(mine.at[at, "step"]),
                "higher_is_better": not lower,
            }
        )
    return found


def _at(axis: str, step: float) -> str:
    shown = fmt.count(int(step)) if float(step).is_integer() else f"{step:.4g}"
    return f"{axis} {shown}"


def history_section(
    histories: Sequence[History], colours: dict[str, str], scale: str
) -> Section | None:
    if not histories:
        return None
    frame = pd.concat([h.frame.assign(model=h.name) for h in histories], ignore_index=True)
    models = [h.name for h in histories]
    palette = {m: colours.get(m, PALETTE[i % len(PALETTE)]) for i, m in enumerate(models)}
    x_title = axis_title(histories)
    best = {h.name: {b["metric"]: b for b in best_validation(h)} for h in histories}
    axes = {h.name: h.axis for h in histories}
    metrics = sorted(
        frame["metric"].unique(),
        key=lambda m: (m.lower() in TRAINING_QUANTITIES, "loss" not in m.lower(), m),
    )
    section = Section(
        "training",
        "Training curves",
        lead=f"Loss and metrics over training ({x_title.lower()}s on the x axis); "
        "the diamond marks each model's best validation value.",
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
        best_rows = []
        for model in models:
            found = best[model].get(metric)
            if found is None:
                continue
            step = found[axes[model]]
            best_rows.append({"model": model, "step": step, "value": found["value"]})
            rows.append(
                [
                    model_cell(model, palette),
                    Cell(metric, role="mono"),
                    Cell(_at(axes[model], step), role="num"),
                    Cell(f"{found['value']:.4g}", role="num"),
                ]
            )
        values = part["value"].to_numpy(np.float64)
        quantity = metric.lower() in TRAINING_QUANTITIES
        log = scale == "log" or (
            scale == "auto"
            and lower
            and not quantity
            and values.min() > 0
            and values.max() / values.min() > 10
        )
        marks = pd.DataFrame(best_rows, columns=["model", "step", "value"])
        drawn = chart(
            "history_chart",
            points.round(6),
            marks,
            models,
            [palette[m] for m in models],
            metric,
            log,
            x_title,
        )
        direction = (
            "A training quantity, not a quality of the model"
            if quantity
            else ("Lower" if lower else "Higher") + " is better"
        )
        section.figures.append(
            Figure(
                f"history-{slug_of(metric)}",
                metric,
                drawn,
                lead=direction + "; solid and dashed lines are the splits, and a series of "
                "one value is a point.",
            )
        )
    if rows:
        section.tables.append(
            Table(
                ["Model", "Metric", "Best validation at", "Value"],
                rows,
                title="Best validation values",
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
        """``training_histories``: each model's file, what its steps count and each metric's
        best validation value with its step (or epoch)."""
        entries = [
            {
                "model": h.name,
                "path": str(h.path),
                "sha256": h.sha256,
                "axis": h.axis,
                "best_validation": best_validation(h),
            }
            for h in result.histories
        ]
        return SummaryPart(top={"training_histories": entries})

    def sections(self, result: HistoryResult, ctx: Context) -> list[Section]:
        histories = [h for h in result.histories if ctx.draws(h.name)]
        found = history_section(histories, ctx.colours, ctx.options.history_scale)
        return [found] if found is not None else []


HISTORY = HistoryKind()
