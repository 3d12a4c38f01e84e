"""Runs whose metrics are functions of per-example sums -> metrics, bootstrap intervals,
comparisons with the baseline and slices, reusing the classification side's
:class:`~reportgen.uncertainty.Comparison`.

Language-model runs (perplexity, generation, lm-eval sample logs), regression and multilabel
runs all take this path: each kind says which per-example columns it sums and how metrics
follow from the sums (:mod:`reportgen.language`, :mod:`reportgen.regression`,
:mod:`reportgen.multilabel`). Runs are compared only within their group: perplexity with
perplexity, regression with regression, an lm-eval sample log with logs of the same task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.language import PerplexityRun, TextRun
from reportgen.ingest.tabular import MultilabelRun, RegressionRun
from reportgen.kinds import efficiency
from reportgen.kinds import multilabel_metrics as multilabel
from reportgen.kinds import perplexity_metrics as language
from reportgen.kinds import regression_metrics as regression
from reportgen.kinds.classification.assess import Comparison, settle
from reportgen.kinds.classification.slices import MISSING, _labeller
from reportgen.kinds.textmatch import score_answers
from reportgen.stats import significance as compare
from reportgen.stats.pairing import Pairing, _comparable_ids

LMRun = PerplexityRun | TextRun | RegressionRun | MultilabelRun
Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
PERPLEXITY_COMPARED = ("perplexity", "bits_per_byte")


@dataclass
class LanguageResult:
    """One perplexity or text run, evaluated."""

    run: LMRun
    metrics: dict[str, float | None]
    columns: dict[str, np.ndarray]  # per-example values the metrics are sums of
    intervals: dict[str, list[float] | None] = field(default_factory=dict)
    efficiency: dict[str, float] = field(default_factory=dict)
    metric_notes: dict[str, str] = field(default_factory=dict)  # why a metric is missing
    per_label: dict[str, np.ndarray] = field(default_factory=dict)  # multilabel with scores

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def group(self) -> str:
        return self.run.group

    @property
    def headline(self) -> list[str]:
        return headline_metrics(self)


@dataclass
class LMSliceCell:
    group: str
    model: str
    value: str
    n: int
    small: bool
    metric: str
    score: float | None


@dataclass
class LMSlices:
    column: str
    values: list[str]
    cells: list[LMSliceCell]


@dataclass
class LanguageAssessment:
    results: list[LanguageResult]
    baselines: dict[str, str]  # group -> the baseline model of that group
    pairings: dict[tuple[str, str], Pairing]  # (group, candidate) -> pairing
    comparisons: list[Comparison]
    slices: list[LMSlices] = field(default_factory=list)


def headline_metrics(result: LanguageResult) -> list[str]:
    if isinstance(result.run, RegressionRun):
        return list(regression.HEADLINE)
    if isinstance(result.run, MultilabelRun):
        return list(multilabel.HEADLINE)
    if isinstance(result.run, PerplexityRun):
        return [m for m in ("perplexity", "bits_per_byte", "mean_nll") if m in result.metrics]
    return list(result.columns)


def _stat_columns(result: LanguageResult) -> list[str]:
    if isinstance(result.run, PerplexityRun):
        return [c for c in ("nll", "tokens", "bytes") if c in result.columns]
    return list(result.columns)


def metrics_from_sums(run: LMRun, sums: dict[str, Any], n: int | np.ndarray) -> dict[str, Any]:
    """Metric values (scalars or one per replicate) from column sums over n examples."""
    if isinstance(run, RegressionRun):
        return regression.metrics_from_sums(sums, n)
    if isinstance(run, MultilabelRun):
        return multilabel.metrics_from_sums(sums, n, len(run.label_names))
    if isinstance(run, PerplexityRun):
        return language.perplexity_metrics(sums["nll"], sums["tokens"], sums.get("bytes"))
    return {name: np.divide(total, n) for name, total in sums.items()}


def evaluate_language(run: LMRun) -> LanguageResult:
    """Exact metrics of one run (plus efficiency, when it logged latency, tokens or cost)."""
    exact: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    per_label: dict[str, np.ndarray] = {}
    if isinstance(run, RegressionRun):
        columns = regression.example_columns(run.labels, run.predictions)
        exact = dict(regression.order_metrics(run.labels, run.predictions))
        notes = regression.metric_notes(run.labels)
    elif isinstance(run, MultilabelRun):
        columns = multilabel.example_columns(run.y_true, run.y_pred, run.scores)
        if run.scores is not None:  # one sort per label, shared by the metrics, table and JSON
            auc, ap, undefined = multilabel.per_label_ranking(run.y_true, run.scores)
            exact, notes = multilabel.ranking_metrics(auc, ap, undefined, run.label_names)
            per_label = {"roc_auc": auc, "average_precision": ap}
    elif isinstance(run, PerplexityRun):
        columns = {"nll": run.nll, "tokens": run.num_tokens}
        if run.num_bytes is not None:
            columns["bytes"] = run.num_bytes
    elif run.sample_metrics:
        columns = dict(run.sample_metrics)
    else:
        columns = score_answers(run.predictions, run.references)
    sums = {k: float(v.sum()) for k, v in columns.items()}
    metrics: dict[str, float | None] = {
        k: None if not np.isfinite(v) else float(v)
        for k, v in metrics_from_sums(run, sums, run.n_examples).items()
    }
    metrics |= exact
    for name in notes:
        metrics.setdefault(name, None)
    result = LanguageResult(
        run=run, metrics=metrics, columns=columns, metric_notes=notes, per_label=per_label
    )
    result.efficiency = efficiency.efficiency_metrics(run.extra)
    result.metrics.update(result.efficiency)
    return result


def _interval_of(replicates: np.ndarray, exact: float | None) -> list[float] | None:
    if exact is None or not np.isfinite(exact):
        return None
    found = compare.percentile_interval(replicates, exact, exact)
    return None if found is None else [found[0], found[1]]


def run_intervals(
    result: LanguageResult, replicates: int, seed: int
) -> dict[str, list[float] | None]:
    """95% percentile intervals over examples resampled with replacement."""
    names = _stat_columns(result)
    if replicates <= 0:
        return {m: None for m in result.metrics}
    sums = language.resampled_sums([result.columns[c] for c in names], replicates, seed)
    reps = metrics_from_sums(
        result.run, {c: sums[:, j] for j, c in enumerate(names)}, result.run.n_examples
    )
    found: dict[str, list[float] | None] = {m: None for m in result.metrics}
    for metric, values in reps.items():
        found[metric] = _interval_of(np.asarray(values), result.metrics.get(metric))
    if isinstance(result.run, RegressionRun):
        found["median_absolute_error"] = regression.median_interval(result.columns["abs_error"])
    return found


def pair_language(base: LMRun, cand: LMRun) -> Pairing:
    """By id when both runs have ids; by row when they are the same length and (perplexity)
    the same token counts or (text) the same references; else unpaired."""
    if base.ids is not None and cand.ids is not None:
        a, b = _comparable_ids(base.ids, cand.ids)
        position = pd.Index(a).get_indexer(b)
        matched = position >= 0
        if not matched.any():
            raise ReportgenError(
                f"{base.kind} runs {base.name!r} and {cand.name!r} share no example ids; "
                "compare runs on the same examples"
            )
        cand_rows = np.flatnonzero(matched)
        base_rows = position[matched]
        order = np.argsort(base_rows, kind="stable")
        n = len(order)
        note = f"Paired by id: {n:,} examples matched"
        if n < base.n_examples or n < cand.n_examples:
            note += f" ({base.n_examples:,} in {base.name}, {cand.n_examples:,} in {cand.name})"
        return Pairing("id", base_rows[order], cand_rows[order], note + ".")
    if base.n_examples == cand.n_examples:
        same = _same_targets(base, cand)
        if same:
            rows = np.arange(base.n_examples)
            return Pairing(
                "row",
                rows,
                rows.copy(),
                f"Paired by row: no id column, but the runs hold the same {len(rows):,} "
                + same
                + " in the same order.",
            )
    return Pairing(
        "unpaired", None, None, "Unpaired: no shared ids and the examples differ row by row."
    )


def _same_targets(base: LMRun, cand: LMRun) -> str | None:
    """What two equally long runs share row by row (None when they differ): their targets."""
    if isinstance(base, PerplexityRun) and isinstance(cand, PerplexityRun):
        return "token counts" if np.array_equal(base.num_tokens, cand.num_tokens) else None
    if isinstance(base, TextRun) and isinstance(cand, TextRun):
        return "references" if base.references == cand.references else None
    if isinstance(base, RegressionRun) and isinstance(cand, RegressionRun):
        return "labels" if np.array_equal(base.labels, cand.labels) else None
    if isinstance(base, MultilabelRun) and isinstance(cand, MultilabelRun):
        same = base.label_names == cand.label_names and np.array_equal(base.y_true, cand.y_true)
        return "label sets" if same else None
    return None


def _compared(base: LanguageResult, cand: LanguageResult) -> list[str]:
    if isinstance(base.run, RegressionRun | MultilabelRun):
        spec = regression.COMPARED if isinstance(base.run, RegressionRun) else multilabel.COMPARED
        return [
            m for m in spec if base.metrics.get(m) is not None and cand.metrics.get(m) is not None
        ]
    if isinstance(base.run, PerplexityRun):
        return [m for m in PERPLEXITY_COMPARED if m in base.metrics and m in cand.metrics]
    return [m for m in base.columns if m in cand.columns]


def _binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def compare_language(
    base: LanguageResult, cand: LanguageResult, pairing: Pairing, replicates: int, seed: int
) -> list[Comparison]:
    """Each compared metric of ``cand`` against ``base``: delta, 95% interval, p-value."""
    names = _stat_columns(base)
    if names != _stat_columns(cand):
        names = [c for c in names if c in cand.columns]
    compared = _compared(base, cand)
    paired = pairing.baseline_rows is not None
    if paired:
        assert pairing.candidate_rows is not None
        base_cols = {c: base.columns[c][pairing.baseline_rows] for c in names}
        cand_cols = {c: cand.columns[c][pairing.candidate_rows] for c in names}
        n_base = n_cand = pairing.n_paired
    else:
        base_cols = {c: base.columns[c] for c in names}
        cand_cols = {c: cand.columns[c] for c in names}
        n_base, n_cand = base.run.n_examples, cand.run.n_examples
    base_exact = metrics_from_sums(base.run, {c: v.sum() for c, v in base_cols.items()}, n_base)
    cand_exact = metrics_from_sums(cand.run, {c: v.sum() for c, v in cand_cols.items()}, n_cand)
    base_reps = cand_reps = None
    if replicates > 0:
        if paired:
            sums = language.resampled_sums(
                [*base_cols.values(), *cand_cols.values()], replicates, seed
            )
            k = len(names)
            base_sums, cand_sums = sums[:, :k], sums[:, k:]
        else:
            base_sums = language.resampled_sums(list(base_cols.values()), replicates, seed)
            cand_sums = language.resampled_sums(list(cand_cols.values()), replicates, seed + 1)
        base_reps = metrics_from_sums(
            base.run, {c: base_sums[:, j] for j, c in enumerate(names)}, n_base
        )
        cand_reps = metrics_from_sums(
            cand.run, {c: cand_sums[:, j] for j, c in enumerate(names)}, n_cand
        )
    found = []
    for metric in compared:
        b, c = float(base_exact[metric]), float(cand_exact[metric])
        delta = c - b
        ci = p = None
        test = "paired bootstrap" if paired else "bootstrap (unpaired)"
        if base_reps is not None and cand_reps is not None:
            deltas = np.asarray(cand_reps[metric]) - np.asarray(base_reps[metric])
            interval = compare.percentile_interval(deltas, delta, delta)
            ci = None if interval is None else interval
            p = compare.bootstrap_p_value(deltas, delta, delta)
        if (
            paired
            and metric in base_cols
            and _binary(base_cols[metric])
            and _binary(cand_cols[metric])
        ):
            p = compare.mcnemar_exact(base_cols[metric] == 1, cand_cols[metric] == 1)
            test = "McNemar exact"
        found.append(
            Comparison(
                baseline=base.name,
                candidate=cand.name,
                metric=metric,
                baseline_value=b,
                candidate_value=c,
                delta=delta,
                ci=ci,
                p_value=p,
                test=test,
                n_paired=pairing.n_paired,
                scope=base.group,
            )
        )
    return found


def assess_language(
    runs: Sequence[LMRun],
    baseline: str | None,
    replicates: int,
    seed: int,
    mapper: Mapper,
) -> LanguageAssessment:
    """Evaluate every run, give each an interval, and compare each group's candidates with
    the group's baseline (``baseline`` if it has a run in the group, else the group's first)."""
    results: list[LanguageResult] = mapper(evaluate_language, list(runs))

    def with_intervals(index: int) -> dict[str, list[float] | None]:
        return run_intervals(results[index], replicates, seed + 2000 + index)

    for result, found in zip(
        results, mapper(with_intervals, list(range(len(results)))), strict=True
    ):
        result.intervals = found
    groups: dict[str, list[int]] = {}
    for i, result in enumerate(results):
        groups.setdefault(result.group, []).append(i)
    baselines: dict[str, str] = {}
    jobs = []
    pairings: dict[tuple[str, str], Pairing] = {}
    for group, members in groups.items():
        names = [results[i].name for i in members]
        base_name = baseline if baseline in names else names[0]
        baselines[group] = base_name
        base_index = members[names.index(base_name)]
        for i in members:
            if i == base_index:
                continue
            pairing = pair_language(results[base_index].run, results[i].run)
            pairings[(group, results[i].name)] = pairing
            jobs.append((base_index, i, pairing))

    def versus(job: tuple[int, int, Pairing]) -> list[Comparison]:
        b, c, pairing = job
        return compare_language(results[b], results[c], pairing, replicates, seed + 3000 + c)

    comparisons: list[Comparison] = [c for found in mapper(versus, jobs) for c in found]
    settle(comparisons)
    return LanguageAssessment(results, baselines, pairings, comparisons)


def _slice_column(extra: pd.DataFrame, column: str) -> str | None:
    if column in extra.columns:
        return column
    lower = {str(c).lower(): str(c) for c in extra.columns}
    return lower.get(column.lower())


def slice_language(
    results: Sequence[LanguageResult], column: str, bins: int, min_size: int
) -> LMSlices | None:
    """The first headline metric of every run per value of ``column`` (None when no run has
    the column). Numeric columns are cut at the first run's quantiles."""
    having = [(r, _slice_column(r.run.extra, column)) for r in results]
    having = [(r, c) for r, c in having if c is not None]
    if not having:
        return None
    first, first_col = having[0]
    edges, labels = _labeller(first.run.extra[first_col], bins)
    cells: list[LMSliceCell] = []
    values: list[str] = []
    for result, col in having:
        series = result.run.extra[col]
        if edges is None or labels is None:
            codes, uniques = pd.factorize(series.astype("string"), sort=True)
            names = [str(u) for u in uniques]
        else:
            x = series.to_numpy(dtype=np.float64, na_value=np.nan)
            codes = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, len(labels) - 1)
            codes = np.where(np.isnan(x), -1, codes)
            names = list(labels)
        codes = np.asarray(codes, dtype=np.int64).copy()
        if (codes < 0).any():
            codes[codes < 0] = len(names)
            names.append(MISSING)
        k = len(names)
        counts = np.bincount(codes, minlength=k)
        sums = {c: np.bincount(codes, weights=v, minlength=k) for c, v in result.columns.items()}
        per_value = metrics_from_sums(result.run, sums, np.maximum(counts, 1))
        metric = result.headline[0]
        for j, value in enumerate(names):
            if counts[j] == 0:
                continue
            score = float(np.asarray(per_value[metric])[j])
            cells.append(
                LMSliceCell(
                    result.group,
                    result.name,
                    value,
                    int(counts[j]),
                    bool(counts[j] < min_size),
                    metric,
                    score if np.isfinite(score) else None,
                )
            )
            if value not in values:
                values.append(value)
    if labels is not None:
        values = [v for v in [*labels, MISSING] if v in values]
    return LMSlices(column, values, cells)
