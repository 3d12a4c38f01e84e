"""lm-evaluation-harness results: each task's primary metric ± its standard error per model,
compared with the baseline by a z-test on the two standard errors (Holm over a model's tasks).

Files: a results JSON (``{"results": ...}``) or an lm-eval output folder, whose results files
(one per suite) merge into one run and whose sample logs become runs of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.ingest.files import detect_format
from reportgen.ingest.inspect_logs import is_inspect_folder
from reportgen.ingest.lmeval import (
    BenchmarkRun,
    is_lmeval_file,
    lmeval_results,
    model_identity,
    read_results,
)
from reportgen.ingest.lmeval_folders import lmeval_folder_runs
from reportgen.ingest.runs import _stem
from reportgen.kinds.base import BoardColumn, BoardPart, Context, Kind, KindResult, SummaryPart
from reportgen.kinds.cells import metadata_items, ranked_verdict
from reportgen.kinds.lmeval_results.table import BenchmarkTable, benchmark_table, task_ranks
from reportgen.kinds.lmeval_results.views import benchmark_section, repeats_text
from reportgen.model import RunInfo, Section
from reportgen.stats.score import Score


@dataclass
class BenchmarkResult(KindResult):
    """The models x tasks table; its deltas are kept apart from the report's comparisons."""

    table: BenchmarkTable | None = None
    runs: list[BenchmarkRun] = field(default_factory=list)
    ranks: dict[str, int] | None = None  # tie-aware ranks on the leaderboard's first task
    ranked_task: str | None = None


class LmevalResultsKind(Kind):
    name = "lm-eval results"
    title = "lm-eval results"
    board = "lm"
    board_title = "Language models"
    board_rank = 0  # the suites' scores lead the language-model leaderboard
    run_types = (BenchmarkRun,)

    def owns(self, run: Any) -> bool:
        return type(run) is BenchmarkRun  # other harnesses' scores are a kind of their own

    def claims_file(self, path: Path) -> bool:
        if path.is_dir():
            return not any(path.glob("predictions.*")) and not is_inspect_folder(path)
        try:
            return detect_format(path) == "json" and is_lmeval_file(path)
        except ReportgenError:
            return False  # not a type of ours: another kind's, or refused when read

    def load_file(self, path: Path, name: str | None) -> list[Any]:
        if path.is_dir():
            return lmeval_folder_runs(path, name)
        return [lmeval_results([path], name or _default_name(path), path)]

    def metric_names(self, runs: Any) -> set[str]:
        return {task for run in runs for task in run.tasks}

    def evaluate(self, runs: list[Any], ctx: Context) -> BenchmarkResult | None:
        asked = ctx.options.benchmark_metrics
        # every benchmark task of the report (lm-eval's and other harnesses'): an override of a
        # task another kind holds is that kind's; one that no kind holds is refused
        every = {t for r in ctx.runs if isinstance(r, BenchmarkRun) for t in r.tasks}
        if not runs:
            if asked and not every:
                raise ReportgenError(
                    "--benchmark-metric given, but no lm-eval results among the runs"
                )
            return None
        mine = {t for run in runs for t in run.tasks}
        overrides = {k: v for k, v in asked.items() if k in mine or k not in every}
        table = benchmark_table(runs, ctx.baseline, overrides)
        found = BenchmarkResult(
            self.name, table.baseline, list(table.models), table=table, runs=runs
        )
        # the kind corrects its own tests (Holm over each candidate's tasks): the verdicts of
        # its tables and board are the comparisons' verdicts
        found.comparisons = [
            d.as_comparison(table.baseline, d.family_in(table.deltas)) for d in table.deltas
        ]
        found.settled = True
        found.ranked_task = next(iter(_board_tasks(table)), None)
        if found.ranked_task is not None:
            found.ranks = task_ranks(table, found.ranked_task)
        return found

    def on_board(self, result: BenchmarkResult, ctx: Context) -> BoardPart:
        return BoardPart(columns=self.columns(result, ctx), verdict=self.verdict(result))

    def columns(self, result: BenchmarkResult, ctx: Context) -> list[BoardColumn]:
        table = result.table
        deltas: dict[str, dict[str, Any]] = {}
        for d in table.deltas:
            deltas.setdefault(d.task, {})[d.candidate] = d.as_comparison(table.baseline)
        columns = []
        for task in _board_tasks(table):
            present = [table.scores[m][task] for m in table.models if task in table.scores[m]]
            columns.append(
                BoardColumn(
                    key=("benchmark", task),
                    metric=task,
                    header=f"{table.aliases[task]} ({present[0].shown_metric or present[0].metric}"
                    + (
                        ", computed mean"
                        if (present[0].computed or "").startswith("mean of")
                        else ""
                    )
                    + ")"
                    + _subset_badge(table, task),
                    values={
                        m: table.scores[m][task].value
                        for m in table.models
                        if task in table.scores[m]
                    },
                    intervals={
                        m: (
                            f"± {fmt.rate(table.scores[m][task].stderr)} stderr"
                            if table.scores[m][task].stderr is not None
                            else ""
                        )
                        for m in table.models
                        if task in table.scores[m]
                    },
                    higher_is_better=present[0].higher_is_better,
                    deltas=deltas.get(task, {}),
                    stderr=True,
                    ranks=result.ranks if task == result.ranked_task else None,
                    spread={
                        m: text
                        for m in table.models
                        if task in table.scores[m]
                        and (text := repeats_text(table.scores[m][task])) is not None
                    },
                )
            )
        return columns

    def verdict(self, result: BenchmarkResult) -> list[str]:
        """ "chat beats base on 12 of 40 benchmark tasks (worse on 2) and 3 of 5 groups (worse
        on 0)": leaf tasks and groups counted apart, since a group restates its subtasks; led
        by the majority of the significant differences, and by the best model when three or
        more are ranked."""
        table = result.table
        clauses = {}
        for model in table.models:
            mine = [d for d in table.deltas if d.candidate == model and d.verdict != "untested"]
            if not mine:
                continue
            better = sum(d.verdict == "better" for d in mine)
            worse = sum(d.verdict == "worse" for d in mine)
            lead_worse = worse > better
            counted = []
            for what, members in (
                ("benchmark tasks", [d for d in mine if d.task not in table.group_names]),
                ("groups", [d for d in mine if d.task in table.group_names]),
            ):
                if members:
                    up = sum(d.verdict == "better" for d in members)
                    down = sum(d.verdict == "worse" for d in members)
                    main, other = (down, up) if lead_worse else (up, down)
                    word = "better" if lead_worse else "worse"
                    counted.append(f"{main} of {len(members)} {what} ({word} on {other})")
            verb = f"is worse than {table.baseline}" if lead_worse else f"beats {table.baseline}"
            clauses[model] = f"{model} {verb} on {' and '.join(counted)}"
        return ranked_verdict(
            clauses, result.ranks, result.ranked_task or "", table.baseline, table.deltas
        )

    def sections(self, result: BenchmarkResult, ctx: Context) -> list[Section]:
        table = result.table
        if ctx.drawn is not None:  # the charts and the tasks table show the drawn models
            table = replace(
                table,
                models=[m for m in table.models if ctx.draws(m)],
                deltas=[d for d in table.deltas if ctx.draws(d.candidate)],
            )
        return [benchmark_section(table, ctx.colours)]

    def run_infos(self, result: BenchmarkResult, ctx: Context) -> list[RunInfo]:
        infos = []
        for run in result.runs:
            n_tasks = len(run.tasks)
            infos.append(
                RunInfo(
                    name=run.name,
                    colour=ctx.colours[run.name],
                    path=str(run.path),
                    sha256=run.sha256,
                    n_examples=fmt.count(run.n_examples) if run.n_examples else fmt.MISSING,
                    task=f"lm-eval results ({n_tasks} task{'s' if n_tasks != 1 else ''})",
                    classes=None,
                    positive_label=None,
                    predictions_from=None,
                    columns=[("files", ", ".join(p.name for p in run.files))],
                    metadata=metadata_items(run.metadata),
                    notes=run.notes,
                )
            )
        return infos

    def summary(self, result: BenchmarkResult) -> SummaryPart:
        runs = [
            {
                "name": run.name,
                "task": "benchmark",
                "n_examples": run.n_examples,
                "source": {
                    "path": str(run.path),
                    "sha256": run.sha256,
                    "format": run.format,
                    "files": [str(p) for p in run.files],
                },
                "metadata": run.metadata,
                "notes": run.notes,
                **(
                    {"rank": {"metric": result.ranked_task, "rank": result.ranks[run.name]}}
                    if result.ranks and run.name in result.ranks
                    else {}
                ),
            }
            for run in result.runs
        ]
        return SummaryPart(runs=runs, top={"benchmarks": result.table.summary()})

    def scores(self, result: BenchmarkResult) -> list[Score]:
        table = result.table
        runs = {run.name: run for run in result.runs}
        found = []
        for model in table.models:
            tasks = runs[model].tasks if model in runs else {}
            for task, score in table.scores.get(model, {}).items():
                found.append(
                    Score(
                        model,
                        self.name,
                        task,
                        float(score.value),
                        table.baseline,
                        stderr=score.stderr,
                        n=tasks[task].n_samples if task in tasks else None,
                        repeats=len(score.repeats) or None,
                        scope="benchmark",
                        measure=score.key,
                        higher_is_better=score.higher_is_better,
                    )
                )
        return found


LMEVAL_RESULTS = LmevalResultsKind()


def _board_tasks(table: BenchmarkTable) -> list[str]:
    """The tasks the leaderboard shows: every top-level task and group with a score, whatever
    its range (a perplexity, a 0-100 judge score, a negative MCC)."""
    found = []
    for task in table.shown:
        present = [table.scores[m][task] for m in table.models if task in table.scores[m]]
        if table.depth[task] == 0 and present:
            found.append(task)
    return found


def _default_name(path: Path) -> str:
    """A results file's run name: its model (``model_name``, ``pretrained=``), else the
    folder it sits in when that is lm-eval's model folder, else the file's stem."""
    identity = model_identity(read_results(path))
    if identity:
        return identity
    return (
        path.parent.name if path.name.startswith("results_") and path.parent.name else _stem(path)
    )


def _subset_badge(table: BenchmarkTable, task: str) -> str:
    """ " · subset: 50 of 541" when a model ran the task with --limit (naming the models
    when not all did)."""
    subsets = {m: table.scores[m][task].subset for m in table.models if task in table.scores[m]}
    found = {m: s for m, s in subsets.items() if s}
    if not found:
        return ""
    if len(found) == len(subsets) and len(set(found.values())) == 1:
        return f" · {next(iter(found.values()))}"
    return " · " + "; ".join(f"{m} {s}" for m, s in found.items())
