"""Feature importance across models: one shared feature order, and how far a candidate's
ranking agrees with the baseline's.

Shared order: each model ranks its features by importance (1 = most important, ties share
their average rank); a feature a model's table lacks takes the rank after its last feature.
Features are ordered by their mean rank over the models (ties by first appearance).

Rank agreement of a candidate with the baseline, on the features both tables hold:
Spearman's ρ = Pearson's correlation of the two rankings (average ranks for ties);
Kendall's τ-b = (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)) over feature pairs
(``scipy.stats.kendalltau``); top-k overlap = |top-k(candidate) ∩ top-k(baseline)| / k,
each model's top k taken from its whole table (ties in table order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reportgen.ingest.importance import ImportanceTable


def ranks(importance: np.ndarray) -> np.ndarray:
    """1 for the most important feature; ties share their average rank."""
    from scipy.stats import rankdata  # scipy.stats costs 0.5 s to import: only when needed

    return rankdata(-importance, method="average")


def shared_order(tables: Sequence[ImportanceTable]) -> tuple[list[str], np.ndarray]:
    """Every feature of every table, ordered by mean rank over the models, and those means."""
    features = list(dict.fromkeys(f for t in tables for f in t.features))
    at = {f: i for i, f in enumerate(features)}
    total = np.zeros(len(features))
    for table in tables:
        mine = np.full(len(features), len(table.features) + 1.0)
        mine[[at[f] for f in table.features]] = ranks(table.importance)
        total += mine
    mean = total / max(len(tables), 1)
    order = np.lexsort((np.arange(len(features)), mean))
    return [features[i] for i in order], mean[order]


def top_k(table: ImportanceTable, k: int) -> list[str]:
    """The table's k most important features (ties in table order)."""
    order = np.argsort(-table.importance, kind="stable")[:k]
    return [str(table.features[i]) for i in order]


@dataclass
class Agreement:
    """A candidate's importance ranking against the baseline's."""

    candidate: str
    baseline: str
    common: int  # features in both tables
    spearman: float | None  # None: fewer than 2 common features, or a constant ranking
    kendall: float | None
    k: int  # the top k compared: min(k, either table's size)
    overlap: float | None  # share of the baseline's top k also in the candidate's
    entered: list[str] = field(default_factory=list)  # in the candidate's top k only
    left: list[str] = field(default_factory=list)  # in the baseline's top k only
    only_candidate: int = 0  # features in the candidate's table only
    only_baseline: int = 0


def agreement(base: ImportanceTable, cand: ImportanceTable, k: int) -> Agreement:
    """Spearman, Kendall and top-k overlap of ``cand``'s importances with ``base``'s."""
    from scipy.stats import kendalltau, rankdata  # 0.5 s to import: only for this view

    position = {f: i for i, f in enumerate(cand.features)}
    in_base = np.array([f in position for f in base.features], dtype=bool)
    common = int(in_base.sum())
    x = base.importance[in_base]
    y = cand.importance[[position[f] for f in base.features[in_base]]]
    spearman = kendall = None
    if common >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
        spearman = float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])
        tau = kendalltau(x, y, variant="b").statistic
        kendall = float(tau) if np.isfinite(tau) else None
    depth = min(k, len(base.features), len(cand.features))
    base_top, cand_top = top_k(base, depth), top_k(cand, depth)
    shared = set(base_top) & set(cand_top)
    return Agreement(
        candidate=cand.name,
        baseline=base.name,
        common=common,
        spearman=spearman,
        kendall=kendall,
        k=depth,
        overlap=len(shared) / depth if depth else None,
        entered=[f for f in cand_top if f not in shared],
        left=[f for f in base_top if f not in shared],
        only_candidate=len(cand.features) - common,
        only_baseline=len(base.features) - common,
    )
