"""Regression runs drawn: metrics with intervals, predicted against actual and residuals
against predicted per model (points up to ``SCATTER_LIMIT`` examples, a 2-D histogram beyond),
the residual distribution, and the largest errors and the examples that got worse."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.tabular import RegressionRun
from reportgen.kinds.per_example import (
    example_id,
    has_column,
    metric_notes_of,
    metrics_table,
    round_to_span,
    short_cell,
)
from reportgen.kinds.regression.formulas import METRICS as REGRESSION_METRICS
from reportgen.kinds.sums import LanguageAssessment
from reportgen.model import Cell, Figure, Section, Table, chart

SCATTER_LIMIT = 2000  # examples per model drawn as points; beyond, a 2-D histogram
DENSITY_BINS = 40
RESIDUAL_BINS = 40
TAIL = 0.005  # histogram axes span the 0.5-99.5% quantiles; the tails land in the edge bins


def _span(values: Sequence[np.ndarray], trim: bool) -> tuple[float, float]:
    joined = np.concatenate(values)
    low, high = np.quantile(joined, [TAIL, 1 - TAIL]) if trim else (joined.min(), joined.max())
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return float(low), float(high)


def _density_frame(
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    x_domain: tuple[float, float],
    y_domain: tuple[float, float],
    binned: bool,
) -> pd.DataFrame:
    """Per model (name, x, y): the points, or their counts in a 2-D histogram."""
    frames = []
    for name, x, y in series:
        if not binned:
            frames.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "x": round_to_span(x, x_domain[1] - x_domain[0]),
                        "y": round_to_span(y, y_domain[1] - y_domain[0]),
                    }
                )
            )
            continue
        x_edges = np.linspace(*x_domain, DENSITY_BINS + 1)
        y_edges = np.linspace(*y_domain, DENSITY_BINS + 1)
        counts, _, _ = np.histogram2d(
            np.clip(x, *x_domain), np.clip(y, *y_domain), bins=[x_edges, y_edges]
        )
        i, j = np.nonzero(counts)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "x": round_to_span(x_edges[i], x_domain[1] - x_domain[0]),
                    "x2": round_to_span(x_edges[i + 1], x_domain[1] - x_domain[0]),
                    "y": round_to_span(y_edges[j], y_domain[1] - y_domain[0]),
                    "y2": round_to_span(y_edges[j + 1], y_domain[1] - y_domain[0]),
                    "count": counts[i, j].astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _residual_bins(runs: Sequence[RegressionRun], residuals: list[np.ndarray]) -> pd.DataFrame:
    low, high = _span(residuals, trim=True)
    edges = np.linspace(low, high, RESIDUAL_BINS + 1)
    frames = []
    for run, values in zip(runs, residuals, strict=True):
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        frames.append(
            pd.DataFrame(
                {
                    "model": run.name,
                    "low": round_to_span(edges[:-1], high - low),
                    "high": round_to_span(edges[1:], high - low),
                    "mid": round_to_span((edges[:-1] + edges[1:]) / 2, high - low),
                    "count": counts,
                    "share": np.round(counts / max(1, len(values)), 6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def regression_fit_section(assessment: LanguageAssessment, colours: dict[str, str]) -> Section:
    runs = [r.run for r in assessment.results]
    assert all(isinstance(r, RegressionRun) for r in runs)
    runs_r: list[RegressionRun] = runs  # type: ignore[assignment]
    names = [r.name for r in runs_r]
    model_colours = [colours[n] for n in names]
    binned = max(r.n_examples for r in runs_r) > SCATTER_LIMIT
    both = [v for r in runs_r for v in (r.labels, r.predictions)]
    domain = _span(both, trim=binned)
    residuals = [r.labels - r.predictions for r in runs_r]
    size = max(abs(v) for v in _span(residuals, trim=binned))
    residual_domain = (-size, size)
    fit = chart(
        "density_panels",
        _density_frame([(r.name, r.labels, r.predictions) for r in runs_r], domain, domain, binned),
        names,
        model_colours,
        "Actual",
        "Predicted",
        domain,
        domain,
        "diagonal",
    )
    spread = chart(
        "density_panels",
        _density_frame(
            [(r.name, r.predictions, e) for r, e in zip(runs_r, residuals, strict=True)],
            domain,
            residual_domain,
            binned,
        ),
        names,
        model_colours,
        "Predicted",
        "Residual (actual − predicted)",
        domain,
        residual_domain,
        "zero",
    )
    how = (
        f"Each cell counts examples (darker = more; {DENSITY_BINS} × {DENSITY_BINS} bins, axes "
        "span the 0.5–99.5% quantiles, values beyond them sit in the edge cells)."
        if binned
        else "One point per example."
    )
    section = Section(
        "regression-plots",
        "Regression: predicted against actual",
        lead="The closer the points hug the dashed diagonal, the better; a tilt away from it "
        "shows predictions shrunk towards the mean or stretched away from it. " + how,
        figures=[
            Figure(
                "regression-fit",
                "Predicted vs actual",
                fit,
                lead="On the dashed line, prediction = actual.",
                raster=not binned,
            ),
            Figure(
                "regression-residuals",
                "Residuals vs predicted",
                spread,
                lead="A band centred on zero of even width is what a well-specified model "
                "leaves; a funnel means the error grows with the prediction, a curve means a "
                "missed non-linearity.",
                raster=not binned,
            ),
        ],
    )
    distribution = chart(
        "distribution_chart",
        _residual_bins(runs_r, residuals),
        names,
        model_colours,
        "Residual (actual − predicted)",
        log=False,
    )
    section.figures.append(
        Figure(
            "regression-residual-distribution",
            "Residual distribution",
            distribution,
            lead="Share of examples per residual bin; narrow and centred on 0 is better, a "
            "shifted peak is a bias.",
        )
    )
    return section


def regression_error_section(
    assessment: LanguageAssessment, colours: dict[str, str], top_k: int, text_col: str | None
) -> Section:
    results = assessment.results
    section = Section(
        "regression-errors",
        "Regression: largest errors",
        lead="The examples each model gets most wrong, and where a candidate got worse than "
        "the baseline on the same example.",
        collapsed=True,
    )
    for r in results:
        run = r.run
        assert isinstance(run, RegressionRun)
        error = run.labels - run.predictions
        worst = np.argsort(-np.abs(error), kind="stable")[:top_k]
        section.tables.append(
            Table(
                [
                    "Id",
                    *([text_col] if has_column(run, text_col) else []),
                    "Actual",
                    "Predicted",
                    "Error",
                ],
                [
                    [
                        Cell(example_id(run, i), role="mono"),
                        *(
                            [short_cell(str(run.extra[text_col].iloc[i]))]
                            if has_column(run, text_col)
                            else []
                        ),
                        Cell(fmt.magnitude(run.labels[i]), role="num"),
                        Cell(fmt.magnitude(run.predictions[i]), role="num"),
                        Cell(fmt.magnitude(error[i]), role="num"),
                    ]
                    for i in worst
                ],
                title=f"{r.name}: largest absolute errors",
                caption=f"The {len(worst)} largest |actual − predicted|.",
                collapsed=True,
            )
        )
    base_name = next(iter(assessment.baselines.values()))
    base = next(r for r in results if r.name == base_name)
    for r in results:
        pairing = assessment.pairings.get(("regression", r.name))
        if r.name == base_name or pairing is None or pairing.baseline_rows is None:
            continue
        assert isinstance(base.run, RegressionRun) and isinstance(r.run, RegressionRun)
        assert pairing.candidate_rows is not None
        b_err = base.columns["abs_error"][pairing.baseline_rows]
        c_err = r.columns["abs_error"][pairing.candidate_rows]
        growth = c_err - b_err
        picked = np.argsort(-growth, kind="stable")[:top_k]
        picked = picked[growth[picked] > 0]
        section.tables.append(
            Table(
                ["Id", "Actual", f"{base_name}", f"{r.name}", "Δ |error|"],
                [
                    [
                        Cell(example_id(r.run, int(pairing.candidate_rows[j])), role="mono"),
                        Cell(fmt.magnitude(r.run.labels[pairing.candidate_rows[j]]), role="num"),
                        Cell(
                            fmt.magnitude(base.run.predictions[pairing.baseline_rows[j]]),
                            role="num",
                        ),
                        Cell(
                            fmt.magnitude(r.run.predictions[pairing.candidate_rows[j]]), role="num"
                        ),
                        Cell("+" + fmt.magnitude(growth[j]), role="num"),
                    ]
                    for j in picked
                ],
                title=f"{r.name}: worse than {base_name} (largest growth of the error)",
                caption=f"{fmt.count(int((growth > 0).sum()))} of {fmt.count(len(growth))} "
                f"paired examples have a larger error under {r.name}.",
                collapsed=True,
            )
        )
    return section


def regression_views(
    assessment: LanguageAssessment, colours: dict[str, str], top_k: int, text_col: str | None
) -> list[Section]:
    results = assessment.results
    found: list[Section] = []
    metrics = Section(
        "regression-metrics",
        "Regression: metrics",
        lead="Errors are in the label's own units; lower is better for every error, higher for "
        "R² and explained variance. Hover a value for its 95% interval.",
        tables=[
            metrics_table(
                results,
                assessment,
                colours,
                REGRESSION_METRICS,
                "MAE = mean |y − ŷ|; RMSE = √mean (y − ŷ)²; MAPE = mean |y − ŷ| / |y| (a "
                "fraction); R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²; explained variance = 1 − "
                "Var(y − ŷ) / Var(y). Median absolute error's interval is distribution-free "
                "(order statistics); max error has none.",
            )
        ],
        notes=metric_notes_of(results),
    )
    found += [metrics, regression_fit_section(assessment, colours)]
    found.append(regression_error_section(assessment, colours, top_k, text_col))
    return found
