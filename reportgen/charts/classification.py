"""Stage 3: chart builders, pure functions from tidy data to ``alt.Chart``.

Every chart colours models with the same fixed domain and range (one colour per model
everywhere), starts rate axes at 0 and ends them at 1, and carries tooltips. Data handed to a
builder are already small (curves simplified, classes capped): builders never aggregate rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

SQUARE = 280  # with its axis, fits a 400 px phone
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
GUIDE = "#9aa0a6"


# One look for every chart, set on the finished spec (Altair's configure_* calls deep-copy
# the whole chart each time, which cost more than building it).
CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "transparent",
    "view": {"stroke": None, "continuousWidth": SQUARE, "continuousHeight": SQUARE},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "grid": True, "gridOpacity": 0.35},
    "legend": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "orient": "bottom",
        "columns": 1,
        "labelLimit": 320,
        "symbolStrokeWidth": 3,
    },
    "header": {"labelFontSize": 12, "titleFontSize": 12},
}

# The paper's width: A4 less 12 mm margins at 96 dpi (and about an email's). Small multiples
# are laid out to fit it in the spec itself, so the static drawing (print, email, no
# JavaScript) fits; on screen the page re-flows them to the room it has (render.js reads
# ``usermeta.wrap``: one cell's width with its labels, and the width beside the cells).
PAPER = 700


def wrap(cell: int, extra: int = 0) -> tuple[int, dict[str, Any]]:
    """Columns of small multiples that fit the paper, and the ``usermeta`` telling the page
    how to re-flow them on screen: ``columns, meta = wrap(cell, extra)``."""
    return max(1, (PAPER - extra) // cell), {"wrap": {"cell": cell, "extra": extra}}


def label_width(names: Sequence[str]) -> int:
    """About the pixels an axis needs for these names (11 px type, cut at 90 px)."""
    return min(90, 7 * max((len(n) for n in names), default=1))


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec as plain JSON data, with the shared look applied.

    The ``$schema`` URL is dropped: nothing fetches it, and the page names no remote address.
    """
    spec = chart.to_dict(validate=False)  # every builder's output is validated by the tests
    spec.pop("$schema", None)
    spec["config"] = {**CONFIG, **spec.get("config", {})}
    # a JSON round trip turns numpy scalars into plain numbers and fixes key order
    return json.loads(json.dumps(spec, sort_keys=True, allow_nan=False))


def _colour(
    field: str, domain: Sequence[str], colours: Sequence[str], title: str | None
) -> alt.Color:
    return alt.Color(
        f"{field}:N",
        scale=alt.Scale(domain=list(domain), range=list(colours)),
        legend=alt.Legend(title=title) if title else None,
        sort=list(domain),
    )


def _rate_axis(field: str, title: str) -> alt.X:
    return alt.X(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(tickCount=5),
    )


def _rate_axis_y(field: str, title: str) -> alt.Y:
    return alt.Y(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(tickCount=5),
    )


def _diagonal() -> alt.Chart:
    line = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
    return (
        alt.Chart(line)
        .mark_line(color=GUIDE, strokeDash=[4, 4], strokeWidth=1)
        .encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    )


def when(channel: type[Any], predicate: Any, yes: Any, no: Any) -> Any:
    """A conditional value channel (``yes`` where ``predicate`` holds, else ``no``) built as
    its channel class, e.g. ``when(alt.OpacityValue, highlight, 1.0, 0.15)``: Altair would
    otherwise find the class of ``alt.condition``'s plain dict by validating it against the
    schema, in every chart."""
    return channel(**alt.condition(predicate, alt.value(yes), alt.value(no)))


def _legend_highlight(field: str) -> alt.Parameter:
    return alt.selection_point(fields=[field], bind="legend", name="highlight")


def curve_chart(
    points: pd.DataFrame,
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    series_order: Sequence[str],
    series_colours: Sequence[str],
    legend_title: str,
    guides: alt.Chart | None = None,
    title: str = "",
) -> alt.TopLevelMixin:
    """Overlaid curves, one per series (a model), with a legend that highlights on click.

    ``points`` has columns ``series``, ``model``, x, y and ``threshold``, in drawing order.
    """
    highlight = _legend_highlight("series")
    lines = (
        alt.Chart(points)
        .mark_line(strokeWidth=2.2, interpolate="linear")
        .encode(
            x=_rate_axis(x, x_title),
            y=_rate_axis_y(y, y_title),
            color=_colour("series", series_order, series_colours, legend_title),
            order=alt.Order("step:Q"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
            tooltip=[
                alt.Tooltip("model:N", title="model"),
                alt.Tooltip(f"{x}:Q", title=x_title, format=".3f"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=".3f"),
                alt.Tooltip("threshold:N", title="threshold"),
            ],
        )
        .add_params(highlight)
    )
    layers = [guides, lines] if guides is not None else [lines]
    chart = alt.layer(*layers).properties(width=SQUARE, height=SQUARE, title=title)
    return chart


def roc_chart(
    points: pd.DataFrame, series: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """ROC curves overlaid, chance diagonal light; legend entries carry the AUC."""
    return curve_chart(
        points,
        x="fpr",
        y="tpr",
        x_title="False-positive rate",
        y_title="True-positive rate (recall)",
        series_order=series,
        series_colours=colours,
        legend_title="Model (ROC AUC)",
        guides=_diagonal(),
    )


def pr_chart(
    points: pd.DataFrame, prevalence: float | None, series: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """Precision-recall curves overlaid, with the prevalence (a random model's precision)."""
    guide = None
    if prevalence is not None:
        guide = (
            alt.Chart(pd.DataFrame({"y": [prevalence], "label": ["prevalence"]}))
            .mark_rule(color=GUIDE, strokeDash=[4, 4])
            .encode(y=alt.Y("y:Q"), tooltip=[alt.Tooltip("y:Q", title="prevalence", format=".3f")])
        )
    return curve_chart(
        points,
        x="recall",
        y="precision",
        x_title="Recall",
        y_title="Precision",
        series_order=series,
        series_colours=colours,
        legend_title="Model (average precision)",
        guides=guide,
    )


def class_curves_chart(
    points: pd.DataFrame,
    classes: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    x: str,
    y: str,
    x_title: str,
    y_title: str,
) -> alt.TopLevelMixin:
    """One-vs-rest curves of single classes: one small panel per class, titled with its name
    (``classes`` in panel order), and every model's curve in its colour inside it."""
    highlight = _legend_highlight("model")
    base = alt.Chart().encode(  # data come from the facet, so each panel gets its own
        x=_rate_axis(x, x_title),
        y=_rate_axis_y(y, y_title),
        order=alt.Order("step:Q"),
        color=_colour("model", models, colours, "Model"),
        opacity=when(alt.OpacityValue, highlight, 0.9, 0.12),
        tooltip=[
            alt.Tooltip("class:N"),
            alt.Tooltip("model:N"),
            alt.Tooltip("score:Q", title="class AUC / AP", format=".3f"),
        ],
    )
    lines = base.mark_line(strokeWidth=1.6).add_params(highlight)
    layers = [_diagonal(), lines] if x == "fpr" else [lines]
    columns, meta = wrap(230)
    return (
        alt.layer(*layers)
        .properties(width=170, height=170)
        .facet(
            facet=alt.Facet(
                "class:N",
                sort=list(classes),
                title=None,
                header=alt.Header(labelFontSize=12, labelFontWeight="bold", labelLimit=170),
            ),
            columns=columns,
            data=points,
        )
        .properties(usermeta=meta)
    )


def confusion_chart(
    cells: pd.DataFrame, classes: Sequence[str], models: Sequence[str], normalised: bool
) -> alt.TopLevelMixin:
    """Confusion matrices side by side: rows true class, columns predicted class.

    ``cells`` has columns model, true, predicted, count, rate (row-normalised), and display
    strings count_text and rate_text.
    """
    size = max(140, min(270, 24 * len(classes)))
    label = label_width(classes)
    columns, meta = wrap(size + label + 45)  # with its axis labels and titles
    value = "rate" if normalised else "count"
    text_field = "rate_text" if normalised else "count_text"
    colour = alt.Color(
        f"{value}:Q",
        scale=alt.Scale(scheme="blues", domain=[0, 1])
        if normalised
        else alt.Scale(scheme="blues", zero=True),
        legend=alt.Legend(
            title="Share of true class" if normalised else "Examples",
            format=".0%" if normalised else ",d",
            orient="bottom",
            direction="horizontal",
            gradientLength=size,
        ),
    )
    base = alt.Chart().encode(
        x=alt.X(
            "predicted:N",
            sort=list(classes),
            title="Predicted class",
            axis=alt.Axis(labelAngle=-45 if len(classes) > 6 else 0, labelLimit=90),
        ),
        y=alt.Y("true:N", sort=list(classes), title="True class", axis=alt.Axis(labelLimit=90)),
    )
    heat = base.mark_rect(stroke="#ffffff", strokeWidth=0.5).encode(
        color=colour,
        tooltip=[
            alt.Tooltip("model:N"),
            alt.Tooltip("true:N", title="true class"),
            alt.Tooltip("predicted:N", title="predicted"),
            alt.Tooltip("count:Q", title="examples", format=","),
            alt.Tooltip("rate:Q", title="share of true class", format=".1%"),
        ],
    )
    layers = [heat]
    if len(classes) <= 12:
        text = base.mark_text(fontSize=10 if len(classes) > 6 else 12).encode(
            text=alt.Text(f"{text_field}:N"),
            color=when(
                alt.ColorValue,
                f"datum.{'rate' if normalised else 'count_shade'} > 0.55",
                "white",
                "#222222",
            ),
        )
        layers.append(text)
    chart = (
        alt.layer(*layers, data=cells)
        .properties(width=size, height=size)
        .facet(
            facet=alt.Facet(
                "model:N", sort=list(models), title=None, header=alt.Header(labelFontWeight="bold")
            ),
            columns=columns,
        )
        .resolve_scale(color="shared")
        .resolve_axis(x="independent", y="independent")  # every matrix labelled
        .properties(usermeta=meta)
    )
    return chart


def reliability_chart(
    bins: pd.DataFrame, models: Sequence[str], colours: Sequence[str], x_title: str, y_title: str
) -> alt.TopLevelMixin:
    """Reliability diagram (observed vs predicted per bin) above the histogram of scores."""
    highlight = _legend_highlight("model")
    colour = _colour("model", models, colours, "Model")
    tooltip = [
        alt.Tooltip("model:N"),
        alt.Tooltip("bin:N", title="bin"),
        alt.Tooltip("confidence:Q", title="mean predicted", format=".3f"),
        alt.Tooltip("observed:Q", title="observed", format=".3f"),
        alt.Tooltip("low:Q", title="95% interval from", format=".3f"),
        alt.Tooltip("high:Q", title="95% interval to", format=".3f"),
        alt.Tooltip("count:Q", title="examples", format=","),
    ]
    base = alt.Chart(bins)
    curve = base.encode(
        x=_rate_axis("confidence", x_title),
        y=_rate_axis_y("observed", y_title),
        color=colour,
        opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
        tooltip=tooltip,
    )
    diagram = alt.layer(
        _diagonal(),
        # each bin's 95% Wilson interval: small bins swing, and say so
        curve.mark_rule(strokeWidth=1.5).encode(
            y=_rate_axis_y("low", y_title), y2=alt.Y2("high:Q")
        ),
        curve.mark_line(strokeWidth=2).add_params(highlight),
        curve.mark_point(filled=True).encode(
            size=alt.Size("count:Q", scale=alt.Scale(range=[15, 220]), legend=None)
        ),
    ).properties(width=SQUARE, height=SQUARE)
    histogram = (
        base.mark_bar(opacity=0.8)
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title=x_title,
                scale=alt.Scale(domain=[0, 1], nice=False),
            ),
            x2=alt.X2("bin_end:Q"),
            y=alt.Y("share:Q", title="Share of examples", axis=alt.Axis(format=".0%"), stack=None),
            color=colour,
            opacity=when(alt.OpacityValue, highlight, 0.55, 0.08),
            tooltip=tooltip,
        )
        .properties(width=SQUARE, height=90)
    )
    return alt.vconcat(diagram, histogram, spacing=8)


def per_class_chart(
    rows: pd.DataFrame, classes: Sequence[str], models: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """Per-class precision, recall and F1 as a dot plot grouped by model."""
    highlight = _legend_highlight("model")
    # a focus view: zoomed to the values (differences between models are the point), and it
    # says so on its axis, since rates otherwise start at 0
    low = float(rows["value"].min()) if len(rows) else 0.0
    start = max(0.0, math.floor(low * 20) / 20) if math.isfinite(low) else 0.0
    title = f"Rate (focus: axis from {start:.2f})" if start > 0 else "Rate"
    label = label_width(classes)
    columns, meta = wrap(200 + 20, label + 30)  # class labels and title once, on the left
    chart = (
        alt.Chart(rows)
        .mark_point(filled=True, size=60)
        .encode(
            y=alt.Y("class:N", sort=list(classes), title="Class"),
            x=alt.X(
                "value:Q", title=title, scale=alt.Scale(domain=[start, 1], nice=False, clamp=True)
            ),
            yOffset=alt.YOffset("model:N", sort=list(models)),
            color=_colour("model", models, colours, "Model"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.12),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("class:N"),
                alt.Tooltip("metric:N"),
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("support:Q", format=","),
            ],
        )
        .add_params(highlight)
        # the step is one model's row (yOffset): a class is as tall as its models need
        .properties(width=200, height=alt.Step(8))
        .facet(
            facet=alt.Facet(
                "metric:N",
                sort=["precision", "recall", "f1"],
                title=None,
                header=alt.Header(labelFontWeight="bold"),
            ),
            columns=columns,
        )
        .properties(usermeta=meta)
    )
    return chart


def confused_pairs_chart(
    pairs: pd.DataFrame, order: Sequence[str], models: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """The most frequent mistakes (true → predicted), bars grouped by model."""
    highlight = _legend_highlight("model")
    chart = (
        alt.Chart(pairs)
        .mark_bar()
        .encode(
            y=alt.Y("pair:N", sort=list(order), title="True class → predicted class"),
            x=alt.X("count:Q", title="Examples", axis=alt.Axis(format=",d", tickMinStep=1)),
            yOffset=alt.YOffset("model:N", sort=list(models)),
            color=_colour("model", models, colours, "Model"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("pair:N", title="mistake"),
                alt.Tooltip("count:Q", format=","),
                alt.Tooltip("rate:Q", title="share of true class", format=".1%"),
            ],
        )
        .add_params(highlight)
        # the step is one model's bar (yOffset): a pair is as tall as its models need
        .properties(width=300, height=alt.Step(7))
    )
    return chart


VERDICT_SHOWN = {  # the verdict as the chart's colour legend says it
    "better": "better (significant)",
    "worse": "worse (significant)",
    "tie": "tie (n.s.)",
    "untested": "untested",
}
VERDICT_COLOURS = ("#1a7f37", "#c62828", GUIDE, "#d0d4d9")


def improvement_chart(
    points: pd.DataFrame, metrics: Sequence[str], candidates: Sequence[str], colours: Sequence[str]
) -> alt.TopLevelMixin:
    """Each candidate's improvement over the baseline with its adjusted interval, coloured by
    its verdict (significantly better, worse, or a tie), one row per metric with zero always
    in view and marked. Metrics in [0, 1] share one scale, so their gaps compare; the others
    (log loss, errors in units) get their own, and say so.

    ``points`` has columns candidate, metric, improvement, low, high, verdict, p, label and
    scale ("shared" or "own")."""
    points = points.assign(
        shown=points["verdict"].map(VERDICT_SHOWN),
        row=[
            m if scale == "shared" else f"{m} (own scale)"
            for m, scale in zip(points["metric"], points["scale"], strict=True)
        ],
    )
    base = alt.Chart().encode(  # data come from the facet, so each panel gets its own
        y=alt.Y("candidate:N", sort=list(candidates), title=None, axis=alt.Axis(labelLimit=90)),
        color=alt.Color(
            "shown:N",
            title="Verdict",
            scale=alt.Scale(domain=list(VERDICT_SHOWN.values()), range=list(VERDICT_COLOURS)),
            legend=alt.Legend(orient="top", direction="horizontal", columns=2),
        ),
        tooltip=[
            alt.Tooltip("candidate:N"),
            alt.Tooltip("metric:N"),
            alt.Tooltip("improvement:Q", format="+.4f"),
            alt.Tooltip("low:Q", title="adjusted interval from", format="+.4f"),
            alt.Tooltip("high:Q", title="adjusted interval to", format="+.4f"),
            alt.Tooltip("plain:N", title="unadjusted 95% interval"),
            alt.Tooltip("p:N", title="adjusted p"),
            alt.Tooltip("verdict:N"),
        ],
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color="#5f6670", strokeWidth=1.5)
        .encode(x=alt.X("x:Q"), description=alt.DescriptionValue("zero"))
    )
    axis = alt.Axis(tickCount=4, format="+.2~r", title=None)
    # the description is each bar's accessible name: "new, F1: worse"
    bars = base.mark_rule(strokeWidth=2.5).encode(
        x=alt.X("low:Q", axis=axis, scale=alt.Scale(zero=True)),
        x2=alt.X2("high:Q"),
        description=alt.Description("label:N"),
    )
    dots = base.mark_point(filled=True, size=55).encode(x=alt.X("improvement:Q"))
    order = {m: i for i, m in enumerate(metrics)}
    label = label_width(candidates)
    columns, meta = wrap(220 + label + 20)
    panels = []
    for scale in ("shared", "own"):
        mine = points[points["scale"] == scale]
        if mine.empty:
            continue
        sort = sorted(
            set(mine["row"]), key=lambda r: order.get(r.removesuffix(" (own scale)"), len(order))
        )
        panels.append(
            alt.layer(zero, bars, dots)
            .properties(width=220, height=alt.Step(14))  # two side by side on paper
            .facet(
                facet=alt.Facet(
                    "row:N",
                    sort=sort,
                    title=None,
                    header=alt.Header(
                        labelAngle=0,
                        labelOrient="top",
                        labelAnchor="start",
                        labelFontWeight="bold",
                    ),
                ),
                data=mine,
                columns=columns,
                spacing={"row": 4, "column": 24},
            )
            .resolve_scale(x="shared" if scale == "shared" else "independent")
        )
    if len(panels) == 1:
        return panels[0].properties(usermeta=meta)
    return alt.vconcat(*panels, spacing=10, usermeta=meta)


def slice_heatmap(
    cells: pd.DataFrame, values: Sequence[str], models: Sequence[str], metric: str
) -> alt.TopLevelMixin:
    """Model x slice, coloured by one metric; small slices faded, each model's worst slice
    outlined. ``cells`` has columns model, slice, n, value, text, small, worst."""
    width = max(160, min(900, 70 * len(values)))
    base = alt.Chart(cells).encode(
        x=alt.X(
            "slice:N", sort=list(values), title=None, axis=alt.Axis(labelAngle=-30, labelLimit=140)
        ),
        y=alt.Y("model:N", sort=list(models), title=None),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("value:Q", title=metric, scale=alt.Scale(scheme="blues")),
        opacity=when(alt.OpacityValue, "datum.small", 0.3, 1.0),
        stroke=when(alt.StrokeValue, "datum.worst", "#c62828", None),
        strokeWidth=when(alt.StrokeWidthValue, "datum.worst", 2.5, 0),
        tooltip=[
            alt.Tooltip("model:N"),
            alt.Tooltip("slice:N"),
            alt.Tooltip("n:Q", title="examples", format=","),
            alt.Tooltip("value:Q", title=metric, format=".3f"),
            alt.Tooltip("note:N", title="note"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("text:N"),
        color=when(alt.ColorValue, "datum.shade > 0.6", "white", "#222222"),
    )
    return alt.layer(heat, text).properties(width=width, height=alt.Step(30))
