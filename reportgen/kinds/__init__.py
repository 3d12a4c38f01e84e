"""The kinds of run, one module each, and their registry.

The pipeline asks every kind in :data:`KINDS`, in this order, to evaluate its runs and draw
its sections; the order is the order of the page. Adding a kind is one module implementing
:class:`reportgen.kinds.base.Kind` and one line here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reportgen.ingest import sources
from reportgen.ingest.base import TABLE_LOADERS, RunBase
from reportgen.ingest.runs import ColumnNames
from reportgen.ingest.sources import Sources
from reportgen.kinds.attention import ATTENTION
from reportgen.kinds.attributions import ATTRIBUTIONS
from reportgen.kinds.base import Kind
from reportgen.kinds.benchmark_scores import BENCHMARK_SCORES
from reportgen.kinds.boundary import BOUNDARY
from reportgen.kinds.classification.kind import CLASSIFICATION
from reportgen.kinds.efficiency import EFFICIENCY
from reportgen.kinds.embeddings import EMBEDDINGS
from reportgen.kinds.generation import GENERATION
from reportgen.kinds.history import HISTORY
from reportgen.kinds.importance import IMPORTANCE
from reportgen.kinds.lmeval_results import LMEVAL_RESULTS
from reportgen.kinds.lmeval_samples import SAMPLES
from reportgen.kinds.multilabel import MULTILABEL
from reportgen.kinds.perplexity import PERPLEXITY
from reportgen.kinds.regression import REGRESSION
from reportgen.kinds.robustness import ROBUSTNESS

KINDS: tuple[Kind, ...] = (
    CLASSIFICATION,
    EMBEDDINGS,  # reads the classification result: after it
    ATTRIBUTIONS,  # token strips of the classification runs, before their error analysis
    BOUNDARY,  # decision-boundary grids of classification runs: after it
    ATTENTION,  # a view of any run: attention maps, before the error analysis
    PERPLEXITY,
    GENERATION,
    SAMPLES,
    LMEVAL_RESULTS,
    BENCHMARK_SCORES,  # other harnesses' scores and inspect-ai logs, beside lm-eval's
    REGRESSION,
    MULTILABEL,
    ROBUSTNESS,  # classification on perturbed copies
    EFFICIENCY,  # reads every other kind's speed and cost: after them
    IMPORTANCE,  # reads classification and regression runs' contributions
    HISTORY,
)


def by_name() -> dict[str, Kind]:
    return {k.name: k for k in KINDS}


def kind_of(run: object) -> Kind:
    """The kind that owns a loaded run."""
    return next(k for k in KINDS if k.owns(run))


def load_source(
    argument: str | Path, columns: ColumnNames | None = None, task: str | None = None
) -> Sources:
    """One run argument loaded by the registered kinds (see :mod:`reportgen.ingest.sources`)."""
    return sources.load_source(argument, KINDS, columns, task)


def load_sources(arguments: Sequence[object], columns: ColumnNames | None = None) -> Sources:
    return sources.load_sources(arguments, KINDS, columns)


def load_table(
    frame: object, name: str, columns: object, task: str | None, origin: str
) -> list[RunBase]:
    """A table in memory loaded by the registered kinds, as a file's table is."""
    return sources.load_memory(frame, name, KINDS, columns, task, origin)  # type: ignore[arg-type]


TABLE_LOADERS.append(load_table)  # Run.from_frame and Run.from_arrays ask it
