"""Multilabel runs drawn: metrics with intervals, a per-label table and chart, labels per
example and their co-occurrence, and the most mismatched label sets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.tabular import MultilabelRun
from reportgen.kinds.cells import (
    best_index,
)
from reportgen.kinds.multilabel.formulas import METRICS as MULTILABEL_METRICS
from reportgen.kinds.multilabel.formulas import per_label_counts
from reportgen.kinds.per_example import example_id, metric_notes_of, metrics_table, short_cell
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.model import Cell, Figure, Section, Table, chart

MAX_LABEL_ROWS = 30
MAX_COOCCURRENCE = 20
MAX_CARDINALITY = 10


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
            Cell(fmt.count(int(per_model[results[0].name]["support"][j])), role="num"),
        ]
        for i, r in enumerate(results):
            row.append(Cell(fmt.rate(f1s[i]), role="num", best=i in best))
            if r.name in ranking:
                auc, ap = ranking[r.name]
                for value in (auc[j], ap[j]):
                    row.append(
                        Cell(fmt.rate(None if np.isnan(value) else float(value)), role="num")
                    )
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
                        Cell(example_id(run, int(i)), role="mono"),
                        short_cell(_set_text(names, run.y_true[i])),
                        short_cell(_set_text(names, run.y_pred[i])),
                        short_cell(_set_text(names, run.y_true[i] & ~run.y_pred[i])),
                        short_cell(_set_text(names, run.y_pred[i] & ~run.y_true[i])),
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


def multilabel_views(
    assessment: LanguageAssessment, colours: dict[str, str], top_k: int
) -> list[Section]:
    results = assessment.results
    found: list[Section] = []
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
            notes=metric_notes_of(results),
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
