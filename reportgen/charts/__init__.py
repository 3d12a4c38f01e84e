"""The charts stage: every :class:`~reportgen.model.Chart` of the report model drawn as a
Vega-Lite spec by the Altair builder it names (pure functions of tidy data)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from altair.utils.schemapi import debug_mode

from reportgen.charts import (
    attention,
    boundary,
    classification,
    importance,
    kinds,
    language,
    robustness,
    thresholds,
    trend,
)
from reportgen.charts.classification import chart_spec
from reportgen.formatting import display_text
from reportgen.model import Chart, Figure, Section

BUILDERS: dict[str, Callable[..., Any]] = {
    name: getattr(module, name)
    for module, names in (
        (
            classification,
            (
                "class_curves_chart",
                "confused_pairs_chart",
                "confusion_chart",
                "improvement_chart",
                "per_class_chart",
                "pr_chart",
                "reliability_chart",
                "roc_chart",
                "slice_heatmap",
            ),
        ),
        (thresholds, ("threshold_chart",)),
        (attention, ("attention_heatmap",)),
        (
            language,
            (
                "benchmark_bars",
                "delta_heatmap",
                "distribution_chart",
                "history_chart",
                "quality_latency_chart",
                "slice_dots",
            ),
        ),
        (
            kinds,
            (
                "cardinality_chart",
                "cooccurrence_heatmap",
                "density_panels",
                "projection_panels",
                "separation_chart",
            ),
        ),
        (boundary, ("boundary_panels", "disagreement_panels")),
        (importance, ("contribution_swarm", "importance_bars")),
        (robustness, ("severity_panels",)),
        (trend, ("trend_chart",)),
    )
    for name in names
}


def draw(chart: Chart) -> dict[str, Any]:
    """One chart's Vega-Lite spec, with the shared look applied. Every string of its data is
    made safe to draw first (:func:`reportgen.formatting.display_text`): the one place where
    names from the user's files enter the charts."""
    builder = BUILDERS.get(chart.builder)
    if builder is None:
        raise KeyError(f"no chart builder named {chart.builder!r}; see reportgen.charts.BUILDERS")
    args = [_safe(a) for a in chart.args]
    kwargs = {k: _safe(v) for k, v in chart.kwargs.items()}
    # Altair checks many objects against the Vega-Lite schema as they are made (its "debug
    # mode"); the builders' output is checked once, whole, by the tests instead
    with debug_mode(False):
        return chart_spec(builder(*args, **kwargs))


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return display_text(value)
    if isinstance(value, pd.DataFrame):
        frame = value.rename(columns=lambda c: display_text(c) if isinstance(c, str) else c)
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].map(
                    lambda v: display_text(v) if isinstance(v, str) else v
                )
        return frame
    if isinstance(value, list | tuple):
        return type(value)(_safe(v) for v in value)
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    return value


def draw_all(sections: Iterable[Section], drawn: Callable[[Figure], None] | None = None) -> None:
    """Replace every figure's :class:`Chart` by its spec, in place, in page order;
    ``drawn(figure)`` is called as each is done (the static drawings start at once)."""
    for section in sections:
        for figure in section.figures:
            if isinstance(figure.spec, Chart):
                figure.spec = draw(figure.spec)
            if isinstance(figure.still, Chart):
                figure.still = draw(figure.still)
            if drawn is not None:
                drawn(figure)
