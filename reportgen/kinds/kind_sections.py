"""Regression, multilabel and embedding evaluations -> the report's tables and figures.

Sizes stay bounded: predicted-vs-actual and residual plots become 2-D histograms past
``SCATTER_LIMIT`` examples, distributions are pre-binned, label charts are capped at the
``MAX_LABEL_ROWS`` weakest labels and ``MAX_COOCCURRENCE`` most frequent ones, example lists at
``top_k``, and embedding plots at the ``--max-points`` sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.tabular import MultilabelRun, RegressionRun
from reportgen.kinds.classification.sections import (
    OTHER,
    _delta_cell_parts,
    _interval_text,
    _model_cell,
    best_index,
)
from reportgen.kinds.embeddings import Projection
from reportgen.kinds.lm_sections import _short, label, paired_comparison_section, value_text
from reportgen.kinds.multilabel_metrics import METRICS as MULTILABEL_METRICS
from reportgen.kinds.multilabel_metrics import per_label_counts
from reportgen.kinds.regression_metrics import METRICS as REGRESSION_METRICS
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.model import Cell, Figure, Section, Table, chart

SCATTER_LIMIT = 2000  # examples per model drawn as points; beyond, a 2-D histogram
DENSITY_BINS = 40
RESIDUAL_BINS = 40
TAIL = 0.005  # histogram axes span the 0.5-99.5% quantiles; the tails land in the edge bins
MAX_LABEL_ROWS = 30
MAX_COOCCURRENCE = 20
MAX_CARDINALITY = 10
MAX_PROJECTION_CLASSES = 8  # the class palette's size; rarer classes pooled as "(other)"


def _round(values: np.ndarray, span: float) -> np.ndarray:
    """Enough decimals to place a point within 1/10,000 of the axis span, no more."""
    decimals = int(max(0, 4 - np.floor(np.log10(span)))) if span > 0 else 6
    return np.round(values, decimals)


def comparison_section(
    assessment: LanguageAssessment,
    colours: dict[str, str],
    kind: str,
    replicates: int,
    seed: int,
) -> Section | None:
    baseline = next(iter(assessment.baselines.values()), "")
    return paired_comparison_section(
        assessment,
        colours,
        replicates,
        seed,
        section_id=f"{kind}-comparison",
        title=f"{kind.capitalize()}: against the baseline {baseline}",
        lead="Is each candidate really different from the baseline on the same examples? "
        "Paired bootstrap over examples"
        + (", subset accuracy by McNemar's exact test" if kind == "multilabel" else ""),
        metric_name=lambda c: label(c.metric),
        run_label=lambda group, name: name,
    )


def metrics_table(
    results: Sequence[LanguageResult],
    assessment: LanguageAssessment,
    colours: dict[str, str],
    metrics: Sequence[str],
    caption: str,
) -> Table:
    """Every metric (columns) of every model (rows), best in bold, delta under candidates,
    interval on hover."""
    shown = [m for m in metrics if any(r.metrics.get(m) is not None for r in results)]
    deltas = {(c.candidate, c.metric): c for c in assessment.comparisons}
    best = {m: best_index([r.metrics.get(m) for r in results], m) for m in shown}
    rows = []
    for i, r in enumerate(results):
        row = [_model_cell(r.name, colours), Cell(fmt.count(r.run.n_examples), css="num")]
        for m in shown:
            value = r.metrics.get(m)
            c = Cell(
                value_text(m, value),
                css="num"
                + (" best" if i in best[m] else "")
                + (" missing" if value is None else ""),
                title=(_interval_text(r.intervals.get(m)) or r.metric_notes.get(m)) or None,
            )
            comparison = deltas.get((r.name, m))
            if comparison is not None and comparison.delta is not None:
                c.sub, c.sub_css = _delta_cell_parts(comparison)
            row.append(c)
        rows.append(row)
    return Table(
        ["Model", "Examples", *[label(m) for m in shown]],
        rows,
        title="All metrics",
        lead=True,
        caption=caption,
        numeric=[False, True, *[True] * len(shown)],
    )


def _metric_notes(results: Sequence[LanguageResult]) -> list[str]:
    notes = []
    for r in results:
        notes += [f"{r.name}: {label(m)} {why}." for m, why in r.metric_notes.items()]
        notes += [f"{r.name}: {n}" for n in r.run.notes]
    return notes


# --- regression ------------------------------------------------------------------------------


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
                        "x": _round(x, x_domain[1] - x_domain[0]),
                        "y": _round(y, y_domain[1] - y_domain[0]),
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
                    "x": _round(x_edges[i], x_domain[1] - x_domain[0]),
                    "x2": _round(x_edges[i + 1], x_domain[1] - x_domain[0]),
                    "y": _round(y_edges[j], y_domain[1] - y_domain[0]),
                    "y2": _round(y_edges[j + 1], y_domain[1] - y_domain[0]),
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
                    "low": _round(edges[:-1], high - low),
                    "high": _round(edges[1:], high - low),
                    "mid": _round((edges[:-1] + edges[1:]) / 2, high - low),
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
                    *([text_col] if _has(run, text_col) else []),
                    "Actual",
                    "Predicted",
                    "Error",
                ],
                [
                    [
                        Cell(_ident(run, i), css="mono"),
                        *(
                            [_short(str(run.extra[text_col].iloc[i]))]
                            if _has(run, text_col)
                            else []
                        ),
                        Cell(fmt.magnitude(run.labels[i]), css="num"),
                        Cell(fmt.magnitude(run.predictions[i]), css="num"),
                        Cell(fmt.magnitude(error[i]), css="num"),
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
                        Cell(_ident(r.run, int(pairing.candidate_rows[j])), css="mono"),
                        Cell(fmt.magnitude(r.run.labels[pairing.candidate_rows[j]]), css="num"),
                        Cell(
                            fmt.magnitude(base.run.predictions[pairing.baseline_rows[j]]),
                            css="num",
                        ),
                        Cell(
                            fmt.magnitude(r.run.predictions[pairing.candidate_rows[j]]), css="num"
                        ),
                        Cell("+" + fmt.magnitude(growth[j]), css="num"),
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


def _has(run: RegressionRun | MultilabelRun, column: str | None) -> bool:
    return column is not None and column in run.extra.columns


def _ident(run: RegressionRun | MultilabelRun, row: int) -> str:
    return str(row + 1) if run.ids is None else str(run.ids[row])


def regression_sections(
    assessment: LanguageAssessment,
    colours: dict[str, str],
    top_k: int,
    text_col: str | None,
    replicates: int,
    seed: int,
) -> list[Section]:
    results = assessment.results
    found: list[Section] = []
    comparison = comparison_section(assessment, colours, "regression", replicates, seed)
    if comparison is not None:
        found.append(comparison)
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
        notes=_metric_notes(results),
    )
    found += [metrics, regression_fit_section(assessment, colours)]
    found.append(regression_error_section(assessment, colours, top_k, text_col))
    return found


# --- multilabel ------------------------------------------------------------------------------


def _label_rows(results: Sequence[LanguageResult]) -> tuple[pd.DataFrame, list[str]]:
    frames = []
    for r in results:
        run = r.run
        assert isinstance(run, MultilabelRun)
        counts = per_label_counts(r.columns, len(run.label_names))
        for metric in ("precision", "recall", "f1"):
            frames.append(
                pd.DataFrame(
                    {
                        "model": r.name,
                        "class": list(run.label_names),
                        "metric": metric,
                        "value": np.round(counts[metric], 6),
                        "support": counts["support"].astype(np.int64),
                    }
                )
            )
    rows = pd.concat(frames, ignore_index=True)
    mean_f1 = rows[rows["metric"] == "f1"].groupby("class", sort=False)["value"].mean()
    order = list(mean_f1.sort_values(kind="stable").index[:MAX_LABEL_ROWS])
    return rows[rows["class"].isin(order)], order


def per_label_section(assessment: LanguageAssessment, colours: dict[str, str]) -> Section:
    results = assessment.results
    first = results[0].run
    assert isinstance(first, MultilabelRun)
    names = list(first.label_names)
    per_model = {}
    ranking = {}
    for r in results:
        run = r.run
        assert isinstance(run, MultilabelRun)
        per_model[r.name] = per_label_counts(r.columns, len(names))
        if r.per_label:
            ranking[r.name] = (r.per_label["roc_auc"], r.per_label["average_precision"])
    header = ["Label", "Support"]
    for r in results:
        header += [f"F1 · {r.name}"]
        if r.name in ranking:
            header += [f"AUC · {r.name}", f"AP · {r.name}"]
    rows = []
    for j, name in enumerate(names):
        f1s = [float(per_model[r.name]["f1"][j]) for r in results]
        best = best_index(f1s, "f1") if len(results) > 1 else set()
        row = [
            Cell(name),
            Cell(fmt.count(int(per_model[results[0].name]["support"][j])), css="num"),
        ]
        for i, r in enumerate(results):
            row.append(Cell(fmt.rate(f1s[i]), css="num" + (" best" if i in best else "")))
            if r.name in ranking:
                auc, ap = ranking[r.name]
                for value in (auc[j], ap[j]):
                    row.append(Cell(fmt.rate(None if np.isnan(value) else float(value)), css="num"))
        rows.append(row)
    table = Table(
        header,
        rows,
        title="Per-label scores",
        caption="Support = examples whose true set holds the label. AUC and AP from each "
        "label's scores (— when a label has only positive or only negative examples).",
        numeric=[False, *[True] * (len(header) - 1)],
        collapsed=True,
    )
    label_rows, order = _label_rows(results)
    models = [r.name for r in results]
    drawn = chart("per_class_chart", label_rows, order, models, [colours[m] for m in models])
    shown = (
        f"the {len(order)} labels with the lowest mean F1"
        if len(names) > len(order)
        else "every label, lowest mean F1 first"
    )
    return Section(
        "multilabel-labels",
        "Multilabel: per label",
        lead="Which labels each model finds hard: precision, recall and F1 per label, "
        + shown
        + ".",
        figures=[
            Figure(
                "multilabel-per-label",
                "Per-label precision, recall and F1",
                drawn,
                lead="Further right is better; dots of one label sit together, one per model.",
                table=table,
            )
        ],
    )


def _cardinality(results: Sequence[LanguageResult], colours: dict[str, str]) -> Figure:
    first = results[0].run
    assert isinstance(first, MultilabelRun)
    truth = "True labels"
    series = {truth: first.y_true.sum(axis=1)}
    for r in results:
        assert isinstance(r.run, MultilabelRun)
        series[r.name] = r.run.y_pred.sum(axis=1)
    frames = []
    for name, sizes in series.items():
        clipped = np.minimum(sizes, MAX_CARDINALITY)
        counts = np.bincount(clipped, minlength=MAX_CARDINALITY + 1)
        keep = np.flatnonzero(counts)
        frames.append(
            pd.DataFrame(
                {
                    "series": name,
                    "labels": [f"{k}+" if k == MAX_CARDINALITY else str(k) for k in keep],
                    "count": counts[keep],
                    "share": np.round(counts[keep] / max(1, len(sizes)), 6),
                }
            )
        )
    names = list(series)
    drawn = chart(
        "cardinality_chart",
        pd.concat(frames, ignore_index=True),
        names,
        ["#5f6368", *[colours[r.name] for r in results]],
    )
    mean_true = float(first.y_true.sum(axis=1).mean())
    return Figure(
        "multilabel-cardinality",
        "Labels per example",
        drawn,
        lead=f"Grey: the true label sets (mean {mean_true:.2f} labels per example); coloured: "
        "each model's predicted sets. A model that predicts too few labels sits left of grey.",
    )


def _cooccurrence(results: Sequence[LanguageResult]) -> Figure:
    first = results[0].run
    assert isinstance(first, MultilabelRun)
    frequency = first.y_true.sum(axis=0)
    top = np.argsort(-frequency, kind="stable")[:MAX_COOCCURRENCE]
    top = top[frequency[top] > 0]
    sub = first.y_true[:, top].astype(np.int64)
    counts = sub.T @ sub
    labels = [first.label_names[j] for j in top]
    rows = []
    for a in range(len(top)):
        for b in range(len(top)):
            share = counts[a, b] / counts[a, a] if counts[a, a] else 0.0
            rows.append(
                {
                    "row": labels[a],
                    "col": labels[b],
                    "count": int(counts[a, b]),
                    "share": round(float(share), 4),
                    "text": fmt.count(int(counts[a, b])) if counts[a, b] else "",
                }
            )
    drawn = chart("cooccurrence_heatmap", pd.DataFrame(rows), labels)
    shown = (
        f"the {len(labels)} most frequent labels"
        if len(first.label_names) > len(labels)
        else "all labels"
    )
    return Figure(
        "multilabel-cooccurrence",
        "Which labels occur together",
        drawn,
        lead=f"Examples whose true set holds both labels ({shown}, from {first.name}'s file); "
        "colour = share of the row label's examples that also carry the column label.",
    )


def _set_text(names: tuple[str, ...], flags: np.ndarray) -> str:
    return ", ".join(names[j] for j in np.flatnonzero(flags)) or "(none)"


def multilabel_error_section(
    assessment: LanguageAssessment, colours: dict[str, str], top_k: int
) -> Section:
    section = Section(
        "multilabel-errors",
        "Multilabel: examples",
        lead="Examples whose predicted label set is furthest from the true set.",
        collapsed=True,
    )
    for r in assessment.results:
        run = r.run
        assert isinstance(run, MultilabelRun)
        wrong = r.columns["mismatches"]
        worst = np.argsort(-wrong, kind="stable")[:top_k]
        worst = worst[wrong[worst] > 0]
        names = run.label_names
        section.tables.append(
            Table(
                ["Id", "True labels", "Predicted", "Missed", "Extra"],
                [
                    [
                        Cell(_ident(run, int(i)), css="mono"),
                        _short(_set_text(names, run.y_true[i])),
                        _short(_set_text(names, run.y_pred[i])),
                        _short(_set_text(names, run.y_true[i] & ~run.y_pred[i])),
                        _short(_set_text(names, run.y_pred[i] & ~run.y_true[i])),
                    ]
                    for i in worst
                ],
                title=f"{r.name}: most mismatched label sets",
                caption=f"{fmt.count(int((wrong > 0).sum()))} of {fmt.count(run.n_examples)} "
                f"examples have at least one wrong label; the {len(worst)} with the most.",
                collapsed=True,
            )
        )
    return section


def multilabel_sections(
    assessment: LanguageAssessment,
    colours: dict[str, str],
    top_k: int,
    replicates: int,
    seed: int,
) -> list[Section]:
    results = assessment.results
    found: list[Section] = []
    comparison = comparison_section(assessment, colours, "multilabel", replicates, seed)
    if comparison is not None:
        found.append(comparison)
    found.append(
        Section(
            "multilabel-metrics",
            "Multilabel: metrics",
            lead="Micro averages weigh every (example, label) decision equally, macro averages "
            "every label, samples averages every example. Hover a value for its 95% interval.",
            tables=[
                metrics_table(
                    results,
                    assessment,
                    colours,
                    MULTILABEL_METRICS,
                    "Subset accuracy: the whole predicted set is right. Hamming loss: share of "
                    "wrong (example, label) decisions, lower is better. Ratios with a zero "
                    "denominator count as 0, as scikit-learn's default. Label-ranking AP and "
                    "ROC AUC / AP (macro) need scores and have no interval.",
                )
            ],
            notes=_metric_notes(results),
        )
    )
    found.append(per_label_section(assessment, colours))
    found.append(
        Section(
            "multilabel-sets",
            "Multilabel: label sets",
            lead="How many labels examples carry and which go together: context for the "
            "per-label scores.",
            figures=[_cardinality(results, colours), _cooccurrence(results)],
        )
    )
    found.append(multilabel_error_section(assessment, colours, top_k))
    return found


# --- embeddings ------------------------------------------------------------------------------


def _projection_points(
    projections: Sequence[Projection], classes: Sequence[str], ids: dict[str, np.ndarray | None]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    counts = np.bincount(np.concatenate([p.y_true for p in projections]), minlength=len(classes))
    order = np.argsort(-counts, kind="stable")
    keep = [classes[k] for k in order if counts[k] > 0]
    if len(keep) > MAX_PROJECTION_CLASSES:
        keep = keep[: MAX_PROJECTION_CLASSES - 1]
    kept = set(keep)
    shown_classes = [c for c in classes if c in kept]
    pooled = any(classes[k] not in kept for k in order if counts[k] > 0)
    if pooled:
        shown_classes.append(OTHER)
    pca_frames, tsne_frames = [], []
    for p in projections:
        names = np.array([c if c in kept else OTHER for c in classes], dtype=object)[p.y_true]
        run_ids = ids.get(p.name)
        ident = p.rows + 1 if run_ids is None else np.asarray(run_ids)[p.rows]
        if ident.dtype.kind not in "iu":
            ident = ident.astype(str)
        common = {
            "model": p.name,
            "cls": names,
            "wrong": np.where(p.y_true == p.y_pred, "right", "wrong"),
            "id": ident,
        }
        pca_frames.append(
            pd.DataFrame({**common, "x": _unit(p.pca[:, 0]), "y": _unit(p.pca[:, 1])})
        )
        if p.tsne is not None:
            tsne_frames.append(
                pd.DataFrame({**common, "x": _unit(p.tsne[:, 0]), "y": _unit(p.tsne[:, 1])})
            )
    tsne = pd.concat(tsne_frames, ignore_index=True) if tsne_frames else pd.DataFrame()
    return pd.concat(pca_frames, ignore_index=True), tsne, shown_classes


def _unit(values: np.ndarray) -> np.ndarray:
    """Coordinates rescaled to [0, 1] and rounded to 3 decimals: projections have no units,
    and fewer digits keep the page small."""
    values = values.astype(np.float64)  # t-SNE returns float32, whose decimals print long
    low, high = values.min(), values.max()
    return np.round((values - low) / (high - low if high > low else 1.0), 3)


def embedding_section(
    projections: Sequence[Projection],
    classes: Sequence[str],
    colours: dict[str, str],
    ids: dict[str, np.ndarray | None],
    seed: int,
) -> Section:
    models = [p.name for p in projections]
    model_colours = [colours[m] for m in models]
    pca, tsne, shown_classes = _projection_points(projections, classes, ids)
    figures = [
        Figure(
            "embedding-pca",
            "PCA of the embeddings",
            chart("projection_panels", pca, models, model_colours, shown_classes, "PCA"),
            lead="The two directions of largest variance; tight, separate colour groups mean "
            "the embedding already separates the classes linearly. Crosses are misclassified.",
            raster=True,
        )
    ]
    if len(tsne):
        tsne_models = list(dict.fromkeys(tsne["model"]))
        figures.append(
            Figure(
                "embedding-tsne",
                "t-SNE of the embeddings",
                chart(
                    "projection_panels",
                    tsne,
                    tsne_models,
                    [colours[m] for m in tsne_models],
                    shown_classes,
                    "t-SNE",
                ),
                lead="Neighbourhoods preserved, distances between clusters not: read which "
                "classes mix, not how far apart clusters are.",
                raster=True,
            )
        )
    rows, table_rows = [], []
    for p in projections:
        if p.silhouette is None:
            continue
        for k in np.unique(p.y_true):
            mask = p.y_true == k
            rows.append(
                {
                    "model": p.name,
                    "cls": classes[k],
                    "silhouette": round(float(p.silhouette[mask].mean()), 4),
                    "n": int(mask.sum()),
                }
            )
        rows.append(
            {
                "model": p.name,
                "cls": "(all classes)",
                "silhouette": round(float(p.silhouette_score or 0.0), 4),
                "n": len(p.rows),
            }
        )
    scores = [p.silhouette_score for p in projections]
    best = best_index(scores, "silhouette")
    for i, p in enumerate(projections):
        table_rows.append(
            [
                _model_cell(p.name, colours),
                Cell(f"{fmt.count(len(p.rows))} of {fmt.count(p.n_examples)}", css="num"),
                Cell(fmt.count(p.dims), css="num"),
                Cell(fmt.rate(p.silhouette_score), css="num" + (" best" if i in best else "")),
                Cell(fmt.percent(p.explained[0] + p.explained[1]), css="num"),
                Cell(fmt.rate(float(np.mean(p.y_true == p.y_pred))), css="num"),
            ]
        )
    table = Table(
        ["Model", "Sampled", "Dimensions", "Silhouette", "PCA variance (2 axes)", "Accuracy"],
        table_rows,
        title="Separation of the true classes",
        lead=True,
        caption="Silhouette (Rousseeuw 1987) of the true classes in the full embedding space "
        "(Euclidean), on the sample: from −1 (mixed) through 0 (overlapping) to 1 (well "
        "separated). Accuracy on the same sample.",
        numeric=[False, True, True, True, True, True],
    )
    if rows:
        frame = pd.DataFrame(rows)
        order = ["(all classes)", *[c for c in classes if c in set(frame["cls"])]][:MAX_LABEL_ROWS]
        frame = frame[frame["cls"].isin(order)]
        figures.append(
            Figure(
                "embedding-separation",
                "Separation of each class (silhouette)",
                chart("separation_chart", frame, order, models, model_colours),
                lead="Further right is better separated; a class left of zero sits closer to "
                "another class than to itself.",
            )
        )
    section = Section(
        "embeddings",
        "Embedding space",
        lead="How each model's embeddings arrange the examples, on a deterministic sample "
        f"(seed {seed}) of at most {max(len(p.rows) for p in projections):,} examples per model.",
        tables=[table],
        figures=figures,
    )
    for p in projections:
        section.notes += [f"{p.name}: {n}" for n in p.notes]
    return section
