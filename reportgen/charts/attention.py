"""Attention heatmaps: one example's attention weights (query by key), one panel per model,
with a layer and a head selector (Vega-Lite params bound to drop-downs).

The weights travel compactly: each row of a (model, layer, head) matrix is a string of one
character per cell, a level 0-63 of the matrix's largest weight ``s`` (the ``alphabet`` of
:mod:`reportgen.kinds.attention`); each matrix is one record holding its rows. The browser
numbers the rows and cells (window ``row_number``) and turns each character back into a
weight, ``level / 63 * s``. A matrix left out of the page (the size cap) has no rows and
shows a sentence instead. Row strings are at most 128 characters, so the charts' safe path
for text (:func:`reportgen.formatting.display_text`, which cuts longer ones) keeps them whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from reportgen.charts.kinds import _panel_title

SIDE = 360  # a panel's side in pixels at most; cells are 3 to 18 pixels
LAYER, HEAD, TOKENS = "layer", "head", "tok"


def cell_size(n: int) -> int:
    return max(3, min(18, SIDE // max(n, 1)))


def attention_heatmap(
    matrices: pd.DataFrame,
    tokens: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    layers: int,
    heads: int,
    alphabet: str,
) -> alt.TopLevelMixin:
    """``matrices``: one row per row of a matrix, columns m (the model's index in
    ``models``), l (layer, 1-based), h (head, 1-based; 0: the mean of the heads), q (the
    query's position), s (the matrix's largest weight), v (the row's cells as
    ``alphabet`` levels; a matrix left out has one row with an empty v). The layer
    selector starts at the last layer, the head selector at the mean of the heads."""
    n = len(tokens)
    size = cell_size(n) * n
    layer = alt.param(
        name=LAYER,
        value=layers,
        bind=alt.binding_select(
            options=list(range(1, layers + 1)),
            labels=[f"{i}" + (" (last)" if i == layers else "") for i in range(1, layers + 1)],
            name="Layer ",
        ),
    )
    head = alt.param(
        name=HEAD,
        value=0,
        bind=alt.binding_select(
            options=list(range(0, heads + 1)),
            labels=["mean of heads", *(f"head {i}" for i in range(1, heads + 1))],
            name=" Head ",
        ),
    )
    names = alt.param(name=TOKENS, value=list(tokens))
    picked = f"datum.l == {LAYER} && datum.h == {HEAD}"
    label = alt.Axis(labelExpr=f"{TOKENS}[datum.value]", labelFontSize=9, labelOverlap=True)
    panels = []
    for at, (model, colour) in enumerate(zip(models, colours, strict=True)):
        mine = alt.Chart().transform_filter(f"datum.m == {at} && {picked}")
        heat = (
            mine.transform_flatten(["v"], as_=["row"])
            .transform_window(r="row_number()", groupby=["m", "l", "h"])
            .transform_calculate(c="split(datum.row, '')")
            .transform_flatten(["c"])
            .transform_window(i="row_number()", groupby=["m", "l", "h", "r"])
            .transform_calculate(
                q="datum.r - 1",
                k="datum.i - 1",
                w=f"indexof('{alphabet}', datum.c) / {len(alphabet) - 1} * datum.s",
            )
            .transform_calculate(
                query=f"{TOKENS}[datum.q]", key=f"{TOKENS}[datum.k]", at="datum.q + 1"
            )
            .mark_rect()
            .encode(
                x=alt.X("k:O", title="Key (attended to)", axis=label, sort="ascending"),
                y=alt.Y("q:O", title="Query (attending)", axis=label, sort="ascending"),
                color=alt.Color(
                    "w:Q",
                    title="Weight",
                    scale=alt.Scale(scheme="blues", domainMin=0),
                    legend=alt.Legend(format=".2f", gradientLength=120),
                ),
                tooltip=[
                    alt.Tooltip("query:N", title="query"),
                    alt.Tooltip("key:N", title="key"),
                    alt.Tooltip("at:Q", title="query position"),
                    alt.Tooltip("w:Q", title="weight ≈", format=".3f"),
                ],
            )
        )
        gone = (
            mine.transform_filter("length(datum.v) == 0")
            .mark_text(fontSize=12, color="#666666")
            .encode(text=alt.value("left out to keep the page small"))
        )
        panels.append(
            alt.layer(heat, gone).properties(
                width=size, height=size, title=_panel_title(model, colour)
            )
        )
    # params and data given to the whole chart, inherited by every panel
    return alt.hconcat(
        *panels,
        data=alt.Data(values=records(matrices)),
        params=[layer.param, head.param, names.param],
    )


def records(matrices: pd.DataFrame) -> list[dict[str, object]]:
    """One record per matrix, its rows in query order (none when it was left out)."""
    found = []
    ordered = matrices.sort_values(["m", "l", "h", "q"], kind="stable")
    for (m, layer, head), rows in ordered.groupby(["m", "l", "h"], sort=False):
        cells = [v for v in rows["v"].tolist() if v]
        found.append(
            {
                "m": int(m),
                "l": int(layer),
                "h": int(head),
                "s": float(rows["s"].iloc[0]),
                "v": cells,
            }
        )
    return found
