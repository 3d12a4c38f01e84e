"""The threshold explorer (binary): small multiples of precision, recall, F1 and, with costs,
expected cost against the decision threshold, one line per model, and a slider that picks a
threshold. A table under the panels shows each model's rates and confusion counts there.

Everything the browser shows is computed from the counts already on the page (true and false
positives on a shared grid of thresholds) by Vega expressions: no script of our own, and it
runs under the page's CSP. Without JavaScript the static drawing shows the starting threshold,
and the HTML table beside it gives the exact operating points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from reportgen.charts.classification import _colour, _legend_highlight, _rate_axis_y, when, wrap

PANEL = 210
PARAM = "threshold_at"

# Each rate as the page computes it from the counts (p = positives, n = examples); the
# conventions are the report's: precision 1 when nothing is predicted positive.
RATES = {
    "precision": "datum.tp + datum.fp > 0 ? datum.tp / (datum.tp + datum.fp) : 1",
    "recall": "datum.p > 0 ? datum.tp / datum.p : 0",
    "f1": "2 * datum.tp / max(1, 2 * datum.tp + datum.fp + (datum.p - datum.tp))",
}
TITLES = {"precision": "Precision", "recall": "Recall", "f1": "F1", "cost": "Expected cost"}


def cost_expression(costs: Mapping[str, float]) -> str:
    """Expected cost per example from the counts: (c_TP·TP + c_FP·FP + c_FN·FN + c_TN·TN) / n."""
    counts = {
        "tp": "datum.tp",
        "fp": "datum.fp",
        "fn": "(datum.p - datum.tp)",
        "tn": "(datum.n - datum.p - datum.fp)",
    }
    terms = [f"{float(costs[k])!r} * {counts[k]}" for k in counts if costs.get(k)]
    return f"({' + '.join(terms) or '0'}) / max(1, datum.n)"


def threshold_chart(
    scan: pd.DataFrame,
    marks: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    grid: tuple[float, float, int],
    start: float,
    costs: Mapping[str, float] | None = None,
) -> alt.TopLevelMixin:
    """``scan``: columns model, i, threshold, tp, fp, p, n (i indexes the shared ``grid`` =
    (low, high, points)); ``marks``: model, metric, threshold, value, the optimal thresholds
    drawn as rings (F1-optimal in the F1 panel, cost-optimal in the cost panel)."""
    low, high, points = grid
    step = (high - low) / (points - 1) if points > 1 and high > low else 1.0
    picked = alt.param(
        name=PARAM,
        value=start,
        bind=alt.binding_range(min=low, max=high, step=step, name="Threshold (score ≥) "),
    )
    highlight = _legend_highlight("model")
    colour = _colour("model", models, colours, "Model")
    metrics = ["precision", "recall", "f1", *(["cost"] if costs else [])]
    # the scan is given once, to the whole chart, and inherited by every panel: Altair
    # deep-copies each subchart's data as the panels are combined
    base = alt.Chart().transform_calculate(
        **RATES, **({"cost": cost_expression(costs)} if costs else {})
    )
    rule = (
        alt.Chart(alt.Data(values=[{"k": 0}]))
        .transform_calculate(at=PARAM)
        .mark_rule(color="#333333", strokeDash=[3, 3])
        .encode(x=alt.X("at:Q"))
    )
    panels = []
    for metric in metrics:
        y = (
            alt.Y("cost:Q", title=TITLES["cost"], scale=alt.Scale(zero=True))
            if metric == "cost"
            else _rate_axis_y(metric, TITLES[metric])
        )
        lines = base.mark_line(strokeWidth=2).encode(
            x=alt.X(
                "threshold:Q",
                title="Threshold (score ≥)",
                scale=alt.Scale(domain=[low, high], nice=False, zero=False),
            ),
            y=y,
            color=colour,
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.12),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("threshold:Q", format=".4g"),
                alt.Tooltip(f"{metric}:Q", title=TITLES[metric], format=".3f"),
            ],
        )
        if not panels:
            lines = lines.add_params(highlight)
        layers = [lines, rule]
        mine = marks[marks["metric"] == metric]
        if len(mine):
            layers.append(
                alt.Chart(mine)
                .mark_point(size=90, strokeWidth=2.5, filled=False)
                .encode(
                    x=alt.X("threshold:Q"),
                    y=alt.Y("value:Q"),
                    color=colour,
                    tooltip=[
                        alt.Tooltip("model:N"),
                        alt.Tooltip("label:N", title="optimum"),
                        alt.Tooltip("threshold:Q", format=".4g"),
                        alt.Tooltip("value:Q", title=TITLES[metric], format=".3f"),
                    ],
                )
            )
        panels.append(alt.layer(*layers).properties(width=PANEL, height=PANEL))
    columns, meta = wrap(PANEL + 60)  # a panel with its axes (render.js: never more than 4)
    return alt.vconcat(  # params given here, not by add_params: that deep-copies the chart
        alt.concat(*panels, columns=columns),
        _readout(base, models, step, low, costs is not None),
        data=scan,
        params=[picked.param],
        usermeta=meta,
    )


def _readout(
    base: alt.Chart, models: Sequence[str], step: float, low: float, with_cost: bool
) -> alt.Chart:
    """A small table: each model's rates and counts at the picked threshold (the grid row
    nearest to it), drawn as text marks."""
    columns = {
        "Threshold": "format(datum.threshold, '.4~g')",
        "Precision": "format(datum.precision, '.3f')",
        "Recall": "format(datum.recall, '.3f')",
        "F1": "format(datum.f1, '.3f')",
        "TP": "format(datum.tp, ',d')",
        "FP": "format(datum.fp, ',d')",
        "FN": "format(datum.p - datum.tp, ',d')",
        "TN": "format(datum.n - datum.p - datum.fp, ',d')",
    }
    if with_cost:
        columns["Expected cost"] = "format(datum.cost, '.4g')"
    return (
        base.transform_filter(f"datum.i == round(({PARAM} - {low!r}) / {step!r})")
        .transform_calculate(**columns)
        .transform_fold(list(columns), as_=["heading", "text"])
        .mark_text(align="center", fontSize=12, color="#222222")
        .encode(
            x=alt.X(
                "model:N",
                sort=list(models),
                title=None,
                axis=alt.Axis(
                    orient="top", labelAngle=0, domain=False, ticks=False, grid=False, labelLimit=72
                ),
            ),
            y=alt.Y(
                "heading:N",
                sort=list(columns),
                title=None,
                axis=alt.Axis(grid=False, domain=False, ticks=False, labelPadding=12),
            ),
            text=alt.Text("text:N"),
        )
        # a row per quantity and a column per model: as narrow as the models are few
        .properties(width=alt.Step(76), height=alt.Step(20), view={"stroke": None})
    )
