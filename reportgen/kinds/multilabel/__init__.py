"""Multilabel runs: a set of labels per example (lists, or one 0/1 column per label), with
optional scores per label; every metric of ``sklearn.metrics`` for multilabel data, from
per-example sums."""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.ingest.runs import sort_classes
from reportgen.ingest.tabular import MultilabelRun, looks_multilabel, multilabel_run
from reportgen.kinds.base import Context, Source
from reportgen.kinds.multilabel import formulas
from reportgen.kinds.multilabel.views import multilabel_views
from reportgen.kinds.per_example import ExampleKind
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.model import Section


class MultilabelKind(ExampleKind):
    name = "multilabel"
    forced_by = "multilabel"
    title = "Multilabel"
    slug = "multilabel"
    board = "multilabel"
    board_title = "Multilabel"
    run_types = (MultilabelRun,)
    detect_rank = 10
    compared_metrics = formulas.COMPARED
    leaderboard_metrics = 4
    compare_lead = "Paired bootstrap over examples, subset accuracy by McNemar's exact test"

    def looks_like(self, source: Source) -> bool:
        return looks_multilabel(source.frame, source.path, source.columns)

    def load(self, source: Source) -> MultilabelRun:
        return multilabel_run(*source.reader_args())

    def evaluate(self, runs: list[Any], ctx: Context) -> LanguageAssessment | None:
        """Runs are first put over one shared label list, so per-label tables line up."""
        if runs:
            shared = sort_classes({name for run in runs for name in run.label_names})
            runs = [run.aligned(shared) for run in runs]
        return super().evaluate(runs, ctx)

    def example_columns(self, run: Any) -> tuple[Any, Any, Any, Any]:
        columns = formulas.example_columns(run.y_true, run.y_pred, run.scores)
        exact: dict[str, float | None] = {}
        notes: dict[str, str] = {}
        per_label: dict[str, np.ndarray] = {}
        if run.scores is not None:  # one sort per label, shared by the metrics, table and JSON
            auc, ap, undefined = formulas.per_label_ranking(run.y_true, run.scores)
            exact, notes = formulas.ranking_metrics(auc, ap, undefined, run.label_names)
            per_label = {"roc_auc": auc, "average_precision": ap}
        return columns, exact, notes, per_label

    def from_sums(self, run: Any, sums: dict[str, Any], n: Any) -> dict[str, Any]:
        return formulas.metrics_from_sums(sums, n, len(run.label_names))

    def headline(self, result: LanguageResult) -> list[str]:
        return list(formulas.HEADLINE)

    def same_targets(self, base: Any, cand: Any) -> str | None:
        same = base.label_names == cand.label_names and np.array_equal(base.y_true, cand.y_true)
        return "label sets" if same else None

    def summary_entry(self, result: LanguageResult) -> dict[str, Any]:
        run = result.run
        counts = formulas.per_label_counts(result.columns, len(run.label_names))
        auc, ap = result.per_label.get("roc_auc"), result.per_label.get("average_precision")
        rows = []
        for j, name in enumerate(run.label_names):
            row: dict[str, Any] = {
                "label": name,
                "precision": float(counts["precision"][j]),
                "recall": float(counts["recall"][j]),
                "f1": float(counts["f1"][j]),
                "support": int(counts["support"][j]),
            }
            if auc is not None and ap is not None:
                row["roc_auc"] = None if not np.isfinite(auc[j]) else float(auc[j])
                row["average_precision"] = None if not np.isfinite(ap[j]) else float(ap[j])
            rows.append(row)
        return {"labels": list(run.label_names), "per_label": rows}

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        return multilabel_views(result, ctx.colours, ctx.options.top_k)


MULTILABEL = MultilabelKind()
