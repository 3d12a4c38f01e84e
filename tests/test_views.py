"""Chart builders: valid Vega-Lite, one fixed colour per model, rate axes on [0, 1]."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

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


def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB hex to CIELAB (D65), the textbook formulas."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in rgb]
    matrix = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
    white = (0.95047, 1.0, 1.08883)
    xyz = [
        sum(m * c for m, c in zip(row, lin, strict=True)) / w
        for row, w in zip(matrix, white, strict=True)
    ]
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _delta_e(a: str, b: str) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b), strict=True)) ** 0.5


def test_class_colours_never_look_like_model_colours() -> None:
    from reportgen.charts.kinds import CLASS_PALETTE

    assert len(set(CLASS_PALETTE)) == len(CLASS_PALETTE) >= 10  # the ten digits, all distinct
    assert _delta_e("#ffffff", "#000000") == pytest.approx(100, abs=0.01)  # the oracle's scale
    assert min(_delta_e(c, m) for c in CLASS_PALETTE for m in PALETTE) >= 35
    pairs = [(a, b) for i, a in enumerate(CLASS_PALETTE) for b in CLASS_PALETTE[i + 1 :]]
    assert min(_delta_e(a, b) for a, b in pairs) >= 35


def test_per_class_curves_are_panels_named_by_class_weakest_first(
    write_run: Callable[..., Path], digits_forest: Predictions, digits_logistic: Predictions
) -> None:
    report = build_report(
        [
            write_run(digits_forest.frame(), "forest.csv"),
            write_run(digits_logistic.frame(), "lr.csv"),
        ],
        bootstrap=0,
    )
    curves = next(s for s in report.sections if s.id == "curves")
    spec = next(f for f in curves.figures if f.id == "roc-classes").spec
    facet = spec["facet"]
    assert facet["field"] == "class" and spec["columns"] == 3
    shown = facet["sort"]
    assert len(shown) == 6 and len(set(shown)) == 6

    # weakest first, by an independent oracle: scikit-learn's one-vs-rest AUC, mean of the two
    def auc(label: str) -> float:
        k = int(label)
        return float(
            np.mean(
                [
                    roc_auc_score(p.y_true == k, p.proba[:, k])
                    for p in (digits_forest, digits_logistic)
                ]
            )
        )

    every = sorted((auc(str(k)), str(k)) for k in range(10))
    assert shown == [c for _, c in every[:6]]
    colour = next(c for c in find(spec, "color") if isinstance(c, dict) and "field" in c)
    assert colour["field"] == "model" and colour["scale"]["domain"] == ["forest", "lr"]


def test_slice_dots_start_a_rate_at_zero_and_let_other_scales_float() -> None:
    from reportgen.charts import chart_spec
    from reportgen.charts.language import slice_dots
    from reportgen.metrics import REGISTRY

    cells = pd.DataFrame(
        {"model": ["a", "a"], "slice": ["x", "y"], "score": [0.91, 0.95], "n": [50, 60]}
    ).assign(small=False)
    rate = chart_spec(slice_dots(cells, ["x", "y"], ["a"], ["#4c78a8"], "Accuracy", True))
    assert rate["encoding"]["x"]["scale"] == {"domain": [0, 1], "nice": False}
    other = chart_spec(slice_dots(cells, ["x", "y"], ["a"], ["#4c78a8"], "Perplexity"))
    assert other["encoding"]["x"]["scale"] == {"zero": False}
    assert REGISTRY["accuracy"].bounded and not REGISTRY["perplexity"].bounded


def test_file_arguments_check_each_value_in_order_before_the_next() -> None:
    """Kind.file_arguments (every view's NAME=PATH option): a value is checked only once the
    previous one was read, so the first bad value is the one reported; duplicates and runs of
    another kind get their own messages."""
    from types import SimpleNamespace

    from reportgen import options
    from reportgen.errors import ReportgenError
    from reportgen.kinds.base import Context
    from reportgen.kinds.boundary import BOUNDARY

    def ctx(values: list[str]) -> Context:
        runs = [
            SimpleNamespace(name="v1", kind="binary"),
            SimpleNamespace(name="r", kind="regression"),
        ]
        return Context(options.resolve({"boundary": values}), "v1", ["v1", "r"], {}, runs=runs)

    why = "decision boundaries are drawn for classification runs"
    twice = "{name!r} has a grid already ({path}); give one grid per model"
    read = []
    with pytest.raises(ReportgenError) as bad:
        for given in BOUNDARY.file_arguments(
            ctx(["v1=a.csv", "v1=b.csv"]), ["v1"], of="classification", why=why, twice=twice
        ):
            read.append(given.name)
    assert read == ["v1"]
    assert str(bad.value) == (
        "--boundary 'v1=b.csv': 'v1' has a grid already (a.csv); give one grid per model"
    )
    for values, message in [
        (["a.csv"], "--boundary 'a.csv': write NAME=PATH, e.g. --boundary v2=runs/v2-grid.csv"),
        (["r=a.csv"], f"--boundary 'r=a.csv': 'r' is a regression run; {why}"),
        (["zz=a.csv"], "--boundary 'zz=a.csv': no classification run named 'zz'; runs are: v1"),
    ]:
        with pytest.raises(ReportgenError) as bad:
            list(BOUNDARY.file_arguments(ctx(values), ["v1"], of="classification", why=why))
        assert str(bad.value) == message
    given = next(BOUNDARY.file_arguments(ctx(["v1=a.csv"]), ["v1"]))
    expected = r"^--boundary 'v1=a.csv': a.csv: unreadable$"
    with pytest.raises(ReportgenError, match=expected), given.named():
        raise ReportgenError("a.csv: unreadable")
