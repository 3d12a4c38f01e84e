"""Repeats of one model (seeds) for the kinds whose metrics are sums over examples
(regression, multilabel, perplexity, generation, lm-eval samples).

The same rules as classification's (:mod:`reportgen.kinds.classification.repeats`): repeats
hold the same examples and are aligned to the first one's rows; a model's value is the mean
over repeats M̄, its interval M̄ ± 1.96 SE with SE² = Var_boot(M̄) + s² / R, and a comparison
tests Δ of the means by a Wald test with SE² = Var_boot(Δ) + s_c² / R_c + s_b² / R_b, the
example bootstrap resampling the same examples for every repeat of both models (test
``paired bootstrap+repeats``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.stats.bootstrap import resampled_sums
from reportgen.stats.comparison import Comparison
from reportgen.stats.pairing import Pairing, id_order
from reportgen.stats.repeats import RepeatValues, mean_interval, test_of_means

if TYPE_CHECKING:
    from reportgen.kinds.sums import LanguageResult, SumsKind

TEST = "bootstrap-paired+repeats"


@dataclass
class SumsRepeats(RepeatValues):
    """One model of one group: its runs, the repeats' columns aligned to the first's rows."""

    members: list[LanguageResult]
    aligned: list[dict[str, np.ndarray]]

    @property
    def name(self) -> str:
        return self.members[0].name

    @property
    def group(self) -> str:
        return self.members[0].group

    @property
    def labels(self) -> list[str]:
        return [m.run.repeat or "" for m in self.members] if self.repeated else []

    def mean_result(self) -> LanguageResult:
        """The first repeat with every metric the mean over repeats (None where one lacks it)."""
        first = self.members[0]
        if not self.repeated:
            return first
        means: dict[str, float | None] = {}
        for metric in first.metrics:
            values = self.values(metric)
            means[metric] = None if values is None else float(np.mean(values))
        return dataclasses.replace(first, metrics=means)

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.members),
            "labels": self.labels,
            "sources": [str(m.run.path) for m in self.members],
            "metrics": {
                name: {**(self.spread(name) or {}), "values": self.values(name)}
                for name in self.members[0].metrics
            },
        }


def repeat_sets(kind: SumsKind, results: Sequence[LanguageResult]) -> list[SumsRepeats]:
    """Results grouped by (group, model), first-seen order, repeats aligned to the first."""
    groups: dict[tuple[str, str], list[LanguageResult]] = {}
    for r in results:
        groups.setdefault((r.group, r.name), []).append(r)
    found = []
    for members in groups.values():
        first = members[0]
        aligned = [first.columns] + [_aligned(kind, first, m) for m in members[1:]]
        found.append(SumsRepeats(members, aligned))
    return found


def _aligned(kind: SumsKind, first: LanguageResult, member: LanguageResult) -> dict[str, Any]:
    pairing = kind.pair(first.run, member.run)
    n = first.run.n_examples
    if not pairing.paired or pairing.n_paired != n or member.run.n_examples != n:
        raise ReportgenError(
            f"{member.run.path}: repeat {member.run.repeat} of {member.name!r} does not hold "
            f"the same examples as {first.run.repeat} ({first.run.path}); repeats must be runs "
            "on one test set, with the same ids"
        )
    order = np.argsort(pairing.baseline_rows, kind="stable")  # type: ignore[arg-type]
    rows = pairing.candidate_rows[order]  # type: ignore[index]
    return {c: v[rows] for c, v in member.columns.items()}


def repeat_intervals(
    kind: SumsKind, repeats: SumsRepeats, replicates: int, seed: int
) -> dict[str, list[float] | None]:
    """95% interval of each metric's mean over repeats, counting the seeds' spread."""
    first = repeats.members[0]
    found: dict[str, list[float] | None] = dict.fromkeys(first.metrics)
    if replicates <= 0:
        return found
    names = kind.stat_columns(first)
    k = len(names)
    order = id_order(first.run.ids)  # resample in id order: row order changes nothing
    sums = resampled_sums([a[c][order] for a in repeats.aligned for c in names], replicates, seed)
    per_member = [
        kind.from_sums(
            m.run, {c: sums[:, i * k + j] for j, c in enumerate(names)}, first.run.n_examples
        )
        for i, m in enumerate(repeats.members)
    ]
    for metric in per_member[0]:
        values = repeats.values(metric)
        if values is None:
            continue
        draws = np.mean([np.asarray(p[metric], dtype=float) for p in per_member], axis=0)
        found[metric] = mean_interval(draws, values)
    return found


def compare_repeats(
    kind: SumsKind,
    base: SumsRepeats,
    cand: SumsRepeats,
    pairing: Pairing,
    replicates: int,
    seed: int,
    only: str | None = None,
) -> list[Comparison]:
    """Each compared metric's mean over the candidate's repeats against the baseline's."""
    first_base, first_cand = base.members[0], cand.members[0]
    names = [c for c in kind.stat_columns(first_base) if c in first_cand.columns]
    compared = kind.compared(first_base, first_cand)
    if only is not None:
        compared = [m for m in compared if m == only]
    # resampled in id order (the paired ids', or each side's own): row order changes nothing
    if pairing.paired:
        assert pairing.baseline_rows is not None and pairing.candidate_rows is not None
        ids = first_base.run.ids
        order = id_order(None if ids is None else ids[pairing.baseline_rows])
        base_rows, cand_rows = pairing.baseline_rows[order], pairing.candidate_rows[order]
        base_cols = [{c: a[c][base_rows] for c in names} for a in base.aligned]
        cand_cols = [{c: a[c][cand_rows] for c in names} for a in cand.aligned]
        n_base = n_cand = pairing.n_paired
    else:
        b_order, c_order = id_order(first_base.run.ids), id_order(first_cand.run.ids)
        base_cols = [{c: a[c][b_order] for c in names} for a in base.aligned]
        cand_cols = [{c: a[c][c_order] for c in names} for a in cand.aligned]
        n_base, n_cand = first_base.run.n_examples, first_cand.run.n_examples

    def exact(side: SumsRepeats, cols: list[dict[str, np.ndarray]], n: int) -> list[dict]:
        return [
            kind.from_sums(m.run, {c: v.sum() for c, v in col.items()}, n)
            for m, col in zip(side.members, cols, strict=True)
        ]

    base_exact, cand_exact = exact(base, base_cols, n_base), exact(cand, cand_cols, n_cand)
    base_draws = cand_draws = None
    if replicates > 0:
        k = len(names)
        flat = [col[c] for col in [*base_cols, *cand_cols] for c in names]
        if pairing.paired:
            sums = resampled_sums(flat, replicates, seed)
        else:
            split = len(base_cols) * k
            sums = np.hstack(
                [
                    resampled_sums(flat[:split], replicates, seed),
                    resampled_sums(flat[split:], replicates, seed + 1),
                ]
            )

        def replicated(side: SumsRepeats, offset: int, n: int) -> list[dict]:
            return [
                kind.from_sums(
                    m.run, {c: sums[:, (offset + i) * k + j] for j, c in enumerate(names)}, n
                )
                for i, m in enumerate(side.members)
            ]

        base_draws = replicated(base, 0, n_base)
        cand_draws = replicated(cand, len(base_cols), n_cand)
    found = []
    for metric in compared:
        b_values = [float(e[metric]) for e in base_exact]
        c_values = [float(e[metric]) for e in cand_exact]
        b, c = float(np.mean(b_values)), float(np.mean(c_values))
        result = Comparison(
            baseline=base.name,
            candidate=cand.name,
            metric=metric,
            baseline_value=b,
            candidate_value=c,
            delta=c - b,
            ci=None,
            p_value=None,
            test=TEST,
            n_paired=pairing.n_paired,
            scope=base.group,
        )
        found.append(result)
        if base_draws is None or cand_draws is None:
            continue
        draws = np.mean([np.asarray(d[metric], float) for d in cand_draws], axis=0) - np.mean(
            [np.asarray(d[metric], float) for d in base_draws], axis=0
        )
        test_of_means(result, draws, b_values, c_values)
    return found
