"""Chart builders for the robustness views: a metric against perturbation severity, one small
multiple per perturbation and one line per model, with its 95% intervals as bands."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

PANEL_WIDTH = 220
PANEL_HEIGHT = 170
PANEL_COLUMNS = 4


def severity_panels(
    points: pd.DataFrame,
    perturbations: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
) -> alt.TopLevelMixin:
    """``points``: model, perturbation, severity, value, low, high (low and high may be
    missing: values from an aggregated table have no interval). Accuracy's axis spans [0, 1]."""
    # one legend for the three layers, its symbols opaque (the bands' opacity is 0.18)
    colour = alt.Color(
        "model:N",
        scale=alt.Scale(domain=list(models), range=list(colours)),
        legend=alt.Legend(title="Model", symbolOpacity=1.0),
        sort=list(models),
    )
    x = alt.X("severity:Q", title="Severity", axis=alt.Axis(tickMinStep=1))
    y_scale = alt.Scale(domain=[0, 1])
    tooltip = [
        alt.Tooltip("model:N"),
        alt.Tooltip("perturbation:N"),
        alt.Tooltip("severity:Q", format="g"),
        alt.Tooltip("value:Q", title="accuracy", format=".3f"),
        alt.Tooltip("low:Q", title="95% CI low", format=".3f"),
        alt.Tooltip("high:Q", title="95% CI high", format=".3f"),
    ]
    base = alt.Chart()
    band = base.mark_area(opacity=0.18).encode(
        x=x,
        y=alt.Y("low:Q", scale=y_scale, title="Accuracy"),
        y2=alt.Y2("high:Q"),
        color=colour,
        detail=alt.Detail("model:N"),
    )
    line = base.mark_line(strokeWidth=1.8).encode(
        x=x,
        y=alt.Y("value:Q", scale=y_scale, title="Accuracy"),
        color=colour,
        detail=alt.Detail("model:N"),
    )
    dots = base.mark_point(filled=True, size=36).encode(
        x=x,
        y=alt.Y("value:Q", scale=y_scale),
        color=colour,
        shape=alt.Shape("model:N", sort=list(models), legend=None),
        tooltip=tooltip,
    )
    layered = alt.layer(band, line, dots, data=points).properties(
        width=PANEL_WIDTH, height=PANEL_HEIGHT
    )
    return layered.facet(
        facet=alt.Facet("perturbation:N", sort=list(perturbations), title=None),
        columns=min(PANEL_COLUMNS, max(1, len(perturbations))),
    )
