"""The interface every kind of run implements, and what the pipeline hands it.

A kind says how its files are recognised and loaded (:meth:`Kind.claims`, :meth:`Kind.load`),
how its runs are evaluated and compared with the baseline (:meth:`Kind.evaluate`), which
sections of the report it draws, what it writes into the JSON summary, and how a gate or the
Markdown summary looks up one of its metric values. :func:`reportgen.pipeline.build_report`
is a loop over the registered kinds (:data:`reportgen.kinds.KINDS`); see
``docs/architecture.md`` for a worked example of adding one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reportgen import formatting as fmt
from reportgen import metrics
from reportgen.ingest.base import RunBase
from reportgen.ingest.runs import ColumnNames
from reportgen.ingest.sources import Source
from reportgen.kinds.cells import metadata_items, verdict_parts
from reportgen.model import RunInfo, Section, Table
from reportgen.stats.comparison import Comparison
from reportgen.stats.score import Score

Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
Progress = Callable[[str], None]
DEFAULT_MAX_POINTS = 3000


def serial_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [function(item) for item in items]


@dataclass(frozen=True)
class Options:
    """Every build option a kind may read; ``build_report``'s keyword arguments."""

    task: str | None = None
    positive_label: str | None = None
    threshold: float | None = None
    columns: ColumnNames = field(default_factory=ColumnNames)
    baseline: str | None = None  # as given; each kind resolves its own
    unpaired: bool = False
    multiplicity: str = "per-comparison"  # which tests are corrected together
    bootstrap: int = 1000
    seed: int = 0
    top_k: int = 20
    text_col: str | None = None
    slices: tuple[str, ...] = ()
    slice_bins: int = 4
    min_slice_size: int = 30
    benchmark_metrics: Mapping[str, str] = field(default_factory=dict)
    history_scale: str = "auto"
    embeddings: tuple[str, ...] = ()
    max_points: int = DEFAULT_MAX_POINTS
    costs: Mapping[str, float] = field(default_factory=dict)  # binary --cost: outcome -> cost


@dataclass
class Context:
    """What the pipeline knows when it asks a kind to evaluate or draw."""

    options: Options
    baseline: str  # the report's baseline; a kind without a run of that name uses its first
    names: list[str]  # every model name of the report, in run order
    colours: dict[str, str]
    mapper: Mapper = serial_map
    say: Progress = lambda message: None
    results: list[KindResult] = field(default_factory=list)  # the kinds evaluated so far
    runs: list[Any] = field(default_factory=list)  # every loaded run, of every kind
    kinds: dict[str, Kind] = field(default_factory=dict)  # the registry, by name

    def baseline_among(self, names: Sequence[str]) -> str:
        return self.baseline if self.baseline in names else names[0]

    def result(self, kind: str) -> KindResult | None:
        return next((r for r in self.results if r.kind == kind), None)


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
    # comparisons on each value of a --slice column, corrected per candidate over the values
    by_slice: list[Comparison] = field(default_factory=list)


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

    # --- evaluation and comparison ---------------------------------------------------------

    @abstractmethod
    def evaluate(self, runs: list[Any], ctx: Context) -> KindResult | None:
        """Metrics, intervals and comparisons of this kind's runs (None: nothing to show)."""

    # --- report model ----------------------------------------------------------------------

    def scores(self, result: Any) -> list[Score]:
        """Every metric value this kind found, per model and per slice, as records."""
        return []

    def leaderboard(self, result: Any, ctx: Context) -> Table | None:
        """This kind's own leaderboard; kinds that share a board give columns instead."""
        return None

    def board_columns(self, result: Any, ctx: Context) -> list[BoardColumn]:
        """Columns of the kind's leaderboard; by default one per metric of its score records
        (whole runs, in the order scored), with its comparisons as deltas."""
        return score_columns(result)

    def verdict_parts(self, result: Any) -> list[str]:
        """Clauses of the one-line verdict, e.g. "v2 beats v1 on 5 of 7 metrics; 2 ties"; by
        default counted from the kind's comparisons."""
        return verdict_parts(result.comparisons, result.baseline, f"{self.title.lower()} metrics")

    def sections(self, result: Any, ctx: Context) -> list[Section]:
        return []

    def appendix(self, result: Any, ctx: Context) -> list[Section]:
        """Sections for the end of the page, after every kind's own."""
        return []

    def run_infos(self, result: Any, ctx: Context) -> list[RunInfo]:
        """Rows of the runs table; by default each run's provenance (:class:`RunBase`)."""
        return [run_info(run, ctx.colours[run.name]) for run in result.runs]

    def efficiency_entries(self, result: Any) -> list[tuple[str, str, dict[str, float], str, Any]]:
        """(model, kind, speed and cost metrics, quality metric, quality value) per run."""
        return []

    def sliced_columns(self, result: Any) -> set[str]:
        """The ``--slice`` columns this kind found (lower case)."""
        return set()

    # --- JSON summary ----------------------------------------------------------------------

    def summary_runs(self, result: Any) -> list[dict[str, Any]]:
        """The JSON's run entries; by default each run's provenance and its score records."""
        return [run_entry(run, result.scores) for run in result.runs]

    def summary_patches(self, result: Any) -> dict[str, dict[str, Any]]:
        """Keys added to other kinds' run entries, by run name (embeddings of classifiers)."""
        return {}

    def slice_comparisons(self, result: Any) -> list[dict[str, Any]]:
        """Per-slice deltas against the baseline, for the summary's ``slice_comparisons``."""
        return []

    def summary_extra(self, result: Any) -> dict[str, Any]:
        """Top-level keys of the summary (the lm-eval "benchmarks" block)."""
        return {}


# --- what a kind gets from its records when it says nothing itself ----------------------------


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
        "source": {"path": str(run.path), "sha256": run.sha256, "format": run.format},
        "metadata": run.metadata,
        "metrics": {s.metric: s.value for s in mine},
        "ci": {s.metric: [s.low, s.high] if s.low is not None else None for s in mine},
        "notes": list(run.notes),
    }
