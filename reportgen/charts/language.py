"""Chart builders for language-model views: pure functions from small tidy frames to charts,
with the same fixed model colours as every other chart (:mod:`reportgen.views`)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.classification import GUIDE, SQUARE, _colour, _legend_highlight, when


def distribution_chart(
    bins: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    x_title: str,
    log: bool = True,
) -> alt.TopLevelMixin:
    """Share of examples per bin (log-spaced, or equal-width with ``log=False``), one step line
    per model.

    ``bins`` has columns model, low, high, mid, share, count (pre-binned: size is bounded)."""
    highlight = _legend_highlight("model")
    return (
        alt.Chart(bins)
        .mark_line(interpolate="step", strokeWidth=2)
        .encode(
            x=alt.X("mid:Q", title=x_title, scale=alt.Scale(type="log" if log else "linear")),
            y=alt.Y("share:Q", title="Share of examples", axis=alt.Axis(format="%")),
            color=_colour("model", models, colours, "Model"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("low:Q", title="from", format=".4g"),
                alt.Tooltip("high:Q", title="to", format=".4g"),
                alt.Tooltip("count:Q", title="examples", format=","),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .add_params(highlight)
        .properties(width=520, height=SQUARE - 60)
    )


def _in_order(
    frame: pd.DataFrame, column: str, values: Sequence[str]
) -> tuple[pd.DataFrame, alt.EncodingSortField]:
    """Sort an axis of many values by a rank column: Vega-Lite compiles a list sort into one
    nested conditional per value, which overflows the expression parser's stack past ~1,000
    values (a group of 1,500 lm-eval subtasks)."""
    rank = {value: i for i, value in enumerate(values)}
    ranked = frame.assign(order=frame[column].map(rank).fillna(len(rank)).astype(int))
    return ranked, alt.EncodingSortField("order", op="min")


def benchmark_bars(
    scores: pd.DataFrame,
    tasks: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
) -> alt.TopLevelMixin:
    """Grouped bars, one group per task, with 95% error bars from lm-eval's standard errors.

    ``scores`` has columns task, model, value, low, high, metric, stderr."""
    highlight = _legend_highlight("model")
    scores, order = _in_order(scores, "task", tasks)
    base = alt.Chart(scores).encode(
        x=alt.X("task:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160)),
        xOffset=alt.XOffset("model:N", sort=list(models)),
    )
    bars = base.mark_bar().encode(
        y=alt.Y(
            "value:Q", title="Score (primary metric)", scale=alt.Scale(domain=[0, 1], nice=False)
        ),
        color=_colour("model", models, colours, "Model"),
        opacity=when(alt.OpacityValue, highlight, 0.9, 0.2),
        tooltip=[
            alt.Tooltip("model:N"),
            alt.Tooltip("task:N"),
            alt.Tooltip("metric:N"),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("stderr:Q", title="± stderr", format=".3f"),
        ],
    )
    errors = base.mark_rule(color="#333333", strokeWidth=1.2).encode(
        y=alt.Y("low:Q"), y2=alt.Y2("high:Q")
    )
    step = max(8, min(22, 60 // max(1, len(models))))
    return alt.layer(bars.add_params(highlight), errors).properties(
        width=alt.Step(step), height=SQUARE
    )


def delta_heatmap(
    cells: pd.DataFrame, subtasks: Sequence[str], candidates: Sequence[str], bound: float
) -> alt.TopLevelMixin:
    """Subtask x candidate, coloured by the delta against the baseline on a diverging scale
    centred on zero; ``cells`` has columns subtask, candidate, delta, text, significant."""
    cells, order = _in_order(cells, "subtask", subtasks)
    base = alt.Chart(cells).encode(
        y=alt.Y("subtask:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X(
            "candidate:N",
            sort=list(candidates),
            title="Δ vs baseline",
            axis=alt.Axis(orient="top", labelAngle=0),
        ),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "delta:Q",
            title="Δ",
            scale=alt.Scale(scheme="redblue", domain=[-bound, bound], domainMid=0),
            legend=alt.Legend(orient="right", format="+.2f"),
        ),
        tooltip=[
            alt.Tooltip("subtask:N"),
            alt.Tooltip("candidate:N"),
            alt.Tooltip("baseline:Q", format=".3f"),
            alt.Tooltip("value:Q", title="candidate", format=".3f"),
            alt.Tooltip("delta:Q", title="Δ", format="+.3f"),
            alt.Tooltip("p:N", title="p (Holm)"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("text:N"),
        color=when(alt.ColorValue, "datum.shade > 0.55", "white", "#222222"),
    )
    return alt.layer(heat, text).properties(width=alt.Step(110), height=alt.Step(15))


def _padded(values: pd.Series, left: float, right: float) -> list[float]:
    """A domain holding every value with room for its marker (and, ``right``, its label)."""
    low, high = float(values.min()), float(values.max())
    span = high - low or abs(high) * 0.1 or 1.0
    return [low - left * span, high + right * span]


FRONT_SHAPES = {"on the Pareto front": "circle", "dominated": "diamond"}


def quality_latency_chart(
    points: pd.DataFrame, models: Sequence[str], colours: Sequence[str], quality: str, higher: bool
) -> alt.TopLevelMixin:
    """Quality against median latency, one point per model: circles on the Pareto front,
    joined by a dashed line when two or more models are on it, diamonds for the others (a
    legend says which). The axes are padded so that every marker and its name sit inside.

    ``points`` has columns model, latency, quality, front (bool), front_text."""
    highlight = _legend_highlight("model")
    points = points.assign(
        shape=["on the Pareto front" if f else "dominated" for f in points["front"]]
    )
    x_scale = alt.Scale(domain=_padded(points["latency"], 0.12, 0.45), nice=False)
    y_scale = alt.Scale(domain=_padded(points["quality"], 0.15, 0.15), nice=False)
    x = alt.X("latency:Q", title="Median latency (ms), lower is better", scale=x_scale)
    y = alt.Y(
        "quality:Q", title=f"{quality} ({'higher' if higher else 'lower'} is better)", scale=y_scale
    )
    layers = []
    if int(points["front"].sum()) >= 2:
        layers.append(
            alt.Chart(points)
            .transform_filter("datum.front")
            .mark_line(color=GUIDE, strokeDash=[5, 4], strokeWidth=1.5)
            .encode(x=x, y=y, order=alt.Order("latency:Q"))
        )
    shapes = [s for s in FRONT_SHAPES if s in set(points["shape"])]
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=110)
        .encode(
            x=x,
            y=y,
            color=_colour("model", models, colours, "Model"),
            shape=alt.Shape(
                "shape:N",
                scale=alt.Scale(domain=shapes, range=[FRONT_SHAPES[s] for s in shapes]),
                legend=alt.Legend(title="Marker"),
            ),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.2),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("latency:Q", title="p50 latency (ms)", format=",.1f"),
                alt.Tooltip("quality:Q", title=quality, format=".3f"),
                alt.Tooltip("front_text:N", title="Pareto front"),
            ],
        )
        .add_params(highlight)
    )
    labels = (
        alt.Chart(points)
        .mark_text(align="left", dx=8, dy=-6, fontSize=11)
        .encode(x=x, y=y, text=alt.Text("model:N"))
    )
    return alt.layer(*layers, dots, labels).properties(width=SQUARE + 120, height=SQUARE - 40)


def history_chart(
    points: pd.DataFrame,
    best: pd.DataFrame,
    models: Sequence[str],
    colours: Sequence[str],
    metric: str,
    log_scale: bool,
    x_title: str = "Step",
) -> alt.TopLevelMixin:
    """One metric's training curves: colour = model, dash = split; the best validation step
    of each model marked; a series of one value (a single test loss) drawn as a point, which a
    line cannot show. ``points``: model, split, step, value; ``best``: model, step, value;
    ``x_title``: what the steps count (Step, Epoch)."""
    highlight = _legend_highlight("model")
    y_scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    lines = (
        alt.Chart(points)
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X("step:Q", title=x_title),
            y=alt.Y("value:Q", title=metric + (" (log scale)" if log_scale else ""), scale=y_scale),
            color=_colour("model", models, colours, "Model"),
            strokeDash=alt.StrokeDash("split:N", title="Split"),
            detail=alt.Detail("split:N"),
            opacity=when(alt.OpacityValue, highlight, 1.0, 0.15),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("split:N"),
                alt.Tooltip("step:Q", format=","),
                alt.Tooltip("value:Q", format=".4g"),
            ],
        )
        .add_params(highlight)
    )
    marks = (
        alt.Chart(best)
        .mark_point(shape="diamond", size=140, filled=True, stroke="#222222", strokeWidth=1)
        .encode(
            x=alt.X("step:Q"),
            y=alt.Y("value:Q"),
            color=_colour("model", models, colours, "Model"),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("step:Q", title="best validation step", format=","),
                alt.Tooltip("value:Q", format=".4g"),
            ],
        )
    )
    sizes = points.groupby(["model", "split"], sort=False)["step"].transform("size")
    single = points[sizes.to_numpy() == 1]
    dots = (
        alt.Chart(single)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("step:Q"),
            y=alt.Y("value:Q"),
            color=_colour("model", models, colours, "Model"),
            shape=alt.Shape("split:N", title="Split"),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("split:N"),
                alt.Tooltip("step:Q", format=","),
                alt.Tooltip("value:Q", format=".4g"),
            ],
        )
    )
    layers = [lines]  # an empty layer has no extent
    layers += [dots] if len(single) else []
    layers += [marks] if len(best) else []
    return alt.layer(*layers).properties(width=440, height=SQUARE - 40)


def slice_dots(
    cells: pd.DataFrame,
    values: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    metric: str,
    rate: bool = False,
) -> alt.TopLevelMixin:
    """One metric per slice value and model, small slices faded; a rate's axis spans [0, 1].

    ``cells`` has columns model, slice, score, n, small."""
    highlight = _legend_highlight("model")
    return (
        alt.Chart(cells)
        .mark_point(filled=True, size=80)
        .encode(
            y=alt.Y("slice:N", sort=list(values), title=None),
            x=alt.X(
                "score:Q",
                title=metric,
                scale=alt.Scale(domain=[0, 1], nice=False) if rate else alt.Scale(zero=False),
            ),
            color=_colour("model", models, colours, "Model"),
            opacity=when(alt.OpacityValue, "datum.small", 0.3, 1.0),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("slice:N"),
                alt.Tooltip("score:Q", title=metric, format=".3f"),
                alt.Tooltip("n:Q", title="examples", format=","),
            ],
        )
        .add_params(highlight)
        .properties(width=420, height=alt.Step(22))
    )
