"""The pipeline in one call: run arguments -> loaded runs -> each kind's evaluation and
comparisons -> the report model (leaderboards, verdict, sections) -> charts -> a
:class:`~reportgen.report.Report`, which renders itself in every output format.

It is a loop over the registered kinds (:data:`reportgen.kinds.KINDS`); nothing here knows a
kind by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from reportgen import kinds as registry
from reportgen.charts import draw_all
from reportgen.engines.choice import choose_engine, parse_memory
from reportgen.engines.evaluate import engine_note, evaluate_out_of_core
from reportgen.errors import ReportgenError
from reportgen.gates import Gate, check_names, evaluate_gates, parse_gates
from reportgen.ingest.base import RunBase
from reportgen.ingest.runs import ColumnNames
from reportgen.ingest.sources import load_sources
from reportgen.kinds.base import DEFAULT_MAX_POINTS, Context, Kind, KindResult, Options
from reportgen.kinds.board import board_table, shaped
from reportgen.kinds.classification.curves import parse_costs
from reportgen.kinds.lmeval_results.table import parse_overrides
from reportgen.model import RunInfo, Section, Table, model_colours
from reportgen.parallel import parallel_map
from reportgen.profiling import stage
from reportgen.render import fallbacks
from reportgen.report import Report, generation_time
from reportgen.stats.comparison import MULTIPLICITY, settle

Progress = Callable[[str], None]
RunSource = Any  # a path, "NAME=PATH", or a run object
HISTORY_SCALES = ("auto", "linear", "log")
TASKS = ("binary", "multiclass", "multilabel", "regression", "generation")
KIND_TASKS = ("generation", "regression", "multilabel")  # force how every run file is read


MAX_BOOTSTRAP = 1_000_000  # beyond this, a build would run for hours


def build_report(
    runs: Sequence[RunSource],
    *,
    title: str | None = None,
    task: str | None = None,
    positive_label: str | None = None,
    threshold: float | None = None,
    cost: str | None = None,
    columns: ColumnNames | None = None,
    timestamp: bool = True,
    baseline: str | None = None,
    unpaired: bool = False,
    repeats: bool = False,
    multiplicity: str = "per-comparison",
    bootstrap: int = 1000,
    seed: int = 0,
    top_k: int = 20,
    text_col: str | None = None,
    slices: Sequence[str] = (),
    slice_bins: int = 4,
    min_slice_size: int = 30,
    benchmark_metrics: Sequence[str] = (),
    histories: Sequence[Any] = (),
    history_scale: str = "auto",
    fail_if: Sequence[str] = (),
    embeddings: Sequence[str] = (),
    max_points: int = DEFAULT_MAX_POINTS,
    progress: Progress | None = None,
    engine: str = "auto",
    memory_limit: str | int | None = None,
    spark_master: str = "local[*]",
) -> Report:
    """Load (if given paths), evaluate and lay out runs into one side-by-side report.

    Runs may be of several kinds (classification, regression, multilabel, perplexity,
    generation, lm-eval results and sample logs); each kind gets its own sections and runs are
    compared within their kind. ``embeddings`` (``NAME=PATH.npy``) and ``embedding`` columns add
    PCA/t-SNE projections of at most ``max_points`` sampled examples per classification run.
    ``cost`` (binary, e.g. ``"FP=1,FN=5"``) adds the expected cost by threshold and each
    model's cost-optimal threshold.

    >>> report = build_report(["old=a.csv", "new=b.csv"], title="v1 vs v2")  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP
    """
    say = progress or (lambda message: None)
    if bootstrap < 0:
        raise ReportgenError(f"--bootstrap {bootstrap} must be 0 (no intervals) or more")
    if bootstrap > MAX_BOOTSTRAP:
        raise ReportgenError(
            f"--bootstrap {bootstrap:,} is more than {MAX_BOOTSTRAP:,} replicates; 1,000-10,000 "
            "give intervals to the third decimal, e.g. --bootstrap 10000"
        )
    if threshold is not None and not math.isfinite(threshold):
        raise ReportgenError(f"--threshold {threshold}: give a finite number, e.g. 0.3")
    costs = _costs(cost)
    if slice_bins < 1:
        raise ReportgenError(f"--slice-bins {slice_bins} must be 1 or more, e.g. 4")
    if seed < 0:
        raise ReportgenError(f"--seed {seed} must be 0 or more")
    if task is not None and task not in TASKS:
        raise ReportgenError(f"--task {task!r} is not known; use {', '.join(TASKS)}")
    if max_points < 10:
        raise ReportgenError(f"--max-points {max_points} is too small; use 10 or more")
    if multiplicity not in MULTIPLICITY:
        raise ReportgenError(f"--multiplicity {multiplicity!r}: use per-comparison, report or none")
    if history_scale not in HISTORY_SCALES:
        raise ReportgenError(f"--history-scale {history_scale!r}: use auto, linear or log")
    options = Options(
        task=task,
        positive_label=positive_label,
        threshold=threshold,
        columns=columns or ColumnNames(),
        baseline=baseline,
        unpaired=unpaired,
        multiplicity=multiplicity,
        bootstrap=bootstrap,
        seed=seed,
        top_k=top_k,
        text_col=text_col,
        slices=tuple(slices),
        slice_bins=slice_bins,
        min_slice_size=min_slice_size,
        benchmark_metrics=parse_overrides(benchmark_metrics),
        history_scale=history_scale,
        embeddings=tuple(embeddings),
        max_points=max_points,
        costs=costs,
    )
    gates = parse_gates(fail_if)
    if not runs:
        raise ReportgenError("no runs given; pass at least one run file")
    limit = parse_memory(memory_limit) if isinstance(memory_limit, str) else memory_limit
    choice = choose_engine(engine, runs, limit)
    if choice.name != "memory":
        if choice.reason:
            say("Switching to DuckDB: the runs do not fit --memory-limit")
        with stage("evaluate"):
            found = evaluate_out_of_core(
                runs,
                choice,
                options,
                spark_master,
                say,
                parallel_map,
                lambda names, base: check_names(gates, names, set(), base),
            )
        ctx = Context(
            options, found.baseline, found.models, model_colours(found.models, found.baseline)
        )
        report = _assemble(ctx, [found], gates, title, timestamp, say)
        report.engine, report.engine_note = choice.name, engine_note(choice)
        return report
    say("Loading runs")
    with stage("load"):
        loaded = load_sources(
            runs,
            registry.KINDS,
            options.columns,
            task if task in KIND_TASKS else None,
            histories,
            parallel_map,
            repeats,
        )
    names = list(dict.fromkeys(r.name for r in loaded.runs))
    if baseline is not None and baseline not in names:
        raise ReportgenError(
            f"--baseline {baseline!r} is not a run name; runs are: {', '.join(names)}"
        )
    if text_col is not None:
        tables = [r.table for r in loaded.runs if r.table is not None]
        if not any(text_col in t.columns for t in tables):
            listed = sorted({str(c) for t in tables for c in t.columns})[:10]
            raise ReportgenError(
                f"--text-col {text_col!r}: no run has such a column; "
                + (f"columns are: {', '.join(listed)}" if listed else "the runs have no others")
            )
    everything = [*loaded.runs, *loaded.histories]
    owned = {k.name: [r for r in everything if k.owns(r)] for k in registry.KINDS}
    known = set().union(*(k.metric_names(owned[k.name]) for k in registry.KINDS))
    check_names(gates, names, known, baseline or names[0])
    everyone = names + [h.name for h in loaded.histories if h.name not in names]
    colours = model_colours(everyone, baseline or names[0])
    ctx = Context(
        options,
        baseline or names[0],
        names,
        colours,
        parallel_map,
        say,
        runs=loaded.runs,
        kinds=registry.by_name(),
    )
    with stage("evaluate"):
        for kind in registry.KINDS:
            result = kind.evaluate(owned[kind.name], ctx)
            if result is not None:
                result.runs = result.runs or owned[kind.name]
                ctx.results.append(result)
    return _assemble(ctx, ctx.results, gates, title, timestamp, say, loaded.runs)


def _unique_ids(sections: Sequence[Section]) -> None:
    """Section and figure ids unique on the page: names that differ only in punctuation
    ("a b", "a-b", "a_b") make the same slug, so later ones get -2, -3, ..."""
    seen: set[str] = set()

    def unique(wanted: str) -> str:
        found, n = wanted, 1
        while found in seen:
            n += 1
            found = f"{wanted}-{n}"
        seen.add(found)
        return found

    for section in sections:
        section.id = unique(section.id)
        for figure in section.figures:
            figure.id = unique(figure.id)


def _assemble(
    ctx: Context,
    results: list[KindResult],
    gates: list[Gate],
    title: str | None,
    timestamp: bool,
    say: Progress,
    runs: Sequence[RunBase] = (),
) -> Report:
    """Multiplicity, then the report model: leaderboards, verdict, sections, charts, gates."""
    method = ctx.options.multiplicity
    by_name = registry.by_name()
    for result in results:
        result.scores = by_name[result.kind].scores(result)
    with stage("verdicts"):
        unsettled = [r for r in results if not r.settled]
        if method == "report":
            settle([c for r in unsettled for c in r.comparisons], method)
        else:
            for result in unsettled:
                settle(result.comparisons, method)
    say("Drawing charts")
    found = [(by_name[r.kind], r) for r in results]  # each result with its kind
    boards: dict[str, list[tuple[Kind, KindResult]]] = {}
    for kind, result in found:
        boards.setdefault(kind.board, []).append((kind, result))
    leaderboard: Table | None = None
    body: list[Section] = []
    appendix: list[Section] = []
    verdicts: list[tuple[str, str]] = []  # (board title, its verdict)
    infos: list[RunInfo] = []
    for kind, result in found:
        members = boards.pop(kind.board, None)
        if members is not None:  # the first kind of its board: the board's table and verdict
            table = _board(members, ctx)
            if table is not None and leaderboard is None:
                leaderboard = table
            elif table is not None:
                heading = f"{kind.board_title}: leaderboard"
                body.append(Section(f"{kind.board}-leaderboard", heading, tables=[table]))
            ranked = sorted(members, key=lambda m: m[0].board_rank)
            parts = [p for k, r in ranked for p in k.verdict_parts(r)]
            if parts:
                verdicts.append((kind.board_title, "; ".join(parts) + "."))
        drawn = kind.sections(result, ctx)
        at = next((i for i, s in enumerate(body) if s.id == kind.before_section), len(body))
        body[at:at] = drawn
        appendix += kind.appendix(result, ctx)
        infos += kind.run_infos(result, ctx)
    if ctx.options.slices:
        _check_slices_found(ctx.options.slices, found, runs)
    body += appendix
    _unique_ids(body)
    with stage("charts"):
        draw_all(body, fallbacks.submit)
    names = list(ctx.names)
    gate_results = evaluate_gates(
        gates,
        names,
        ctx.baseline,
        [s for r in results for s in r.scores],
        [c for r in results for c in (*r.comparisons, *r.by_slice)],
    )
    kinds = _kinds(results, runs)
    classification = next((r for r in results if r.kind == "classification"), None)
    return Report(
        title=title or _default_title(names, kinds),
        task=classification.task if classification is not None else kinds,  # type: ignore[attr-defined]
        generated_at=generation_time(timestamp),
        runs=infos,
        leaderboard=leaderboard,
        sections=body,
        results=results,
        # several boards (a mixed report): each clause says which kind it is about
        verdict=" ".join(f"{t}: {v}" if len(verdicts) > 1 and t else v for t, v in verdicts),
        baseline=ctx.baseline,
        replicates=ctx.options.bootstrap,
        seed=ctx.options.seed,
        kinds=kinds,
        n_models=len(names),
        gates=gate_results,
    )


def _board(members: list[tuple[Kind, KindResult]], ctx: Context) -> Table | None:
    """A kind's own leaderboard, or one built from the columns of every kind on the board."""
    kind, result = members[0]
    own = kind.leaderboard(result, ctx)
    if own is not None:
        return shaped(own, ctx.baseline_among(result.models))
    ranked = sorted(members, key=lambda m: m[0].board_rank)
    columns = [c for k, r in ranked for c in k.board_columns(r, ctx)]
    models = list(dict.fromkeys(m for _, r in members for m in r.models))
    if not columns or not models:
        return None
    baseline = ctx.baseline_among(models)
    return shaped(board_table(models, ctx.colours, columns, baseline), baseline)


def _check_slices_found(
    slices: Sequence[str], found: Sequence[tuple[Kind, KindResult]], runs: Sequence[RunBase]
) -> None:
    done = set().union(*(kind.sliced_columns(result) for kind, result in found))
    for column in slices:
        if column.lower() not in done:
            first = next((r for r in runs if r.table is not None), runs[0])
            extra = first.table
            known = ", ".join(map(str, extra.columns)) if extra is not None else ""
            raise ReportgenError(
                f"{first.path}: no column {column!r} for --slice (nor in any other run); "
                f"metadata columns are: {known or '(none)'}"
            )


def _kinds(results: Sequence[KindResult], runs: Sequence[RunBase]) -> str:
    """The kinds of run in the report, for its subtitle: classification first."""
    found = []
    classification = next((r for r in results if r.kind == "classification"), None)
    if classification is not None:
        found.append(f"{classification.task} classification")  # type: ignore[attr-defined]
    for run in runs:
        kind = run.kind
        if kind == "classification":
            continue  # named above, with its task
        kind = {"lm-eval samples": "lm-eval sample logs", "benchmark": "lm-eval results"}.get(
            kind, kind
        )
        if kind not in found:
            found.append(kind)
    return ", ".join(found)


def _default_title(names: Sequence[str], kinds: str) -> str:
    shown = " vs ".join(names[:4]) + (" …" if len(names) > 4 else "")
    return f"{shown}: {kinds.replace(' classification', '')} evaluation"


def _costs(cost: str | None) -> dict[str, float]:
    """``--cost FP=1,FN=5`` as outcome -> cost (empty without one)."""
    if cost is None:
        return {}
    try:
        return parse_costs(cost).as_dict()
    except ValueError as exc:
        raise ReportgenError(f"--cost {cost!r}: {exc}") from None
