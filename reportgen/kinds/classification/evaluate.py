"""Stage 2: an encoded run -> its sufficient statistics, metrics and curve data.

Everything the views and the JSON summary need is computed here, once; nothing later looks at
per-example rows again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reportgen.errors import UndefinedMetric
from reportgen.kinds.classification import curves
from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.statistics import (
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
    TopKCounts,
)

BINARY_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
    "mcc",
    "cohen_kappa",
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier",
    "ece",
)
MULTICLASS_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "f1_micro",
    "mcc",
    "cohen_kappa",
    "roc_auc_ovr_macro",
    "roc_auc_ovr_weighted",
    "log_loss",
    "top_2_accuracy",
    "ece",
)
# shown in the leaderboard, given intervals and compared against the baseline
HEADLINE = {
    "binary": (
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "mcc",
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
        "ece",
    ),
    "multiclass": (
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "f1_weighted",
        "mcc",
        "roc_auc_ovr_macro",
        "top_2_accuracy",
        "log_loss",
        "ece",
    ),
}
PROBABILITY_TOLERANCE = 1e-3  # how far class-probability rows may sum from 1


@dataclass
class ClassCurve:
    """Curve data of one class (one-vs-rest) or of the positive class (binary)."""

    label: str  # class name, or "macro average"
    roc: dict[str, np.ndarray] | None
    pr: dict[str, np.ndarray] | None
    roc_auc: float | None
    average_precision: float | None
    prevalence: float


@dataclass
class RunEvaluation:
    """Metrics, statistics and curve data of one run."""

    encoded: EncodedRun
    confusion: ConfusionCounts
    metrics: dict[str, float | None]
    metric_notes: dict[str, str]
    per_class: dict[str, np.ndarray]
    curves: list[ClassCurve] = field(default_factory=list)  # binary: one; multiclass: per class
    macro_curve: ClassCurve | None = None
    calibration: CalibrationCounts | None = None  # equal-width bins (ECE; engines keep these)
    # the reliability diagram's bins of equal count, from the rows (None out of core)
    reliability: CalibrationCounts | None = None
    notes: list[str] = field(default_factory=list)
    # binary with scores: the positive class's counts at every distinct score, which give any
    # threshold's counts exactly (operating points, costs, the shared threshold scan)
    positive_rank: RankCounts | None = None

    @property
    def name(self) -> str:
        return self.encoded.name

    @property
    def task(self) -> str:
        return self.encoded.task

    @property
    def classes(self) -> tuple[str, ...]:
        return self.encoded.classes


class _Collector:
    """Records each metric's value, or None and the reason it is undefined."""

    def __init__(self) -> None:
        self.values: dict[str, float | None] = {}
        self.notes: dict[str, str] = {}

    def add(self, name: str, compute: Callable[[], float]) -> None:
        try:
            self.values[name] = compute()
        except UndefinedMetric as exc:
            self.values[name] = None
            self.notes[name] = str(exc)

    def undefined(self, names: tuple[str, ...], reason: str) -> None:
        for name in names:
            self.values[name] = None
            self.notes[name] = reason


def probability_problem(encoded: EncodedRun) -> str | None:
    """Why the scores are not probabilities (so log loss, Brier and ECE are undefined)."""
    scores = encoded.scores
    if scores is None:
        return "the run has no scores"
    low, high = float(scores.min()), float(scores.max())
    if low < 0 or high > 1:
        return f"scores are not probabilities (range {low:.3g} to {high:.3g}; logits?)"
    if encoded.task == "multiclass":
        sums = scores.sum(axis=1)
        worst = float(np.max(np.abs(sums - 1)))
        if worst > PROBABILITY_TOLERANCE:
            return f"class probabilities do not sum to 1 (off by up to {worst:.3g})"
    return None


@dataclass(frozen=True)
class RunStats:
    """Every sufficient statistic of one run; all metrics derive from these alone.

    Built from rows by :func:`run_stats`, or from resampled cells by the bootstrap.
    """

    task: str
    positive: int | None
    confusion: ConfusionCounts
    # class index -> one-vs-rest counts (binary: the positive); None: not available (resampled)
    ranks: dict[int, RankCounts] | None
    calibration: CalibrationCounts | None
    probability: ProbabilitySums | None
    top2: TopKCounts | None
    has_scores: bool
    probability_problem: str | None


def run_stats(encoded: EncodedRun) -> RunStats:
    """One vectorised pass over a run's rows."""
    n_classes = len(encoded.classes)
    cm = ConfusionCounts.from_codes(encoded.y_true, encoded.y_pred, n_classes)
    scores, y_true = encoded.scores, encoded.y_true
    ranks: dict[int, RankCounts] = {}
    calibration = probability = top2 = None
    problem = probability_problem(encoded)
    if scores is not None and encoded.task == "binary":
        assert encoded.positive is not None
        is_positive = y_true == encoded.positive
        ranks[encoded.positive] = RankCounts.from_scores(
            is_positive, scores, encoded.sorted_scores()
        )
        if problem is None:
            probability = ProbabilitySums.binary(is_positive, scores)
            calibration = CalibrationCounts.from_confidence(scores, is_positive)
    elif scores is not None:
        for k in range(n_classes):
            if cm.support[k] or cm.predicted[k]:  # skip classes only other runs have
                ranks[k] = RankCounts.from_scores(y_true == k, scores[:, k])
        top2 = TopKCounts(2, len(y_true), int(np.count_nonzero(encoded.top2_hits())))
        if problem is None:
            probability = ProbabilitySums.multiclass(y_true, scores)
            top, confidence = encoded.top()
            calibration = CalibrationCounts.from_confidence(confidence, top == y_true)
    return RunStats(
        encoded.task,
        encoded.positive,
        cm,
        ranks,
        calibration,
        probability,
        top2,
        scores is not None,
        problem,
    )


def metric_values(stats: RunStats) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every metric of the run's task from its statistics: (values, reasons for None)."""
    if stats.task == "binary":
        return _binary_metrics(stats)
    return _multiclass_metrics(stats)


def _binary_metrics(stats: RunStats) -> tuple[dict[str, float | None], dict[str, str]]:
    cm, positive = stats.confusion, stats.positive
    assert positive is not None
    found = _Collector()
    found.add("accuracy", lambda: metrics.accuracy(cm))
    found.add("balanced_accuracy", lambda: metrics.balanced_accuracy(cm))
    found.add("precision", lambda: metrics.precision(cm, positive))
    found.add("recall", lambda: metrics.recall(cm, positive))
    found.add("f1", lambda: metrics.f1(cm, positive))
    found.add("specificity", lambda: metrics.specificity(cm, positive))
    found.add("mcc", lambda: metrics.matthews_corrcoef(cm))
    found.add("cohen_kappa", lambda: metrics.cohen_kappa(cm))
    if not stats.has_scores:
        found.undefined(
            ("roc_auc", "average_precision", "log_loss", "brier", "ece"),
            "the run has no score column",
        )
    else:
        rank = stats.ranks[positive]
        found.add("roc_auc", lambda: metrics.roc_auc(rank))
        found.add("average_precision", lambda: metrics.average_precision(rank))
        if stats.probability is None or stats.calibration is None:
            found.undefined(("log_loss", "brier", "ece"), stats.probability_problem or "")
        else:
            sums, cal = stats.probability, stats.calibration
            found.add("log_loss", lambda: metrics.log_loss(sums))
            found.add("brier", lambda: metrics.brier_score(sums))
            found.add("ece", lambda: metrics.expected_calibration_error(cal))
    return {name: found.values[name] for name in BINARY_METRICS}, found.notes


def _multiclass_metrics(stats: RunStats) -> tuple[dict[str, float | None], dict[str, str]]:
    cm = stats.confusion
    found = _Collector()
    found.add("accuracy", lambda: metrics.accuracy(cm))
    found.add("balanced_accuracy", lambda: metrics.balanced_accuracy(cm))
    for average in ("macro", "weighted"):
        for name in ("precision", "recall", "f1"):
            found.add(f"{name}_{average}", lambda n=name, a=average: metrics.averaged(cm, n, a))
    found.add("f1_micro", lambda: metrics.averaged(cm, "f1", "micro"))
    found.add("mcc", lambda: metrics.matthews_corrcoef(cm))
    found.add("cohen_kappa", lambda: metrics.cohen_kappa(cm))
    if not stats.has_scores:
        found.undefined(
            ("roc_auc_ovr_macro", "roc_auc_ovr_weighted", "log_loss", "top_2_accuracy", "ece"),
            "the run has no class-probability columns",
        )
    elif stats.ranks is None:
        found.undefined(
            ("roc_auc_ovr_macro", "roc_auc_ovr_weighted"),
            "one-vs-rest ranks are not resampled",
        )
    if stats.has_scores and stats.ranks is not None:
        aucs, weights, skipped = [], [], []
        for k, rank in stats.ranks.items():
            if rank.n_positive and rank.n_negative:
                aucs.append(metrics.roc_auc(rank))
                weights.append(rank.n_positive)
            else:
                skipped.append(k)
        if aucs:
            found.add("roc_auc_ovr_macro", lambda: float(np.mean(aucs)))
            found.add("roc_auc_ovr_weighted", lambda: float(np.average(aucs, weights=weights)))
            if skipped:
                note = f"averaged over classes with examples; {len(skipped)} left out"
                found.notes["roc_auc_ovr_macro"] = found.notes["roc_auc_ovr_weighted"] = note
        else:
            found.undefined(
                ("roc_auc_ovr_macro", "roc_auc_ovr_weighted"), "no class has both cases"
            )
    if stats.has_scores:
        top2 = stats.top2
        assert top2 is not None
        found.add("top_2_accuracy", lambda: top2.hits / top2.n)
        if stats.probability is None or stats.calibration is None:
            found.undefined(("log_loss", "ece"), stats.probability_problem or "")
        else:
            sums, cal = stats.probability, stats.calibration
            found.add("log_loss", lambda: metrics.log_loss(sums))
            found.add("ece", lambda: metrics.expected_calibration_error(cal))
    return {name: found.values[name] for name in MULTICLASS_METRICS}, found.notes


def evaluate(encoded: EncodedRun) -> RunEvaluation:
    """Compute every metric and curve of one run, from its rows."""
    stats = run_stats(encoded)
    evaluation = evaluation_of(encoded, stats)
    if stats.calibration is not None:
        evaluation.reliability = equal_count_bins(encoded)
    return evaluation


def equal_count_bins(encoded: EncodedRun) -> CalibrationCounts | None:
    """The run's confidences in bins of equal count (None without scores or rows)."""
    scores = encoded.scores
    if scores is None or len(encoded.y_true) == 0:
        return None
    if encoded.task == "binary":
        return CalibrationCounts.from_quantiles(scores, encoded.y_true == encoded.positive)
    top, confidence = encoded.top()
    return CalibrationCounts.from_quantiles(confidence, top == encoded.y_true)


def evaluation_of(encoded: EncodedRun, stats: RunStats) -> RunEvaluation:
    """Metrics and curves from a run's statistics (from its rows, or from an engine)."""
    values, notes = metric_values(stats)
    evaluation = RunEvaluation(
        encoded,
        stats.confusion,
        values,
        notes,
        metrics.per_class_scores(stats.confusion),
    )
    n = stats.confusion.n
    for k, rank in (stats.ranks or {}).items():
        evaluation.curves.append(_class_curve(encoded.classes[k], rank, n))
    evaluation.calibration = stats.calibration
    if encoded.task == "binary" and stats.ranks and encoded.positive in stats.ranks:
        rank = stats.ranks[encoded.positive]
        if rank.n_positive:
            evaluation.positive_rank = rank
    if encoded.task == "multiclass":
        _multiclass_extras(evaluation)
    if not stats.has_scores:
        what = "scores" if encoded.task == "binary" else "class probabilities"
        evaluation.notes.append(f"No {what}: ROC, precision-recall and calibration are not shown.")
    return evaluation


def _class_curve(label: str, rank: RankCounts, n: int) -> ClassCurve:
    roc = pr = auc = ap = None
    if rank.n_positive and rank.n_negative:
        roc, auc = curves.roc_curve(rank), metrics.roc_auc(rank)
    if rank.n_positive:
        pr, ap = curves.precision_recall_curve(rank), metrics.average_precision(rank)
    return ClassCurve(label, roc, pr, auc, ap, rank.n_positive / n if n else 0.0)


def _multiclass_extras(evaluation: RunEvaluation) -> None:
    """Macro-average curves and the classes never predicted."""
    cm, classes = evaluation.confusion, evaluation.classes
    never = [classes[k] for k in np.flatnonzero((cm.predicted == 0) & (cm.support > 0))]
    if never:
        evaluation.notes.append(
            f"Never predicted: {', '.join(never[:10])}{' ...' if len(never) > 10 else ''} "
            "(precision counted as 0)."
        )
    with_roc = [c for c in evaluation.curves if c.roc is not None and c.roc_auc is not None]
    with_pr = [c for c in evaluation.curves if c.pr is not None and c.average_precision is not None]
    if not with_roc:
        return
    fpr, tpr = curves.macro_average_roc([(c.roc["fpr"], c.roc["tpr"]) for c in with_roc])
    rec, prec = curves.macro_average_pr([(c.pr["recall"], c.pr["precision"]) for c in with_pr])
    evaluation.macro_curve = ClassCurve(
        "macro average",
        {"fpr": fpr, "tpr": tpr},
        {"recall": rec, "precision": prec},
        float(np.mean([c.roc_auc for c in with_roc])),
        float(np.mean([c.average_precision for c in with_pr])) if with_pr else None,
        1.0 / len(with_roc),
    )
