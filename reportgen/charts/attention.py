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
from typing import Any

import altair as alt
import pandas as pd

from reportgen.charts.kinds import _panel_title

SIDE = 360  # a panel's side in pixels at most; cells are 3 to 18 pixels
STILL_SIDE = 128  # the static drawing's panels together: cells of 1 to 10 pixels, a small image
MAX_OPTIONS = 48  # layers and heads a figure's selectors list, at most
STILL_LABEL_PX = 30  # the static drawing's token names are cut to this width
LAYER, HEAD, TOKENS, HAVE, PEAK = "layer", "head", "tok", "have", "peak"
LEFT_OUT = "left out to keep the page small"


def cell_size(n: int, still: bool = False, panels: int = 1) -> int:
    """A cell's side in pixels; the static drawing's panels share :data:`STILL_SIDE`."""
    if still:
        return max(1, min(10, STILL_SIDE // panels // max(n, 1)))
    return max(3, min(18, SIDE // max(n, 1)))


def attention_heatmap(
    matrices: pd.DataFrame,
    tokens: Sequence[str],
    models: Sequence[str],
    colours: Sequence[str],
    layers: int,
    heads: int,
    alphabet: str,
    included: Sequence[tuple[int, int]],
    named: bool = False,
    still: bool = False,
) -> alt.TopLevelMixin:
    """``matrices``: one row per row of a carried matrix, columns m (the model's index in
    ``models``), l (layer, 1-based), h (head, 1-based; 0: the mean of the heads), q (the
    query's position), s (the matrix's largest weight), v (the row's cells as ``alphabet``
    levels). ``included``: the (layer, head) pairs carried; the others say they were left
    out. The layer selector starts at the last layer, the head selector at the mean of the
    heads. ``still``: the static drawing, that view only, small, with no selector, naming the
    query tokens when ``named``."""
    n = len(tokens)
    size = cell_size(n, still, len(models)) * n
    if still:
        matrices = matrices[(matrices["l"] == layers) & (matrices["h"] == 0)]
    # the selectors offer every layer and head, or, past MAX_OPTIONS of them, those carried
    # (a page of a model with 1,000 layers stays small); a choice not carried says so
    every = layers + heads + 1 <= MAX_OPTIONS
    layer_options = list(range(1, layers + 1)) if every else sorted({lh[0] for lh in included})
    head_options = list(range(heads + 1)) if every else sorted({lh[1] for lh in included})
    layer = alt.param(
        name=LAYER,
        value=layers,
        **(
            {}
            if still
            else {
                "bind": alt.binding_select(
                    options=layer_options,
                    labels=[f"{i}" + (" (last)" if i == layers else "") for i in layer_options],
                    name="Layer ",
                )
            }
        ),
    )
    head = alt.param(
        name=HEAD,
        value=0,
        **(
            {}
            if still
            else {
                "bind": alt.binding_select(
                    options=head_options,
                    labels=[f"head {i}" if i else "mean of heads" for i in head_options],
                    name=" Head ",
                )
            }
        ),
    )
    names = alt.param(name=TOKENS, value=list(tokens))
    have = alt.param(name=HAVE, value=[f"{lh[0]}:{lh[1]}" for lh in included])
    # each choice's largest weight over the models: one colour scale for the panels side by
    # side, known before any data is drawn (a left-out choice has none, and no warning)
    peaks = matrices.groupby(["l", "h"])["s"].max()
    peak = alt.param(
        name=PEAK,
        value={f"{lh[0]}:{lh[1]}": float(v) or 1.0 for lh, v in peaks.items()},
    )
    chosen = f"{LAYER} + ':' + {HEAD}"
    picked = f"datum.l == {LAYER} && datum.h == {HEAD}"
    axis: dict[str, Any] = {
        "labelExpr": f"{TOKENS}[datum.value]",
        "labelFontSize": 9,
        "labelOverlap": True,
        "ticks": not still,  # the static drawing: no ticks nor domain line, a smaller file
        "domain": not still,
    }
    if still:  # its labels (queries only, a few, cut short): a bounded image whatever the tokens
        axis["labelLimit"] = STILL_LABEL_PX
    key_axis = alt.Axis(**axis, labels=not still)
    query_axis = alt.Axis(**axis, labels=not still or named)
    solid = alt.Scale(paddingInner=0, paddingOuter=0)
    tooltip = [
        alt.Tooltip("query:N", title="query"),
        alt.Tooltip("key:N", title="key"),
        alt.Tooltip("at:Q", title="query position"),
        alt.Tooltip("w:Q", title="weight ≈", format=".3f"),
    ]
    panels = []
    for at, (model, colour) in enumerate(zip(models, colours, strict=True)):
        heat = (
            alt.Chart()
            .transform_filter(f"datum.m == {at}")  # the cells, decoded once for every panel
            .mark_rect()
            .encode(
                # the static drawing's panels are small: short titles that fit beside them
                x=alt.X(
                    "k:O", title="Key" if still else "Key (attended to)", axis=key_axis, scale=solid
                ),
                y=alt.Y(
                    "q:O",
                    title="Query" if still else "Query (attending)",
                    axis=query_axis,
                    scale=solid,
                ),
                color=alt.Color(
                    "w:Q",
                    title="Weight",
                    scale=alt.Scale(scheme="blues", domain=alt.ExprRef(f"[0, {PEAK}[{chosen}]]")),
                    legend=alt.Legend(format=".2f", gradientLength=60 if still else 120),
                ),
                tooltip=[] if still else tooltip,
            )
        )
        gone = (
            alt.Chart(alt.Data(values=[{"t": LEFT_OUT}]))
            .transform_filter(f"indexof({HAVE}, {chosen}) < 0")
            .mark_text(fontSize=12, color="#666666")
            .encode(text=alt.Text("t:N"), x=alt.value(size / 2), y=alt.value(size / 2))
        )
        panels.append(
            alt.layer(heat, gone).properties(
                width=size, height=size, title=_panel_title(model, colour)
            )
        )
    # params, data and the decoding of the chosen matrices given to the whole chart, inherited
    # by every panel (the panels' own spec is their encoding and title: a small page)
    return (
        alt.hconcat(
            *panels,
            data=alt.Data(values=records(matrices)),
            params=[layer.param, head.param, names.param, have.param, peak.param],
        )
        .transform_filter(picked)
        .transform_flatten(["v"], as_=["row"])
        .transform_window(r="row_number()", groupby=["m"])
        .transform_calculate(c="split(datum.row, '')")
        .transform_flatten(["c"])
        .transform_window(i="row_number()", groupby=["m", "r"])
        .transform_calculate(
            q="datum.r - 1",
            k="datum.i - 1",
            w=f"indexof('{alphabet}', datum.c) / {len(alphabet) - 1} * datum.s",
        )
        .transform_calculate(query=f"{TOKENS}[datum.q]", key=f"{TOKENS}[datum.k]", at="datum.q + 1")
    )


def records(matrices: pd.DataFrame) -> list[dict[str, object]]:
    """One record per matrix, its rows in query order."""
    found = []
    ordered = matrices.sort_values(["m", "l", "h", "q"], kind="stable")
    for (m, layer, head), rows in ordered.groupby(["m", "l", "h"], sort=False):
        scale = float(rows["s"].iloc[0])
        rows_text = rows["v"].tolist()
        found.append({"m": int(m), "l": int(layer), "h": int(head), "s": scale, "v": rows_text})
    return found
