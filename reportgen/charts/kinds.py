"""Chart builders for regression, multilabel and embedding views: pure functions from small,
pre-binned or pre-sampled tidy frames to charts. Models keep their colours (panel titles and
marks); where colour must mean something else (true class in an embedding), the legend says so
and a separate palette is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.classification import GUIDE, _colour, _legend_highlight, when

PANEL = 260
# Colours that mean classes, never models: dark, saturated hues chosen to stay at least 35
# CIELAB units (ΔE*ab) from every model colour (reportgen.model.PALETTE, mid-light hues) and
# from each other, so a class is never read as a model. More classes than these cycle.
CLASS_PALETTE = (
    "#cc00aa",
    "#00593b",
    "#0000cc",
    "#590000",
    "#00cc00",
    "#2c0059",
    "#595900",
    "#222222",
    "#a50052",
    "#285fcc",
)


def columnar(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[alt.Data, list[str]]:
    """Many points as one record of arrays, expanded in the browser by a flatten transform:
    field names are written once instead of once per point."""
    record = {c: frame[c].tolist() for c in columns}
    return alt.Data(values=[record]), list(columns)


def _panel_title(model: str, colour: str) -> alt.Title:
    return alt.Title(model, color=colour, anchor="start", fontSize=13)


def _reference_line(low: float, high: float, horizontal: bool) -> alt.Chart:
    if horizontal:
        line = pd.DataFrame({"x": [low, high], "y": [0.0, 0.0]})
    else:
        line = pd.DataFrame({"x": [low, high], "y": [low, high]})
    return (
        alt.Chart(line)
        .mark_line(color=GUIDE, strokeDash=[4, 4], strokeWidth=1)
        .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    )


def density_panels(
    cells: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    x_title: str,
    y_title: str,
    x_domain: tuple[float, float],
    y_domain: tuple[float, float],
    guide: str,
) -> alt.TopLevelMixin:
    """One panel per model: points (columns model, x, y) or, when ``cells`` has x2/y2/count,
    a 2-D histogram; ``guide`` is ``"diagonal"`` (y = x) or ``"zero"`` (y = 0)."""
    binned = "count" in cells.columns
    panels = []
    for model, colour in zip(models, colours, strict=True):
        mine = cells[cells["model"] == model]
        x = alt.X("x:Q", title=x_title, scale=alt.Scale(domain=list(x_domain), nice=False))
        y = alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=list(y_domain), nice=False))
        if binned:
            data, fields = columnar(mine, ["x", "x2", "y", "y2", "count"])
            marks = (
                alt.Chart(data)
                .transform_flatten(fields)
                .mark_rect()
                .encode(
                    x=x,
                    x2="x2:Q",
                    y=y,
                    y2="y2:Q",
                    color=alt.Color(
                        "count:Q",
                        title="Examples",
                        scale=alt.Scale(type="log", scheme="greys"),
                        legend=alt.Legend(format=",d", orient="right", gradientLength=120),
                    ),
                    tooltip=[
                        alt.Tooltip("x:Q", title=f"{x_title} from", format=".4g"),
                        alt.Tooltip("x2:Q", title="to", format=".4g"),
                        alt.Tooltip("y:Q", title=f"{y_title} from", format=".4g"),
                        alt.Tooltip("y2:Q", title="to", format=".4g"),
                        alt.Tooltip("count:Q", title="examples", format=","),
                    ],
                )
            )
        else:
            data, fields = columnar(mine, ["x", "y"])
            marks = (
                alt.Chart(data)
                .transform_flatten(fields)
                .mark_circle(size=14, opacity=0.45, color=colour)
                .encode(
                    x=x,
                    y=y,
                    tooltip=[
                        alt.Tooltip("x:Q", title=x_title, format=".4g"),
                        alt.Tooltip("y:Q", title=y_title, format=".4g"),
                    ],
                )
            )
        line = _reference_line(x_domain[0], x_domain[1], horizontal=guide == "zero")
        panels.append(
            alt.layer(marks, line).properties(
                width=PANEL, height=PANEL, title=_panel_title(model, colour)
            )
        )
    return alt.hconcat(*panels).resolve_scale(color="independent")


def cardinality_chart(
    counts: pd.DataFrame, series: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """How many labels each example has: the true sets, then each model's predicted sets
    (columns series, labels, share, count)."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("labels:O", title="Labels per example", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("series:N", sort=list(series)),
            y=alt.Y("share:Q", title="Share of examples", axis=alt.Axis(format="%")),
            color=_colour("series", series, colours, "Label sets"),
            tooltip=[
                alt.Tooltip("series:N", title="labels"),
                alt.Tooltip("labels:O", title="labels per example"),
                alt.Tooltip("count:Q", title="examples", format=","),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width=alt.Step(10 * max(2, len(series))), height=220)
    )


def cooccurrence_heatmap(cells: pd.DataFrame, labels: Sequence[str]) -> alt.TopLevelMixin:
    """Label × label: examples whose true sets hold both (columns row, col, count, share,
    text); the diagonal is each label's own frequency."""
    base = alt.Chart(cells).encode(
        x=alt.X("col:N", sort=list(labels), title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("row:N", sort=list(labels), title=None),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "share:Q",
            title="Share of the row label's examples",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(format="%"),
        ),
        tooltip=[
            alt.Tooltip("row:N", title="label"),
            alt.Tooltip("col:N", title="with"),
            alt.Tooltip("count:Q", title="examples", format=","),
            alt.Tooltip("share:Q", title="share of the label's examples", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("text:N"),
        color=when(alt.ColorValue, "datum.share > 0.6", "white", "#222222"),
    )
    size = max(120, min(620, 34 * len(labels)))
    return alt.layer(heat, text).properties(width=size, height=size)


def projection_panels(
    points: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    classes: Sequence[str],
    method: str,
) -> alt.TopLevelMixin:
    """One 2-D projection per model (columns model, x, y, cls, wrong, id): colour is the true
    class, crosses are misclassified examples. Classes travel as codes into a lookup table."""
    panels = []
    highlight = alt.selection_point(fields=["cls"], bind="legend", name=f"cls_{method}")
    code = {name: i for i, name in enumerate(classes)}
    names = alt.LookupData(
        data=pd.DataFrame({"c": range(len(classes)), "cls": list(classes)}),
        key="c",
        fields=["cls"],
    )
    for model, colour in zip(models, colours, strict=True):
        mine = points[points["model"] == model].assign(
            c=lambda f: f["cls"].map(code), w=lambda f: (f["wrong"] == "wrong").astype(int)
        )
        data, fields = columnar(mine, ["x", "y", "c", "w", "id"])
        panel = (
            alt.Chart(data)
            .transform_flatten(fields)
            .transform_lookup(lookup="c", from_=names)
            .transform_calculate(wrong="datum.w == 1 ? 'wrong' : 'right'")
            .mark_point(size=18, filled=True)
            .encode(
                x=alt.X("x:Q", title=f"{method} 1", axis=alt.Axis(labels=False, ticks=False)),
                y=alt.Y("y:Q", title=f"{method} 2", axis=alt.Axis(labels=False, ticks=False)),
                color=alt.Color(
                    "cls:N",
                    title="True class",
                    sort=list(classes),
                    scale=alt.Scale(domain=list(classes), range=list(CLASS_PALETTE)),
                ),
                shape=alt.Shape(
                    "wrong:N",
                    title="Prediction",
                    scale=alt.Scale(domain=["right", "wrong"], range=["circle", "cross"]),
                ),
                opacity=when(alt.OpacityValue, highlight, 0.7, 0.06),
                tooltip=[
                    alt.Tooltip("id:N"),
                    alt.Tooltip("cls:N", title="true class"),
                    alt.Tooltip("wrong:N", title="prediction"),
                ],
            )
            .properties(width=PANEL, height=PANEL, title=_panel_title(model, colour))
        )
        if not panels:
            panel = panel.add_params(highlight)
        panels.append(panel)
    return alt.hconcat(*panels)


def separation_chart(
    rows: pd.DataFrame, classes: Sequence[str], models: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """Mean silhouette per true class and overall (columns model, cls, silhouette, n)."""
    highlight = _legend_highlight("model")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=GUIDE).encode(x=alt.X("x:Q"))
    dots = (
        alt.Chart(rows)
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("cls:N", sort=list(classes), title=None),
            x=alt.X("silhouette:Q", title="Silhouette", scale=alt.Scale(domain=[-1, 1])),
            yOffset=alt.YOffset("model:N", sort=list(models)),
            color=_colour("model", models, colours, "Model"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.12),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("cls:N", title="class"),
                alt.Tooltip("silhouette:Q", format=".3f"),
                alt.Tooltip("n:Q", title="examples in the sample", format=","),
            ],
        )
        .add_params(highlight)
    )
    return alt.layer(zero, dots).properties(width=420, height=alt.Step(9 * max(2, len(models))))
