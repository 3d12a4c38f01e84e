"""Regression runs: a numeric label and prediction per example; MAE, RMSE, MAPE, R² and
explained variance from per-example sums, median and max error from order statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.ingest.tabular import RegressionRun, looks_continuous, regression_run
from reportgen.kinds.base import Context, Source
from reportgen.kinds.per_example import ExampleKind
from reportgen.kinds.regression import formulas
from reportgen.kinds.regression.views import regression_views
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.model import Section


class RegressionKind(ExampleKind):
    name = "regression"
    forced_by = "regression"
    title = "Regression"
    slug = "regression"
    board = "regression"
    board_title = "Regression"
    run_types = (RegressionRun,)
    detect_rank = 30
    compared_metrics = formulas.COMPARED
    leaderboard_metrics = 3

    def looks_like(self, source: Source) -> bool:
        return looks_continuous(source.frame, source.path, source.columns)

    def load(self, source: Source) -> RegressionRun:
        return regression_run(*source.reader_args())

    def example_columns(self, run: Any) -> tuple[Any, Any, Any, Any]:
        columns = formulas.example_columns(run.labels, run.predictions)
        exact = dict(formulas.order_metrics(run.labels, run.predictions))
        return columns, exact, formulas.metric_notes(run.labels), {}

    def from_sums(self, run: Any, sums: dict[str, Any], n: Any) -> dict[str, Any]:
        return formulas.metrics_from_sums(sums, n)

    def headline(self, result: LanguageResult) -> list[str]:
        return list(formulas.HEADLINE)

    def same_targets(self, base: Any, cand: Any) -> str | None:
        return "labels" if np.array_equal(base.labels, cand.labels) else None

    def extra_intervals(self, result: LanguageResult) -> dict[str, list[float] | None]:
        return {"median_absolute_error": formulas.median_interval(result.columns["abs_error"])}

    def summary_entry(self, result: LanguageResult) -> dict[str, Any]:
        return {}

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        options = ctx.options
        return regression_views(result, ctx.colours, options.top_k, options.text_col)


REGRESSION = RegressionKind()
