"""Classification runs larger than memory, evaluated by an engine (DuckDB or Spark) where they
lie: the same :class:`~reportgen.kinds.classification.kind.ClassificationResult` as in memory,
from aggregated statistics; per-example views are limited to bounded top-k lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reportgen.engines.choice import ENGINE_NAMES, EngineChoice, open_engine
from reportgen.engines.joint import assess_tables, stage_rows
from reportgen.engines.slicing import mistakes, slice_analysis
from reportgen.engines.tables import aggregate, align_ids, evaluate_table, open_run
from reportgen.errors import ReportgenError
from reportgen.ingest.runs import ColumnNames, check_classes, sort_classes
from reportgen.kinds.base import Mapper, Options, Progress
from reportgen.kinds.classification.curves import costs_of
from reportgen.kinds.classification.kind import ClassificationResult, result_of


def engine_note(choice: EngineChoice) -> str:
    """Why the report was built by an engine, as the page says it under the verdict."""
    if choice.reason:
        return choice.reason + "."
    return (
        f"Statistics computed by {ENGINE_NAMES[choice.name]} where the files lie; "
        "per-example views are limited to top-k lists."
    )


def evaluate_out_of_core(
    runs: Sequence[Any],
    choice: EngineChoice,
    options: Options,
    spark_master: str,
    say: Progress,
    mapper: Mapper,
    check_names: Callable[[list[str], str], None] = lambda names, baseline: None,
) -> ClassificationResult:
    """``check_names(models, baseline)`` runs once the run names are known, before any pass
    over the data (the gates' names are checked there)."""
    task = options.task
    if task is not None and task not in ("binary", "multiclass"):
        raise ReportgenError(
            f"--task {task}: the {choice.name} engine evaluates binary and multiclass runs; "
            "use --engine memory"
        )
    engine = open_engine(choice, spark_master)
    say(f"Reading {len(runs)} run(s) with {choice.name}")
    tables = [open_run(engine, r, ColumnNames.of(options)) for r in runs]
    align_ids(engine, tables)
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        repeated = next(n for i, n in enumerate(names) if n in names[:i])
        raise ReportgenError(f"two runs are named {repeated!r}; name them NAME=PATH")
    baseline = options.baseline
    if baseline is not None and baseline not in names:
        raise ReportgenError(
            f"--baseline {baseline!r} is not a run name; runs are: {', '.join(names)}"
        )
    resolved = baseline or names[0]
    check_names(names, resolved)
    say("Aggregating statistics")
    threshold, positive = options.threshold, options.positive_label
    found = [aggregate(engine, t, threshold, task, positive) for t in tables]
    run_task = found[0].task
    for f in found[1:]:
        if f.task != run_task:
            raise ReportgenError(
                f"{f.run.name} is a {f.task} run and {found[0].run.name} a {run_task} one; "
                f"out of core, compare runs of one task (--task {run_task}, or one run per "
                "report)"
            )
    widest = max(found, key=lambda f: len(f.labels))
    classes = sort_classes(set().union(*(f.labels for f in found)))
    check_classes(len(classes), widest.run.path)
    evaluations = [evaluate_table(engine, f, classes, positive, threshold) for f in found]
    stage_rows(engine, found, evaluations, options.top_k)
    say(
        f"Bootstrapping intervals ({options.bootstrap:,} replicates) and comparing with the "
        "baseline"
    )
    assessment = assess_tables(
        engine,
        found,
        evaluations,
        resolved,
        options.unpaired,
        options.bootstrap,
        options.seed,
        threshold,
        mapper,
    )
    analyses = []
    for column in dict.fromkeys(options.slices):
        say(f"Slicing by {column}")
        analyses.append(
            slice_analysis(
                engine, found, evaluations, column, resolved, options.min_slice_size, threshold
            )
        )
    say("Drawing charts")
    top = {
        e.name: mistakes(engine, f, e, options.top_k, threshold)
        for f, e in zip(found, evaluations, strict=True)
    }
    return result_of(evaluations, assessment, analyses, top, costs_of(options.cost))
