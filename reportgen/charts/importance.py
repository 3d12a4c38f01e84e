"""Chart builders for feature importance: dodged bars of the top features of every model,
with error bars, and a beeswarm of per-example contributions per model."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.classification import GUIDE, _colour, _legend_highlight, when
from reportgen.charts.kinds import _panel_title, columnar

ROW = 7  # px per model within a feature's group
BARS_WIDTH = 420  # the bars' width on a desktop and on paper
LABEL_LIMIT = 150  # px of a feature's name beside the bars (the tooltip has all of it)
# on a narrower screen the page narrows the bars to the room left beside the names, the
# axis and the chart's menu (``usermeta.fit``), down to FIT_MIN px
FIT_EXTRA, FIT_MIN = LABEL_LIMIT + 75, 120
SWARM_ROW = 26  # px per feature row of the beeswarm
SWARM_WIDTH = 300
LOW_COLOUR, HIGH_COLOUR, NO_VALUE = "#1f6fd1", "#d6336c", "#9aa0a6"


def importance_bars(
    rows: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    x_title: str,
) -> alt.TopLevelMixin:
    """Horizontal bars, one group per feature (in the ``order`` column's order), a bar per
    model; ``rows`` has columns feature, order, model, importance, low, high, method."""
    highlight = _legend_highlight("model")
    base = alt.Chart(rows).encode(
        y=alt.Y(
            "feature:N",
            sort=alt.EncodingSortField("order", op="min"),
            title=None,
            axis=alt.Axis(labelLimit=LABEL_LIMIT),
        ),
        yOffset=alt.YOffset("model:N", sort=list(models)),
    )
    bars = base.mark_bar().encode(
        # a long title is cut to the bars' width (a phone narrows them), never wider
        x=alt.X("importance:Q", title=x_title, axis=alt.Axis(titleLimit=alt.ExprRef("width"))),
        color=_colour("model", models, colours, "Model"),
        opacity=when(alt.OpacityValue, highlight, 0.9, 0.2),
        tooltip=[
            alt.Tooltip("model:N"),
            alt.Tooltip("feature:N"),
            alt.Tooltip("method:N"),
            alt.Tooltip("importance:Q", format=".4g"),
            alt.Tooltip("std:Q", title="± std", format=".4g"),
        ],
    )
    errors = (
        base.transform_filter("isValid(datum.low)")
        .mark_rule(color="#333333", strokeWidth=1)
        .encode(x=alt.X("low:Q"), x2=alt.X2("high:Q"))
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=GUIDE).encode(x=alt.X("x:Q"))
    return alt.layer(zero, bars.add_params(highlight), errors).properties(
        width=BARS_WIDTH,
        height=alt.Step(ROW * max(2, len(models))),
        usermeta={"fit": {"width": BARS_WIDTH, "extra": FIT_EXTRA, "min": FIT_MIN}},
    )


def contribution_swarm(
    points: pd.DataFrame,
    features: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    coloured: bool,
) -> alt.TopLevelMixin:
    """One panel per model: a row per feature (in ``features``' order), each point an
    example at its contribution, stacked across the row by ``offset`` and coloured by the
    feature's value (``colour`` in [0, 1]; grey where the run lacks the feature). ``points``
    has columns model, order (a place in ``features``), value, colour, offset; the names are
    joined in the browser, so each is written once."""
    names = alt.LookupData(
        alt.Data(values=[{"order": i, "feature": f} for i, f in enumerate(features)]),
        key="order",
        fields=["feature"],
    )
    panels = []
    for model, colour in zip(models, colours, strict=True):
        mine = points[points["model"] == model].astype({"colour": object})
        mine = mine.assign(colour=mine["colour"].where(mine["colour"].notna(), None))
        data, fields = columnar(mine, ["order", "value", "colour", "offset"])
        colour_channel = (
            alt.Color(
                "colour:Q",
                title="Feature value",
                scale=alt.Scale(domain=[0, 1], range=[LOW_COLOUR, HIGH_COLOUR]),
                legend=alt.Legend(
                    orient="right",
                    gradientLength=100,
                    values=[0, 1],
                    labelExpr="datum.value < 0.5 ? 'low' : 'high'",
                ),
            )
            if coloured
            else alt.value(NO_VALUE)
        )
        swarm = (
            alt.Chart(data)
            .transform_flatten(fields)
            .transform_lookup(lookup="order", from_=names)
            .mark_circle(size=10, opacity=0.7)
            .encode(
                x=alt.X("value:Q", title="Contribution to the output"),
                y=alt.Y(
                    "feature:N",
                    sort=alt.EncodingSortField("order", op="min"),
                    title=None,
                    axis=alt.Axis(labelLimit=200, grid=False),
                ),
                yOffset=alt.YOffset("offset:Q", scale=alt.Scale(domain=[-0.5, 0.5])),
                color=alt.condition("isValid(datum.colour)", colour_channel, alt.value(NO_VALUE))
                if coloured
                else colour_channel,
                tooltip=[
                    alt.Tooltip("feature:N"),
                    alt.Tooltip("value:Q", title="contribution", format=".4g"),
                ],
            )
        )
        zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=GUIDE).encode(x=alt.X("x:Q"))
        panels.append(
            alt.layer(zero, swarm).properties(
                width=SWARM_WIDTH, height=alt.Step(SWARM_ROW), title=_panel_title(model, colour)
            )
        )
    return alt.hconcat(*panels).resolve_scale(color="shared")
