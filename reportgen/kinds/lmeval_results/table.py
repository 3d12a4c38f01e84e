"""lm-evaluation-harness results across models: each task's primary metric, the comparison of
every candidate with the baseline, and warnings about unlike settings.

The two models' results are treated as independent estimates: z = (c - b) / sqrt(se_b² + se_c²)
with lm-eval's standard errors. On the same test items that is conservative (a paired test
would be tighter); per-sample logs give the paired McNemar test instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reportgen import formatting as fmt
from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.ingest.lmeval import BenchmarkRun, TaskResult, group_leaves
from reportgen.stats import significance as compare
from reportgen.stats import stepdown
from reportgen.stats.comparison import (
    ALPHA,
    Comparison,
    adjusted_interval,
    significance_ranks,
    verdict_of,
)

PRIMARY_ORDER = ("acc_norm", "acc", "exact_match")
# suites whose leaderboards report another metric than PRIMARY_ORDER would pick
PRIMARY_BY_TASK = {"truthfulqa_mc": "mc2"}  # harness 0.3: the Open LLM Leaderboard's mc2
CONVENTIONS = {  # 0.4 groups scored as a leaderboard scores them: group -> its subtask
    "truthfulqa": (
        "truthfulqa_mc2",
        "mc2",
        "truthfulqa_mc2's acc: the Open LLM Leaderboard reports TruthfulQA as mc2 "
        "(--benchmark-metric truthfulqa=acc for the group's own mean)",
    )
}
Z95 = 1.959963984540054
MAX_SHOWN_CHILDREN = 6  # a group's subtasks are listed in the leaderboard up to this many


@dataclass(frozen=True)
class Score:
    metric: str  # without the filter, e.g. acc_norm
    filter: str
    value: float
    stderr: float | None
    n_shot: int | None
    version: str | None
    higher_is_better: bool
    computed: str | None = None  # a group without its own score: how reportgen computed it
    shown_metric: str | None = None  # the name the header gives the metric ("mc2")
    subset: str | None = None  # run with --limit: "subset: 50 of 541"
    repeats: tuple[float, ...] = ()  # each repeated run's value, when the file was re-run

    @property
    def key(self) -> str:
        return f"{self.metric},{self.filter}"


@dataclass(frozen=True)
class TaskDelta:
    candidate: str
    task: str
    metric: str
    baseline_value: float
    candidate_value: float
    delta: float
    ci: tuple[float, float] | None
    p_value: float | None
    p_value_adjusted: float | None
    verdict: str  # better | worse | tie | untested
    higher_is_better: bool | None = None
    level: float | None = None  # Holm's level for this test, where the step-down stopped
    ci_adjusted: tuple[float, float] | None = None  # the interval that agrees with the verdict

    def as_comparison(self, baseline: str, family: int = 0) -> Comparison:
        """The same delta in the shape every other comparison of the report has; ``family``:
        how many tests Holm counted with it (the candidate's tested tasks)."""
        tested = self.p_value_adjusted is not None
        return Comparison(
            baseline=baseline,
            candidate=self.candidate,
            metric=self.task,
            baseline_value=self.baseline_value,
            candidate_value=self.candidate_value,
            delta=self.delta,
            ci=self.ci,
            p_value=self.p_value,
            test="z-test",
            n_paired=0,
            p_value_adjusted=self.p_value_adjusted,
            ci_adjusted=self.ci_adjusted,
            level=self.level,
            verdict=self.verdict,  # type: ignore[arg-type]
            scope="benchmark",
            se=(self.ci[1] - self.delta) / Z95 if self.ci is not None else None,
            family=family if tested else 0,
            correction=("Holm" if family > 1 else "none") if tested else "",
            higher_is_better=self.higher_is_better,
            reason="a results file gives no standard error for it"
            if self.verdict == "untested"
            else "",
        )

    def family_in(self, deltas: Sequence[TaskDelta]) -> int:
        """How many of ``deltas`` were corrected together with this one (Holm per candidate
        over its tested tasks)."""
        return sum(
            1 for d in deltas if d.candidate == self.candidate and d.p_value_adjusted is not None
        )


@dataclass
class BenchmarkTable:
    """Tasks x models of primary-metric scores, with everything the section and JSON need."""

    models: list[str]
    baseline: str
    tasks: list[str]  # every task, in first-seen order
    shown: list[str]  # the leaderboard rows: top-level tasks, groups and small groups' members
    depth: dict[str, int]  # nesting level of each shown task (0 = top level)
    aliases: dict[str, str]
    scores: dict[str, dict[str, Score]]  # model -> task -> score
    groups: dict[str, list[str]]  # group -> leaf subtasks (for heatmaps of large groups)
    deltas: list[TaskDelta] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    group_names: set[str] = field(default_factory=set)  # every task that is a group

    def summary(self) -> dict[str, object]:
        return {
            "tasks": self.tasks,
            "baseline": self.baseline,
            "models": {
                model: {
                    task: {
                        "metric": s.metric,
                        "filter": s.filter,
                        "value": s.value,
                        "stderr": s.stderr,
                        "n_shot": s.n_shot,
                        "version": s.version,
                        "higher_is_better": s.higher_is_better,
                        **({"computed": s.computed} if s.computed else {}),
                        **({"subset": s.subset} if s.subset else {}),
                        **({"repeats": list(s.repeats)} if s.repeats else {}),
                    }
                    for task, s in self.scores[model].items()
                }
                for model in self.models
            },
            "groups": self.groups,
            "comparisons": [
                {
                    "baseline": self.baseline,
                    "candidate": d.candidate,
                    "task": d.task,
                    "metric": d.metric,
                    "baseline_value": d.baseline_value,
                    "candidate_value": d.candidate_value,
                    "delta": d.delta,
                    "ci": list(d.ci) if d.ci else None,
                    "ci_adjusted": list(d.ci_adjusted) if d.ci_adjusted else None,
                    "p_value": d.p_value,
                    "p_value_adjusted": d.p_value_adjusted,
                    "test": "z-test",
                    "verdict": d.verdict,
                }
                for d in self.deltas
            ],
            "warnings": self.warnings,
        }


def primary_score(result: TaskResult, override: str | None) -> Score | None:
    """acc_norm where present, else acc, else exact_match, else the first metric; among filters,
    the first the file lists ("none" for most tasks, "strict-match" for gsm8k)."""
    keys = list(result.metrics)
    if not keys:
        return None
    if override is not None:
        wanted = [k for k in keys if k == override or k.partition(",")[0] == override]
        if not wanted:
            raise ReportgenError(
                f"--benchmark-metric {result.task}={override}: the task has no such metric; "
                f"it has {', '.join(keys)}"
            )
        key = wanted[0]
    else:
        order = (PRIMARY_BY_TASK[result.task],) if result.task in PRIMARY_BY_TASK else ()
        key = next(
            (k for name in (*order, *PRIMARY_ORDER) for k in keys if k.partition(",")[0] == name),
            keys[0],
        )
    metric, _, filt = key.partition(",")
    return Score(
        metric=metric,
        filter=filt,
        value=result.metrics[key],
        stderr=result.stderrs.get(key),
        n_shot=result.n_shot,
        version=result.version,
        higher_is_better=registry.higher_is_better(metric, result.higher_is_better.get(metric)),
        subset=_subset(result),
        repeats=tuple(result.repeats.get(key, ())),
    )


def _subset(result: TaskResult) -> str | None:
    effective, original = result.n_samples, result.n_original
    if effective is None or original is None or effective >= original:
        return None
    return f"subset: {effective:,} of {original:,}"


def group_scores(
    run: BenchmarkRun, scores: Mapping[str, Score], groups: Mapping[str, list[str]]
) -> dict[str, Score]:
    """Scores for the groups a run ran that have none of their own (lm-eval 0.4.5 and later
    write none for the Open LLM Leaderboard v2 groups): the mean of the direct subtasks'
    primary values, weighted by each subtask's sample count when the file gives every one
    (else unweighted), with SE = sqrt(Σ wᵢ² SEᵢ²) when every subtask has one. Computed only
    when the subtasks share one metric and direction; groups of groups bottom up."""
    found: dict[str, Score] = {}
    tried: set[str] = set()  # groups walked once, scored or not (shared subgroups)
    sizes_of: dict[str, int | None] = {}

    def score_of(group: str, seen: frozenset[str]) -> Score | None:
        if group in scores:
            return scores[group]
        if group in found or group in tried:
            return found.get(group)
        if group not in groups or group in seen or group not in run.tasks:
            return None
        tried.add(group)
        children = [c for c in groups[group] if c in run.tasks or c in groups]
        members = [(c, score_of(c, seen | {group})) for c in children]
        present = [(c, s) for c, s in members if s is not None]
        if not present or len(present) < len(members):
            return None
        if not all(math.isfinite(s.value) for _, s in present):
            return None
        kinds = {(s.metric, s.filter, s.higher_is_better) for _, s in present}
        if len(kinds) > 1:
            return None
        sizes = [_samples(run, c, groups, sizes_of) for c, _ in present]
        weighted = all(n is not None and n > 0 for n in sizes)
        weights = [float(n) for n in sizes] if weighted else [1.0] * len(present)  # type: ignore[arg-type]
        total = sum(weights)
        value = sum(w * s.value for w, (_, s) in zip(weights, present, strict=True)) / total
        errors = [s.stderr for _, s in present]
        stderr = None
        if all(e is not None for e in errors):
            stderr = math.sqrt(
                sum((w / total) ** 2 * e**2 for w, e in zip(weights, errors, strict=True))  # type: ignore[operator]
            )
        how = "sample-weighted" if weighted else "unweighted: sample counts unknown"
        first = present[0][1]
        found[group] = Score(
            metric=first.metric,
            filter=first.filter,
            value=value,
            stderr=stderr,
            n_shot=first.n_shot if len({s.n_shot for _, s in present}) == 1 else None,
            version=None,
            higher_is_better=first.higher_is_better,
            computed=f"mean of {len(present)} subtasks (computed, {how})",
        )
        return found[group]

    for group in groups:
        score_of(group, frozenset())
    return found


def _samples(
    run: BenchmarkRun,
    task: str,
    groups: Mapping[str, list[str]],
    known: dict[str, int | None],
    walking: frozenset[str] = frozenset(),
) -> int | None:
    """A task's sample count, or a group's without one: the sum of its subtasks' (each
    group summed once, in ``known``)."""
    result = run.tasks.get(task)
    if result is not None and result.n_samples is not None:
        return result.n_samples
    if task not in groups or task in walking:
        return None
    if task not in known:
        counts = [_samples(run, c, groups, known, walking | {task}) for c in groups[task]]
        ok = counts and all(c is not None for c in counts)
        known[task] = sum(counts) if ok else None  # type: ignore[arg-type]
    return known[task]


def _shown_tasks(
    tasks: list[str], groups: Mapping[str, list[str]]
) -> tuple[list[str], dict[str, int]]:
    members = {m for ms in groups.values() for m in ms}
    shown: list[str] = []
    depth: dict[str, int] = {}

    def visit(task: str, level: int) -> None:
        if task in depth or task not in tasks:
            return
        shown.append(task)
        depth[task] = level
        children = [c for c in groups.get(task, []) if c in tasks]
        if 0 < len(children) <= MAX_SHOWN_CHILDREN:
            for child in sorted(children):
                visit(child, level + 1)

    for task in tasks:
        if task not in members:
            visit(task, 0)
    return shown, depth


def benchmark_table(
    runs: Sequence[BenchmarkRun], baseline: str | None, overrides: Mapping[str, str]
) -> BenchmarkTable:
    models = [r.name for r in runs]
    base = baseline if baseline in models else models[0]
    unknown = sorted(set(overrides) - {t for r in runs for t in r.tasks})
    if unknown:
        raise ReportgenError(
            f"--benchmark-metric names task {unknown[0]!r}, which no lm-eval result holds"
        )
    tasks: list[str] = []
    aliases: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    scores: dict[str, dict[str, Score]] = {}
    for run in runs:
        for task, result in run.tasks.items():
            if task not in aliases:
                tasks.append(task)
                aliases[task] = result.alias
        for group, members in run.groups.items():
            groups.setdefault(group, members)
        scores[run.name] = {}
        for task, result in run.tasks.items():
            score = primary_score(result, overrides.get(task))
            if score is not None:
                scores[run.name][task] = score
        for group, (subtask, shown, why) in CONVENTIONS.items():
            if group in scores[run.name] and subtask in scores[run.name] and group not in overrides:
                scores[run.name][group] = replace(
                    scores[run.name][subtask], computed=why, shown_metric=shown
                )
        scores[run.name] |= group_scores(run, scores[run.name], groups)
    shown, depth = _shown_tasks(tasks, groups)
    leaves = group_leaves(groups)
    leaf_groups = {
        g: [t for t in leaves[g] if t in aliases]
        for g in groups
        if len(leaves[g]) > MAX_SHOWN_CHILDREN
    }
    # outermost large groups only: MMLU, not also its four categories
    inner = {m for g in leaf_groups for m in groups.get(g, []) if m in leaf_groups}
    leaf_groups = {g: v for g, v in leaf_groups.items() if g not in inner and v}
    table = BenchmarkTable(
        models=models,
        baseline=base,
        tasks=tasks,
        shown=shown,
        depth=depth,
        aliases=aliases,
        scores=scores,
        groups=leaf_groups,
    )
    table.group_names = {g for g, members in groups.items() if members}
    table.deltas = _deltas(table)
    table.warnings = _setting_warnings(table)
    return table


def _deltas(table: BenchmarkTable) -> list[TaskDelta]:
    """Every candidate against the baseline on every task both ran with the same metric;
    Holm-adjusted per candidate over its tasks."""
    found: list[TaskDelta] = []
    base = table.scores[table.baseline]
    for model in table.models:
        if model == table.baseline:
            continue
        rows = []
        for task in table.tasks:
            b, c = base.get(task), table.scores[model].get(task)
            if b is None or c is None or b.key != c.key:
                continue
            if not (math.isfinite(b.value) and math.isfinite(c.value)):
                continue  # Infinity or NaN: shown, with a warning, not compared
            delta = c.value - b.value
            ci = p = None
            if b.stderr is not None and c.stderr is not None:
                se = math.hypot(b.stderr, c.stderr)
                if se > 0:
                    ci = (delta - Z95 * se, delta + Z95 * se)
                    p = compare.normal_two_sided_p(delta / se)
            rows.append((task, b, c, delta, ci, p))
        tested = [r for r in rows if r[5] is not None]
        holm = stepdown.holm([r[5] for r in tested], ALPHA)
        adjusted = dict(zip([r[0] for r in tested], holm.adjusted, strict=True))
        levels = dict(zip([r[0] for r in tested], holm.levels, strict=True))
        for task, b, c, delta, ci, p in rows:
            adj = adjusted.get(task)
            level = levels.get(task)
            se = (ci[1] - delta) / Z95 if ci is not None else None
            shown = None if level is None else adjusted_interval(delta, p, se, level)
            # not adj < ALPHA: a NaN adjusted p-value is not a tie (as before)
            significant = None if adj is None else not adj >= ALPHA
            verdict = verdict_of(delta, significant, b.higher_is_better)
            found.append(
                TaskDelta(
                    model,
                    task,
                    b.metric,
                    b.value,
                    c.value,
                    delta,
                    ci,
                    p,
                    adj,
                    verdict,
                    b.higher_is_better,
                    level,
                    shown,
                )
            )
    return found


def task_ranks(table: BenchmarkTable, task: str) -> dict[str, int] | None:
    """Tie-aware ranks on one task for three or more models with its score and standard
    error: every pair by the z-test on the two standard errors, Holm over the pairs."""
    having = [m for m in table.models if task in table.scores[m]]
    scores = [table.scores[m][task] for m in having]
    if len(having) < 3 or any(s.stderr is None for s in scores):
        return None
    if len({s.key for s in scores}) > 1:
        return None  # different metrics or filters: not comparable
    pairs = []
    for i, first in enumerate(scores):
        for j in range(i + 1, len(scores)):
            second = scores[j]
            delta = second.value - first.value
            se = math.hypot(first.stderr, second.stderr)  # type: ignore[arg-type]
            p = compare.normal_two_sided_p(delta / se) if se > 0 else (1.0 if not delta else 0.0)
            pairs.append(
                Comparison(
                    having[i],
                    having[j],
                    first.metric,
                    first.value,
                    second.value,
                    delta,
                    None,
                    p,
                    "z-test",
                    0,
                    se=se or None,
                    higher_is_better=first.higher_is_better,
                )
            )
    return significance_ranks(having, pairs)


def fmt_value(value: float) -> str:
    """Infinity, −Infinity and NaN as words; other values with 3 decimals."""
    if math.isnan(value):
        return "NaN"
    return fmt.rate(value)


def _setting_warnings(table: BenchmarkTable) -> list[str]:
    """One line per kind of difference between the models' runs, with how many tasks it
    touches and the first few (two models x 57 MMLU subjects is one line, not 114)."""
    kinds: dict[str, list[str]] = {}

    def shown(value: object) -> str:
        return "not given" if value is None else str(value)

    for task in table.tasks:
        present = {m: table.scores[m][task] for m in table.models if task in table.scores[m]}
        odd = {m: s for m, s in present.items() if not math.isfinite(s.value)}
        if odd:
            detail = ", ".join(f"{m} {fmt_value(s.value)}" for m, s in odd.items())
            kinds.setdefault("values that are not finite, as the files report them", []).append(
                f"{task} ({detail})"
            )
        if len(present) < 2:
            continue
        for what, attribute in (("n-shot settings", "n_shot"), ("task versions", "version")):
            values = {getattr(s, attribute) for s in present.values()}
            if len(values) > 1:
                detail = ", ".join(
                    f"{m} {shown(getattr(s, attribute))}" for m, s in present.items()
                )
                kinds.setdefault(f"different {what}", []).append(f"{task} ({detail})")
        if len({s.key for s in present.values()}) > 1:
            detail = ", ".join(f"{m} {s.key}" for m, s in present.items())
            kinds.setdefault("no common primary metric, so not compared", []).append(
                f"{task} ({detail})"
            )
    warnings = []
    for what, tasks in kinds.items():
        more = f"; and {len(tasks) - 3} more" if len(tasks) > 3 else ""
        plural = "s" if len(tasks) != 1 else ""
        warnings.append(f"{len(tasks)} task{plural} with {what}: {'; '.join(tasks[:3])}{more}.")
    missing = []
    for model in table.models:
        lacking = [t for t in table.tasks if t not in table.scores[model]]
        if lacking:
            more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
            missing.append(f"{model} lacks {', '.join(lacking[:5])}{more}")
    if missing:
        warnings.append("Not every model ran every task: " + "; ".join(missing) + ".")
    return warnings
