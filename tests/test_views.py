"""Chart builders: valid Vega-Lite, one fixed colour per model, rate axes on [0, 1]."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from reportgen import build_report
from reportgen.model import PALETTE, model_colours

from .conftest import Predictions


def find(spec: object, key: str) -> list[object]:
    """Every value stored under ``key`` anywhere in a nested spec."""
    found = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                found.append(v)
            found += find(v, key)
    elif isinstance(spec, list):
        for item in spec:
            found += find(item, key)
    return found


def test_model_colours_are_fixed_in_run_order() -> None:
    colours = model_colours(["b", "a", "c"])
    assert list(colours) == ["b", "a", "c"]
    assert colours["b"] == PALETTE[0] and colours["c"] == PALETTE[2]


def test_mistakes_are_labelled_by_both_classes_on_a_whole_number_axis(
    write_run: Callable[..., Path], digits_logistic: Predictions, digits_forest: Predictions
) -> None:
    """The most frequent mistakes: each bar names true and predicted class, and the count
    axis has whole-number ticks only (not 0 0 0 1 1 1 from fractional ticks)."""
    report = build_report(
        [write_run(digits_logistic.frame(), "a.csv"), write_run(digits_forest.frame(), "b.csv")],
        bootstrap=0,
    )
    (figure,) = [f for s in report.sections for f in s.figures if s.id == "confused-pairs"]
    pairs = {v["pair"] for data in figure.spec["datasets"].values() for v in data if "pair" in v}
    assert pairs and all(" → " in p and p.split(" → ")[0] != p.split(" → ")[1] for p in pairs)
    (axis,) = [x["axis"] for x in find(figure.spec, "x") if isinstance(x, dict) and "axis" in x]
    assert axis["format"] == ",d" and axis["tickMinStep"] == 1


def test_a_zoomed_rate_axis_says_where_it_starts(
    write_run: Callable[..., Path], digits_logistic: Predictions
) -> None:
    """Rates start at 0 unless a focus view says so: the per-class chart zooms to its values
    and names the axis's start."""
    report = build_report([write_run(digits_logistic.frame(), "a.csv")], bootstrap=0)
    (figure,) = [f for s in report.sections for f in s.figures if s.id == "per-class"]
    (x,) = [x for x in find(figure.spec, "x") if isinstance(x, dict) and "scale" in x]
    start = x["scale"]["domain"][0]
    assert 0 < start < 1 and x["scale"]["domain"][1] == 1
    assert x["title"] == f"Rate (focus: axis from {start:.2f})"


def test_reliability_bins_carry_their_interval(
    write_run: Callable[..., Path], cancer_logistic: Predictions
) -> None:
    """Each bin's observed rate sits inside its 95% Wilson interval, drawn as a rule; bins
    of few examples get wide ones."""
    report = build_report([write_run(cancer_logistic.frame(), "a.csv")], bootstrap=0)
    (figure,) = [f for s in report.sections for f in s.figures if f.id == "reliability"]
    rows = [v for data in figure.spec["datasets"].values() for v in data if "observed" in v]
    assert rows and all(r["low"] <= r["observed"] <= r["high"] for r in rows)
    smallest = min(rows, key=lambda r: r["count"])
    largest = max(rows, key=lambda r: r["count"])
    assert smallest["high"] - smallest["low"] > largest["high"] - largest["low"]
    rules = [
        layer
        for layer in find(figure.spec, "layer")
        for layer in layer
        if layer.get("mark", {}).get("type") == "rule"
    ]
    assert [r["encoding"]["y2"]["field"] for r in rules] == ["high"]
    assert rules[0]["encoding"]["y"]["field"] == "low"


@pytest.mark.parametrize("on_front", [1, 2])
def test_quality_latency_markers_sit_inside_and_the_legend_names_their_shapes(
    on_front: int,
) -> None:
    """Every marker inside the padded axes; circles on the front, diamonds dominated, with a
    legend for the shapes; the dashed front line only when two models are on the front."""
    from reportgen.charts import draw
    from reportgen.model import Chart

    points = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "latency": [100.0, 180.0, 150.0],
            "quality": [0.70, 0.80 if on_front == 2 else 0.65, 0.60],
            "front": [True, on_front == 2, False],
            "front_text": ["yes", "x", "no"],
        }
    )
    spec = draw(
        Chart(
            "quality_latency_chart", (points, ["a", "b", "c"], ["#1", "#2", "#3"], "Acc", True), {}
        )
    )
    alt.Chart.from_dict(spec, validate=True)
    scales = {
        k: v["scale"]["domain"]
        for layer in spec["layer"]
        for k, v in layer["encoding"].items()
        if k in ("x", "y")
    }
    assert (
        scales["x"][0] < 100
        and scales["x"][1] > 180
        and scales["y"][0] < 0.6
        and scales["y"][1] > 0.7
    )
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("line") == (1 if on_front == 2 else 0)
    shape = next(
        layer["encoding"]["shape"] for layer in spec["layer"] if "shape" in layer["encoding"]
    )
    assert shape["scale"]["range"] == ["circle", "diamond"] and shape["legend"]["title"] == "Marker"


def test_the_baseline_takes_the_first_colour_and_no_model_is_red() -> None:
    """Red is the page's colour for "worse": no model is drawn in it, and the baseline is
    the first colour whichever run it is."""
    colours = model_colours(["v1", "v2", "v3"], baseline="v3")
    assert list(colours) == ["v1", "v2", "v3"]
    assert colours["v3"] == PALETTE[0] and colours["v1"] == PALETTE[1]
    reds = {"#e45756", "#c62828", "#d62728", "#ff6b6b"}
    assert not reds & set(PALETTE)


@pytest.mark.parametrize("fixture", ["cancer_logistic", "digits_forest"])
def test_every_chart_is_valid_and_colours_models_the_same_way(
    fixture: str,
    request: pytest.FixtureRequest,
    write_run: Callable[..., Path],
    cancer_tree: Predictions,
    digits_logistic: Predictions,
) -> None:
    first: Predictions = request.getfixturevalue(fixture)
    second = cancer_tree if fixture == "cancer_logistic" else digits_logistic
    report = build_report(
        [write_run(first.frame(), "first.csv"), write_run(second.frame(), "second.csv")]
    )
    colours = model_colours(["first", "second"])
    figures = [f for s in report.sections for f in s.figures]
    assert figures
    coloured = set()
    for figure in figures:
        alt.Chart.from_dict(figure.spec, validate=True)  # raises on an invalid spec
        for scale in find(figure.spec, "scale"):
            domain = scale.get("domain") if isinstance(scale, dict) else None
            by_model = domain and set(map(str, domain)) >= {"first", "second"}
            by_series = domain and isinstance(domain[0], str) and domain[0].startswith("first (")
            if by_model or by_series:
                assert scale["range"] == [colours["first"], colours["second"]], figure.id
                coloured.add(figure.id)
    # the check above must have met the model colours: in the curves and calibration at least
    assert {"roc-curves", "pr-curves", "reliability"} <= coloured
    roc = next(f for f in figures if f.id == "roc-curves")
    rate_scales = [s for s in find(roc.spec, "scale") if s.get("domain") == [0, 1]]
    assert len(rate_scales) >= 2
