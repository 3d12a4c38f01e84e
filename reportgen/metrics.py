"""The registry of metrics: each metric's label, direction, range, format and test, declared once.

Leaderboards (bold best cells), delta colours, verdicts, gates, charts' "higher is better"
captions, the Markdown, the email and the JSON all ask this module; nothing else decides
whether a metric is better when higher. lm-evaluation-harness files may declare a task's
direction themselves (``higher_is_better``); that declaration wins (``declared=``). Metrics
that are not registered (an lm-eval sample metric, a training-history column) get their
direction from their name: ``perplexity``, ``bits_per_byte``, anything with ``loss``,
``error``, ``nll`` or ``ppl`` in it, and ``mae``, ``rmse``, ``ter``, ``wer``, ``cer`` are lower
is better; everything else higher.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportgen import formatting as fmt

Format = Literal["rate", "units", "ms", "per_s", "cost", "mean"]
# the test a metric is declared to get; "bootstrap" is paired when the runs pair, else unpaired
Test = Literal[
    "mcnemar-exact",  # paired 0/1 outcomes: McNemar's exact test on the discordant pairs
    "delong",  # ROC AUC: DeLong's variance of the paired difference
    "delong-ovr",  # one-vs-rest AUC averages: DeLong's method per class
    "bootstrap",  # the paired bootstrap of the delta (unpaired when runs cannot be paired)
    "z-test",  # lm-eval tasks: a normal test from the two reported standard errors
    "none",  # reported, not compared
]

# Every test a comparison may report (``Comparison.test``, the JSON's ``test``), one name per
# procedure whichever kind ran it, with what it is.
TESTS: dict[str, str] = {
    "mcnemar-exact": "McNemar's exact test on the discordant pairs of paired 0/1 outcomes",
    "delong": "DeLong's test of two paired ROC AUCs",
    "delong-ovr": "DeLong's method for two paired one-vs-rest AUC averages",
    "bootstrap-paired": "a Wald test from the paired bootstrap of the delta",
    "bootstrap-unpaired": "a Wald test from independent bootstraps of the two runs",
    "bootstrap-paired+repeats": "a test of the means over repeats (seeds) of each model",
    "z-test": "a normal test from the two reported standard errors (lm-eval)",
    "none": "not tested",
}


@dataclass(frozen=True)
class Metric:
    """One metric as every view and output sees it."""

    name: str
    label: str
    higher_is_better: bool = True
    bounded: bool = True  # values lie in [0, 1] (rates, scores); False for errors, counts
    format: Format = "rate"
    test: Test = "bootstrap"


def _metrics(*items: Metric) -> dict[str, Metric]:
    return {m.name: m for m in items}


def _rate(name: str, label: str, test: Test = "bootstrap", lower: bool = False) -> Metric:
    return Metric(name, label, higher_is_better=not lower, test=test)


REGISTRY: dict[str, Metric] = _metrics(
    # classification
    _rate("accuracy", "Accuracy", "mcnemar-exact"),
    _rate("balanced_accuracy", "Balanced acc."),
    _rate("precision", "Precision"),
    _rate("recall", "Recall"),
    _rate("f1", "F1"),
    _rate("specificity", "Specificity"),
    Metric("mcc", "MCC", bounded=False),  # in [-1, 1]
    Metric("cohen_kappa", "Cohen's κ", bounded=False),  # in [-1, 1]
    _rate("roc_auc", "ROC AUC", "delong"),
    _rate("average_precision", "Avg. precision"),
    Metric("log_loss", "Log loss", higher_is_better=False, bounded=False),
    _rate("brier", "Brier", lower=True),
    _rate("ece", "ECE", lower=True),
    _rate("precision_macro", "Precision (macro)"),
    _rate("recall_macro", "Recall (macro)"),
    _rate("f1_macro", "F1 (macro)"),
    _rate("precision_weighted", "Precision (weighted)"),
    _rate("recall_weighted", "Recall (weighted)"),
    _rate("f1_weighted", "F1 (weighted)"),
    _rate("f1_micro", "F1 (micro)"),
    _rate("roc_auc_ovr_macro", "ROC AUC (OvR macro)", "delong-ovr"),
    _rate("roc_auc_ovr_weighted", "ROC AUC (OvR weighted)", "delong-ovr"),
    _rate("top_2_accuracy", "Top-2 acc."),
    # regression
    Metric("mae", "MAE", higher_is_better=False, bounded=False, format="units"),
    Metric("rmse", "RMSE", higher_is_better=False, bounded=False, format="units"),
    Metric("mape", "MAPE", higher_is_better=False, bounded=False),
    Metric("r2", "R²", bounded=False),
    Metric("explained_variance", "Explained variance", bounded=False),
    Metric(
        "median_absolute_error",
        "Median abs. error",
        higher_is_better=False,
        bounded=False,
        format="units",
        test="none",
    ),
    Metric(
        "max_error", "Max error", higher_is_better=False, bounded=False, format="units", test="none"
    ),
    # multilabel
    _rate("subset_accuracy", "Subset accuracy", "mcnemar-exact"),
    _rate("hamming_loss", "Hamming loss", lower=True),
    _rate("precision_micro", "Precision (micro)"),
    _rate("recall_micro", "Recall (micro)"),
    _rate("precision_samples", "Precision (samples)"),
    _rate("recall_samples", "Recall (samples)"),
    _rate("f1_samples", "F1 (samples)"),
    _rate("jaccard_samples", "Jaccard (samples)"),
    _rate("label_ranking_average_precision", "Label-ranking AP"),
    _rate("roc_auc_macro", "ROC AUC (macro)"),
    _rate("average_precision_macro", "Avg. precision (macro)"),
    # language models
    Metric("perplexity", "Perplexity", higher_is_better=False, bounded=False),
    Metric("mean_nll", "Mean NLL (nats/token)", higher_is_better=False, bounded=False),
    Metric("bits_per_byte", "Bits per byte", higher_is_better=False, bounded=False),
    _rate("exact_match", "Exact match", "mcnemar-exact"),
    _rate("token_f1", "Token F1"),
    # a grader's logged per-example score (simple-evals' 'score'): 0/1 or continuous
    Metric("grader_score", "Grader score", bounded=False, format="mean"),
    _rate("acc", "Accuracy", "mcnemar-exact"),
    _rate("acc_norm", "Accuracy (normalised)", "mcnemar-exact"),
    # robustness under perturbation (kinds/robustness): reported, not tested as a delta
    _rate("clean_accuracy", "Clean accuracy", "mcnemar-exact"),
    _rate("robust_accuracy", "Robust accuracy"),  # the paired bootstrap over example ids
    Metric("mce", "mCE", higher_is_better=False, bounded=False, test="none"),
    _rate("flip_rate", "Flip rate", "none", lower=True),
    # embeddings: the mean silhouette of the true classes, in [-1, 1]
    Metric("silhouette", "Silhouette (true classes)", bounded=False, test="none"),
    # token attributions: mean Spearman ρ with the baseline's attributions, in [-1, 1]
    Metric("attribution_rank_agreement", "Attribution agreement (ρ)", bounded=False, test="none"),
    # decision boundaries (2-D grids): how far the slice explains the model's predictions, and
    # the share of the grid where a candidate decides otherwise than the baseline
    _rate("slice_agreement", "Slice agreement", "none"),
    _rate("boundary_disagreement", "Boundary disagreement", "none", lower=True),
    # feature importance: a candidate's ranking against the baseline's, and additivity
    Metric("importance_spearman", "Importance Spearman ρ", bounded=False, test="none"),
    Metric("importance_kendall", "Importance Kendall τ", bounded=False, test="none"),
    _rate("importance_top_k_overlap", "Importance top-k overlap", "none"),
    Metric(
        "additivity_max_gap",
        "Additivity gap",
        higher_is_better=False,
        bounded=False,
        format="units",
        test="none",
    ),
    # efficiency
    *(
        Metric(
            f"latency_{p}_ms",
            f"Latency {p} (ms)",
            higher_is_better=False,
            bounded=False,
            format="ms",
            test="none",
        )
        for p in ("p50", "p90", "p99", "mean")
    ),
    Metric("examples_per_s", "Examples/s", bounded=False, format="per_s", test="none"),
    Metric("tokens_per_s", "Tokens/s", bounded=False, format="per_s", test="none"),
    Metric(
        "cost_per_1k",
        "Cost per 1,000",
        higher_is_better=False,
        bounded=False,
        format="cost",
        test="none",
    ),
    Metric("prompt_tokens_mean", "Prompt tokens (mean)", bounded=False, format="mean", test="none"),
    Metric(
        "completion_tokens_mean",
        "Completion tokens (mean)",
        bounded=False,
        format="mean",
        test="none",
    ),
)

_LOWER_WORDS = frozenset({"mae", "mse", "rmse", "mape", "ter", "wer", "cer"})
_LOWER_PARTS = ("loss", "error", "perplexity", "ppl", "nll", "bits_per_byte")
_TOP_K = re.compile(r"top_(\d+)_accuracy")


def get(name: str) -> Metric | None:
    """The registered metric (``top_<k>_accuracy`` for any k), or None."""
    found = REGISTRY.get(name)
    if found is None and (match := _TOP_K.fullmatch(name)):
        return Metric(name, f"Top-{match.group(1)} acc.")
    return found


def is_known(name: str) -> bool:
    return get(name) is not None


def bounded(name: str) -> bool:
    """Whether a metric's values lie in [0, 1] (rates, scores); unknown metrics are not."""
    declared = get(name)
    return declared is not None and declared.bounded


def label(name: str) -> str:
    found = get(name)
    return found.label if found is not None else name


def higher_is_better(name: str, declared: bool | None = None) -> bool:
    """Whether larger values of ``name`` are better: a file's own declaration first, then the
    registry, then the name (see the module docstring)."""
    if declared is not None:
        return declared
    found = get(name)
    if found is not None:
        return found.higher_is_better
    lower = name.lower()
    words = set(re.split(r"[^a-z0-9]+", lower))
    return not (words & _LOWER_WORDS or any(part in lower for part in _LOWER_PARTS))


def lower_is_better(name: str, declared: bool | None = None) -> bool:
    return not higher_is_better(name, declared)


def best_indices(values: Sequence[float | None], higher: bool) -> set[int]:
    """Positions of the best value (ties share it); none when fewer than two values exist."""
    present = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(present) < 2:
        return set()
    target = (max if higher else min)(v for v, _ in present)
    return {i for v, i in present if v == target}


def format_value(name: str, value: float | None) -> str:
    """A metric value as every output shows it: 3 decimals for rates and unbounded scores;
    regression errors in the label's own units (4 significant digits); 1 decimal for
    milliseconds, token counts and rates per second; 4 significant digits for cost."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return fmt.MISSING
    if math.isinf(value):
        return fmt.rate(value)  # "Infinity", as the file reports it
    found = get(name)
    style = found.format if found is not None else _style_by_name(name)
    if style == "units":
        return fmt.magnitude(value)
    if style in ("ms", "per_s", "mean"):
        return f"{value:,.1f}"
    if style == "cost":
        return f"{value:.4g}"
    return fmt.rate(value)


def _style_by_name(name: str) -> Format:
    if name.startswith("latency") or name.endswith(("_per_s", "_mean")):
        return "ms"
    return "rate"
