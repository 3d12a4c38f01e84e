"""The classification kind: binary and multiclass runs, from labels, predictions and scores.

Evaluation (:mod:`.evaluate`) works from sufficient statistics; intervals and paired tests come
from the cell bootstrap, McNemar and DeLong (:mod:`.assess`); slices from :mod:`.slices`; the
report's views from :mod:`.sections`. Runs larger than memory reach the same result through an
engine (:mod:`reportgen.engines.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportgen import metrics
from reportgen.ingest.runs import Run, _validate
from reportgen.kinds import cells
from reportgen.kinds.base import BoardPart, Context, Kind, KindResult, Source, SummaryPart
from reportgen.kinds.classification import error_views, sections, slice_view, thresholds, views
from reportgen.kinds.classification.assess import Assessment, assess, significance_ranks
from reportgen.kinds.classification.curves import Costs, costs_of
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import HEADLINE, RunEvaluation, evaluate
from reportgen.kinds.classification.examples import Example
from reportgen.kinds.classification.repeats import (
    RepeatSet,
    apply_repeats,
    mean_evaluation,
    pair_test,
    repeat_sets,
    repeats_note,
    repeats_summary,
)
from reportgen.kinds.classification.slices import SliceAnalysis, analyse
from reportgen.kinds.efficiency import efficiency_metrics
from reportgen.model import RunInfo, Section, Table
from reportgen.stats.score import Score, interval, number

# the metrics a trend of builds follows (Kind.headline_metrics)
TREND = {
    "binary": ("accuracy", "f1", "roc_auc", "log_loss"),
    "multiclass": ("accuracy", "f1_macro", "roc_auc_ovr_macro", "log_loss"),
}


@dataclass
class ClassificationResult(KindResult):
    evaluations: list[RunEvaluation] = field(default_factory=list)
    assessment: Assessment | None = None
    slices: list[SliceAnalysis] = field(default_factory=list)
    # runs evaluated where they lie: each run's most confident mistakes, from a bounded query
    mistakes: dict[str, list[Example]] | None = None
    ranks: dict[str, int] | None = None  # tie-aware ranks on the first headline metric
    repeats: dict[str, RepeatSet] = field(default_factory=dict)  # models given as repeats
    costs: Costs | None = None  # binary --cost: expected cost by threshold

    @property
    def task(self) -> str:
        return self.evaluations[0].task


def result_of(
    evaluations: list[RunEvaluation],
    assessment: Assessment,
    analyses: list[SliceAnalysis],
    mistakes: dict[str, list[Example]] | None = None,
    costs: Costs | None = None,
) -> ClassificationResult:
    return ClassificationResult(
        kind="classification",
        baseline=assessment.baseline,
        models=[e.name for e in evaluations],
        comparisons=assessment.comparisons,
        evaluations=evaluations,
        assessment=assessment,
        slices=analyses,
        mistakes=mistakes,
        costs=costs,
        by_slice=[d.test for a in analyses for d in a.deltas if d.test is not None],
        # keyed by its records' scope, '' (no scopes): the efficiency view looks them up so
        labels={"": f"{evaluations[0].task} classification"} if evaluations else {},
        headlines={(e.name, ""): HEADLINE[e.task][0] for e in evaluations},
    )


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


class ClassificationKind(Kind):
    name = "classification"
    title = "Classification"
    board = "classification"
    board_title = "Classification"
    run_types = (Run,)
    detect_rank = 100  # what no other kind claims is read as classification

    def claims(self, source: Source) -> bool:
        return True  # its own checks say what is missing

    def load(self, source: Source) -> Run:
        return _validate(
            source.frame,
            source.name,
            source.path,
            source.format,
            source.columns,
            source.metadata,
            source.embedding,
        )

    def evaluate(self, runs: list[Any], ctx: Context) -> ClassificationResult | None:
        if not runs:
            return None
        options = ctx.options
        task = options.task if options.task in ("binary", "multiclass") else None
        encoded = encode_runs(
            runs, task=task, positive_label=options.positive_label, threshold=options.threshold
        )
        say = ctx.say
        say(f"Computing metrics for {len(encoded)} run{'s' if len(encoded) > 1 else ''}")
        evaluations: list[RunEvaluation] = ctx.mapper(evaluate, encoded)
        sets = repeat_sets(evaluations)
        repeated = {s.name: s for s in sets if s.repeated}
        if repeated:  # one evaluation per model: the first repeat's, with mean metrics
            evaluations = [mean_evaluation(s) for s in sets]
        say(
            f"Bootstrapping intervals ({options.bootstrap:,} replicates) and comparing with the "
            "baseline"
        )
        names = {r.name for r in runs}
        baseline = options.baseline if options.baseline in names else None
        assessment = assess(
            evaluations, baseline, options.unpaired, options.bootstrap, options.seed, ctx.mapper
        )
        if repeated:
            metric_names = HEADLINE[evaluations[0].task]
            apply_repeats(assessment, sets, metric_names, options.bootstrap, options.seed)
        analyses = []
        for column in dict.fromkeys(options.slices):
            having = [
                column in e.encoded.run.extra.columns
                or column.lower() in {str(c).lower() for c in e.encoded.run.extra.columns}
                for e in evaluations
            ]
            if not any(having):
                continue  # the column may belong to other kinds of runs in this report
            say(f"Slicing by {column}")
            analyses.append(
                analyse(
                    evaluations,
                    column,
                    assessment.baseline,
                    assessment.pairings,
                    options.slice_bins,
                    options.min_slice_size,
                    options.bootstrap,
                    options.seed,
                    ctx.mapper,
                )
            )
        found = result_of(evaluations, assessment, analyses, costs=costs_of(options.cost))
        found.repeats = repeated
        found.ranks = significance_ranks(
            evaluations,
            HEADLINE[found.task][0],
            options.unpaired,
            options.bootstrap,
            options.seed,
            pair_test(sets) if repeated else None,
        )
        return found

    # --- report model ----------------------------------------------------------------------

    def on_board(self, result: ClassificationResult, ctx: Context) -> BoardPart:
        return BoardPart(table=self.leaderboard(result, ctx), verdict=self.verdict(result))

    def leaderboard(self, result: ClassificationResult, ctx: Context) -> Table | None:
        assert result.assessment is not None
        table = sections.leaderboard(
            result.evaluations, ctx.colours, result.assessment, result.ranks, result.repeats
        )
        change = largest_gap_change(result)
        if change:
            table.caption += " " + change
        return table

    def verdict(self, result: ClassificationResult) -> list[str]:
        assert result.assessment is not None
        clauses = cells.verdict_clauses(result.comparisons, result.baseline, "metrics")
        headline = HEADLINE[result.task][0]
        parts = cells.ranked_verdict(
            clauses, result.ranks, headline, result.baseline, result.comparisons
        )
        return parts + slice_regressions(result)

    def ranked_by(self, result: ClassificationResult) -> str | None:
        return HEADLINE[result.task][0]

    def headline_metrics(self, result: ClassificationResult) -> list[str]:
        """Accuracy, F1, the AUC and the log loss: right, balanced, ranked, calibrated."""
        wanted = TREND[result.task]
        have = {s.metric for s in result.scores if s.value is not None}
        return [m for m in wanted if m in have]

    def sections(self, result: ClassificationResult, ctx: Context) -> list[Section]:
        assessment, colours = result.assessment, ctx.colours
        assert assessment is not None
        evaluations = [e for e in result.evaluations if ctx.draws(e.name)]
        names = [e.name for e in evaluations]
        body: list[Section] = []
        if assessment.comparisons:
            body.append(sections.comparison_section(assessment, colours, ctx.draws))
            body[-1].notes += [repeats_note(r) for r in result.repeats.values()]
        body.append(views.confusion_section(evaluations, names))
        body.append(views.curves_section(evaluations, colours))
        threshold_view = thresholds.threshold_section(evaluations, colours, result.costs)
        if threshold_view is not None:
            body.append(threshold_view)
        body.append(views.calibration_section(evaluations, colours))
        pairs = views.confused_pairs_section(evaluations, colours)
        if pairs is not None:
            body.append(pairs)
        body.append(views.per_class_section(evaluations, colours))
        body += [
            slice_view.slice_section(a, colours, assessment.baseline, i, ctx.draws)
            for i, a in enumerate(result.slices)
        ]
        options = ctx.options
        if result.mistakes is None:
            body.append(
                error_views.error_section(
                    evaluations, assessment, colours, options.top_k, options.text_col
                )
            )
        else:
            body.append(
                error_views.bounded_error_section(
                    evaluations, result.mistakes, options.top_k, options.text_col
                )
            )
        return body

    def appendix(self, result: ClassificationResult, ctx: Context) -> list[Section]:
        return [sections.details_section(result.evaluations, ctx.colours)]

    def run_infos(self, result: ClassificationResult, ctx: Context) -> list[RunInfo]:
        return [sections.run_info(e, ctx.colours[e.name]) for e in result.evaluations]

    # --- records ---------------------------------------------------------------------------

    def scores(self, result: ClassificationResult) -> list[Score]:
        assert result.assessment is not None
        found = []
        for e in result.evaluations:
            run = e.encoded.run
            intervals = result.assessment.intervals.get(e.name, {})
            repeats = result.repeats.get(e.name)
            values = {**e.metrics, **efficiency_metrics(run.extra, str(run.path))}
            for metric, value in values.items():
                spread = repeats.spread(metric) if repeats is not None else None
                found.append(
                    Score(
                        e.name,
                        self.name,
                        metric,
                        number(value),
                        result.baseline,
                        *interval(intervals.get(metric)),
                        n=run.n_examples,
                        repeats=len(repeats.members) if repeats is not None else None,
                        spread=spread.get("sd") if spread else None,
                        reason=e.metric_notes.get(metric) if value is None else None,
                    )
                )
            for analysis in result.slices:
                for cell in analysis.cells:
                    if cell.model != e.name:
                        continue
                    found += [
                        Score(
                            e.name,
                            self.name,
                            metric,
                            number(value),
                            result.baseline,
                            n=cell.n,
                            slice_column=analysis.column,
                            slice_value=cell.value,
                        )
                        for metric, value in cell.metrics.items()
                    ]
        return found

    # --- JSON ------------------------------------------------------------------------------

    def summary(self, result: ClassificationResult) -> SummaryPart:
        assessment = result.assessment
        assert assessment is not None
        runs = [
            {
                **_run_summary(e),
                "ci": assessment.intervals[e.name],
                "pairing": _pairing_summary(assessment, e.name),
                "slices": {a.column: a.summary_of(e.name) for a in result.slices},
                "fairness": {
                    a.column: a.fairness[e.name] for a in result.slices if e.name in a.fairness
                },
                **(
                    {"rank": {"metric": HEADLINE[e.task][0], "rank": result.ranks[e.name]}}
                    if result.ranks
                    else {}
                ),
                **thresholds.summary(e, result.costs),
                **(
                    {"repeats": repeats_summary(result.repeats[e.name])}
                    if e.name in result.repeats
                    else {}
                ),
            }
            for e in result.evaluations
        ]
        slice_comparisons = [
            {"column": a.column, "baseline": result.baseline, **d.summary()}
            for a in result.slices
            for d in a.deltas
        ]
        return SummaryPart(runs=runs, slice_comparisons=slice_comparisons)

    # --- gates -----------------------------------------------------------------------------


GAP_NAMES = {
    "demographic_parity_difference": "demographic parity difference",
    "equal_opportunity_difference": "equal opportunity difference",
}


def largest_gap_change(result: ClassificationResult) -> str:
    """The fairness gap (across the values of a --slice column) that moved most against the
    baseline, as one sentence for beside the leaderboard; empty without slices or a change."""
    best: tuple[float, str] | None = None
    for analysis in result.slices:
        base = analysis.fairness.get(result.baseline, {})
        for model, gaps in analysis.fairness.items():
            if model == result.baseline:
                continue
            for key, label in GAP_NAMES.items():
                b, c = base.get(key), gaps.get(key)
                if b is None or c is None or c == b:
                    continue
                text = (
                    f"Largest fairness-gap change against {result.baseline}: {model}'s {label} "
                    f"across {analysis.column} {b:.3f} → {c:.3f} ({c - b:+.3f})."
                )
                if best is None or abs(c - b) > best[0]:
                    best = (abs(c - b), text)
    return best[1] if best is not None else ""


def slice_regressions(
    result: ClassificationResult, shown: int = 3, values_shown: int = 2, clauses: int = 2
) -> list[str]:
    """Clauses naming where a candidate is significantly worse than the baseline on a slice
    (after correction over the column's values and metrics), the slice's primary metric first,
    e.g. "new is worse on region=north: F1 0.769 → 0.530, recall 0.785 → 0.373". Bounded so
    that the verdict stays one readable line: one slice value lists up to ``shown`` metrics;
    several values give each one's first metric, up to ``values_shown`` values; at most
    ``clauses`` clauses, then one that counts the rest (the slices section lists all)."""
    parts, rest = [], set()
    for analysis in result.slices:
        worse: dict[str, dict[str, list[Any]]] = {}
        for d in analysis.deltas:
            if d.verdict == "worse":
                worse.setdefault(d.candidate, {}).setdefault(d.value, []).append(d)
        for candidate, by_value in worse.items():
            if len(parts) >= clauses:
                rest.add(candidate)
                continue
            for found in by_value.values():
                found.sort(key=lambda d: d.metric != analysis.primary)  # stable: primary first
            if len(by_value) == 1:
                ((value, found),) = by_value.items()
                listed = ", ".join(_change(d) for d in found[:shown])
                more = f" and {len(found) - shown} more metrics" if len(found) > shown else ""
                parts.append(f"{candidate} is worse on {analysis.column}={value}: {listed}{more}")
                continue
            named = [
                f"{analysis.column}={value} ({_change(found[0])})"
                for value, found in list(by_value.items())[:values_shown]
            ]
            left = len(by_value) - values_shown
            more = f" and {left} more {analysis.column} value{'s' if left > 1 else ''}"
            more = more if left > 0 else ""
            parts.append(f"{candidate} is worse on {', '.join(named)}{more}")
    if rest:
        many = "s are" if len(rest) > 1 else " is"
        parts.append(
            f"{len(rest)} more candidate{many} worse on some slices (the slice sections list them)"
        )
    return parts


def _change(d: Any) -> str:
    return (
        f"{metrics.label(d.metric)} {metrics.format_value(d.metric, d.test.baseline_value)} → "
        f"{metrics.format_value(d.metric, d.test.candidate_value)}"
    )


def _pairing_summary(assessment: Assessment, name: str) -> dict[str, Any] | None:
    pairing = assessment.pairings.get(name)
    if pairing is None:
        return None
    return {
        "with": assessment.baseline,
        "mode": pairing.mode,
        "n_paired": pairing.n_paired,
        "note": pairing.note,
    }


def _run_summary(evaluation: RunEvaluation) -> dict[str, Any]:
    encoded = evaluation.encoded
    run = encoded.run
    classes = list(encoded.classes)
    pc = evaluation.per_class
    per_class = []
    for k, name in enumerate(classes):
        absent = pc["support"][k] == 0 and evaluation.confusion.predicted[k] == 0
        per_class.append(
            {
                "class": name,
                "precision": None if absent else float(pc["precision"][k]),
                "recall": None if absent else float(pc["recall"][k]),
                "f1": None if absent else float(pc["f1"][k]),
                "support": int(pc["support"][k]),
            }
        )
    return {
        "name": run.name,
        "task": encoded.task,
        "n_examples": run.n_examples,
        "classes": classes,
        "positive_label": classes[encoded.positive] if encoded.positive is not None else None,
        "predictions_from": encoded.prediction_source,
        "source": run.source_entry(),
        "columns": run.columns,
        "metadata": run.metadata,
        "metrics": {
            **{k: _number(v) for k, v in evaluation.metrics.items()},
            **efficiency_metrics(run.extra, str(run.path)),
        },
        "metric_notes": dict(sorted(evaluation.metric_notes.items())),
        "per_class": per_class,
        "confusion_matrix": {"labels": classes, "matrix": evaluation.confusion.matrix.tolist()},
        "notes": [*run.notes, *encoded.notes, *evaluation.notes],
    }


CLASSIFICATION = ClassificationKind()
