"""The interface every kind of run implements, and what the pipeline hands it.

A kind says how its files are recognised and loaded (:meth:`Kind.claims`, :meth:`Kind.load`),
how its runs are evaluated and compared with the baseline (:meth:`Kind.evaluate`), which
sections of the report it draws, what it writes into the JSON summary, and how a gate or the
Markdown summary looks up one of its metric values. :func:`reportgen.pipeline.build_report`
is a loop over the registered kinds (:data:`reportgen.kinds.KINDS`); see
``docs/architecture.md`` for a worked example of adding one.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.errors import ReportgenError
from reportgen.ingest.base import RunBase
from reportgen.ingest.runs import parse_run_argument
from reportgen.ingest.sources import Source
from reportgen.kinds.cells import metadata_items, verdict_parts
from reportgen.model import PALETTE, RunInfo, Section, Table
from reportgen.options import OPTIONS, Options
from reportgen.stats.comparison import Comparison
from reportgen.stats.score import Score

Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
# models a kind's charts draw at most: the palette's colours but the grey kept for the rest
MAX_DRAWN = len(PALETTE) - 1
Progress = Callable[[str], None]

# how many headline metrics a kind's trend follows by default
TREND_METRICS = 4


def serial_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [function(item) for item in items]


@dataclass
class Context:
    """What the pipeline knows when it asks a kind to evaluate or draw."""

    options: Options
    baseline: str  # the report's baseline; a kind without a run of that name uses its first
    names: list[str]  # every model name of the report, in run order
    colours: dict[str, str]
    mapper: Mapper = serial_map
    say: Progress = lambda message: None
    runs: list[Any] = field(default_factory=list)  # every loaded run, of every kind
    # the results a view reads (its ``reads``), evaluated before it; kinds get none
    inputs: list[KindResult] = field(default_factory=list)
    # the models a kind's charts draw, when it has more than MAX_DRAWN (None: every model)
    drawn: list[str] | None = None

    def baseline_among(self, names: Sequence[str]) -> str:
        return self.baseline if self.baseline in names else names[0]

    def draws(self, name: str) -> bool:
        """Whether the kind's charts draw this model (tables list every model)."""
        return self.drawn is None or name in self.drawn

    def result(self, kind: str) -> KindResult | None:
        """The result of a kind this view declared in ``reads`` (None when it found no runs)."""
        return next((r for r in self.inputs if r.kind == kind), None)


@dataclass
class KindResult:
    """A kind's evaluated runs: what its sections, JSON and gates read.

    ``comparisons`` hold raw p-values until the pipeline corrects them for multiplicity
    (:func:`reportgen.stats.comparison.settle`) within the kind's board; ``scores`` are the
    kind's metrics as records (:meth:`Kind.scores`), filled in by the pipeline."""

    kind: str
    baseline: str
    models: list[str]
    comparisons: list[Comparison] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)  # the kind's runs (RunBase); the pipeline's
    settled: bool = False  # the kind corrected its comparisons itself (lm-eval's Holm)
    # how tables that mix kinds name each scope of the result (a score's ``scope``; '' for
    # a kind without scopes), and the metric that stands for its quality there
    labels: dict[str, str] = field(default_factory=dict)
    headlines: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, scope)
    # comparisons on each value of a --slice column, corrected per candidate over the values
    by_slice: list[Comparison] = field(default_factory=list)

    @property
    def task(self) -> str | None:
        """The task its runs share, when the kind has tasks (classification: binary or
        multiclass): the JSON's ``task`` and a word of the subtitle."""
        return None


@dataclass
class BoardPart:
    """What one kind puts on its leaderboard, and its clauses of the one-line verdict."""

    table: Table | None = None  # its own leaderboard; kinds that share a board give columns
    columns: list[BoardColumn] = field(default_factory=list)
    verdict: list[str] = field(default_factory=list)


@dataclass
class SummaryPart:
    """What one kind adds to the JSON summary."""

    runs: list[dict[str, Any]] = field(default_factory=list)  # its entries of ``runs``
    # keys added to the entries of the same board's runs, by run name (embeddings of classifiers)
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    slice_comparisons: list[dict[str, Any]] = field(default_factory=list)
    top: dict[str, Any] = field(default_factory=dict)  # top-level keys (lm-eval's "benchmarks")


@dataclass
class BoardColumn:
    """One column of a shared leaderboard: a metric of a kind, per model."""

    key: tuple[str, str]
    metric: str
    header: str
    values: dict[str, float | None]
    intervals: dict[str, str]  # hover text per model
    higher_is_better: bool
    deltas: dict[str, Comparison] = field(default_factory=dict)  # candidate -> comparison
    stderr: bool = False  # the hover text is a reported standard error, not an interval
    ranks: dict[str, int] | None = None  # tie-aware ranks on this metric (3 or more models)
    spread: dict[str, str] = field(default_factory=dict)  # model given as repeats -> spread


@dataclass(frozen=True)
class FileArgument:
    """One ``NAME=PATH`` value of a view's file option, its name checked against the runs."""

    flag: str  # the option as typed, e.g. --embeddings
    item: Any  # the value as given, as the messages quote it
    name: str
    path: Path

    def error(self, message: str) -> ReportgenError:
        """An error about this value: ``--embeddings 'v2=x.npy': <message>``."""
        return ReportgenError(f"{self.flag} {self.item!r}: {message}")

    @contextmanager
    def named(self) -> Iterator[None]:
        """Errors of reading its file, prefixed with the value."""
        try:
            yield
        except ReportgenError as exc:
            raise self.error(str(exc)) from None


class Kind(ABC):
    """One kind of run. Subclasses set the class attributes and override what applies."""

    name: ClassVar[str]  # e.g. "regression": the JSON's task and the gates' scope
    title: ClassVar[str]  # e.g. "Regression", as headings name it
    board: ClassVar[str]  # kinds with the same board share a leaderboard (its section id)
    board_title: ClassVar[str] = ""  # that leaderboard's heading, e.g. "Language models"
    run_types: ClassVar[tuple[type, ...]] = ()
    detect_rank: ClassVar[int] = 50  # the order in which kinds are asked to claim a table
    board_rank: ClassVar[int] = 1  # the order of kinds' columns on a shared leaderboard
    before_section: ClassVar[str | None] = None  # draw this kind's sections before that id
    # a view owns no runs: it reads the results of these kinds ("*": every kind), and is
    # evaluated after every kind, whatever its place in KINDS (which is only page order)
    reads: ClassVar[tuple[str, ...]] = ()
    # the options that give a view its own files (--embeddings NAME=PATH, ...): it reads
    # every example of the runs, so the out-of-core engines, which keep none, refuse them
    options: ClassVar[tuple[str, ...]] = ()
    noun: ClassVar[str] = ""  # how the subtitle names its runs, when not by ``name``
    compares: ClassVar[bool] = True  # compares a model's runs with the baseline's (not history)

    # --- ingest ----------------------------------------------------------------------------

    def claims_file(self, path: Path) -> bool:
        """Whether a run argument's path (a file or a folder) holds this kind's own format,
        to be loaded whole by :meth:`load_file` rather than read as a table."""
        return False

    def load_file(self, path: Path, name: str | None) -> list[Any]:
        raise NotImplementedError(f"{self.name} runs are not loaded from files")

    forced_by: ClassVar[str | None] = None  # the --task value that makes every table this kind

    def claims(self, source: Source) -> bool:
        """Whether a per-example table holds a run of this kind (asked by ``detect_rank``):
        ``--task`` decides when given, else :meth:`looks_like`."""
        if self.forced_by is not None and source.task is not None:
            return source.task == self.forced_by
        return source.task is None and self.looks_like(source)

    def looks_like(self, source: Source) -> bool:
        return False

    def load(self, source: Source) -> Any:
        raise NotImplementedError(f"{self.name} runs are not loaded from tables")

    def owns(self, run: Any) -> bool:
        return isinstance(run, self.run_types)

    def metric_names(self, runs: Sequence[Any]) -> set[str]:
        """Metric names known only once runs are loaded (lm-eval tasks, logged metrics)."""
        return set()

    def file_arguments(
        self,
        ctx: Context,
        among: Sequence[str],
        *,
        of: str = "",
        why: str = "",
        twice: str | None = "{name!r} is given twice; give one",
        example: str | None = None,
    ) -> Iterator[FileArgument]:
        """The ``NAME=PATH`` values of the kind's file option (its one ``options`` entry), in
        order, each checked as it is reached: written as NAME=PATH, NAME a run ``among``
        (runs ``of`` a kind, e.g. "classification"; ``why`` says why a run of another kind
        will not do), and, unless ``twice`` is None, not given before (``twice`` formats with
        ``name`` and ``path``, the first path given). The caller reads each file before the
        next value is checked, so the first bad value is the one reported."""
        (option,) = (o for o in OPTIONS if o.name in self.options)
        first: dict[str, Path] = {}
        for item in getattr(ctx.options, option.name):
            name, path = parse_run_argument(str(item))
            if name is None:
                shown = example or option.example[0]
                raise ReportgenError(
                    f"{option.long} {item!r}: write {option.metavar}, e.g. {option.long} {shown}"
                )
            found = FileArgument(option.long, item, name, path)
            if name not in among:
                other = next((r for r in ctx.runs if r.name == name), None) if of else None
                if other is not None:
                    raise found.error(f"{name!r} is a {other.kind} run; {why}")
                known = ", ".join(among) or "(none)"
                raise found.error(
                    f"no {of + ' ' if of else ''}run named {name!r}; runs are: {known}"
                )
            if twice is not None and name in first:
                raise found.error(twice.format(name=name, path=first[name]))
            first.setdefault(name, path)
            yield found

    # --- evaluation and comparison ---------------------------------------------------------

    @abstractmethod
    def evaluate(self, runs: list[Any], ctx: Context) -> KindResult | None:
        """Metrics, intervals and comparisons of this kind's runs (None: nothing to show)."""

    # --- report model ----------------------------------------------------------------------

    def scores(self, result: Any) -> list[Score]:
        """Every metric value this kind found, per model and per slice, as records."""
        return []

    def on_board(self, result: Any, ctx: Context) -> BoardPart:
        """What the kind puts on its leaderboard and into the one-line verdict; by default a
        column per metric of its score records, with its comparisons as deltas, and clauses
        counted from its comparisons ("v2 beats v1 on 5 of 7 metrics, ties on 2")."""
        return BoardPart(
            columns=score_columns(result),
            verdict=verdict_parts(
                result.comparisons, result.baseline, f"{self.title.lower()} metrics"
            ),
        )

    def ranked_by(self, result: Any) -> str | None:
        """The metric that ranks the kind's models when its charts cannot draw them all
        (:func:`drawn_models`): by default the first of its score records."""
        return next((s.metric for s in result.scores if s.slice_column is None), None)

    def headline_metrics(self, result: Any) -> list[str]:
        """The metrics a trend of builds follows for this kind (the summary's ``headlines``,
        read by ``reportgen history``): by default its first whole-run metrics."""
        found = (s.metric for s in result.scores if s.slice_column is None)
        return list(dict.fromkeys(found))[:TREND_METRICS]

    def sections(self, result: Any, ctx: Context) -> list[Section]:
        """The kind's sections; charts draw only the models ``ctx.draws`` (tables list all)."""
        return []

    def appendix(self, result: Any, ctx: Context) -> list[Section]:
        """Sections for the end of the page, after every kind's own."""
        return []

    def run_infos(self, result: Any, ctx: Context) -> list[RunInfo]:
        """Rows of the runs table; by default each run's provenance (:class:`RunBase`)."""
        return [run_info(run, ctx.colours[run.name]) for run in result.runs]

    # --- JSON summary ----------------------------------------------------------------------

    def summary(self, result: Any) -> SummaryPart:
        """What the kind adds to the JSON summary; by default each run's provenance and its
        score records."""
        return SummaryPart(runs=[run_entry(run, result.scores) for run in result.runs])


# --- what a kind gets from its records when it says nothing itself ----------------------------


def drawn_models(
    models: Sequence[str], baseline: str, scores: Sequence[Score], metric: str | None
) -> list[str] | None:
    """The models a kind's charts draw when it has more than MAX_DRAWN: the baseline and the
    best others on ``metric`` (whole runs, on the kind's first scope; undefined values last,
    equal ones in run order), in run order. None when every model is drawn."""
    if len(models) <= MAX_DRAWN:
        return None
    found = [s for s in scores if s.metric == metric and s.slice_column is None]
    scope = found[0].scope if found else ""
    values = {s.model: s.value for s in found if s.scope == scope}
    declared = next((s.higher_is_better for s in found if s.higher_is_better is not None), None)
    sign = -1.0 if metric is not None and metrics.higher_is_better(metric, declared) else 1.0
    at = {name: i for i, name in enumerate(models)}

    def order(name: str) -> tuple[bool, float, int]:
        value = values.get(name)
        if value is None or not math.isfinite(value):  # undefined (lm-eval keeps NaN): last
            return (True, 0.0, at[name])
        return (False, sign * value, at[name])

    others = sorted((m for m in models if m != baseline), key=order)
    chosen = {baseline, *others[: MAX_DRAWN - (baseline in at)]}
    return [m for m in models if m in chosen]


def drawn_note(
    drawn: Sequence[str], models: Sequence[str], metric: str | None, ranked: bool = True
) -> str:
    """What a section that shows only some models says about it: which, and why."""
    which = (
        f"the baseline and the best others on {metrics.label(metric)}"
        if ranked and metric is not None
        else "the models the other sections draw"
        if not ranked
        else "the baseline and the first others in run order"
    )
    return (
        f"This section shows {len(drawn)} of {len(models)} models: {which}; the leaderboard "
        "lists every model."
    )


def score_columns(result: KindResult) -> list[BoardColumn]:
    """One leaderboard column per metric of the result's score records (whole runs)."""
    whole = [s for s in result.scores if s.slice_column is None]
    deltas = {(c.candidate, c.metric): c for c in result.comparisons if c.slice_column is None}
    columns = []
    for metric in dict.fromkeys(s.metric for s in whole):
        mine = [s for s in whole if s.metric == metric]
        declared = next((s.higher_is_better for s in mine if s.higher_is_better is not None), None)
        columns.append(
            BoardColumn(
                key=(result.kind, metric),
                metric=metric,
                header=metrics.label(metric),
                values={s.model: s.value for s in mine},
                intervals={s.model: _hover(s) for s in mine},
                higher_is_better=metrics.higher_is_better(metric, declared),
                deltas={m: c for (m, name), c in deltas.items() if name == metric},
                stderr=any(s.stderr is not None for s in mine),
            )
        )
    return columns


def _hover(score: Score) -> str:
    """A score's interval (or standard error, or why it is missing) as hover text."""
    if score.low is not None and score.high is not None:
        low, high = (metrics.format_value(score.metric, v) for v in (score.low, score.high))
        return f"95% CI {low} to {high}"
    if score.stderr is not None:
        return f"± {metrics.format_value(score.metric, score.stderr)} (standard error)"
    return score.reason or ""


def run_info(run: RunBase, colour: str) -> RunInfo:
    """A run's row of the runs table, from its provenance."""
    return RunInfo(
        name=run.name,
        colour=colour,
        path=str(run.path),
        sha256=run.sha256,
        n_examples=fmt.count(run.rows) if run.rows is not None else fmt.MISSING,
        task=run.kind,
        classes=None,
        positive_label=None,
        predictions_from=None,
        columns=[],
        metadata=metadata_items(run.metadata),
        notes=list(run.notes),
    )


def run_entry(run: RunBase, scores: Sequence[Score]) -> dict[str, Any]:
    """A run's JSON entry: its provenance, and its metrics and intervals from the records."""
    mine = [s for s in scores if s.model == run.name and s.slice_column is None]
    return {
        "name": run.name,
        "task": run.kind,
        "n_examples": run.rows,
        "source": run.source_entry(),
        "metadata": run.metadata,
        "metrics": {s.metric: s.value for s in mine},
        "ci": {s.metric: [s.low, s.high] if s.low is not None else None for s in mine},
        "notes": list(run.notes),
    }
