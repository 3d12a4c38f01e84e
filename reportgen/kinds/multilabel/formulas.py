"""Multilabel metrics as pure functions of per-example sums, following ``sklearn.metrics``
(``zero_division=0``: a ratio with a zero denominator counts as 0, as scikit-learn's default).

Per label l over n examples: TP_l, FP_l, FN_l; support_l = TP_l + FN_l.

- subset accuracy = mean 1[Ŷ_i = Y_i]; Hamming loss = Σ_i |Ŷ_i Δ Y_i| / (n L);
- micro P/R/F1 from ΣTP, ΣFP, ΣFN; macro = unweighted mean over labels; weighted = mean
  weighted by support; samples = mean over examples of each example's own P/R/F1;
- Jaccard (samples) = mean |Ŷ_i ∩ Y_i| / |Ŷ_i ∪ Y_i|;
- label-ranking average precision (Tsoumakas et al. 2010; ``label_ranking_average_precision_score``)
  and per-label ROC AUC / average precision from scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.errors import UndefinedMetric
from reportgen.kinds.classification import formulas as metrics
from reportgen.kinds.classification.statistics import RankCounts

HEADLINE = ("f1_micro", "f1_macro", "subset_accuracy", "hamming_loss")
COMPARED = ("f1_micro", "f1_macro", "subset_accuracy", "hamming_loss")
METRICS = (
    "subset_accuracy",
    "hamming_loss",
    "precision_micro",
    "recall_micro",
    "f1_micro",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "precision_samples",
    "recall_samples",
    "f1_samples",
    "jaccard_samples",
    "label_ranking_average_precision",
    "roc_auc_macro",
    "average_precision_macro",
)
LRAP_CHUNK = 20_000_000  # (examples x labels x labels) comparisons held at once


def _divide(numerator: Any, denominator: Any) -> Any:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def example_columns(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per-example terms whose sums (or means) give every sum-based metric; per-label counts
    are columns ``tp:<l>``, ``fp:<l>``, ``fn:<l>`` with l the label's index."""
    both = y_true & y_pred
    tp = both.sum(axis=1).astype(np.float64)
    fp = (y_pred & ~y_true).sum(axis=1).astype(np.float64)
    fn = (y_true & ~y_pred).sum(axis=1).astype(np.float64)
    columns: dict[str, np.ndarray] = {
        "subset_accuracy": (y_true == y_pred).all(axis=1).astype(np.float64),
        "mismatches": fp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision_samples": _divide(tp, tp + fp),
        "recall_samples": _divide(tp, tp + fn),
        "f1_samples": _divide(2 * tp, 2 * tp + fp + fn),
        "jaccard_samples": _divide(tp, tp + fp + fn),
    }
    if scores is not None:
        columns["label_ranking_average_precision"] = ranking_precision(y_true, scores)
    for name, matrix in (("tp", both), ("fp", y_pred & ~y_true), ("fn", y_true & ~y_pred)):
        by_label = np.asfortranarray(matrix)  # each label's flags contiguous
        for label in range(y_true.shape[1]):
            columns[f"{name}:{label}"] = by_label[:, label]  # bool: 1 byte per example
    return columns


def ranking_precision(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each example's label-ranking average precision:
    mean over relevant j of |{k relevant: s_k ≥ s_j}| / |{k: s_k ≥ s_j}|; 1 when no label or
    every label is relevant (scikit-learn's convention)."""
    n, n_labels = y_true.shape
    out = np.ones(n, dtype=np.float64)
    relevant = y_true.sum(axis=1)
    rows = np.flatnonzero((relevant > 0) & (relevant < n_labels))
    step = max(1, LRAP_CHUNK // max(n_labels * n_labels, 1))
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        s, y = scores[chunk], y_true[chunk]
        at_least = s[:, None, :] >= s[:, :, None]  # [i, j, k]: s_k >= s_j
        rank = at_least.sum(axis=2)
        relevant_rank = (at_least & y[:, None, :]).sum(axis=2)
        ratio = np.where(y, relevant_rank / rank, 0.0)
        out[chunk] = ratio.sum(axis=1) / y.sum(axis=1)
    return out


def metrics_from_sums(sums: dict[str, Any], n: Any, n_labels: int) -> dict[str, Any]:
    """Every sum-based metric from column sums; scalars, or arrays like the sums."""
    tp = np.stack([np.asarray(sums[f"tp:{j}"], dtype=np.float64) for j in range(n_labels)], -1)
    fp = np.stack([np.asarray(sums[f"fp:{j}"], dtype=np.float64) for j in range(n_labels)], -1)
    fn = np.stack([np.asarray(sums[f"fn:{j}"], dtype=np.float64) for j in range(n_labels)], -1)
    support = tp + fn
    per_label = {
        "precision": _divide(tp, tp + fp),
        "recall": _divide(tp, tp + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
    }
    total_support = support.sum(axis=-1)
    found: dict[str, Any] = {
        "subset_accuracy": np.divide(sums["subset_accuracy"], n),
        "hamming_loss": np.divide(sums["mismatches"], np.multiply(n, n_labels)),
        "precision_micro": _divide(sums["tp"], np.add(sums["tp"], sums["fp"])),
        "recall_micro": _divide(sums["tp"], np.add(sums["tp"], sums["fn"])),
        "f1_micro": _divide(
            np.multiply(2, sums["tp"]), 2 * np.asarray(sums["tp"]) + sums["fp"] + sums["fn"]
        ),
    }
    for name, values in per_label.items():
        found[f"{name}_macro"] = values.mean(axis=-1)
        found[f"{name}_weighted"] = _divide((values * support).sum(axis=-1), total_support)
    for name in ("precision_samples", "recall_samples", "f1_samples", "jaccard_samples"):
        found[name] = np.divide(sums[name], n)
    if "label_ranking_average_precision" in sums:
        found["label_ranking_average_precision"] = np.divide(
            sums["label_ranking_average_precision"], n
        )
    return {k: v if np.ndim(v) else float(v) for k, v in found.items()}


def per_label_counts(columns: dict[str, np.ndarray], n_labels: int) -> dict[str, np.ndarray]:
    """Exact per-label TP, FP, FN, support, precision, recall and F1 (arrays of length L)."""
    tp = np.array([columns[f"tp:{j}"].sum() for j in range(n_labels)])
    fp = np.array([columns[f"fp:{j}"].sum() for j in range(n_labels)])
    fn = np.array([columns[f"fn:{j}"].sum() for j in range(n_labels)])
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
        "precision": _divide(tp, tp + fp),
        "recall": _divide(tp, tp + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
    }


def per_label_ranking(
    y_true: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per-label ROC AUC and average precision (NaN where a label's examples are all positive
    or all negative), and the indices of those undefined labels."""
    n_labels = y_true.shape[1]
    auc = np.full(n_labels, np.nan)
    ap = np.full(n_labels, np.nan)
    undefined = []
    for j in range(n_labels):  # one sort per label, not per example
        rank = RankCounts.from_scores(y_true[:, j], scores[:, j])
        try:
            auc[j] = metrics.roc_auc(rank)
            ap[j] = metrics.average_precision(rank)
        except UndefinedMetric:
            undefined.append(j)
    return auc, ap, undefined


def ranking_metrics(
    auc: np.ndarray, ap: np.ndarray, undefined: list[int], names: tuple[str, ...]
) -> tuple[dict[str, float | None], dict[str, str]]:
    """``roc_auc_macro`` and ``average_precision_macro`` from :func:`per_label_ranking`, over
    the labels where they are defined (scikit-learn raises instead when any label has one
    class)."""
    notes = {}
    if undefined:
        shown = ", ".join(names[j] for j in undefined[:3]) + (", ..." if len(undefined) > 3 else "")
        reason = (
            f"averaged over {len(names) - len(undefined)} of {len(names)} labels; "
            f"{len(undefined)} have only positive or only negative examples ({shown})"
        )
        notes = {"roc_auc_macro": reason, "average_precision_macro": reason}
    defined = np.isfinite(auc)
    if not defined.any():
        reason = "undefined: every label has only positive or only negative examples"
        return {"roc_auc_macro": None, "average_precision_macro": None}, {
            "roc_auc_macro": reason,
            "average_precision_macro": reason,
        }
    return {
        "roc_auc_macro": float(auc[defined].mean()),
        "average_precision_macro": float(ap[defined].mean()),
    }, notes
