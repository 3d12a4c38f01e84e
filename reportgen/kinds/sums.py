"""The shared base of kinds whose metrics are functions of per-example sums: perplexity,
generation, lm-eval sample logs, regression and multilabel runs.

A :class:`SumsKind` says which per-example columns a run sums
(:meth:`SumsKind.example_columns`) and how metrics follow from the sums
(:meth:`SumsKind.from_sums`). This module then gives every such kind exact metrics, bootstrap
intervals over examples, paired comparisons with the baseline (McNemar's exact test for 0/1
outcomes, the paired bootstrap otherwise) and per-slice values, the same way. Runs are
compared only within their group: an lm-eval sample log with logs of the same task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.ingest.base import ExampleRun
from reportgen.ingest.runs import scalar_values
from reportgen.kinds.base import Context, Kind, KindResult, Mapper
from reportgen.kinds.efficiency import efficiency_metrics
from reportgen.kinds.sums_repeats import (
    SumsRepeats,
    compare_repeats,
    repeat_intervals,
    repeat_sets,
)
from reportgen.stats import significance as compare
from reportgen.stats.bootstrap import MIN_INTERVAL_EXAMPLES, resampled_sums, too_few_note
from reportgen.stats.comparison import Comparison, significance_ranks
from reportgen.stats.pairing import Pairing, _id_strings, id_note, id_order, match_ids
from reportgen.stats.slicing import MISSING, labeller, value_order


@dataclass
class LanguageResult:
    """One run of a sums kind, evaluated."""

    run: Any
    kind: SumsKind
    metrics: dict[str, float | None]
    columns: dict[str, np.ndarray]  # per-example values the metrics are sums of
    intervals: dict[str, list[float] | None] = field(default_factory=dict)
    efficiency: dict[str, float] = field(default_factory=dict)
    metric_notes: dict[str, str] = field(default_factory=dict)  # why a metric is missing
    per_label: dict[str, np.ndarray] = field(default_factory=dict)  # multilabel with scores
    notes: list[str] = field(default_factory=list)  # what evaluating noticed (too few examples)

    @property
    def name(self) -> str:
        return str(self.run.name)

    @property
    def group(self) -> str:
        return str(self.run.group)

    @property
    def headline(self) -> list[str]:
        return self.kind.headline(self)


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

    def summary_of(self, group: str, model: str) -> list[dict[str, object]]:
        """One run's slices as the JSON summary lists them, in the shape every kind uses
        (value, n, small, worst: the slice large enough to count with the worst headline
        value, metrics); the headline also under its own name, as schema 2 first wrote it."""
        at = {v: i for i, v in enumerate(self.values)}
        mine = [c for c in self.cells if c.model == model and c.group == group]
        mine.sort(key=lambda c: at.get(c.value, len(at)))
        counted = [c for c in mine if not c.small and c.score is not None]
        worst = None
        if counted:
            sign = 1.0 if registry.lower_is_better(counted[0].metric) else -1.0
            worst = max(counted, key=lambda c: sign * float(c.score or 0.0)).value
        return [
            {
                "value": c.value,
                "n": c.n,
                "small": c.small,
                "worst": c.value == worst,
                "metrics": {c.metric: c.score},
                c.metric: c.score,
            }
            for c in mine
        ]


@dataclass
class LanguageAssessment(KindResult):
    """A sums kind's runs, evaluated, with intervals, comparisons and slices."""

    results: list[LanguageResult] = field(default_factory=list)
    baselines: dict[str, str] = field(default_factory=dict)  # group -> its baseline model
    pairings: dict[tuple[str, str], Pairing] = field(default_factory=dict)  # (group, cand)
    slices: list[LMSlices] = field(default_factory=list)
    ranks: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> model -> rank
    repeats: dict[tuple[str, str], SumsRepeats] = field(default_factory=dict)  # (group, model)


def _check_targets(
    base: ExampleRun, cand: ExampleRun, base_rows: np.ndarray, cand_rows: np.ndarray
) -> None:
    """Runs paired by id must score the same targets: a sample log or answers whose
    reference differs for one id is an error naming it (labels, for regression, too)."""
    a, b = base.targets, cand.targets
    if a is not None and b is not None:
        a, b = a[base_rows], b[cand_rows]
        differ = np.flatnonzero(a != b)
        if len(differ):
            first = int(differ[0])
            ident = _id_strings(np.asarray(base.ids))[base_rows[first]]
            shown = [str(v).replace("\x1f", " | ")[:80] for v in (a[first], b[first])]
            raise ReportgenError(
                f"{base.kind} runs {base.shown_name!r} and {cand.shown_name!r} disagree on the "
                f"target of id "
                f"{ident} ({shown[0]!r} against {shown[1]!r}; {len(differ)} ids in all); "
                "compare runs on the same examples"
            )


def _binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0) | (values == 1)))


def _interval_of(replicates: np.ndarray, exact: float | None) -> list[float] | None:
    if exact is None or not np.isfinite(exact):
        return None
    found = compare.percentile_interval(replicates, exact, exact)
    return None if found is None else [found[0], found[1]]


class SumsKind(Kind):
    """A kind whose metrics are functions of per-example column sums."""

    leaderboard_metrics: ClassVar[int] = 1  # headline metrics per group on a leaderboard
    compared_metrics: ClassVar[tuple[str, ...] | None] = None  # None: every summed column

    # --- what each kind says ---------------------------------------------------------------

    def example_columns(
        self, run: Any
    ) -> tuple[dict[str, np.ndarray], dict[str, float | None], dict[str, str], dict[str, Any]]:
        """(per-example columns, metrics not from sums, notes on missing metrics,
        per-label arrays) of one run."""
        raise NotImplementedError

    def from_sums(self, run: Any, sums: dict[str, Any], n: int | np.ndarray) -> dict[str, Any]:
        """Metric values (scalars, or one per replicate or slice) from column sums over n."""
        return {name: np.divide(total, n) for name, total in sums.items()}

    def headline(self, result: LanguageResult) -> list[str]:
        return list(result.columns)

    def stat_columns(self, result: LanguageResult) -> list[str]:
        """The columns the bootstrap resamples."""
        return list(result.columns)

    def compared(self, base: LanguageResult, cand: LanguageResult) -> list[str]:
        """The metrics compared with the baseline: ``compared_metrics`` both runs have, or
        else every column both runs sum."""
        if self.compared_metrics is None:
            return [m for m in base.columns if m in cand.columns]
        return [
            m
            for m in self.compared_metrics
            if base.metrics.get(m) is not None and cand.metrics.get(m) is not None
        ]

    def same_targets(self, base: Any, cand: Any) -> str | None:
        """What two equally long runs share row by row (None when they differ)."""
        return None

    def extra_intervals(self, result: LanguageResult) -> dict[str, list[float] | None]:
        return {}

    # --- the shared evaluation -------------------------------------------------------------

    def evaluate_run(self, run: Any) -> LanguageResult:
        """Exact metrics of one run (plus efficiency, when it logged latency, tokens or cost)."""
        columns, exact, notes, per_label = self.example_columns(run)
        sums = {k: float(v.sum()) for k, v in columns.items()}
        metrics: dict[str, float | None] = {
            k: None if not np.isfinite(v) else float(v)
            for k, v in self.from_sums(run, sums, run.n_examples).items()
        }
        metrics |= exact
        for name in notes:
            metrics.setdefault(name, None)
        result = LanguageResult(
            run=run,
            kind=self,
            metrics=metrics,
            columns=columns,
            metric_notes=notes,
            per_label=per_label,
        )
        result.efficiency = efficiency_metrics(run.extra, str(run.path))
        result.metrics.update(result.efficiency)
        return result

    def run_intervals(
        self, result: LanguageResult, replicates: int, seed: int
    ) -> dict[str, list[float] | None]:
        """95% percentile intervals over examples resampled with replacement."""
        names = self.stat_columns(result)
        if replicates <= 0:
            return {m: None for m in result.metrics}
        if result.run.n_examples < MIN_INTERVAL_EXAMPLES:
            result.notes.append(too_few_note(result.run.n_examples))
            return {m: None for m in result.metrics}
        order = id_order(result.run.ids)  # resample in id order: row order changes nothing
        sums = resampled_sums([result.columns[c][order] for c in names], replicates, seed)
        reps = self.from_sums(
            result.run, {c: sums[:, j] for j, c in enumerate(names)}, result.run.n_examples
        )
        found: dict[str, list[float] | None] = {m: None for m in result.metrics}
        for metric, values in reps.items():
            found[metric] = _interval_of(np.asarray(values), result.metrics.get(metric))
        found.update(self.extra_intervals(result))
        return found

    def pair(self, base: Any, cand: Any) -> Pairing:
        """By id when both runs have ids; by row when they are the same length and hold the
        same targets (:meth:`same_targets`); else unpaired."""
        if base.ids is not None and cand.ids is not None:
            base_rows, cand_rows = match_ids(base.ids, cand.ids)
            if len(base_rows) == 0:
                raise ReportgenError(
                    f"{base.kind} runs {base.name!r} and {cand.name!r} share no example ids; "
                    "compare runs on the same examples"
                )
            _check_targets(base, cand, base_rows, cand_rows)
            note = id_note(len(base_rows), base.name, base.n_examples, cand.name, cand.n_examples)
            return Pairing("id", base_rows, cand_rows, note)
        if base.n_examples == cand.n_examples:
            same = self.same_targets(base, cand)
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

    def compare(
        self,
        base: LanguageResult,
        cand: LanguageResult,
        pairing: Pairing,
        replicates: int,
        seed: int,
    ) -> list[Comparison]:
        """Each compared metric of ``cand`` against ``base``: delta, 95% interval, p-value."""
        names = self.stat_columns(base)
        if names != self.stat_columns(cand):
            names = [c for c in names if c in cand.columns]
        compared = self.compared(base, cand)
        paired = pairing.baseline_rows is not None
        if paired:
            assert pairing.candidate_rows is not None
            ids = base.run.ids
            order = id_order(None if ids is None else ids[pairing.baseline_rows])
            base_rows, cand_rows = pairing.baseline_rows[order], pairing.candidate_rows[order]
            base_cols = {c: base.columns[c][base_rows] for c in names}
            cand_cols = {c: cand.columns[c][cand_rows] for c in names}
            n_base = n_cand = pairing.n_paired
        else:  # each run in its own id order: row order changes nothing
            base_order, cand_order = id_order(base.run.ids), id_order(cand.run.ids)
            base_cols = {c: base.columns[c][base_order] for c in names}
            cand_cols = {c: cand.columns[c][cand_order] for c in names}
            n_base, n_cand = base.run.n_examples, cand.run.n_examples
        base_exact = self.from_sums(base.run, {c: v.sum() for c, v in base_cols.items()}, n_base)
        cand_exact = self.from_sums(cand.run, {c: v.sum() for c, v in cand_cols.items()}, n_cand)
        base_reps = cand_reps = None
        few = replicates > 0 and min(n_base, n_cand) < MIN_INTERVAL_EXAMPLES
        if replicates > 0 and not few:
            if paired:
                sums = resampled_sums([*base_cols.values(), *cand_cols.values()], replicates, seed)
                k = len(names)
                base_sums, cand_sums = sums[:, :k], sums[:, k:]
            else:
                base_sums = resampled_sums(list(base_cols.values()), replicates, seed)
                cand_sums = resampled_sums(list(cand_cols.values()), replicates, seed + 1)
            base_reps = self.from_sums(
                base.run, {c: base_sums[:, j] for j, c in enumerate(names)}, n_base
            )
            cand_reps = self.from_sums(
                cand.run, {c: cand_sums[:, j] for j, c in enumerate(names)}, n_cand
            )
        found = []
        for metric in compared:
            b, c = float(base_exact[metric]), float(cand_exact[metric])
            delta = c - b
            ci = p = se = deltas = discordant = None
            test = "bootstrap-paired" if paired else "bootstrap-unpaired"
            if base_reps is not None and cand_reps is not None:
                deltas = np.asarray(cand_reps[metric]) - np.asarray(base_reps[metric])
                interval = compare.percentile_interval(deltas, delta, delta)
                ci = None if interval is None else interval
                wald = compare.wald_p_value(deltas, delta, delta)
                if wald is not None:
                    p, se = wald
            if (
                paired
                and metric in base_cols
                and _binary(base_cols[metric])
                and _binary(cand_cols[metric])
            ):
                base_right, cand_right = base_cols[metric] == 1, cand_cols[metric] == 1
                p = compare.mcnemar_exact(base_right, cand_right)
                discordant = compare.discordance(base_right, cand_right)
                test = "mcnemar-exact"
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
                    se=se,
                    draws=deltas,
                    discordance=discordant,
                    shared_only=paired
                    and (
                        pairing.n_paired < base.run.n_examples
                        or pairing.n_paired < cand.run.n_examples
                    ),
                    reason=f"{min(n_base, n_cand)} examples: too few for a bootstrap test"
                    if few and p is None
                    else "",
                )
            )
        return found

    def assess(
        self,
        runs: Sequence[Any],
        baseline: str | None,
        replicates: int,
        seed: int,
        mapper: Mapper,
    ) -> LanguageAssessment:
        """Evaluate every run, give each an interval, and compare each group's candidates with
        the group's baseline (``baseline`` if it has a run in the group, else the group's
        first). p-values stay raw: the pipeline corrects them within the board."""
        results: list[LanguageResult] = mapper(self.evaluate_run, list(runs))
        sets = repeat_sets(self, results)
        repeated = {(s.group, s.name): s for s in sets if s.repeated}
        if repeated:  # one result per model: the first repeat's, with mean metrics
            results = [s.mean_result() for s in sets]

        def with_intervals(index: int) -> dict[str, list[float] | None]:
            own = repeated.get((results[index].group, results[index].name))
            if own is not None:
                return repeat_intervals(self, own, replicates, seed + 2000 + index)
            return self.run_intervals(results[index], replicates, seed + 2000 + index)

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
                pairing = self.pair(results[base_index].run, results[i].run)
                pairings[(group, results[i].name)] = pairing
                jobs.append((base_index, i, pairing))

        def versus(job: tuple[int, int, Pairing]) -> list[Comparison]:
            b, c, pairing = job
            return self.compare_models(
                results[b], results[c], pairing, replicates, seed + 3000 + c, repeated
            )

        comparisons: list[Comparison] = [c for found in mapper(versus, jobs) for c in found]
        return LanguageAssessment(
            kind=self.name,
            baseline=next(iter(baselines.values()), ""),
            models=list(dict.fromkeys(r.name for r in results)),
            comparisons=comparisons,
            results=results,
            baselines=baselines,
            pairings=pairings,
            repeats=repeated,
        )

    def compare_models(
        self,
        base: LanguageResult,
        cand: LanguageResult,
        pairing: Pairing,
        replicates: int,
        seed: int,
        repeated: dict[tuple[str, str], SumsRepeats],
    ) -> list[Comparison]:
        """:meth:`compare`, or for a model given as repeats the test of the means."""
        b, c = repeated.get((base.group, base.name)), repeated.get((cand.group, cand.name))
        if b is None and c is None:
            return self.compare(base, cand, pairing, replicates, seed)
        b = b or SumsRepeats([base], [base.columns])
        c = c or SumsRepeats([cand], [cand.columns])
        return compare_repeats(self, b, c, pairing, replicates, seed)

    def ranks(
        self,
        results: Sequence[LanguageResult],
        replicates: int,
        seed: int,
        repeated: dict[tuple[str, str], SumsRepeats] | None = None,
    ) -> dict[str, dict[str, int]]:
        """Tie-aware ranks per group of three or more models, on the group's first headline
        metric: every pair compared by the kind's own test (see
        :func:`reportgen.stats.comparison.significance_ranks`)."""
        found: dict[str, dict[str, int]] = {}
        for group in dict.fromkeys(r.group for r in results):
            members = [r for r in results if r.group == group]
            if len(members) < 3:
                continue
            metric = members[0].headline[0]
            pairs = []
            for i, first in enumerate(members):
                for j in range(i + 1, len(members)):
                    second = members[j]
                    pairing = self.pair(first.run, second.run)
                    pairs += [
                        c
                        for c in self.compare_models(
                            first,
                            second,
                            pairing,
                            replicates,
                            seed + 9000 + 97 * i + j,
                            repeated or {},
                        )
                        if c.metric == metric
                    ]
            found[group] = significance_ranks([r.name for r in members], pairs)
        return found

    def slice(
        self, results: Sequence[LanguageResult], column: str, bins: int, min_size: int
    ) -> LMSlices | None:
        """The first headline metric of every run per value of ``column`` (None when no run
        has the column). Numeric columns are cut at the first run's quantiles."""
        having = [(r, _slice_column(r.run.extra, column)) for r in results]
        having = [(r, c) for r, c in having if c is not None]
        if not having:
            return None
        first, first_col = having[0]
        edges, labels = labeller(first.run.extra[first_col], bins)
        cells: list[LMSliceCell] = []
        values: list[str] = []
        for result, col in having:
            run = result.run
            series = scalar_values(run.extra[col], run.path, run.format, col, "slice")
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
            sums = {
                c: np.bincount(codes, weights=v, minlength=k) for c, v in result.columns.items()
            }
            per_value = self.from_sums(result.run, sums, np.maximum(counts, 1))
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
        else:
            values = sorted(values, key=lambda v: (v == MISSING, value_order(v)))
        return LMSlices(column, values, cells)

    # --- the Kind interface, shared --------------------------------------------------------

    def evaluate(self, runs: list[Any], ctx: Context) -> LanguageAssessment | None:
        if not runs:
            return None
        options = ctx.options
        plural = "s" if len(runs) > 1 else ""
        ctx.say(f"Evaluating {len(runs)} {self.name} run{plural}")
        found = self.assess(runs, ctx.baseline, options.bootstrap, options.seed, ctx.mapper)
        found.ranks = self.ranks(found.results, options.bootstrap, options.seed, found.repeats)
        for column in dict.fromkeys(options.slices):
            analysis = self.slice(found.results, column, options.slice_bins, options.min_slice_size)
            if analysis is not None:
                found.slices.append(analysis)
        return found


def _slice_column(extra: pd.DataFrame, column: str) -> str | None:
    if column in extra.columns:
        return column
    lower = {str(c).lower(): str(c) for c in extra.columns}
    return lower.get(column.lower())
