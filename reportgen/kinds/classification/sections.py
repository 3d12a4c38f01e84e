"""Evaluations -> the report's tables and figures (tidy data for each chart, then the chart).

Caps that keep charts readable and the file small live here: at most ``MAX_MATRIX_CLASSES``
classes in a confusion matrix (the rest pooled as "(other)"), the ``MAX_CLASS_ROWS`` weakest
classes in per-class charts, the ``MAX_PAIRS`` most frequent mistakes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.kinds.classification.assess import Assessment
from reportgen.kinds.classification.curves import reliability, simplify_bounded
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    ClassCurve,
    RunEvaluation,
)
from reportgen.kinds.classification.examples import Example, agreement, confident_mistakes
from reportgen.kinds.classification.slices import SliceAnalysis
from reportgen.model import Cell, Figure, RunInfo, Section, Table, chart
from reportgen.stats.comparison import Comparison

MAX_MATRIX_CLASSES = 12
MAX_CLASS_ROWS = 30
MAX_CLASS_CURVES = 6
MAX_PAIRS = 15
CURVE_AXES = {"roc": ("fpr", "tpr"), "pr": ("recall", "precision")}
AXIS_TITLES = {
    "roc": ("False-positive rate", "True-positive rate (recall)"),
    "pr": ("Recall", "Precision"),
}
OTHER = "(other)"


def metric_label(name: str) -> str:
    return metrics.label(name)


def _model_cell(name: str, colours: dict[str, str]) -> Cell:
    return Cell(name, swatch=colours[name], css="model")


def best_index(values: Sequence[float | None], metric: str) -> set[int]:
    return metrics.best_indices(values, metrics.higher_is_better(metric))


def _interval_text(interval: Sequence[float] | None) -> str:
    return "" if not interval else f"95% CI {fmt.rate(interval[0])} to {fmt.rate(interval[1])}"


def _delta_cell_parts(comparison: Comparison) -> tuple[str, str]:
    """(text, css) of a delta: an arrow by direction, coloured only when significant."""
    delta = comparison.delta or 0.0
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    css = {"better": "delta better", "worse": "delta worse"}.get(comparison.verdict, "delta")
    return f"{arrow} {fmt.signed(delta)}", css


def leaderboard(
    evaluations: Sequence[RunEvaluation], colours: dict[str, str], assessment: Assessment
) -> Table:
    """One row per model, headline metrics as columns, the best value per column in bold,
    deltas against the baseline under the candidates' values."""
    task = evaluations[0].task
    names = [m for m in HEADLINE[task] if any(e.metrics.get(m) is not None for e in evaluations)]
    header = ["Model", "Examples", *[metric_label(m) for m in names]]
    best = {m: best_index([e.metrics.get(m) for e in evaluations], m) for m in names}
    deltas = {(c.candidate, c.metric): c for c in assessment.comparisons}
    rows = []
    for i, evaluation in enumerate(evaluations):
        model = _model_cell(evaluation.name, colours)
        if evaluation.name == assessment.baseline and len(evaluations) > 1:
            model.sub, model.sub_css = "baseline", "tag"
        row = [model, Cell(fmt.count(evaluation.confusion.n), css="num")]
        for metric in names:
            value = evaluation.metrics.get(metric)
            css = "num" + (" best" if i in best[metric] else "")
            interval = assessment.intervals.get(evaluation.name, {}).get(metric)
            if value is None:
                cell = Cell(
                    fmt.rate(value), title=evaluation.metric_notes.get(metric), css=css + " missing"
                )
            else:
                cell = Cell(
                    fmt.rate(value), title=_interval_text(interval) or f"{value:.6g}", css=css
                )
            comparison = deltas.get((evaluation.name, metric))
            if comparison is not None and comparison.delta is not None:
                cell.sub, cell.sub_css = _delta_cell_parts(comparison)
                cell.title = (cell.title or "") + (
                    f"; delta {_interval_text(comparison.ci)}, {comparison.verdict}"
                )
            row.append(cell)
        rows.append(row)
    arrows = ", ".join(metric_label(m) for m in names if metrics.lower_is_better(m))
    caption = "Best value per column in bold. Hover a value for its 95% interval."
    if assessment.comparisons:
        caption += (
            " Under each candidate value: its difference from the baseline, coloured "
            "when significant (Holm-adjusted p < 0.05), grey when not."
        )
    if arrows:
        caption += f" Lower is better for {arrows}; higher for the rest."
    return Table(header, rows, caption=caption, numeric=[False, True, *[True] * len(names)])


def verdict_line(assessment: Assessment) -> str:
    """One sentence per candidate: on how many metrics it beats, loses to or ties the baseline."""
    return verdict_text(assessment.comparisons, assessment.baseline, "metrics")


def verdict_text(comparisons: Sequence[Comparison], baseline: str, what: str) -> str:
    parts = verdict_parts(comparisons, baseline, what)
    return "; ".join(parts) + ("." if parts else "")


def verdict_parts(comparisons: Sequence[Comparison], baseline: str, what: str) -> list[str]:
    """One clause per candidate: on how many metrics it beats, loses to or ties the baseline."""
    parts = []
    for candidate in dict.fromkeys(c.candidate for c in comparisons):
        mine = [c for c in comparisons if c.candidate == candidate]
        tested = [c for c in mine if c.verdict != "untested"]
        if not tested:
            continue
        count = {v: sum(c.verdict == v for c in tested) for v in ("better", "worse", "tie")}
        text = f"{candidate} beats {baseline} on {count['better']} of {len(tested)} {what}"
        if count["worse"]:
            text += f", is worse on {count['worse']}"
        text += f"; {count['tie']} tie{'s' if count['tie'] != 1 else ''}"
        parts.append(text)
    return parts


def comparison_views(
    comparisons: Sequence[Comparison],
    colours: dict[str, str],
    figure_id: str,
    metric_name: Callable[[Comparison], str] = lambda c: metric_label(c.metric),
    value_text: Callable[[str, float | None], str] = lambda metric, value: fmt.rate(value),
) -> tuple[Table, Figure | None]:
    """The table of comparisons (delta, interval, p, Holm-adjusted p, test, verdict) and the
    chart of improvements with their intervals, for any kind of run."""
    rows, points = [], []
    for c in comparisons:
        sign = -1.0 if metrics.lower_is_better(c.metric) else 1.0
        text, css = _delta_cell_parts(c)
        interval = f"{fmt.signed(c.ci[0])} to {fmt.signed(c.ci[1])}" if c.ci else fmt.MISSING
        rows.append(
            [
                _model_cell(c.candidate, colours),
                Cell(metric_name(c)),
                Cell(value_text(c.metric, c.baseline_value), css="num"),
                Cell(value_text(c.metric, c.candidate_value), css="num"),
                Cell(text, css="num " + css),
                Cell(interval, css="num"),
                Cell(fmt.p_value(c.p_value), title=c.test, css="num"),
                Cell(fmt.p_value(c.p_value_adjusted), css="num"),
                Cell(c.test, css="mono"),
                Cell(c.verdict, css=f"verdict {c.verdict}"),
            ]
        )
        if c.ci is not None:
            low, high = sorted((sign * c.ci[0], sign * c.ci[1]))
            points.append(
                {
                    "candidate": c.candidate,
                    "metric": metric_name(c),
                    "improvement": round(sign * c.delta, 6),  # type: ignore[operator]
                    "low": round(low, 6),
                    "high": round(high, 6),
                    "verdict": c.verdict,
                    "p": fmt.p_value(c.p_value_adjusted),
                }
            )
    table = Table(
        [
            "Candidate",
            "Metric",
            "Baseline",
            "Candidate",
            "Δ",
            "95% CI of Δ",
            "p",
            "p (Holm)",
            "Test",
            "Verdict",
        ],
        rows,
        title="Comparison table",
        caption="Δ = candidate minus baseline. Verdicts use Holm-adjusted p < 0.05.",
        numeric=[False, False, True, True, True, True, True, True, False, False],
    )
    if not points:
        return table, None
    candidates = list(dict.fromkeys(p["candidate"] for p in points))
    drawn = chart(
        "improvement_chart",
        pd.DataFrame(points),
        list(dict.fromkeys(metric_name(c) for c in comparisons)),
        candidates,
        [colours[c] for c in candidates],
    )
    figure = Figure(
        figure_id,
        "Improvement over the baseline, with 95% intervals",
        drawn,
        lead="Right of zero is better (the sign is flipped for metrics where lower is "
        "better); an interval that crosses zero is a tie.",
    )
    return table, figure


def comparison_section(assessment: Assessment, colours: dict[str, str]) -> Section:
    """Each candidate against the baseline: deltas, intervals, tests and verdicts."""
    comparisons = [c for c in assessment.comparisons if c.delta is not None]
    table, figure = comparison_views(comparisons, colours, "improvements")
    section = Section(
        "comparison",
        f"Against the baseline: {assessment.baseline}",
        lead="Is each candidate really different from the baseline? Intervals and tests are "
        f"paired on shared examples where possible; p-values are Holm-corrected across all "
        f"{sum(c.p_value is not None for c in comparisons)} tests of this report.",
        tables=[table],
        figures=[figure] if figure is not None else [],
    )
    for name, pairing in assessment.pairings.items():
        section.notes.append(f"{name}: {pairing.note}")
    section.notes.append(
        f"Intervals: percentile bootstrap, {assessment.replicates:,} replicates, seed "
        f"{assessment.seed}; accuracy by McNemar's exact test, ROC AUC by DeLong's test."
    )
    return section


def all_metrics_table(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Table:
    metric_names = list(evaluations[0].metrics)
    header = ["Metric", *[e.name for e in evaluations]]
    rows = []
    for metric in metric_names:
        values = [e.metrics.get(metric) for e in evaluations]
        best = best_index(values, metric)
        row = [Cell(metric, title=metric_label(metric), css="mono")]
        for i, (evaluation, value) in enumerate(zip(evaluations, values, strict=True)):
            note = evaluation.metric_notes.get(metric)
            css = "num" + (" best" if i in best else "") + (" missing" if value is None else "")
            row.append(
                Cell(
                    fmt.rate(value),
                    title=note or (f"{value:.6g}" if value is not None else None),
                    css=css,
                )
            )
        rows.append(row)
    return Table(
        header,
        rows,
        title="Every metric",
        numeric=[False, *[True] * len(evaluations)],
        caption="Hover a value for more digits, or an empty value for the reason.",
    )


def metadata_items(metadata: dict[str, object]) -> list[tuple[str, str]]:
    """A run's metadata as (key, text) pairs; values that are not text shown as JSON."""
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, sort_keys=True))
        for k, v in metadata.items()
    ]


def run_info(evaluation: RunEvaluation, colour: str) -> RunInfo:
    encoded = evaluation.encoded
    run = encoded.run
    classes = encoded.classes
    shown = ", ".join(classes[:20]) + (f", … ({len(classes)} in all)" if len(classes) > 20 else "")
    return RunInfo(
        name=run.name,
        colour=colour,
        path=str(run.path),
        sha256=run.sha256,
        n_examples=fmt.count(run.n_examples),
        task=encoded.task,
        classes=shown,
        positive_label=classes[encoded.positive] if encoded.positive is not None else None,
        predictions_from=encoded.prediction_source,
        columns=sorted(run.columns.items()),
        metadata=metadata_items(run.metadata),
        notes=[*encoded.notes, *evaluation.notes],
    )


# --- confusion matrices -------------------------------------------------------------------


def _matrix_classes(evaluations: Sequence[RunEvaluation]) -> tuple[list[str], np.ndarray]:
    """Classes to draw, and for every class the column it is pooled into."""
    classes = evaluations[0].classes
    k = len(classes)
    if k <= MAX_MATRIX_CLASSES:
        return list(classes), np.arange(k)
    total = sum(e.confusion.matrix for e in evaluations)
    errors = total.sum(axis=0) + total.sum(axis=1) - 2 * np.diagonal(total)
    keep = np.sort(np.argsort(-errors, kind="stable")[: MAX_MATRIX_CLASSES - 1])
    target = np.full(k, len(keep))
    target[keep] = np.arange(len(keep))
    return [classes[i] for i in keep] + [OTHER], target


def _pooled(matrix: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    assign = np.zeros((len(target), size), dtype=np.int64)
    assign[np.arange(len(target)), target] = 1
    return assign.T @ matrix @ assign


def pooled_matrices(evaluations: Sequence[RunEvaluation]) -> tuple[list[np.ndarray], list[str]]:
    """Each model's confusion matrix on the drawn classes (the rest pooled as "(other)")."""
    labels, target = _matrix_classes(evaluations)
    return [_pooled(e.confusion.matrix, target, len(labels)) for e in evaluations], labels


def confusion_cells(
    evaluations: Sequence[RunEvaluation], matrices: Sequence[np.ndarray], labels: Sequence[str]
) -> pd.DataFrame:
    frames = []
    names = np.asarray(labels, dtype=object)
    for evaluation, matrix in zip(evaluations, matrices, strict=True):
        support = matrix.sum(axis=1, keepdims=True)
        rate = matrix / np.maximum(support, 1)
        true_idx, pred_idx = np.indices(matrix.shape)
        frames.append(
            pd.DataFrame(
                {
                    "model": evaluation.name,
                    "true": names[true_idx.ravel()],
                    "predicted": names[pred_idx.ravel()],
                    "count": matrix.ravel(),
                    "rate": rate.ravel(),
                }
            )
        )
    cells = pd.concat(frames, ignore_index=True)
    if labels[-1] == OTHER:
        # (other) -> (other) mixes hits and mistakes among the pooled classes: its size would
        # swamp the colour scale and it says nothing about any class
        cells = cells[~((cells["true"] == OTHER) & (cells["predicted"] == OTHER))]
    cells["count_text"] = [fmt.count(c) for c in cells["count"]]
    # how dark the counts heatmap is, so the text on it can switch to white
    cells["count_shade"] = cells["count"] / max(1, int(cells["count"].max()))
    cells["rate_text"] = [f"{100 * r:.0f}%" for r in cells["rate"]]
    return cells.reset_index(drop=True)


def matrix_table(name: str, matrix: np.ndarray, labels: Sequence[str]) -> Table:
    rows = [
        [Cell(labels[i], css="mono"), *[Cell(fmt.count(v), css="num") for v in matrix[i]]]
        for i in range(len(labels))
    ]
    return Table(
        ["True \\ predicted", *labels],
        rows,
        title=f"Confusion matrix of {name}",
        caption=f"{name}: rows are true classes, columns predicted classes.",
        numeric=[False, *[True] * len(labels)],
    )


def confusion_section(evaluations: Sequence[RunEvaluation], models: list[str]) -> Section:
    matrices, labels = pooled_matrices(evaluations)
    cells = confusion_cells(evaluations, matrices, labels)
    note = ""
    if labels[-1] == OTHER:
        note = (
            f"{len(evaluations[0].classes)} classes: the {len(labels) - 1} involved in the most "
            f"mistakes are drawn; the rest are pooled as {OTHER}."
        )
    figures = [
        Figure(
            "confusion-counts",
            "Counts",
            chart("confusion_chart", cells, labels, models, normalised=False),
            lead="Each cell counts the examples of a true class (row) given a predicted "
            "class (column); the diagonal holds the correct ones.",
            note=note,
        ),
        Figure(
            "confusion-rates",
            "Share of each true class",
            chart("confusion_chart", cells, labels, models, normalised=True),
            lead="Rows sum to 100%: the diagonal is each class's recall, the rest shows "
            "where its examples went.",
            note=note,
        ),
    ]
    return Section(
        "confusion",
        "Confusion matrices",
        figures=figures,
        tables=[
            matrix_table(e.name, m, labels) for e, m in zip(evaluations, matrices, strict=True)
        ],
        lead="Side by side, one matrix per model, on the same classes.",
    )


# --- curves -------------------------------------------------------------------------------


def _threshold_text(values: np.ndarray) -> list[str]:
    return ["∞" if np.isinf(v) and v > 0 else f"{v:.4g}" for v in values]


def _main_curve(evaluation: RunEvaluation) -> ClassCurve | None:
    """The curve a model is compared on: the positive class, or the macro average."""
    if evaluation.task == "multiclass":
        return evaluation.macro_curve
    return evaluation.curves[0] if evaluation.curves else None


def _curve_points(
    evaluations: Sequence[RunEvaluation], kind: str, score_name: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Tidy points of each model's main curve, its legend label, and the models drawn."""
    frames, series, models = [], [], []
    x, y = CURVE_AXES[kind]
    for evaluation in evaluations:
        curve = _main_curve(evaluation)
        data = getattr(curve, kind) if curve is not None else None
        if curve is None or data is None:
            continue
        score = curve.roc_auc if kind == "roc" else curve.average_precision
        label = f"{evaluation.name} ({score_name} {fmt.rate(score)})"
        series.append(label)
        models.append(evaluation.name)
        frame = pd.DataFrame({x: np.round(data[x], 5), y: np.round(data[y], 5)})
        frame["threshold"] = (
            _threshold_text(data["threshold"]) if "threshold" in data else "(averaged)"
        )
        frame["series"] = label
        frame["model"] = evaluation.name
        frame["step"] = np.arange(len(frame))
        frames.append(frame)
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return points, series, models


def _class_curve_points(evaluations: Sequence[RunEvaluation], kind: str) -> pd.DataFrame:
    """Curves of the weakest classes (lowest mean AUC or AP across models)."""
    score_of = "roc_auc" if kind == "roc" else "average_precision"
    by_class: dict[str, list[float]] = {}
    for evaluation in evaluations:
        for curve in evaluation.curves:
            value = getattr(curve, score_of)
            if value is not None:
                by_class.setdefault(curve.label, []).append(value)
    weakest = set(sorted(by_class, key=lambda c: (np.mean(by_class[c]), c))[:MAX_CLASS_CURVES])
    x, y = CURVE_AXES[kind]
    frames = []
    for evaluation in evaluations:
        for curve in evaluation.curves:
            data = getattr(curve, kind)
            if curve.label not in weakest or data is None:
                continue
            # per-class panels are small: a coarser tolerance keeps them light
            kept = simplify_bounded(data[x], data[y], tolerance=4e-3, max_points=100)
            frames.append(
                pd.DataFrame(
                    {
                        x: np.round(data[x][kept], 4),
                        y: np.round(data[y][kept], 4),
                        "model": evaluation.name,
                        "class": curve.label,
                        "score": round(float(getattr(curve, score_of)), 4),
                        "step": np.arange(len(kept)),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _ranking_table(evaluations: Sequence[RunEvaluation]) -> Table:
    multiclass = evaluations[0].task == "multiclass"
    if multiclass:
        header = ["Model", "ROC AUC (macro)", "Average precision (macro)", "Classes"]
    else:
        header = ["Model", "ROC AUC", "Average precision", "Positives", "Negatives"]
    rows = []
    for evaluation in evaluations:
        curve = _main_curve(evaluation)
        auc = curve.roc_auc if curve else None
        ap = curve.average_precision if curve else None
        row = [Cell(evaluation.name), Cell(fmt.rate(auc), css="num"), Cell(fmt.rate(ap), css="num")]
        if multiclass:
            row.append(Cell(fmt.count(len(evaluation.curves)), css="num"))
        else:
            positive = evaluation.encoded.positive
            p = int(evaluation.confusion.support[positive]) if positive is not None else 0
            row += [
                Cell(fmt.count(p), css="num"),
                Cell(fmt.count(evaluation.confusion.n - p), css="num"),
            ]
        rows.append(row)
    return Table(
        header, rows, title="Areas under the curves", numeric=[False, *[True] * (len(header) - 1)]
    )


def curves_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    """ROC and precision-recall curves side by side, then (multiclass) the weakest classes."""
    multiclass = evaluations[0].task == "multiclass"
    what = "macro average of one-vs-rest curves" if multiclass else "positive class"
    section = Section(
        "curves",
        "ROC and precision-recall curves",
        lead=f"Each curve follows one model's {what} as the decision threshold falls from the "
        "highest score to the lowest. Click a legend entry to pick out one model.",
    )
    main, per_class = [], []
    for kind, title, score_name in (("roc", "ROC", "AUC"), ("pr", "Precision-recall", "AP")):
        points, series, models = _curve_points(evaluations, kind, score_name)
        if not series:
            continue
        series_colours = [colours[m] for m in models]
        if kind == "roc":
            drawn = chart("roc_chart", points, series, series_colours)
            lead = "Closer to the top-left corner is better; the diagonal is chance."
        else:
            prevalences = {round(c.prevalence, 12) for e in evaluations for c in e.curves[:1]}
            shared = next(iter(prevalences)) if len(prevalences) == 1 else None
            drawn = chart(
                "pr_chart", points, None if multiclass else shared, series, series_colours
            )
            lead = "Closer to the top-right corner is better."
            if shared is not None and not multiclass:
                lead += " The dashed line is the prevalence: a random model's precision."
        main.append(Figure(f"{kind}-curves", f"{title} curves", drawn, lead=lead))
        if multiclass:
            class_points = _class_curve_points(evaluations, kind)
            if not class_points.empty:
                x, y = CURVE_AXES[kind]
                n_shown = class_points["class"].nunique()
                drawn = chart(
                    "class_curves_chart",
                    class_points,
                    models,
                    series_colours,
                    x,
                    y,
                    *AXIS_TITLES[kind],
                )
                per_class.append(
                    Figure(
                        f"{kind}-classes",
                        f"{title}: the {n_shown} weakest classes",
                        drawn,
                        lead=f"One-vs-rest curves of the classes with the lowest mean "
                        f"{score_name}; hover a line for its class.",
                    )
                )
    if not main:
        section.notes.append("No run has scores, so there are no curves to draw.")
        return section
    section.figures = main + per_class
    section.tables.append(_ranking_table(evaluations))
    return section


# --- calibration --------------------------------------------------------------------------


def calibration_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    frames = []
    for evaluation in evaluations:
        cal = evaluation.calibration
        if cal is None:
            continue
        data = reliability(cal)
        frame = pd.DataFrame(data)
        frame["model"] = evaluation.name
        frame["share"] = frame["count"] / cal.count.sum()
        frame["bin"] = [
            f"{a:.2f}–{b:.2f}" for a, b in zip(frame["bin_start"], frame["bin_end"], strict=True)
        ]
        frames.append(frame)
    multiclass = evaluations[0].task == "multiclass"
    x_title = "Mean top-class confidence" if multiclass else "Mean predicted probability"
    y_title = "Observed accuracy" if multiclass else "Observed positive rate"
    section = Section(
        "calibration",
        "Calibration",
        lead=(
            "Predictions are grouped into 15 equal-width bins of "
            + ("top-class confidence" if multiclass else "predicted probability")
            + "; a calibrated model sits on the diagonal. ECE is the count-weighted mean gap."
        ),
    )
    if not frames:
        section.notes.append("No run has probability scores, so calibration is not shown.")
        return section
    bins = pd.concat(frames, ignore_index=True)
    models = [m for m in colours if m in set(bins["model"])]
    drawn = chart("reliability_chart", bins, models, [colours[m] for m in models], x_title, y_title)
    rows = [
        [
            Cell(r.model),
            Cell(r.bin, css="mono"),
            Cell(fmt.count(r.count), css="num"),
            Cell(fmt.rate(r.confidence), css="num"),
            Cell(fmt.rate(r.observed), css="num"),
        ]
        for r in bins.itertuples()
    ]
    table = Table(
        ["Model", "Bin", "Examples", "Mean predicted", "Observed"],
        rows,
        title="Bins",
        numeric=[False, False, True, True, True],
    )
    section.figures.append(
        Figure(
            "reliability",
            "Reliability diagram",
            drawn,
            lead="Below the diagram: how the scores spread over the bins.",
            table=table,
        )
    )
    return section


# --- per class ----------------------------------------------------------------------------


def per_class_table(evaluations: Sequence[RunEvaluation]) -> Table:
    classes = evaluations[0].classes
    header = ["Class", "Support"]
    numeric = [False, True]
    for evaluation in evaluations:
        header += [f"{evaluation.name} P", f"{evaluation.name} R", f"{evaluation.name} F1"]
        numeric += [True, True, True]
    rows = []
    for k, name in enumerate(classes):
        support = evaluations[0].per_class["support"][k]
        row = [Cell(name, css="mono"), Cell(fmt.count(support), css="num")]
        for evaluation in evaluations:
            pc = evaluation.per_class
            absent = pc["support"][k] == 0 and evaluation.confusion.predicted[k] == 0
            for metric in ("precision", "recall", "f1"):
                row.append(Cell(fmt.MISSING if absent else fmt.rate(pc[metric][k]), css="num"))
        rows.append(row)
    return Table(
        header,
        rows,
        numeric=numeric,
        title="Per-class table",
        caption="P precision, R recall. Support counts the class's examples.",
    )


def per_class_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    classes = evaluations[0].classes
    section = Section(
        "per-class",
        "Per-class precision, recall and F1",
        tables=[per_class_table(evaluations)],
        collapsed=evaluations[0].task == "binary",
    )
    if evaluations[0].task != "multiclass":
        return section
    f1 = np.mean([e.per_class["f1"] for e in evaluations], axis=0)
    order = sorted(range(len(classes)), key=lambda k: (f1[k], classes[k]))[:MAX_CLASS_ROWS]
    rows = []
    for evaluation in evaluations:
        for k in order:
            for metric in ("precision", "recall", "f1"):
                rows.append(
                    {
                        "model": evaluation.name,
                        "class": classes[k],
                        "metric": metric,
                        "value": float(evaluation.per_class[metric][k]),
                        "support": int(evaluation.per_class["support"][k]),
                    }
                )
    frame = pd.DataFrame(rows)
    shown = [classes[k] for k in order]
    models = [e.name for e in evaluations]
    drawn = chart("per_class_chart", frame, shown, models, [colours[m] for m in models])
    capped = len(classes) > MAX_CLASS_ROWS
    section.figures.append(
        Figure(
            "per-class-chart",
            f"The {len(shown)} weakest classes" if capped else "All classes",
            drawn,
            lead="Classes sorted by mean F1 across models, weakest first; each dot is one model.",
        )
    )
    section.lead = "Right is better; a gap between dots of one row is a difference between models."
    return section


def confused_pairs_section(
    evaluations: Sequence[RunEvaluation], colours: dict[str, str]
) -> Section | None:
    classes = evaluations[0].classes
    if len(classes) < 3:
        return None
    total = sum(e.confusion.matrix for e in evaluations).astype(np.int64)
    np.fill_diagonal(total, 0)
    flat = np.argsort(-total.ravel(), kind="stable")[:MAX_PAIRS]
    flat = flat[total.ravel()[flat] > 0]
    if len(flat) == 0:
        return None
    pairs = [divmod(int(i), len(classes)) for i in flat]
    labels = [f"{classes[t]} → {classes[p]}" for t, p in pairs]
    rows = []
    for evaluation in evaluations:
        matrix, support = evaluation.confusion.matrix, evaluation.confusion.support
        for (t, p), label in zip(pairs, labels, strict=True):
            rows.append(
                {
                    "model": evaluation.name,
                    "pair": label,
                    "count": int(matrix[t, p]),
                    "rate": float(matrix[t, p] / support[t]) if support[t] else 0.0,
                }
            )
    models = [e.name for e in evaluations]
    drawn = chart(
        "confused_pairs_chart", pd.DataFrame(rows), labels, models, [colours[m] for m in models]
    )
    table = Table(
        ["Mistake", *models],
        [
            [
                Cell(label, css="mono"),
                *[Cell(fmt.count(r["count"]), css="num") for r in rows if r["pair"] == label],
            ]
            for label in labels
        ],
        numeric=[False, *[True] * len(models)],
        title="Counts",
    )
    return Section(
        "confused-pairs",
        "Most frequent mistakes",
        figures=[
            Figure(
                "confused-pairs-chart",
                f"Top {len(labels)} true → predicted pairs",
                drawn,
                lead="The off-diagonal cells with the most examples, summed over models.",
                table=table,
            )
        ],
    )


def details_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    """Every metric of every model, and why any is missing."""
    notes = []
    for evaluation in evaluations:
        for metric, reason in sorted(evaluation.metric_notes.items()):
            value = evaluation.metrics.get(metric)
            state = "not computed" if value is None else "note"
            notes.append(f"{evaluation.name}: {metric} {state}: {reason}.")
    return Section(
        "all-metrics",
        "All metrics",
        tables=[all_metrics_table(evaluations, colours)],
        notes=notes,
        lead="Every metric reportgen computes, as in the JSON summary.",
    )


def threshold_section(
    evaluations: Sequence[RunEvaluation], colours: dict[str, str]
) -> Section | None:
    """Binary: how precision, recall and F1 move with the decision threshold."""
    scanned = [e for e in evaluations if e.threshold_scan is not None and e.best_threshold]
    if not scanned:
        return None
    frames, best_rows, rows = [], [], []
    for e in scanned:
        scan = e.threshold_scan
        assert scan is not None and e.best_threshold is not None
        for metric, label in (("f1", "F1"), ("precision", "precision"), ("recall", "recall")):
            frames.append(
                pd.DataFrame(
                    {
                        "model": e.name,
                        "metric": label,
                        "threshold": np.round(scan["threshold"], 6),
                        "value": np.round(scan[metric], 5),
                    }
                )
            )
        best = e.best_threshold
        best_rows.append({"model": e.name, **{k: round(v, 6) for k, v in best.items()}})
        rows.append(
            [
                _model_cell(e.name, colours),
                Cell(e.encoded.prediction_source),
                Cell(fmt.rate(e.metrics.get("precision")), css="num"),
                Cell(fmt.rate(e.metrics.get("recall")), css="num"),
                Cell(fmt.rate(e.metrics.get("f1")), css="num"),
                Cell(f"{best['threshold']:.4g}", css="num"),
                Cell(fmt.rate(best["precision"]), css="num"),
                Cell(fmt.rate(best["recall"]), css="num"),
                Cell(fmt.rate(best["f1"]), css="num best"),
            ]
        )
    models = [e.name for e in scanned]
    drawn = chart(
        "threshold_chart",
        pd.concat(frames, ignore_index=True),
        pd.DataFrame(best_rows),
        models,
        [colours[m] for m in models],
    )
    table = Table(
        [
            "Model",
            "Decision rule",
            "Precision",
            "Recall",
            "F1",
            "Best-F1 threshold",
            "Precision",
            "Recall",
            "F1",
        ],
        rows,
        title="At the decision rule and at the F1-optimal threshold",
        caption="Left: the predictions as given (or thresholded); right: at the threshold "
        "that maximises F1 on these data (an optimistic, in-sample choice).",
        numeric=[False, False, True, True, True, True, True, True, True],
    )
    return Section(
        "thresholds",
        "Decision thresholds",
        lead="Raising the threshold trades recall for precision; the ring marks each model's "
        "F1-optimal threshold.",
        figures=[
            Figure(
                "threshold-chart",
                "Precision, recall and F1 by threshold",
                drawn,
                table=table,
            )
        ],
    )


TEXT_PREVIEW = 120
TEXT_HOVER = 2000


def _example_rows(examples: Sequence[Example], with_text: bool) -> list[list[Cell]]:
    rows = []
    for example in examples:
        row = [
            Cell(example.id, css="mono"),
            Cell(example.label, css="mono"),
            Cell(example.prediction, css="mono"),
            Cell(fmt.rate(example.confidence), css="num"),
        ]
        if with_text:
            text = example.text or ""
            short = text if len(text) <= TEXT_PREVIEW else text[:TEXT_PREVIEW] + "…"
            row.append(Cell(short, title=text[:TEXT_HOVER] if short != text else None, css="text"))
        rows.append(row)
    return rows


def _examples_table(examples: Sequence[Example], title: str, caption: str) -> Table:
    with_text = any(e.text is not None for e in examples)
    header = ["Id", "Label", "Prediction", "Confidence"] + (["Text"] if with_text else [])
    return Table(
        header,
        _example_rows(examples, with_text),
        title=title,
        caption=caption,
        numeric=[False, False, False, True] + ([False] if with_text else []),
        collapsed=True,
    )


def error_section(
    evaluations: Sequence[RunEvaluation],
    assessment: Assessment,
    colours: dict[str, str],
    top_k: int,
    text_col: str | None,
) -> Section:
    """The most confident mistakes of each model; what changed against the baseline."""
    section = Section(
        "errors",
        "Error analysis",
        lead=f"At most {top_k} examples per list, most confident first. Confidence is the "
        "model's score for the class it predicted; hover a cut text for all of it.",
    )
    by_name = {e.name: e for e in evaluations}
    base = by_name[assessment.baseline]
    for name, pairing in assessment.pairings.items():
        found = agreement(base.encoded, by_name[name].encoded, pairing, top_k, text_col)
        if found is None:
            section.notes.append(f"{name}: unpaired with {base.name}, so no agreement table.")
            continue
        section.tables.append(
            Table(
                ["", f"{name} right", f"{name} wrong"],
                [
                    [
                        Cell(f"{base.name} right"),
                        Cell(fmt.count(found.both_right), css="num"),
                        Cell(fmt.count(found.only_baseline_right), css="num worse"),
                    ],
                    [
                        Cell(f"{base.name} wrong"),
                        Cell(fmt.count(found.only_candidate_right), css="num better"),
                        Cell(fmt.count(found.both_wrong), css="num"),
                    ],
                ],
                title=f"{name} against {base.name}: right and wrong",
                caption=f"On the {fmt.count(pairing.n_paired)} paired examples.",
                numeric=[False, True, True],
            )
        )
        section.tables.append(
            _examples_table(
                found.newly_wrong,
                f"{name}: newly wrong ({fmt.count(found.only_baseline_right)})",
                f"{base.name} got these right; {name} gets them wrong.",
            )
        )
        section.tables.append(
            _examples_table(
                found.newly_right,
                f"{name}: newly right ({fmt.count(found.only_candidate_right)})",
                f"{base.name} got these wrong; {name} gets them right.",
            )
        )
    for evaluation in evaluations:
        mistakes = confident_mistakes(evaluation.encoded, top_k, text_col)
        wrong = int(evaluation.confusion.n - np.trace(evaluation.confusion.matrix))
        section.tables.append(
            _examples_table(
                mistakes,
                f"{evaluation.name}: most confident mistakes ({fmt.count(wrong)} wrong)",
                "Wrong predictions the model was surest of.",
            )
        )
    return section


def bounded_error_section(
    evaluations: Sequence[RunEvaluation],
    mistakes: dict[str, EncodedRun | None],
    top_k: int,
    text_col: str | None,
) -> Section:
    """Error analysis of runs evaluated where they lie: each run's most confident mistakes
    from a bounded query; the views that need every example are named as skipped."""
    section = Section(
        "errors",
        "Error analysis",
        lead=f"At most {top_k} examples per list, most confident first, fetched with a bounded "
        "query. Confidence is the model's score for the class it predicted.",
        notes=[
            "Skipped, because the runs were not read into memory: the right/wrong agreement "
            "table with newly wrong and newly right examples, embedding projections and "
            "per-slice paired deltas need every example. Rerun with --engine memory on a "
            "sample to see them."
        ],
    )
    for evaluation in evaluations:
        wrong = int(evaluation.confusion.n - np.trace(evaluation.confusion.matrix))
        found = mistakes.get(evaluation.name)
        if found is None:
            section.notes.append(
                f"{evaluation.name}: no mistakes listed ({fmt.count(wrong)} wrong); "
                "top-k mistakes out of core need a binary run with scores."
            )
            continue
        section.tables.append(
            _examples_table(
                confident_mistakes(found, top_k, text_col),
                f"{evaluation.name}: most confident mistakes ({fmt.count(wrong)} wrong)",
                "Wrong predictions the model was surest of.",
            )
        )
    return section


def slice_section(
    analysis: SliceAnalysis, colours: dict[str, str], baseline: str, position: int
) -> Section:
    """One metadata column: every model on every slice, deltas and fairness gaps."""
    primary = analysis.primary
    models = list(dict.fromkeys(c.model for c in analysis.cells))
    values = [c.metrics.get(primary) for c in analysis.cells]
    present = [v for v in values if v is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    frame = pd.DataFrame(
        {
            "model": [c.model for c in analysis.cells],
            "slice": [c.value for c in analysis.cells],
            "n": [c.n for c in analysis.cells],
            "value": values,
            "text": [fmt.rate(v) for v in values],
            "small": [c.small for c in analysis.cells],
            "worst": [analysis.worst.get(c.model) == c.value for c in analysis.cells],
            "shade": [
                0.0 if v is None or high == low else (v - low) / (high - low) for v in values
            ],
            "note": [
                ("worst slice; " if analysis.worst.get(c.model) == c.value else "")
                + ("too small to judge" if c.small else "")
                for c in analysis.cells
            ],
        }
    )
    drawn = chart("slice_heatmap", frame, analysis.values, models, metric_label(primary))
    deltas = {(d.candidate, d.value): d for d in analysis.deltas if d.metric == primary}
    header = [
        "Model",
        "Slice",
        "Examples",
        metric_label(primary),
        f"Δ {metric_label(primary)}",
        "95% CI of Δ",
    ]
    rows = []
    for cell in analysis.cells:
        delta = deltas.get((cell.model, cell.value))
        worst = analysis.worst.get(cell.model) == cell.value
        rows.append(
            [
                _model_cell(cell.model, colours),
                Cell(
                    cell.value + (" (worst)" if worst else ""),
                    css="mono" + (" worse" if worst else ""),
                ),
                Cell(fmt.count(cell.n), css="num" + (" missing" if cell.small else "")),
                Cell(fmt.rate(cell.metrics.get(primary)), css="num"),
                Cell(fmt.signed(delta.delta) if delta else "", css="num"),
                Cell(
                    f"{fmt.signed(delta.ci[0])} to {fmt.signed(delta.ci[1])}"
                    if delta and delta.ci
                    else "",
                    css="num",
                ),
            ]
        )
    section = Section(
        f"slice-{position}-{_slug(analysis.column)}",
        f"Slices by {analysis.column}",
        lead=f"{metric_label(primary)} of every model on every value of {analysis.column}"
        + (" (quantile bins of the baseline's values)" if analysis.binned else "")
        + "; the red outline marks each model's worst slice, faded cells have fewer examples "
        "than the minimum slice size.",
        figures=[
            Figure(
                f"slices-{_slug(analysis.column)}",
                f"{metric_label(primary)} by {analysis.column}",
                drawn,
                table=Table(
                    header,
                    rows,
                    title="Slice table",
                    caption=f"Δ against {baseline}, on paired examples.",
                    numeric=[False, False, True, True, True, True],
                ),
            )
        ],
    )
    if analysis.fairness:
        section.tables.append(
            Table(
                ["Model", "Demographic parity difference", "Equal opportunity difference"],
                [
                    [
                        _model_cell(model, colours),
                        Cell(fmt.rate(gaps["demographic_parity_difference"]), css="num"),
                        Cell(fmt.rate(gaps["equal_opportunity_difference"]), css="num"),
                    ]
                    for model, gaps in analysis.fairness.items()
                ],
                title="Fairness gaps across slices",
                caption="Largest difference between slices in the share predicted positive, and "
                "in the true-positive rate (slices above the minimum size). 0 is parity.",
                numeric=[False, True, True],
            )
        )
    return section


def _slug(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    return cleaned or "column"
