"""Run arguments -> loaded runs: the entry point of the ingest stage.

Each argument is ``PATH`` or ``NAME=PATH``. The kinds of run (:data:`reportgen.kinds.KINDS`,
handed in by the pipeline) say which paths and tables are theirs: a kind with a format of its
own (an lm-eval results file or output folder, a sample log) claims the path; otherwise the
file is read as a table of examples (a run directory's ``predictions.<ext>``, with its
``run.json`` metadata) and the kinds are asked, in ``detect_rank`` order, which of them it
holds. Training histories beside a run are loaded too.

Repeats of one model (seeds) are runs of the same kind with the same name that say which
repeat they are: a ``seed`` or ``repeat`` column (one file may hold every repeat, one value
each), a ``seed`` or ``repeat`` key in the run's metadata, or ``--repeats``, which numbers runs
given the same ``NAME=`` in argument order. Two runs of one name and kind that do not are an
error that says how to declare them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest import layouts, memory
from reportgen.ingest.base import RunBase
from reportgen.ingest.columns import check_run_names, with_paths
from reportgen.ingest.files import (
    _read_frame,
    check_regular_file,
    check_text_head,
    detect_format,
)
from reportgen.ingest.folders import check_run_folder
from reportgen.ingest.history import (
    HISTORY_NAMES,
    History,
    history_json,
    load_history,
    looks_like_history,
)
from reportgen.ingest.runs import (
    HEADERLESS,
    ColumnNames,
    _row_location,
    _stem,
    locate,
    parse_run_argument,
)
from reportgen.ingest.vectors import lazy_column

REPEAT_KEYS = ("seed", "repeat")  # columns or metadata keys that say which repeat a run is


@dataclass(frozen=True)
class Source:
    """A per-example table read from a run file, before a kind claims it."""

    frame: pd.DataFrame
    name: str
    path: Path
    format: str
    columns: ColumnNames
    metadata: dict[str, Any]
    task: str | None  # --task, when given
    embedding: Any = None  # an embedding column left in the file (see ingest.vectors)
    notes: tuple[str, ...] = ()  # what the layout options did (--where, --labels), for the page

    def reader_args(self) -> tuple[pd.DataFrame, str, Path, str, ColumnNames, dict[str, Any]]:
        """What every table reader of a kind takes: frame, name, path, format, columns,
        metadata."""
        return self.frame, self.name, self.path, self.format, self.columns, self.metadata


class Claimant(Protocol):
    """What the ingest stage asks of a kind (see :class:`reportgen.kinds.base.Kind`)."""

    detect_rank: int

    def claims_file(self, path: Path) -> bool: ...

    def load_file(self, path: Path, name: str | None) -> list[RunBase]: ...

    def claims(self, source: Any) -> bool: ...

    def load(self, source: Any) -> RunBase: ...


@dataclass
class Sources:
    """Everything the run arguments held, in argument order."""

    runs: list[RunBase] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)


def load_source(
    argument: str | Path,
    kinds: Sequence[Claimant],
    columns: ColumnNames | None = None,
    task: str | None = None,
) -> Sources:
    """Load one ``PATH`` or ``NAME=PATH`` argument: one run, or several from an lm-eval folder."""
    name, path = parse_run_argument(str(argument))
    columns = columns or ColumnNames()
    check_regular_file(path, "run", folder=True)
    if path.is_dir():
        check_run_folder(path)  # not /, a system folder or one that cannot be read
    check_text_head(path)  # binary content is refused before any kind reads the file
    for kind in kinds:
        if kind.claims_file(path):
            histories = []
            if path.is_dir():
                histories = [load_history(h, name or path.name) for h in _histories_beside(path)]
            return Sources(kind.load_file(path, name), histories)
    data_path, default_name, metadata = locate(path)
    name = name or default_name
    if data_path != path:
        check_text_head(data_path)
        for kind in kinds:
            if kind.claims_file(data_path):
                return Sources(kind.load_file(data_path, name))
    fmt = detect_format(data_path)
    shape = history_json(data_path)[1] if fmt == "json" else None
    if columns.header is not None:  # --no-header --columns: read as the names say
        embedding = None
        frame = _read_frame(data_path, fmt, names=columns.header)
    else:
        embedding = lazy_column(data_path, fmt)  # vectors stay in the file until sampled
        frame = (
            None if shape else _read_frame(data_path, fmt, embedding.name if embedding else None)
        )
    if frame is None or looks_like_history(frame.columns):
        shape = shape or "an epoch or step column beside losses"
        raise ReportgenError(
            f"{data_path}: this looks like a training history ({shape}), not a run; pass it "
            f"with --history {name}={data_path}"
        )
    shown = fmt + HEADERLESS if columns.header is not None else fmt  # lines count from 1
    source = Source(frame, name, data_path, shown, columns, metadata, task, embedding)
    histories = [load_history(h, name) for h in _histories_beside(path, data_path)]
    return Sources(load_table(source, kinds), histories)


def load_table(source: Source, kinds: Sequence[Claimant]) -> list[RunBase]:
    """The runs a table of examples holds, a file's or one in memory: the first kind (in
    ``detect_rank`` order) that claims it loads it, once per repeat it declares."""
    columns = source.columns.for_run(source.name)  # NAME=COLUMN options of this run
    source = replace(source, columns=columns, frame=with_paths(source.frame, columns, source.path))
    if columns.layout.active:  # --where, --labels, several models in one table
        return [
            run for part in layouts.apply(source, columns.layout) for run in _load_one(part, kinds)
        ]
    return _load_one(source, kinds)


def _load_one(source: Source, kinds: Sequence[Claimant]) -> list[RunBase]:
    runs = _claimed(source, kinds)
    for run in runs:
        run.notes = [*run.notes, *source.notes]
    return runs


def _claimed(source: Source, kinds: Sequence[Claimant]) -> list[RunBase]:
    claimant = next(k for k in sorted(kinds, key=lambda k: k.detect_rank) if k.claims(source))
    repeats = _repeat_sources(source)
    if repeats is None:
        run = claimant.load(source)
        key = next((k for k in REPEAT_KEYS if k in source.metadata), None)
        if key is not None and run.repeatable:
            run.repeat = f"{key}={source.metadata[key]}"
        return [run]
    found = []
    for label, part in repeats:
        run = claimant.load(part)
        if not run.repeatable:
            return [claimant.load(source)]  # a kind without repeats
        run.repeat = label
        found.append(run)
    return found


def load_memory(
    table: Any,
    name: str,
    kinds: Sequence[Claimant],
    columns: ColumnNames | Mapping[str, str] | None = None,
    task: str | None = None,
    origin: str = "dataframe",
) -> list[RunBase]:
    """The runs of a table in memory (a pandas or polars DataFrame, a pyarrow Table; for
    ``origin="arrays"``, the keywords of :func:`reportgen.ingest.memory.arrays_frame`), by the
    rules a file's table gets; messages name ``DataFrame 'NAME'`` and the row."""
    if not isinstance(name, str) or not name:
        raise ReportgenError(
            f"a run built in memory needs a name (a non-empty string), not {name!r}; "
            'e.g. Run.from_frame(frame, "candidate")'
        )
    at = memory.where(name, origin)
    # origin "arrays": the arguments of Run.from_arrays
    arrays = origin == "arrays"
    frame = memory.arrays_frame(name, **table) if arrays else memory.frame_of(table, at)
    path = memory.memory_path(frame, name, origin)
    source = Source(frame, name, path, origin, memory.column_names(columns, at), {}, task)
    return load_table(source, kinds)


def _repeat_sources(source: Source) -> list[tuple[str, Source]] | None:
    """A table with a ``seed`` or ``repeat`` column, as one source per value of it (None
    without such a column)."""
    lower = {str(c).lower(): c for c in source.frame.columns}
    key = next((k for k in REPEAT_KEYS if k in lower), None)
    if key is None:
        return None
    column = lower[key]
    values = source.frame[column]
    if values.isna().any():
        row = int(values.isna().to_numpy().argmax())
        raise ReportgenError(
            f"{source.path}: column {column!r} is empty at {_row_location(source.format, row)}; "
            "give every row its repeat (seed), or rename the column if it is not one"
        )
    distinct = sorted(values.unique(), key=lambda v: (str(type(v)), v))
    if len(distinct) > 1 and source.embedding is not None:
        raise ReportgenError(
            f"{source.path}: a {column!r} column with several values cannot be read with an "
            "embedding column; write one file per repeat"
        )
    found = []
    for value in distinct:
        part = source.frame[values == value].drop(columns=[column]).reset_index(drop=True)
        label = f"{key}={value}"
        found.append((label, replace(source, frame=part)))
    return found


def load_sources(
    arguments: Sequence[Any],
    kinds: Sequence[Claimant],
    columns: ColumnNames | None = None,
    task: str | None = None,
    histories: Sequence[str | History] = (),
    mapper: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
    repeats: bool = False,
) -> Sources:
    """Load every run argument (run objects pass through) and every ``--history NAME=PATH``.

    ``mapper`` may load arguments concurrently; results keep the argument order. With
    ``repeats``, runs of one kind given the same name are repeats of one model."""

    def one(argument: Any) -> Sources:
        if isinstance(argument, RunBase):
            return Sources([argument])
        if isinstance(argument, memory.NamedTable):
            return Sources(load_memory(argument.table, argument.name, kinds, columns, task))
        if not isinstance(argument, str | Path):
            raise ReportgenError(
                f"a run is a path, NAME=PATH or a loaded run, not {type(argument).__name__}; "
                'e.g. build_report(["old=a.csv", "new=b.csv"]), or name DataFrames in a '
                'mapping: build_report({"old": df_old, "new": df_new})'
            )
        return load_source(argument, kinds, columns, task)

    if columns is not None and columns.per_run:  # before loading: a misspelt NAME is named
        check_run_names(columns, _names_given(arguments))
    found = Sources()
    for loaded in (mapper or (lambda f, items: [f(i) for i in items]))(one, list(arguments)):
        found.runs += loaded.runs
        found.histories += loaded.histories
    for item in histories:
        if isinstance(item, History):
            found.histories.append(item)
            continue
        name, sep, path = str(item).partition("=")
        if not sep or not name:
            raise ReportgenError(
                f"--history {item!r}: write NAME=PATH, e.g. --history v2=runs/v2/history.csv"
            )
        found.histories.append(load_history(Path(path), name))
    if repeats:
        _number_repeats(found.runs)
    found.runs = _merged(found.runs)
    _check_names(found)
    return found


def _names_given(arguments: Sequence[Any]) -> set[str]:
    """The names of the runs the arguments give tables for: ``NAME=``, a file's stem, a run
    folder's name, a table's or a loaded run's name (what ``NAME=COLUMN`` options name)."""
    names = set()
    for argument in arguments:
        if isinstance(argument, RunBase | memory.NamedTable):
            names.add(argument.name)
        elif isinstance(argument, str | Path):
            name, path = parse_run_argument(str(argument))
            names.add(name or (path.name if path.is_dir() else _stem(path)))
    return names


def _merged(runs: list[RunBase]) -> list[RunBase]:
    """Runs that merge when one name is given several times (lm-eval results files of one
    model from several invocations), merged into the first one's place."""
    kept: list[RunBase] = []
    for run in runs:
        same = next(
            (k for k in kept if k.name == run.name and type(k) is type(run) and k.mergeable),
            None,
        )
        if same is None:
            kept.append(run)
        else:
            kept[kept.index(same)] = same.merged_with(run)
    return kept


def _number_repeats(runs: Sequence[RunBase]) -> None:
    """``--repeats``: runs of one name and kind without a declared repeat get ``#1``, ``#2``..."""
    counts: dict[tuple[str, str], int] = {}
    for run in runs:
        key = (run.name, run.group)
        counts[key] = counts.get(key, 0) + 1
    seen: dict[tuple[str, str], int] = {}
    for run in runs:
        key = (run.name, run.group)
        if counts[key] > 1 and run.repeatable and run.repeat is None:
            seen[key] = seen.get(key, 0) + 1
            run.repeat = f"#{seen[key]}"


def _check_names(found: Sources) -> None:
    """One model may have runs of several kinds, but one run per kind (and task), unless the
    runs are declared repeats of it."""
    seen: dict[tuple[str, str], Any] = {}
    labels: dict[tuple[str, str], set[str]] = {}
    for run in found.runs:
        key = (run.name, run.group)
        repeat = run.repeat
        if key in seen:
            first = seen[key]
            if not run.repeatable:
                raise ReportgenError(
                    f"two {key[1]} runs are named {run.name!r} ({first.path} and {run.path}); "
                    "name them apart with NAME=PATH (repeats of one model are read for runs "
                    "with one row per example)"
                )
            if repeat is None or first.repeat is None:
                raise ReportgenError(
                    f"two {key[1]} runs are named {run.name!r} ({first.path} and {run.path}); "
                    "name them apart with NAME=PATH, or, if they are repeats of one model "
                    '(seeds), pass --repeats or give each a seed column or a "seed" key in '
                    "its run.json"
                )
            if repeat in labels[key]:
                raise ReportgenError(
                    f"{run.path}: two runs of {run.name!r} are both {repeat}; give each repeat "
                    "its own seed"
                )
            labels[key].add(repeat)
            continue
        seen[key] = run
        labels[key] = {repeat} if repeat else set()
    names = {h.name for h in found.histories}
    if len(names) < len(found.histories):
        raise ReportgenError("two training histories have the same model name; give one each")


def _histories_beside(path: Path, data_path: Path | None = None) -> list[Path]:
    """``history.<ext>`` in a run directory, or ``<file>.history.<ext>`` beside a run file."""
    if path.is_dir():
        return [path / n for n in HISTORY_NAMES if (path / n).is_file()][:1]
    assert data_path is not None
    stem = _stem(data_path)
    beside = [data_path.with_name(f"{stem}.{n}") for n in HISTORY_NAMES]
    return [p for p in beside if p.is_file()][:1]
