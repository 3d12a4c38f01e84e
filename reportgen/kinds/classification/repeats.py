"""Repeats of one model (seeds): one leaderboard row, and paired tests that use every repeat.

A model given as several runs that declare which repeat they are (see
:mod:`reportgen.ingest.sources`) is one *repeat set*. Its repeats must hold the same examples
(by id, or row by row); they are aligned to the first repeat's rows. Then, for a metric M
measured on each repeat r = 1..R:

- the model's value is the mean over repeats, M̄ = (1/R) Σ_r M_r, shown with the spread
  (min–max, and the standard deviation s when R ≥ 3);
- its uncertainty has two parts, the test set's (the cell bootstrap of M̄, every repeat
  resampled on the same examples) and the seeds' (s² / R):
  SE² = Var_boot(M̄) + s² / R, and the 95% interval is M̄ ± 1.96 SE;
- a comparison with the baseline (itself one run or a repeat set) tests
  Δ = M̄_candidate − M̄_baseline by a Wald test with
  SE² = Var_boot(Δ) + s_c² / R_c + s_b² / R_b, the bootstrap drawing the same examples for
  every repeat of both models. McNemar's and DeLong's tests compare two single runs; a mean
  over repeats is tested this way for every metric (test ``bootstrap-paired+repeats``).

The views that show one run's details (curves, confusion matrices, slices) show the first
repeat; the page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.kinds.classification.assess import Assessment
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import RunEvaluation, metric_values, run_stats
from reportgen.kinds.classification.pairing import pair_runs
from reportgen.kinds.classification.resample import build_cells, replicate_metrics
from reportgen.stats.comparison import Comparison
from reportgen.stats.pairing import Pairing
from reportgen.stats.repeats import RepeatValues, mean_interval, test_of_means
from reportgen.stats.repeats import spread_text as spread_of_text

TEST = "bootstrap-paired+repeats"


@dataclass
class RepeatSet(RepeatValues):
    """A model's runs: one, or several repeats aligned to the first one's rows."""

    name: str
    labels: list[str]  # "seed=1", ... (empty for a single run)
    members: list[RunEvaluation]
    aligned: list[EncodedRun]  # each member's rows in the first member's order


def repeat_sets(evaluations: Sequence[RunEvaluation]) -> list[RepeatSet]:
    """The evaluations grouped by model name, in first-seen order, repeats aligned."""
    groups: dict[str, list[RunEvaluation]] = {}
    for e in evaluations:
        groups.setdefault(e.name, []).append(e)
    found = []
    for name, members in groups.items():
        first = members[0]
        aligned = [first.encoded] + [_aligned(first, m) for m in members[1:]]
        labels = [m.encoded.run.repeat or "" for m in members] if len(members) > 1 else []
        found.append(RepeatSet(name, labels, members, aligned))
    return found


def _aligned(first: RunEvaluation, member: RunEvaluation) -> EncodedRun:
    pairing = pair_runs(first.encoded, member.encoded)
    n = len(first.encoded.y_true)
    if not pairing.paired or pairing.n_paired != n or len(member.encoded.y_true) != n:
        raise ReportgenError(
            f"{member.encoded.run.path}: repeat {member.encoded.run.repeat} of "
            f"{member.name!r} does not hold the same examples as "
            f"{first.encoded.run.repeat} ({first.encoded.run.path}); repeats must be runs on "
            "one test set, with the same ids"
        )
    order = np.argsort(pairing.baseline_rows, kind="stable")  # type: ignore[arg-type]
    return member.encoded.subset(pairing.candidate_rows[order])  # type: ignore[index]


def mean_evaluation(repeats: RepeatSet) -> RunEvaluation:
    """The first repeat's evaluation with every metric the mean over repeats (None where any
    repeat lacks it): what the leaderboard, the JSON and the gates read."""
    if not repeats.repeated:
        return repeats.members[0]
    means = {}
    for metric in repeats.members[0].metrics:
        values = repeats.values(metric)
        means[metric] = None if values is None else float(np.mean(values))
    return replace(repeats.members[0], metrics=means)


def repeat_intervals(
    repeats: RepeatSet, replicates: int, seed: int
) -> dict[str, list[float] | None]:
    """95% interval of each metric's mean over repeats: M̄ ± 1.96 SE, with the test set's and
    the seeds' variance (see the module docstring)."""
    names = list(repeats.members[0].metrics)
    found: dict[str, list[float] | None] = dict.fromkeys(names)
    if replicates <= 0:
        return found
    cells = build_cells(repeats.aligned)
    reps = replicate_metrics(cells, replicates, seed, names)
    for name in names:
        values = repeats.values(name)
        if values is None:
            continue
        found[name] = mean_interval(np.mean([r[name] for r in reps], axis=0), values)
    return found


def compare_repeats(
    base: RepeatSet,
    cand: RepeatSet,
    pairing: Pairing,
    metric_names: Sequence[str],
    replicates: int,
    seed: int,
) -> list[Comparison]:
    """Each metric's mean over the candidate's repeats against the baseline's, by a Wald test
    whose SE counts the test set (the joint bootstrap) and both models' seeds."""
    names = list(metric_names)
    if pairing.paired:
        base_runs = [m.subset(pairing.baseline_rows) for m in base.aligned]  # type: ignore[arg-type]
        cand_runs = [m.subset(pairing.candidate_rows) for m in cand.aligned]  # type: ignore[arg-type]
        n_paired = pairing.n_paired
    else:
        base_runs, cand_runs, n_paired = list(base.aligned), list(cand.aligned), 0
    base_exact = [metric_values(run_stats(r))[0] for r in base_runs]
    cand_exact = [metric_values(run_stats(r))[0] for r in cand_runs]
    base_draws = cand_draws = None
    if replicates > 0:
        if pairing.paired:
            reps = replicate_metrics(build_cells([*base_runs, *cand_runs]), replicates, seed, names)
            base_reps, cand_reps = reps[: len(base_runs)], reps[len(base_runs) :]
        else:
            base_reps = replicate_metrics(build_cells(base_runs), replicates, seed, names)
            cand_reps = replicate_metrics(build_cells(cand_runs), replicates, seed + 1, names)
        base_draws = {n: np.mean([r[n] for r in base_reps], axis=0) for n in names}
        cand_draws = {n: np.mean([r[n] for r in cand_reps], axis=0) for n in names}
    found = []
    for name in names:
        b_values = [v.get(name) for v in base_exact]
        c_values = [v.get(name) for v in cand_exact]
        if any(v is None for v in b_values) or any(v is None for v in c_values):
            found.append(
                Comparison(base.name, cand.name, name, None, None, None, None, None, "none", 0)
            )
            continue
        b, c = float(np.mean(b_values)), float(np.mean(c_values))  # type: ignore[arg-type]
        result = Comparison(base.name, cand.name, name, b, c, c - b, None, None, "none", n_paired)
        found.append(result)
        if base_draws is None or cand_draws is None:
            continue
        if test_of_means(result, cand_draws[name] - base_draws[name], b_values, c_values):  # type: ignore[arg-type]
            result.test = TEST
    return found


def apply_repeats(
    assessment: Assessment,
    sets: Sequence[RepeatSet],
    metric_names: Sequence[str],
    replicates: int,
    seed: int,
) -> None:
    """Give repeated models their intervals over repeats, and test every comparison that
    involves one by :func:`compare_repeats` (in place; seeds as :func:`assess` derives them)."""
    by_name = {s.name: s for s in sets}
    base = by_name[assessment.baseline]
    for index, found in enumerate(sets):
        if found.repeated:
            assessment.intervals[found.name] = repeat_intervals(found, replicates, seed + index)
    replaced: dict[str, list[Comparison]] = {}
    for index, found in enumerate(sets):
        if found.name != base.name and (found.repeated or base.repeated):
            pairing = assessment.pairings[found.name]
            replaced[found.name] = compare_repeats(
                base, found, pairing, metric_names, max(replicates, 0), seed + 1000 + index
            )
    if replaced:  # in the candidates' order, as before
        assessment.comparisons = [
            c
            for found in sets
            for c in replaced.get(found.name)
            or [c for c in assessment.comparisons if c.candidate == found.name]
        ]


def pair_test(sets: Sequence[RepeatSet]) -> Callable[..., list[Comparison] | None]:
    """For :func:`significance_ranks`: pairs that involve a repeated model are tested by
    :func:`compare_repeats`; others are left to the metric's own test."""
    by_name = {s.name: s for s in sets}

    def test(
        first: RunEvaluation,
        second: RunEvaluation,
        pairing: Pairing,
        names: Sequence[str],
        replicates: int,
        seed: int,
    ) -> list[Comparison] | None:
        a, b = by_name[first.name], by_name[second.name]
        if not (a.repeated or b.repeated):
            return None
        return compare_repeats(a, b, pairing, names, replicates, seed)

    return test


def repeats_note(repeats: RepeatSet) -> str:
    first = repeats.labels[0]
    return (
        f"{repeats.name}: {len(repeats.members)} repeats ({', '.join(repeats.labels)}); the "
        "leaderboard and these comparisons use every repeat (mean, and a standard error that "
        f"counts the seeds' spread); curves, matrices, thresholds and slices show {first}."
    )


def repeats_summary(repeats: RepeatSet) -> dict[str, object]:
    """The JSON's ``repeats`` entry: each repeat's metrics and their spread."""
    names = list(repeats.members[0].metrics)
    return {
        "n": len(repeats.members),
        "labels": repeats.labels,
        "sources": [str(m.encoded.run.path) for m in repeats.members],
        "metrics": {
            name: {**(repeats.spread(name) or {}), "values": repeats.values(name)} for name in names
        },
    }


def spread_text(repeats: RepeatSet, metric: str, text: Callable[[float], str]) -> str:
    """ "3 repeats: 0.761–0.779, sd 0.009" (values formatted by ``text``)."""
    return spread_of_text(len(repeats.members), repeats.values(metric), text)
