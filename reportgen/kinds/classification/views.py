"""Classification views: confusion matrices, ROC and precision-recall curves,
calibration, per-class scores and the most frequent mistakes, each a section of the report.

Caps keep charts readable and the file small: at most ``MAX_MATRIX_CLASSES`` classes in a
confusion matrix (the rest pooled as "(other)"), the ``MAX_CLASS_ROWS`` weakest classes in
per-class charts, the ``MAX_PAIRS`` most frequent mistakes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.kinds.cells import (
    OTHER,
)
from reportgen.kinds.classification.curves import reliability, simplify_bounded
from reportgen.kinds.classification.evaluate import (
    ClassCurve,
    RunEvaluation,
)
from reportgen.model import Cell, Figure, Section, Table, chart

MAX_MATRIX_CLASSES = 12


MAX_CLASS_ROWS = 30


MAX_CLASS_CURVES = 6


MAX_PAIRS = 15


CURVE_AXES = {"roc": ("fpr", "tpr"), "pr": ("recall", "precision")}


AXIS_TITLES = {
    "roc": ("False-positive rate", "True-positive rate (recall)"),
    "pr": ("Recall", "Precision"),
}


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
        [Cell(labels[i], role="mono"), *[Cell(fmt.count(v), role="num") for v in matrix[i]]]
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
    """Curves of the weakest classes (lowest mean AUC or AP across models), weakest first."""
    score_of = "roc_auc" if kind == "roc" else "average_precision"
    by_class: dict[str, list[float]] = {}
    for evaluation in evaluations:
        for curve in evaluation.curves:
            value = getattr(curve, score_of)
            if value is not None:
                by_class.setdefault(curve.label, []).append(value)
    weakest = sorted(by_class, key=lambda c: (np.mean(by_class[c]), c))[:MAX_CLASS_CURVES]
    x, y = CURVE_AXES[kind]
    frames = []
    curves_of = [{curve.label: curve for curve in e.curves} for e in evaluations]
    for label in weakest:  # weakest class first, then the models in page order
        for evaluation, curves in zip(evaluations, curves_of, strict=True):
            curve = curves.get(label)
            data = None if curve is None else getattr(curve, kind)
            if curve is None or data is None:
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
        row = [
            Cell(evaluation.name),
            Cell(fmt.rate(auc), role="num"),
            Cell(fmt.rate(ap), role="num"),
        ]
        if multiclass:
            row.append(Cell(fmt.count(len(evaluation.curves)), role="num"))
        else:
            positive = evaluation.encoded.positive
            p = int(evaluation.confusion.support[positive]) if positive is not None else 0
            row += [
                Cell(fmt.count(p), role="num"),
                Cell(fmt.count(evaluation.confusion.n - p), role="num"),
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
                shown = list(dict.fromkeys(class_points["class"]))
                n_shown = len(shown)
                drawn = chart(
                    "class_curves_chart",
                    class_points,
                    shown,
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
                        f"{score_name}, weakest first: one panel per class, one line per "
                        "model.",
                    )
                )
    if not main:
        section.notes.append("No run has scores, so there are no curves to draw.")
        return section
    section.figures = main + per_class
    section.tables.append(_ranking_table(evaluations))
    return section


def calibration_section(evaluations: Sequence[RunEvaluation], colours: dict[str, str]) -> Section:
    frames = []
    quantiles = True
    for evaluation in evaluations:
        if evaluation.calibration is None:
            continue
        cal = evaluation.reliability
        if cal is None:  # evaluated where the rows lie: the equal-width counts it kept
            cal, quantiles = evaluation.calibration, False
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
            (
                "Predictions are grouped into bins that hold equal numbers of examples "
                "(quantiles of "
                if quantiles
                else "Predictions are grouped into 15 equal-width bins of ("
            )
            + ("top-class confidence" if multiclass else "predicted probability")
            + ("; √n / 2 bins, from 5 to 15" if quantiles else "")
            + "); a calibrated model sits on the diagonal. Dots are sized by examples, and the "
            "line through each is its 95% Wilson interval; the table below gives each bin's "
            "examples. ECE is the count-weighted mean gap over 15 equal-width bins."
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
            Cell(r.bin, role="mono"),
            Cell(fmt.count(r.count), role="num"),
            Cell(fmt.rate(r.confidence), role="num"),
            Cell(fmt.rate(r.observed), role="num"),
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
        row = [Cell(name, role="mono"), Cell(fmt.count(support), role="num")]
        for evaluation in evaluations:
            pc = evaluation.per_class
            absent = pc["support"][k] == 0 and evaluation.confusion.predicted[k] == 0
            for metric in ("precision", "recall", "f1"):
                row.append(Cell(fmt.MISSING if absent else fmt.rate(pc[metric][k]), role="num"))
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
                Cell(label, role="mono"),
                *[Cell(fmt.count(r["count"]), role="num") for r in rows if r["pair"] == label],
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
