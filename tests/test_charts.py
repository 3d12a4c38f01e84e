"""The charts stage: builders' specs are valid Vega-Lite and do not depend on Altair's checks."""

from __future__ import annotations

from typing import Any

import pytest
from altair.utils.schemapi import debug_mode

import reportgen.charts as charts
from reportgen import Run, build_report
from reportgen.model import Chart
from tests.chart_schema import check_spec
from tests.conftest import Predictions


def test_the_schema_check_can_fail() -> None:
    check_spec({"mark": "point", "data": {"values": [{"x": 1}]}}, "fine")
    with pytest.raises(AssertionError, match="bad: not valid Vega-Lite"):
        check_spec({"mark": "no-such-mark", "data": {"values": []}}, "bad")
    with pytest.raises(AssertionError, match="encoding/x"):
        check_spec({"mark": "point", "encoding": {"x": {"field": "a", "type": "sideways"}}}, "x")


def test_specs_are_the_same_with_altairs_checks_on(
    cancer_logistic: Predictions, cancer_tree: Predictions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``draw`` turns Altair's debug-mode checks off (they cost a third of the charts stage);
    every chart of a report comes out byte for byte as with them on, and valid."""
    made: list[tuple[Chart, dict[str, Any]]] = []
    original = charts.draw

    def recorded(chart: Chart) -> dict[str, Any]:
        spec = original(chart)
        made.append((chart, spec))
        return spec

    monkeypatch.setattr(charts, "draw", recorded)
    runs = [
        Run.from_arrays(p.name, p.y_true, p.y_pred, p.proba[:, 1], slice=p.y_true % 2)
        for p in (cancer_logistic, cancer_tree)
    ]
    build_report(runs, slices=["slice"])
    assert len(made) >= 6
    for chart, spec in made:
        builder = charts.BUILDERS[chart.builder]
        with debug_mode(True):
            checked = charts.chart_spec(
                builder(
                    *[charts._safe(a) for a in chart.args],
                    **{k: charts._safe(v) for k, v in chart.kwargs.items()},
                )
            )
        assert checked == spec, chart.builder
        check_spec(spec, chart.builder)
