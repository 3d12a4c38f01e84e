"""The one base type of every loaded run, and what the rest of the pipeline may ask of a run.

Every run type (classification :class:`~reportgen.ingest.runs.Run`, perplexity, text,
regression, multilabel, lm-eval results, training histories, a kind added later) extends
:class:`RunBase`. Ingest, sources and the pipeline read these fields and class attributes, and
never probe a run with ``getattr`` or ``hasattr``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import numpy as np
import pandas as pd


class MemoryPath(PurePosixPath):
    """Where an in-memory run came from, in the place of a file's path: it prints as the run
    is named in messages (``DataFrame 'candidate'``, ``arrays 'candidate'``) and carries the
    SHA-256 of the table's canonical Arrow bytes. A pure path: nothing opens it as a file."""

    label: str = "<memory>"
    digest: str = ""

    @classmethod
    def of(cls, label: str, digest: str) -> MemoryPath:
        found = cls("<memory>")
        found.label, found.digest = label, digest
        return found

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"MemoryPath({self.label!r})"


@dataclass(kw_only=True)
class RunBase:
    """Provenance shared by every run: who it is, where it came from, and which repeat.

    Subclasses add their own data (labels, scores, sums) as ordinary fields; these are keyword
    only, so a subclass's own fields may come first and have no defaults."""

    name: str  # the model's name in the report
    path: Path  # the file or folder the run came from (a MemoryPath: built in memory)
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

    @property
    def in_memory(self) -> bool:
        """Whether the run was built from arrays or a DataFrame, not read from a file."""
        return isinstance(self.path, MemoryPath)

    def source_entry(self) -> dict[str, Any]:
        """Where the run came from, as the JSON summary's ``source`` writes it: a file's path,
        SHA-256 and format; an in-memory run's ``"type": "memory"``, no path, and the SHA-256
        of its canonical Arrow bytes."""
        if self.in_memory:
            return {"type": "memory", "path": None, "sha256": self.sha256, "format": self.format}
        return {"path": str(self.path), "sha256": self.sha256, "format": self.format}

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


# How a table in memory becomes a run: set by :mod:`reportgen.kinds` when it is imported (the
# kinds decide which kind a table holds, and ingest never imports them). It takes the frame,
# the run's name, the column names, the task, and "dataframe" or "arrays", and gives the runs.
TableLoader = Callable[[pd.DataFrame, str, Any, "str | None", str], list[RunBase]]
TABLE_LOADERS: list[TableLoader] = []


def load_table(
    frame: pd.DataFrame, name: str, columns: Any, task: str | None, origin: str
) -> list[RunBase]:
    """The runs an in-memory table holds, read by the kinds' own rules (see TABLE_LOADERS)."""
    if not TABLE_LOADERS:  # reportgen.Run imports the kinds; ingest alone cannot
        raise RuntimeError(
            "no kinds are registered to read a table: import reportgen.kinds first (or use "
            "reportgen.Run, which does)"
        )
    return TABLE_LOADERS[-1](frame, name, columns, task, origin)
