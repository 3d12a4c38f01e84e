"""Stage 2: an encoded run -> its sufficient statistics, metrics and curve data.

Everything the views and the JSON summary need is computed here, once; nothing later looks at
per-example rows again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reportgen import curves, metrics
from reportgen.errors import UndefinedMetric
from reportgen.stats import (
    CalibrationCounts,
    ConfusionCounts,
    ProbabilitySums,
    RankCounts,
    TopKCounts,
)
from reportgen.tasks import EncodedRun

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
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})
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
    calibration: CalibrationCounts | None = None
    notes: list[str] = field(default_factory=list)

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


def evaluate(encoded: EncodedRun) -> RunEvaluation:
    """Compute every metric and curve of one run."""
    if encoded.task == "binary":
        return _evaluate_binary(encoded)
    return _evaluate_multiclass(encoded)


def _class_curve(label: str, rank: RankCounts, n: int) -> ClassCurve:
    roc = pr = auc = ap = None
    if rank.n_positive and rank.n_negative:
        roc, auc = curves.roc_curve(rank), metrics.roc_auc(rank)
    if rank.n_positive:
        pr, ap = curves.precision_recall_curve(rank), metrics.average_precision(rank)
    return ClassCurve(label, roc, pr, auc, ap, rank.n_positive / n if n else 0.0)


def _evaluate_binary(encoded: EncodedRun) -> RunEvaluation:
    positive = encoded.positive
    assert positive is not None
    cm = ConfusionCounts.from_codes(encoded.y_true, encoded.y_pred, len(encoded.classes))
    found = _Collector()
    found.add("accuracy", lambda: metrics.accuracy(cm))
    found.add("balanced_accuracy", lambda: metrics.balanced_accuracy(cm))
    found.add("precision", lambda: metrics.precision(cm, positive))
    found.add("recall", lambda: metrics.recall(cm, positive))
    found.add("f1", lambda: metrics.f1(cm, positive))
    found.add("specificity", lambda: metrics.specificity(cm, positive))
    found.add("mcc", lambda: metrics.matthews_corrcoef(cm))
    found.add("cohen_kappa", lambda: metrics.cohen_kappa(cm))

    evaluation = RunEvaluation(encoded, cm, {}, {}, metrics.per_class_scores(cm))
    scores = encoded.scores
    if scores is None:
        found.undefined(
            ("roc_auc", "average_precision", "log_loss", "brier", "ece"),
            "the run has no score column",
        )
        evaluation.notes.append("No scores: ROC, precision-recall and calibration are not shown.")
    else:
        is_positive = encoded.y_true == positive
        rank = RankCounts.from_scores(is_positive, scores)
        found.add("roc_auc", lambda: metrics.roc_auc(rank))
        found.add("average_precision", lambda: metrics.average_precision(rank))
        evaluation.curves.append(_class_curve(encoded.classes[positive], rank, len(scores)))
        problem = probability_problem(encoded)
        if problem:
            found.undefined(("log_loss", "brier", "ece"), problem)
        else:
            sums = ProbabilitySums.binary(is_positive, scores)
            cal = CalibrationCounts.from_confidence(scores, is_positive)
            found.add("log_loss", lambda: metrics.log_loss(sums))
            found.add("brier", lambda: metrics.brier_score(sums))
            found.add("ece", lambda: metrics.expected_calibration_error(cal))
            evaluation.calibration = cal
    evaluation.metrics = {name: found.values[name] for name in BINARY_METRICS}
    evaluation.metric_notes = found.notes
    return evaluation


def _evaluate_multiclass(encoded: EncodedRun) -> RunEvaluation:
    n_classes = len(encoded.classes)
    cm = ConfusionCounts.from_codes(encoded.y_true, encoded.y_pred, n_classes)
    found = _Collector()
    found.add("accuracy", lambda: metrics.accuracy(cm))
    found.add("balanced_accuracy", lambda: metrics.balanced_accuracy(cm))
    for average in ("macro", "weighted"):
        for name in ("precision", "recall", "f1"):
            found.add(f"{name}_{average}", lambda n=name, a=average: metrics.averaged(cm, n, a))
    found.add("f1_micro", lambda: metrics.averaged(cm, "f1", "micro"))
    found.add("mcc", lambda: metrics.matthews_corrcoef(cm))
    found.add("cohen_kappa", lambda: metrics.cohen_kappa(cm))
    evaluation = RunEvaluation(encoded, cm, {}, {}, metrics.per_class_scores(cm))
    never_predicted = [
        encoded.classes[k] for k in np.flatnonzero((cm.predicted == 0) & (cm.support > 0))
    ]
    if never_predicted:
        evaluation.notes.append(
            f"Never predicted: {', '.join(never_predicted[:10])}"
            f"{' ...' if len(never_predicted) > 10 else ''} (precision counted as 0)."
        )

    scores = encoded.scores
    score_metrics = ("roc_auc_ovr_macro", "roc_auc_ovr_weighted", "log_loss", "top_2_accuracy")
    if scores is None:
        found.undefined((*score_metrics, "ece"), "the run has no class-probability columns")
        evaluation.notes.append(
            "No class probabilities: ROC, precision-recall and calibration are not shown."
        )
    else:
        _multiclass_scores(encoded, scores, cm, found, evaluation)
    evaluation.metrics = {name: found.values[name] for name in MULTICLASS_METRICS}
    evaluation.metric_notes = found.notes
    return evaluation


def _multiclass_scores(
    encoded: EncodedRun,
    scores: np.ndarray,
    cm: ConfusionCounts,
    found: _Collector,
    evaluation: RunEvaluation,
) -> None:
    y_true, n = encoded.y_true, len(encoded.y_true)
    aucs, weights, roc_lines, pr_lines, aps = [], [], [], [], []
    for k, label in enumerate(encoded.classes):
        if cm.support[k] == 0 and cm.predicted[k] == 0:
            continue  # a class only other runs have
        rank = RankCounts.from_scores(y_true == k, scores[:, k])
        curve = _class_curve(label, rank, n)
        evaluation.curves.append(curve)
        if curve.roc_auc is not None and curve.roc is not None:
            aucs.append(curve.roc_auc)
            weights.append(cm.support[k])
            roc_lines.append((curve.roc["fpr"], curve.roc["tpr"]))
        if curve.pr is not None and curve.average_precision is not None:
            pr_lines.append((curve.pr["recall"], curve.pr["precision"]))
            aps.append(curve.average_precision)
    skipped = [c.label for c in evaluation.curves if c.roc_auc is None]
    if aucs:
        found.add("roc_auc_ovr_macro", lambda: float(np.mean(aucs)))
        found.add("roc_auc_ovr_weighted", lambda: float(np.average(aucs, weights=weights)))
        if skipped:
            note = f"averaged over classes with examples; left out: {', '.join(skipped[:5])}"
            found.notes["roc_auc_ovr_macro"] = found.notes["roc_auc_ovr_weighted"] = note
        fpr, tpr = curves.macro_average_roc(roc_lines)
        rec, prec = curves.macro_average_pr(pr_lines)
        evaluation.macro_curve = ClassCurve(
            "macro average",
            {"fpr": fpr, "tpr": tpr},
            {"recall": rec, "precision": prec},
            float(np.mean(aucs)),
            float(np.mean(aps)) if aps else None,
            1.0 / len(aucs),
        )
    else:
        found.undefined(("roc_auc_ovr_macro", "roc_auc_ovr_weighted"), "no class has both cases")
    found.add("top_2_accuracy", lambda: TopKCounts.from_scores(y_true, scores, 2).hits / n)
    problem = probability_problem(encoded)
    if problem:
        found.undefined(("log_loss", "ece"), problem)
        return
    sums = ProbabilitySums.multiclass(y_true, scores)
    top = np.argmax(scores, axis=1)
    confidence = scores[np.arange(n), top]
    cal = CalibrationCounts.from_confidence(confidence, top == y_true)
    found.add("log_loss", lambda: metrics.log_loss(sums))
    found.add("ece", lambda: metrics.expected_calibration_error(cal))
    evaluation.calibration = cal
