"""The one base type of every loaded run, and what the rest of the pipeline may ask of a run.

Every run type (classification :class:`~reportgen.ingest.runs.Run`, perplexity, text,
regression, multilabel, lm-eval results, training histories, a kind added later) extends
:class:`RunBase`. Ingest, sources and the pipeline read these fields and class attributes, and
never probe a run with ``getattr`` or ``hasattr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd


@dataclass(kw_only=True)
class RunBase:
    """Provenance shared by every run: who it is, where it came from, and which repeat.

    Subclasses add their own data (labels, scores, sums) as ordinary fields; these are keyword
    only, so a subclass's own fields may come first and have no defaults."""

    name: str  # the model's name in the report
    path: Path  # the file or folder the run came from
    sha256: str = ""  # of the file's bytes (several files: of their digests)
    format: str = ""  # "csv", "parquet", "lm-eval results", ...
    metadata: dict[str, Any] = field(default_factory=dict)  # run.json / sidecar keys
    notes: list[str] = field(default_factory=list)  # what loading noticed, for the runs table
    repeat: str | None = None  # which repeat of its model this is ("seed=1"), if declared

    kind: ClassVar[str] = "classification"  # the kind of run, as the subtitle names it
    repeatable: ClassVar[bool] = True  # whether several runs of one model may be its repeats
    mergeable: ClassVar[bool] = False  # whether runs given one name merge (lm-eval results)

    @property
    def group(self) -> str:
        """Runs of one name must be apart within a group unless they are declared repeats of
        one model: the kind, or finer (one group per lm-eval task of sample logs)."""
        return self.kind

    @property
    def shown_name(self) -> str:
        """The name with the repeat, for messages that set repeats of one model apart:
        ``v2#1`` (numbered by --repeats), ``v2 (seed=1)`` (declared)."""
        if self.repeat is None:
            return self.name
        return self.name + (self.repeat if self.repeat.startswith("#") else f" ({self.repeat})")

    @property
    def rows(self) -> int | None:
        """How many examples the run holds, when it holds examples."""
        return None

    @property
    def table(self) -> pd.DataFrame | None:
        """The run's example metadata columns (slices, text), when it has examples."""
        return None

    def merged_with(self, other: RunBase) -> RunBase:
        """This run and ``other`` (same name and type) as one; only ``mergeable`` runs."""
        raise TypeError(f"{type(self).__name__} runs do not merge")


@dataclass(kw_only=True)
class ExampleRun(RunBase):
    """A run with one row per evaluated example (every kind but lm-eval results files)."""

    n_examples: int
    ids: np.ndarray | None  # example ids, unique, when the file has them
    columns: dict[str, str]  # role -> the column name found in the file
    extra: pd.DataFrame  # every other column, kept as example metadata

    @property
    def rows(self) -> int | None:
        return self.n_examples

    @property
    def table(self) -> pd.DataFrame | None:
        return self.extra

    @property
    def targets(self) -> np.ndarray | None:
        """What each example is scored against, for checking that two runs paired by id
        score the same targets (regression labels, reference answers); None if not checked."""
        return None
