"""The trend of a metric over builds (``reportgen history``, ``build --trend``): one line per
model, a band for each point's stored 95% interval, significant changes against each build's
baseline marked, and value gates as rules."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.classification import GUIDE, VERDICT_COLOURS, _colour, _legend_highlight, when
from reportgen.charts.kinds import columnar

FLAG_SHAPES = {"worse": "triangle-down", "better": "triangle-up"}


def trend_chart(
    points: pd.DataFrame,
    ticks: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    metric: str,
    rules: pd.DataFrame,
    higher_is_better: bool,
    dots: bool = True,
) -> alt.TopLevelMixin:
    """``points``: build (its tick), model, value, low, high (NaN: none stored), flag
    ("worse", "better" or ""); ``rules``: threshold, gate. One series per model, in the
    order of ``ticks``; ``dots=False`` draws the lines without a mark per point (the static
    drawing of a long history)."""
    highlight = _legend_highlight("model")
    x = alt.X(
        "build:O",
        sort=list(ticks),
        scale=alt.Scale(domain=list(ticks)),
        title="Build",
        axis=alt.Axis(labelAngle=-45, labelOverlap="greedy", labelLimit=80),
    )
    y_title = metric + (" (higher is better)" if higher_is_better else " (lower is better)")
    colour = _colour("model", models, colours, "Model")
    data, fields = columnar(points, ["build", "model", "value", "low", "high", "flag"])
    base = alt.Chart().transform_flatten(fields)  # the layers share the data: written once
    tooltip = [
        alt.Tooltip("build:N"),
        alt.Tooltip("model:N"),
        alt.Tooltip("value:Q", format=".4g"),
        alt.Tooltip("low:Q", title="95% interval from", format=".4g"),
        alt.Tooltip("high:Q", title="95% interval to", format=".4g"),
    ]
    band = (
        base.transform_filter("isValid(datum.low) && isValid(datum.high)")
        .mark_area(opacity=0.14)
        .encode(
            x=x,
            y=alt.Y("low:Q", title=y_title, scale=alt.Scale(zero=False)),
            y2="high:Q",
            # fill, not colour: the legend shows the lines' colour scale, not the faint band
            fill=alt.Fill(
                "model:N", scale=alt.Scale(domain=list(models), range=list(colours)), legend=None
            ),
            detail="model:N",
        )
    )
    line = (
        base.transform_filter("isValid(datum.value)")
        .mark_line(
            point=alt.OverlayMarkDef(size=22, filled=True) if dots else False, strokeWidth=1.6
        )
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=colour,
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
            tooltip=tooltip,
        )
        .add_params(highlight)
    )
    flags = (
        base.transform_filter("datum.flag == 'worse' || datum.flag == 'better'")
        .mark_point(size=150, filled=True, strokeWidth=1, stroke="#222222")
        .encode(
            x=x,
            y=alt.Y("value:Q"),
            shape=alt.Shape(
                "flag:N",
                scale=alt.Scale(domain=list(FLAG_SHAPES), range=list(FLAG_SHAPES.values())),
                legend=alt.Legend(title="Against its baseline"),
            ),
            fill=alt.Fill(
                "flag:N",
                scale=alt.Scale(
                    domain=list(FLAG_SHAPES), range=[VERDICT_COLOURS[1], VERDICT_COLOURS[0]]
                ),
                legend=None,
            ),
            tooltip=[*tooltip, alt.Tooltip("flag:N", title="significantly")],
        )
    )
    layers: list[alt.Chart] = [band, line]
    if points["flag"].isin(list(FLAG_SHAPES)).any():
        layers.append(flags)
    if len(rules):
        layers.append(
            alt.Chart(alt.Data(values=rules.to_dict("records")))
            .mark_rule(color=GUIDE, strokeDash=[5, 4], strokeWidth=1.4)
            .encode(
                y=alt.Y("threshold:Q"),
                tooltip=[alt.Tooltip("gate:N"), alt.Tooltip("threshold:Q", format=".4g")],
            )
        )
    chart = alt.layer(*layers, data=data).properties(width=440, height=240)
    return chart.resolve_scale(fill="independent")  # the bands' models, the flags' verdicts
