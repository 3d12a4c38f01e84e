"""Chart builders for decision boundaries: per model, a heatmap of its response on a regular
2-D grid with test points on top, and a map of where a candidate and the baseline disagree.

Cells travel as one array of values per model (row-major from the lowest x1); the browser
numbers them and places each from the grid's first value and step, so a 100 x 100 grid costs
one short number per cell. Classes and true-class colours are the embedding views' palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.kinds import CLASS_PALETTE, _panel_title, columnar

# binary: the score's shading, light so that the points' class colours stay readable
SCORE_RANGE = ("#9ecae1", "#ffffff", "#fdae6b")
DIFFER_LABELS = {
    True: ("positive for the candidate only", "positive for the baseline only"),
    False: ("another class than the baseline's", ""),
}
DIFFER_COLOURS = ("#e6550d", "#3182bd")
PANEL = 220
PER_ROW = 2  # two panels and their legend fit the paper (print, email)


def _side_by_side(panels: list[alt.LayerChart]) -> alt.TopLevelMixin:
    """Panels in rows of ``PER_ROW`` (a wrapped ``concat`` draws nothing in the page's
    Vega build, so rows are laid out here)."""
    rows = [alt.hconcat(*panels[i : i + PER_ROW]) for i in range(0, len(panels), PER_ROW)]
    return rows[0] if len(rows) == 1 else alt.vconcat(*rows)


def _placed(data: alt.Data, fields: list[str], axes: Sequence[float]) -> alt.Chart:
    """Cells numbered in order and placed: x..x2 and y..y2 in the features' units."""
    x0, dx, nx, y0, dy, _ = axes
    return (
        alt.Chart(data)
        .transform_flatten(fields)
        .transform_window(k="row_number()")
        .transform_calculate(
            i=f"(datum.k - 1) % {int(nx)}",
            j=f"floor((datum.k - 1) / {int(nx)})",
        )
        .transform_calculate(
            x=f"{x0!r} + (datum.i - 0.5) * {dx!r}",
            x2=f"{x0!r} + (datum.i + 0.5) * {dx!r}",
            y=f"{y0!r} + (datum.j - 0.5) * {dy!r}",
            y2=f"{y0!r} + (datum.j + 0.5) * {dy!r}",
        )
    )


def _scales(axes: Sequence[float], f0: str, f1: str) -> tuple[alt.X, alt.Y]:
    x0, dx, nx, y0, dy, ny = axes
    x_domain = [x0 - dx / 2, x0 + (nx - 0.5) * dx]
    y_domain = [y0 - dy / 2, y0 + (ny - 0.5) * dy]
    return (
        alt.X("x:Q", title=f0, scale=alt.Scale(domain=x_domain, nice=False, zero=False)),
        alt.Y("y:Q", title=f1, scale=alt.Scale(domain=y_domain, nice=False, zero=False)),
    )


def boundary_panels(
    cells: pd.DataFrame,
    points: pd.DataFrame,
    axes: dict[str, Sequence[float]],
    models: Sequence[str],
    colours: Sequence[str],
    classes: Sequence[str],
    f0: str,
    f1: str,
    binary: bool,
    threshold: float,
) -> alt.TopLevelMixin:
    """One panel per model: cells (columns model, v: the score, or v: class code and c:
    confidence) shaded, and its points (model, x, y, cls, wrong, id) on top."""
    palette = [CLASS_PALETTE[k % len(CLASS_PALETTE)] for k in range(len(classes))]
    panels = []
    for model, colour in zip(models, colours, strict=True):
        mine = cells[cells["model"] == model]
        fields = ["v"] if binary else ["v", "c"]
        data, fields = columnar(mine, fields)
        x, y = _scales(axes[model], f0, f1)
        base = _placed(data, fields, axes[model]).mark_rect().encode(x=x, x2="x2:Q", y=y, y2="y2:Q")
        if binary:
            heat = base.encode(
                color=alt.Color(
                    "v:Q",
                    title="Score",
                    scale=alt.Scale(domain=[0.0, threshold, 1.0], range=list(SCORE_RANGE)),
                    legend=alt.Legend(orient="right", gradientLength=120),
                ),
                tooltip=[alt.Tooltip("v:Q", title="score", format=".3f")],
            )
        else:
            heat = base.encode(
                color=alt.Color(
                    "v:N",
                    scale=alt.Scale(domain=list(range(len(classes))), range=palette),
                    legend=None,
                ),
                opacity=alt.Opacity(
                    "c:Q",
                    scale=alt.Scale(domain=[1.0 / max(len(classes), 2), 1.0], range=[0.05, 0.5]),
                    legend=None,
                ),
                tooltip=[alt.Tooltip("c:Q", title="confidence", format=".2f")],
            )
        mine_points = points[points["model"] == model]
        dots = (
            alt.Chart(mine_points)
            .mark_point(size=28, filled=True, stroke="white", strokeWidth=0.5, clip=True)
            .encode(
                x=alt.X("x:Q"),
                y=alt.Y("y:Q"),
                fill=alt.Fill(
                    "cls:N",
                    title="True class",
                    sort=list(classes),
                    scale=alt.Scale(domain=list(classes), range=palette),
                ),
                shape=alt.Shape(
                    "wrong:N",
                    title="Prediction",
                    scale=alt.Scale(domain=["right", "wrong"], range=["circle", "cross"]),
                ),
                tooltip=[
                    alt.Tooltip("id:N"),
                    alt.Tooltip("cls:N", title="true class"),
                    alt.Tooltip("wrong:N", title="prediction"),
                    alt.Tooltip("x:Q", title=f0, format=".4g"),
                    alt.Tooltip("y:Q", title=f1, format=".4g"),
                ],
            )
        )
        panels.append(
            alt.layer(heat, dots).properties(
                width=PANEL, height=PANEL, title=_panel_title(model, colour)
            )
        )
    return _side_by_side(panels)


def disagreement_panels(
    cells: pd.DataFrame,
    axes: dict[str, Sequence[float]],
    models: Sequence[str],
    colours: Sequence[str],
    f0: str,
    f1: str,
    binary: bool,
) -> alt.TopLevelMixin:
    """One panel per candidate: the grid cells (columns model, v: 0 same, 1 or 2 differing)
    where it decides otherwise than the baseline."""
    labels = [label for label in DIFFER_LABELS[binary] if label]
    lookup = " : ".join(f"datum.v == {i + 1} ? {label!r}" for i, label in enumerate(labels))
    panels = []
    for model, colour in zip(models, colours, strict=True):
        data, fields = columnar(cells[cells["model"] == model], ["v"])
        x, y = _scales(axes[model], f0, f1)
        marks = (
            _placed(data, fields, axes[model])
            .transform_filter("datum.v > 0")
            .transform_calculate(where=f"{lookup} : ''")
            .mark_rect()
            .encode(
                x=x,
                x2="x2:Q",
                y=y,
                y2="y2:Q",
                color=alt.Color(
                    "where:N",
                    title="Candidate decides",
                    scale=alt.Scale(domain=labels, range=list(DIFFER_COLOURS[: len(labels)])),
                ),
                tooltip=[alt.Tooltip("where:N", title="candidate decides")],
            )
        )
        frame = (
            alt.Chart(pd.DataFrame({"x": [axes[model][0]], "y": [axes[model][3]]}))
            .mark_point(opacity=0)
            .encode(x=x, y=y)
        )  # keeps the axes when the two agree everywhere
        panels.append(
            alt.layer(frame, marks).properties(
                width=PANEL, height=PANEL, title=_panel_title(model, colour)
            )
        )
    return _side_by_side(panels)
