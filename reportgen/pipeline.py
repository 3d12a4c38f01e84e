"""The pipeline in one call: run arguments -> loaded runs -> each kind's evaluation and
comparisons -> the report model (leaderboards, verdict, sections) -> charts -> a
:class:`~reportgen.report.Report`, which renders itself in every output format.

It is a loop over the registered kinds (:data:`reportgen.kinds.KINDS`); nothing here knows a
kind by name.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reportgen import formatting as fmt
from reportgen import kinds as registry
from reportgen.charts import draw_all
from reportgen.engines.choice import choose_engine, parse_memory
from reportgen.engines.evaluate import engine_note, evaluate_out_of_core
from reportgen.errors import ReportgenError
from reportgen.gates import Gate, check_names, check_options, evaluate_gates, parse_gates
from reportgen.history import break_clause, builds_section, read_summaries, trend_sections
from reportgen.ingest.base import ExampleRun, RunBase
from reportgen.ingest.memory import named_runs
from reportgen.ingest.runs import ColumnNames, _stem, parse_run_argument
from reportgen.ingest.sources import load_sources
from reportgen.kinds.base import (
    MAX_DRAWN,
    BoardPart,
    Context,
    Kind,
    KindResult,
    drawn_models,
    drawn_note,
)
from reportgen.kinds.board import board_table, gated_ties, shaped
from reportgen.model import RunInfo, Section, Table, link_examples, model_colours
from reportgen.options import OPTIONS, Options, docstring, python_call, resolve, signature
from reportgen.parallel import parallel_map
from reportgen.profiling import stage
from reportgen.render import fallbacks
from reportgen.report import Report, generation_time
from reportgen.stats import power
from reportgen.stats.comparison import settle
from reportgen.summaries import Summary, parse_summary
from reportgen.trend import build_trend

Progress = Callable[[str], None]
RunSource = Any  # a path, "NAME=PATH", a run object; in a mapping by name, also a DataFrame


def build_report(
    runs: Sequence[RunSource] | Mapping[str, RunSource],
    *,
    progress: Progress | None = None,
    **options: Any,
) -> Report:
    """Load (if given paths), evaluate and lay out runs into one side-by-side report.

    ``runs`` is a list of paths (``"NAME=PATH"``) and runs (:meth:`Run.from_arrays`,
    :meth:`Run.from_frame`, :func:`load_run`), or a mapping of name to path, run or table
    (a pandas or polars DataFrame, a pyarrow Table):
    ``build_report({"old": df_old, "new": df_new})``.

    Runs may be of several kinds (classification, regression, multilabel, perplexity,
    generation, lm-eval results and sample logs); each kind gets its own sections and runs are
    compared within their kind. ``progress`` is called with each step's name.

    >>> report = build_report(["old=a.csv", "new=b.csv"], title="v1 vs v2")  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP

    """
    say = progress or (lambda message: None)
    given = runs
    runs = named_runs(runs) if isinstance(runs, Mapping) else runs
    o = resolve(options)
    title, timestamp, baseline, text_col = o.title, o.timestamp, o.baseline, o.text_col
    hidden = fmt.hidden_in(title or "", "--title", "write the title without it")
    if hidden is not None:
        raise ReportgenError(hidden)
    gates = parse_gates(o.fail_if)
    check_options(gates, o.slices, o.bootstrap)
    if not runs and not o.histories:
        raise ReportgenError(
            "no runs given; pass at least one run file, or training histories with "
            "--history NAME=PATH"
        )
    # earlier builds' summaries: a bad one stops the build here, before any work
    earlier = read_summaries(o.trend, empty_ok=True) if o.trend else None
    _check_size(len(runs), None if o.repeats else len(_names_given(runs)))
    limit = parse_memory(o.memory_limit) if o.memory_limit is not None else None
    choice = choose_engine(o.engine, runs, limit)
    if choice.name != "memory" and not all(isinstance(r, str | Path) for r in runs):
        raise ReportgenError(
            f"--engine {o.engine} reads run files where they lie, but runs given in memory "
            "(DataFrames, arrays, loaded runs) are already in memory; build them with "
            'engine="memory", or write them to files'
        )
    if choice.name != "memory":
        given = [n for k in registry.KINDS for n in k.options if getattr(o, n)]
        if given:
            flag = next(x.long for x in OPTIONS if x.name == given[0])
            raise ReportgenError(
                f"{flag} needs the runs in memory (its view reads every example), but "
                + (
                    f"--engine {o.engine} keeps them where they lie"
                    if not choice.reason
                    else "they do not fit --memory-limit"
                )
                + f"; drop {flag}, or build with --engine memory"
            )
        if choice.reason:
            say("Switching to DuckDB: the runs do not fit --memory-limit")
        with stage("evaluate"):
            found = evaluate_out_of_core(
                runs,
                choice,
                o,
                o.spark_master,
                say,
                parallel_map,
                lambda names, base: check_names(gates, names, set(), base),
            )
        ctx = Context(o, found.baseline, found.models, model_colours(found.models, found.baseline))
        _check_costs(o.cost, [found])
        report = _assemble(ctx, [found], gates, title, timestamp, say)
        report.engine, report.engine_note = choice.name, engine_note(choice)
        report.command = python_call(given, options)
        report.labels = o.labels
        return _with_trend(report, earlier, o)
    say("Loading runs")
    with stage("load"):
        loaded = load_sources(
            runs,
            registry.KINDS,
            ColumnNames.of(o),
            o.task if o.task in {k.forced_by for k in registry.KINDS} else None,
            o.histories,
            parallel_map,
            o.repeats,
        )
    names = list(dict.fromkeys(r.name for r in loaded.runs))
    _check_size(len(loaded.runs), len(names))
    hidden = fmt.check_names([*names, *(h.name for h in loaded.histories)])
    if hidden is not None:
        raise ReportgenError(hidden)
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
    everyone = names + [h.name for h in loaded.histories if h.name not in names]
    first = baseline or everyone[0]  # histories alone: the first history's model
    check_names(gates, names, known, first)
    colours = model_colours(everyone, first)
    ctx = Context(
        o,
        first,
        names,
        colours,
        parallel_map,
        say,
        runs=loaded.runs,
    )
    by_name = registry.by_name()
    with stage("evaluate"):
        found: dict[str, KindResult] = {}
        for kind in sorted(registry.KINDS, key=lambda k: bool(k.reads)):  # views last
            inputs = [r for r in found.values() if r.kind in kind.reads or "*" in kind.reads]
            inputs = [r for r in inputs if not by_name[r.kind].reads]  # views read kinds only
            result = kind.evaluate(owned[kind.name], replace(ctx, inputs=inputs))
            if result is not None:
                result.runs = result.runs or owned[kind.name]
                result.scores = kind.scores(result)
                found[kind.name] = result
    results = [found[k.name] for k in registry.KINDS if k.name in found]  # in page order
    _check_costs(o.cost, results)
    report = _assemble(ctx, results, gates, title, timestamp, say, loaded.runs)
    if o.cost:  # outcome -> cost; empty without --cost
        for info in report.runs:
            if info.task != "binary":
                info.notes.append("--cost applies to binary runs, not to this one.")
    report.warnings = _same_files(loaded.runs) + _not_compared(owned, names, found)
    report.command = python_call(given, options)
    report.labels = o.labels
    return _with_trend(report, earlier, o)


def _with_trend(report: Report, earlier: list[Summary] | None, o: Options) -> Report:
    """``--trend``: this build as the latest point of the earlier builds' trend, in a
    History section, and a verdict clause when it breaks that trend."""
    if earlier is None:
        return report
    if not earlier:  # a first build in CI: nothing kept yet
        given = " ".join(o.trend)
        report.warnings.append(f"--trend {given}: no earlier summaries yet; the trend starts here")
        return report
    current = parse_summary(report.summary(), Path("(this build)"))
    trend = build_trend(earlier, o.order_by, current)
    sections = [
        *trend_sections(trend, "history", "History"),
        builds_section(trend, "history-builds"),
    ]
    with stage("charts"):
        draw_all(sections, fallbacks.submit)
    report.sections += sections
    trend.window = o.trend_window
    clause = break_clause(trend.breaks(o.trend_window))
    if clause:
        report.verdict = f"{report.verdict} {clause}".strip()
    report.trend = trend
    return report


build_report.__signature__ = signature(  # type: ignore[attr-defined]
    [inspect.Parameter("runs", inspect.Parameter.POSITIONAL_OR_KEYWORD)],
    [inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=None)],
)
build_report.__doc__ = (build_report.__doc__ or "") + "\n" + textwrap.indent(docstring(), "    ")


def _check_costs(cost: Mapping[str, float], results: Sequence[KindResult]) -> None:
    """``--cost`` prices a binary decision threshold: with no binary run it would be ignored."""
    if not cost or any(r.task == "binary" for r in results):
        return
    views = {k.name for k in registry.KINDS if k.reads}  # speed and cost, embeddings, ...
    tasks = sorted({r.task or r.kind for r in results if r.kind not in views})
    raise ReportgenError(
        f"--cost applies to binary runs; the runs here are {' and '.join(tasks)}, so nothing "
        "has a cost: drop --cost, or give it with runs of two classes"
    )


def _same_files(runs: Sequence[RunBase]) -> list[str]:
    """Two names given the very same bytes: the report compares a file with itself."""
    names: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        if run.sha256:
            # runs read from one file by different columns or rows (--pred-col NAME=COLUMN,
            # --models-from-columns, a model column) are not the file compared with itself
            part = repr(
                (sorted(run.columns.items()) if isinstance(run, ExampleRun) else [], run.notes)
            )
            mine = names.setdefault((run.sha256, part), [])
            if run.name not in mine:
                mine.append(run.name)
    memory = {r.sha256 for r in runs if r.in_memory}
    return [
        f"{' and '.join(found)} are the same file (same SHA-256): the report compares it "
        "with itself"
        if sha not in memory
        else f"{' and '.join(found)} hold the same data (same SHA-256 of their tables): the "
        "report compares it with itself"
        for (sha, _), found in names.items()
        if len(found) > 1
    ]


def _not_compared(
    owned: dict[str, list[RunBase]], names: Sequence[str], results: dict[str, KindResult]
) -> list[str]:
    """Runs of a kind that no other model has: compared with nothing (runs are compared
    within their kind), which a report of several models should say."""
    if len(names) < 2:
        return []
    found = []
    for kind in registry.KINDS:
        models = list(dict.fromkeys(r.name for r in owned[kind.name]))
        if len(models) == 1 and kind.compares:
            noun = _noun(kind, results.get(kind.name))[0]
            found.append(
                f"the {noun} run of {models[0]} was not compared with any other model: no "
                f"other model has a {noun} run, and runs are compared within their kind"
            )
    return found


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


MAX_MODELS = 100  # models in one report: every pair is tested for the tie-aware ranks
MAX_RUNS = 500  # runs in one report (repeats of a model count each)


def _names_given(runs: Sequence[RunSource]) -> set[str]:
    """The model names the run arguments give (NAME=, else the path): one model may have
    runs of several kinds. Loaded runs and folders are counted once loaded."""
    names = set()
    for run in runs:
        if isinstance(run, str | Path):
            name, path = parse_run_argument(str(run))
            names.add(name or _stem(path))
    return names


def _check_size(runs: int, models: int | None) -> None:
    """Refuse, before any work, a report of more models or runs than it is made for."""
    if models is not None and models > MAX_MODELS:
        raise ReportgenError(
            f"{models:,} models: a report compares at most {MAX_MODELS} (every pair is tested "
            "for the ranks); report the best of a sweep, or split it into several reports"
        )
    if runs > MAX_RUNS:
        raise ReportgenError(
            f"{runs:,} runs: a report reads at most {MAX_RUNS} (repeats of a model count "
            "each); average repeats beforehand, or split the runs into several reports"
        )


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
        result.scores = result.scores or by_name[result.kind].scores(result)
    with stage("verdicts"):
        unsettled = [r for r in results if not r.settled]
        if method == "report":
            settle([c for r in unsettled for c in r.comparisons], method)
        else:
            for result in unsettled:
                settle(result.comparisons, method)
        margins: dict[str, float] = {}
        for gate in gates:  # a metric's first bound gate gives its margin
            if gate.margin is not None:
                margins.setdefault(gate.metric, gate.margin)
        default = ctx.options.margin
        power.fill(
            [c for r in results for c in (*r.comparisons, *r.by_slice)],
            lambda metric: margins.get(metric, default),
        )
    say("Drawing charts")
    found = [(by_name[r.kind], r) for r in results]  # each result with its kind
    headline, drawn = _drawn(found, ctx)
    if any(d is not None for d in drawn.values()):  # the drawn models take the colours
        chosen = [m for r in results for m in (drawn.get(r.kind) or r.models)]
        everyone = list(ctx.colours)
        ctx = replace(ctx, colours=model_colours(everyone, ctx.baseline, chosen))
    boards: dict[str, list[tuple[Kind, KindResult]]] = {}
    for kind, result in found:
        boards.setdefault(kind.board, []).append((kind, result))
    leaderboard: Table | None = None
    body: list[Section] = []
    appendix: list[Section] = []
    verdicts: list[tuple[str, str]] = []  # (board title, its verdict)
    infos: list[RunInfo] = []
    parts = {kind.name: kind.on_board(result, ctx) for kind, result in found}
    for kind, result in found:
        members = boards.pop(kind.board, None)
        if members is not None:  # the first kind of its board: the board's table and verdict
            table = _board(members, parts, ctx)
            if table is not None and leaderboard is None:
                leaderboard = table
            elif table is not None:
                heading = f"{kind.board_title}: leaderboard"
                body.append(Section(f"{kind.board}-leaderboard", heading, tables=[table]))
            ranked = sorted(members, key=lambda m: m[0].board_rank)
            clauses = [p for k, _ in ranked for p in parts[k.name].verdict]
            if clauses:
                verdicts.append((kind.board_title, "; ".join(clauses) + "."))
        shown = drawn.get(result.kind)
        sections = kind.sections(result, replace(ctx, drawn=shown))
        if shown is not None:
            note = drawn_note(shown, result.models, headline[kind.name], not kind.reads)
            for section in sections:
                if section.figures:
                    section.notes.insert(0, note)
        at = next((i for i, s in enumerate(body) if s.id == kind.before_section), len(body))
        body[at:at] = sections
        appendix += kind.appendix(result, ctx)
        infos += kind.run_infos(result, ctx)
    if ctx.options.slices:
        _check_slices_found(ctx.options.slices, found, runs)
    body += appendix
    _unique_ids(body)
    link_examples(body)  # a token strip and its example's error row, both ways
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
    kinds = _kinds(results, runs) or [
        _noun(registry.by_name()[r.kind], r) for r in results
    ]  # training histories alone: no run, the histories' kind
    names = names or list(dict.fromkeys(m for r in results for m in r.models))
    subtitle = ", ".join(full for full, _ in kinds)
    return Report(
        title=title or _default_title(names, kinds),
        task=next((r.task for r in results if r.task), subtitle),
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
        kinds=subtitle,
        n_models=len(names),
        gates=gate_results,
        detectable=gated_ties(
            [c for r in results for c in r.comparisons], {g.metric for g in gates}
        ),
    )


def _drawn(
    found: Sequence[tuple[Kind, KindResult]], ctx: Context
) -> tuple[dict[str, str | None], dict[str, list[str] | None]]:
    """Each kind's ranking metric and the models its sections draw (None: all). A kind of
    runs ranks its own; a view (``reads``) draws the models the kinds of runs draw, so that
    one model has one colour and the same models appear everywhere."""
    headline = {k.name: k.ranked_by(r) for k, r in found}
    drawn: dict[str, list[str] | None] = {}
    for kind, result in found:
        if result.models and not kind.reads:
            base = ctx.baseline_among(result.models)
            drawn[kind.name] = drawn_models(result.models, base, result.scores, headline[kind.name])
    chosen = {m for d in drawn.values() if d is not None for m in d}
    for kind, result in found:
        if result.models and kind.reads:
            if chosen and len(result.models) > MAX_DRAWN:
                kept = [m for m in result.models if m in chosen][:MAX_DRAWN]
                drawn[kind.name] = kept or result.models[:MAX_DRAWN]
            else:
                base = ctx.baseline_among(result.models)
                drawn[kind.name] = drawn_models(result.models, base, result.scores, None)
    return headline, drawn


def _board(
    members: list[tuple[Kind, KindResult]], parts: dict[str, BoardPart], ctx: Context
) -> Table | None:
    """A kind's own leaderboard, or one built from the columns of every kind on the board."""
    kind, result = members[0]
    own = parts[kind.name].table
    if own is not None:
        return shaped(own, ctx.baseline_among(result.models))
    ranked = sorted(members, key=lambda m: m[0].board_rank)
    columns = [c for k, _ in ranked for c in parts[k.name].columns]
    models = list(dict.fromkeys(m for _, r in members for m in r.models))
    if not columns or not models:
        return None
    baseline = ctx.baseline_among(models)
    return shaped(board_table(models, ctx.colours, columns, baseline), baseline)


def _check_slices_found(
    slices: Sequence[str], found: Sequence[tuple[Kind, KindResult]], runs: Sequence[RunBase]
) -> None:
    done = {s.slice_column.lower() for _, r in found for s in r.scores if s.slice_column}
    for column in slices:
        if column.lower() not in done:
            first = next((r for r in runs if r.table is not None), runs[0])
            extra = first.table
            known = ", ".join(map(str, extra.columns)) if extra is not None else ""
            raise ReportgenError(
                f"{first.path}: no column {column!r} for --slice (nor in any other run); "
                f"metadata columns are: {known or '(none)'}"
            )


def _noun(kind: Kind, result: KindResult | None) -> tuple[str, str]:
    """How the report names a kind's runs in full ("binary classification", "lm-eval sample
    logs") and short, for a title ("binary")."""
    noun = kind.noun or kind.name
    task = result.task if result is not None else None
    return (f"{task} {noun}", task) if task else (noun, noun)


def _kinds(results: Sequence[KindResult], runs: Sequence[RunBase]) -> list[tuple[str, str]]:
    """The kinds of run in the report, for its subtitle ("binary classification") and its
    default title ("binary"): kinds whose result names a task first, then in the order of
    their first run."""
    by_result = {r.kind: r for r in results}
    first: dict[str, int] = {}
    for at, run in enumerate(runs):
        first.setdefault(registry.kind_of(run).name, at)
    for result in results:  # runs evaluated where they lie are not loaded
        if result.task is not None:
            first.setdefault(result.kind, -1)
    by_name = registry.by_name()
    ordered = sorted(
        first, key=lambda n: (n not in by_result or by_result[n].task is None, first[n])
    )
    return list(dict(_noun(by_name[n], by_result.get(n)) for n in ordered).items())


def _default_title(names: Sequence[str], kinds: list[tuple[str, str]]) -> str:
    shown = " vs ".join(names[:4]) + (" …" if len(names) > 4 else "")
    return f"{shown}: {', '.join(short for _, short in kinds)} evaluation"
