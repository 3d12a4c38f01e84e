"""Confidence intervals for every run, and paired comparisons against the baseline."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import (
    HEADLINE,
    RunEvaluation,
    metric_values,
    run_stats,
)
from reportgen.kinds.classification.pairing import pair_runs
from reportgen.kinds.classification.resample import build_cells, cell_stats, replicate_metrics
from reportgen.stats import significance as compare
from reportgen.stats.bootstrap import MIN_INTERVAL_EXAMPLES, too_few_note
from reportgen.stats.comparison import Comparison
from reportgen.stats.comparison import significance_ranks as ranks_of
from reportgen.stats.pairing import Pairing


@dataclass
class RunReplicates:
    """A run's bootstrap replicates per metric, with the estimates they are centred on."""

    replicates: dict[str, np.ndarray]
    on_cells: dict[str, float | None]
    # multiclass ROC AUC metric -> each example's influence (the delta method, not resampled)
    influence: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _normal_interval(value: float, variance: float) -> tuple[float, float] | None:
    if not math.isfinite(variance):
        return None
    half = compare.Z95 * math.sqrt(variance)
    return value - half, value + half


def run_replicates(
    encoded: EncodedRun, metric_names: Sequence[str], replicates: int, seed: int
) -> RunReplicates:
    cells = build_cells([encoded])
    names = list(metric_names)
    values = replicate_metrics(cells, replicates, seed, names)[0]
    on_cells, _ = metric_values(cell_stats(cells, 0, cells.counts))
    return RunReplicates(values, on_cells, ovr_influence(encoded))


def ovr_influence(encoded: EncodedRun) -> dict[str, np.ndarray]:
    """Influence of each example on the macro and weighted one-vs-rest AUCs."""
    if encoded.task != "multiclass" or encoded.scores is None:
        return {}
    classes, per_class = compare.ovr_auc_influences(encoded.y_true, encoded.scores)
    if not classes:
        return {}
    support = np.bincount(encoded.y_true, minlength=len(encoded.classes))[classes]
    return {
        "roc_auc_ovr_macro": per_class.mean(axis=1),
        "roc_auc_ovr_weighted": per_class @ (support / support.sum()),
    }


def intervals(evaluation: RunEvaluation, reps: RunReplicates) -> dict[str, list[float] | None]:
    """95% interval of every metric of a run (None where the metric or its interval is)."""
    found: dict[str, list[float] | None] = {}
    for name, value in evaluation.metrics.items():
        interval = None
        on_cells = reps.on_cells.get(name)
        if value is not None and on_cells is not None:
            interval = compare.percentile_interval(reps.replicates[name], value, on_cells)
        elif value is not None and name in reps.influence:
            interval = _normal_interval(value, float(np.sum(reps.influence[name] ** 2)))
        found[name] = list(interval) if interval else None
    return found


def compare_runs(
    baseline: RunEvaluation,
    candidate: RunEvaluation,
    pairing: Pairing,
    metric_names: Sequence[str],
    replicates: int,
    seed: int,
    run_reps: tuple[RunReplicates | None, RunReplicates | None] = (None, None),
) -> list[Comparison]:
    """Delta, interval and test of each metric, candidate minus baseline."""
    if not pairing.paired:
        return _compare_unpaired(baseline, candidate, metric_names, *run_reps)
    assert pairing.baseline_rows is not None and pairing.candidate_rows is not None
    base = baseline.encoded.subset(pairing.baseline_rows)
    cand = candidate.encoded.subset(pairing.candidate_rows)
    # every example paired: the metrics (and AUC influences) of the whole runs still hold
    whole = pairing.n_paired == len(baseline.encoded.y_true) == len(candidate.encoded.y_true)
    if whole:
        base_values, cand_values = baseline.metrics, candidate.metrics
    else:
        base_values, _ = metric_values(run_stats(base))
        cand_values, _ = metric_values(run_stats(cand))
    reps = cells = None
    if replicates:
        cells = build_cells([base, cand])
        reps = replicate_metrics(cells, replicates, seed, list(metric_names))
        cells_base, _ = metric_values(cell_stats(cells, 0, cells.counts))
        cells_cand, _ = metric_values(cell_stats(cells, 1, cells.counts))
    found = []
    paired_influences = None  # computed once, for the first one-vs-rest AUC metric
    for name in metric_names:
        b, c = base_values.get(name), cand_values.get(name)
        delta = None if b is None or c is None else c - b
        result = Comparison(
            baseline.name, candidate.name, name, b, c, delta, None, None, "none", pairing.n_paired
        )
        found.append(result)
        if result.delta is None:
            continue
        if reps is not None and name in reps[0] and name in reps[1]:
            result.draws = reps[1][name] - reps[0][name]  # for max-T's correlation
        test = declared_test(name)
        if test == "delong":
            _delong_test(result, base, cand)
            continue
        if test == "delong-ovr":
            if whole and all(r is not None and name in r.influence for r in run_reps):
                base_reps, cand_reps = run_reps
                assert base_reps is not None and cand_reps is not None
                base_influence = base_reps.influence[name][pairing.baseline_rows]
                cand_influence = cand_reps.influence[name][pairing.candidate_rows]
            else:
                if paired_influences is None:
                    paired_influences = _paired_ovr_influences(base, cand)
                base_influence = paired_influences[0].get(name)
                cand_influence = paired_influences[1].get(name)
            if base_influence is not None and cand_influence is not None:
                _ovr_auc_test(result, cand_influence - base_influence)
            continue
        if test == "mcnemar-exact":
            base_right, cand_right = base.y_pred == base.y_true, cand.y_pred == cand.y_true
            result.p_value = compare.mcnemar_exact(base_right, cand_right)
            result.discordance = compare.discordance(base_right, cand_right)
            result.test = "mcnemar-exact"
        if reps is None or cells_base.get(name) is None or cells_cand.get(name) is None:
            continue
        on_cells = cells_cand[name] - cells_base[name]  # type: ignore[operator]
        deltas = result.draws
        assert deltas is not None
        result.ci = compare.percentile_interval(deltas, result.delta, on_cells)
        wald = compare.wald_p_value(deltas, result.delta, on_cells)
        if wald is not None:
            result.se = wald[1]
            if test != "mcnemar-exact":
                result.p_value = wald[0]
                result.test = "bootstrap-paired"
    return found


def _normal_test(result: Comparison, variance: float, test: str) -> None:
    assert result.delta is not None
    result.ci = _normal_interval(result.delta, variance)
    result.test = test
    if math.isfinite(variance) and variance > 0:
        result.se = math.sqrt(variance)
        result.p_value = compare.normal_two_sided_p(result.delta / result.se)
    elif variance == 0:  # the same scores (or no pair that ranks differently): nothing varies
        result.se = 0.0
        result.p_value = 1.0 if result.delta == 0 else 0.0
    else:
        result.reason = "fewer than two positive or two negative examples are paired"


def _delong_test(result: Comparison, base: EncodedRun, cand: EncodedRun) -> None:
    assert base.scores is not None and cand.scores is not None
    _, variance, _ = compare.delong(base.y_true == base.positive, base.scores, cand.scores)
    _normal_test(result, variance, "delong")


def _ovr_auc_test(result: Comparison, influence: np.ndarray | None) -> None:
    """DeLong's method for the difference of two one-vs-rest AUC averages."""
    if influence is not None:
        _normal_test(result, float(np.sum(influence**2)), "delong-ovr")


def _paired_ovr_influences(
    base: EncodedRun, cand: EncodedRun
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Both models' one-vs-rest AUC influences on the paired rows, side by side (one sort per
    class and model)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        base_all, cand_all = pool.map(ovr_influence, (base, cand))
    return base_all, cand_all


def _compare_unpaired(
    baseline: RunEvaluation,
    candidate: RunEvaluation,
    metric_names: Sequence[str],
    base_reps: RunReplicates | None,
    cand_reps: RunReplicates | None,
) -> list[Comparison]:
    found = []
    for name in metric_names:
        b, c = baseline.metrics.get(name), candidate.metrics.get(name)
        result = Comparison(
            baseline.name,
            candidate.name,
            name,
            b,
            c,
            None if b is None or c is None else c - b,
            None,
            None,
            "none",
            0,
        )
        found.append(result)
        if base_reps is None or cand_reps is None:
            continue
        cb, cc = base_reps.on_cells.get(name), cand_reps.on_cells.get(name)
        if result.delta is None or cb is None or cc is None:
            continue
        deltas = cand_reps.replicates[name] - base_reps.replicates[name]
        result.ci = compare.percentile_interval(deltas, result.delta, cc - cb)
        wald = compare.wald_p_value(deltas, result.delta, cc - cb)
        if wald is not None:
            result.p_value, result.se = wald
            result.test = "bootstrap-unpaired"
    return found


@dataclass
class Assessment:
    """Intervals of every run and comparisons of every candidate against the baseline."""

    baseline: str
    replicates: int
    seed: int
    intervals: dict[str, dict[str, list[float] | None]]  # run -> metric -> [low, high]
    pairings: dict[str, Pairing]  # candidate -> how it was paired with the baseline
    comparisons: list[Comparison]


def enough(*evaluations: RunEvaluation) -> bool:
    """Whether every run has examples enough for bootstrap intervals."""
    return all(e.encoded.run.n_examples >= MIN_INTERVAL_EXAMPLES for e in evaluations)


def assess(
    evaluations: Sequence[RunEvaluation],
    baseline: str | None = None,
    unpaired: bool = False,
    replicates: int = 1000,
    seed: int = 0,
    parallel_map: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
) -> Assessment:
    """Bootstrap intervals for each run; paired tests of each candidate against the baseline.

    Seeds are derived from ``seed`` and each run's position, so results do not depend on
    thread timing.
    """
    mapper = parallel_map or (lambda f, items: [f(i) for i in items])
    names = [e.name for e in evaluations]
    baseline = baseline or names[0]
    if baseline not in names:
        raise ReportgenError(
            f"--baseline {baseline!r} is not a run name; runs are: {', '.join(names)}"
        )
    base_index = names.index(baseline)
    base = evaluations[base_index]
    candidates = [e for e in evaluations if e.name != baseline]
    pairings = {c.name: pair_runs(base.encoded, c.encoded, unpaired) for c in candidates}

    def replicate(index: int) -> RunReplicates | None:
        if replicates <= 0:
            return None  # no intervals; paired tests without the bootstrap still run
        evaluation = evaluations[index]
        if evaluation.encoded.run.n_examples < MIN_INTERVAL_EXAMPLES:
            evaluation.notes.append(too_few_note(evaluation.encoded.run.n_examples))
            return None
        return run_replicates(
            evaluation.encoded, list(evaluation.metrics), replicates, seed + index
        )

    per_run = mapper(replicate, list(range(len(evaluations))))
    interval_map = {
        e.name: (intervals(e, reps) if reps is not None else {m: None for m in e.metrics})
        for e, reps in zip(evaluations, per_run, strict=True)
    }
    headline = HEADLINE[base.task]

    def versus(index: int) -> list[Comparison]:
        candidate = evaluations[index]
        pairing = pairings[candidate.name]
        return compare_runs(
            base,
            candidate,
            pairing,
            headline,
            max(replicates, 0) if enough(base, candidate) else 0,
            seed + 1000 + index,
            (per_run[base_index], per_run[index]),
        )

    found: list[Comparison] = []
    for result in mapper(versus, [i for i, e in enumerate(evaluations) if e.name != baseline]):
        found += result
    return Assessment(baseline, replicates, seed, interval_map, pairings, found)


def declared_test(metric: str) -> str:
    """How the metric registry says ``metric`` is compared (the paired bootstrap if it is not
    registered)."""
    found = registry.get(metric)
    return found.test if found is not None else "bootstrap"


def significance_ranks(
    evaluations: Sequence[RunEvaluation],
    metric: str,
    unpaired: bool,
    replicates: int,
    seed: int,
    pair_test: Callable[..., list[Comparison] | None] | None = None,
) -> dict[str, int] | None:
    """Tie-aware ranks on one metric, for three or more models: each model's rank is 1 plus
    the number of models significantly better than it, every pair tested with the metric's
    own test and Holm over all pairs. Models that cannot be told apart share a rank, e.g.
    1, 1, 3 (HELM's "significance groups"). None for fewer than three models. ``pair_test``
    may test a pair its own way (it returns None to leave the pair to the metric's test)."""
    if len(evaluations) < 3:
        return None
    # McNemar's and DeLong's tests need no replicates: draw them only for bootstrap metrics
    needed = replicates if declared_test(metric) == "bootstrap" else 0
    pairs: list[Comparison] = []
    for i, first in enumerate(evaluations):
        for j in range(i + 1, len(evaluations)):
            second = evaluations[j]
            pairing = pair_runs(first.encoded, second.encoded, unpaired)
            own_seed = seed + 9000 + 97 * i + j
            special = None
            if pair_test is not None:  # e.g. repeats: a test of their means
                special = pair_test(first, second, pairing, [metric], replicates, own_seed)
            if special is None:
                special = compare_runs(first, second, pairing, [metric], needed, own_seed)
            pairs += special
    return ranks_of([e.name for e in evaluations], pairs)
