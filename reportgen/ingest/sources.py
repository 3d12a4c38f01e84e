"""Which kind of run a path holds, and loading it: the entry point of the ingest stage.

- a per-example table (or a run directory with ``predictions.<ext>``) is a classification,
  regression, multilabel, perplexity or generation run, by its columns
  (:func:`reportgen.ingest_lm.frame_kind`) or ``--task``;
- a JSON object with a ``results`` key is lm-evaluation-harness output (a benchmark run);
- ``samples_<task>_*.jsonl`` is an lm-eval per-sample log;
- a directory without ``predictions.<ext>`` is an lm-eval output folder: every results file
  in it (one per suite) is merged into one benchmark run, every sample log is a run of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.ingest.language import (
    HISTORY_NAMES,
    BenchmarkRun,
    History,
    PerplexityRun,
    TextRun,
    frame_kind,
    generation_run,
    is_lmeval_results,
    lmeval_results,
    lmeval_samples,
    load_history,
    looks_like_samples,
    perplexity_run,
)
from reportgen.ingest.runs import (
    ColumnNames,
    Run,
    _read_frame,
    _stem,
    _validate,
    detect_format,
    locate,
    parse_run_argument,
)
from reportgen.ingest.tabular import MultilabelRun, RegressionRun, multilabel_run, regression_run
from reportgen.kinds.embeddings import lazy_column

AnyRun = Run | PerplexityRun | TextRun | BenchmarkRun | RegressionRun | MultilabelRun


@dataclass
class Sources:
    """Everything the run arguments held, by kind, in argument order."""

    runs: list[AnyRun] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)

    @property
    def classification(self) -> list[Run]:
        return [r for r in self.runs if isinstance(r, Run)]

    @property
    def language(self) -> list[PerplexityRun | TextRun]:
        return [r for r in self.runs if isinstance(r, PerplexityRun | TextRun)]

    @property
    def regression(self) -> list[RegressionRun]:
        return [r for r in self.runs if isinstance(r, RegressionRun)]

    @property
    def multilabel(self) -> list[MultilabelRun]:
        return [r for r in self.runs if isinstance(r, MultilabelRun)]

    @property
    def benchmarks(self) -> list[BenchmarkRun]:
        return [r for r in self.runs if isinstance(r, BenchmarkRun)]


def load_source(
    argument: str | Path, columns: ColumnNames | None = None, task: str | None = None
) -> Sources:
    """Load one ``PATH`` or ``NAME=PATH`` argument: one run, or several from an lm-eval folder."""
    name, path = parse_run_argument(str(argument))
    columns = columns or ColumnNames()
    if not path.exists():
        raise ReportgenError(f"{path}: file not found; check the path")
    if path.is_dir() and not any(path.glob("predictions.*")):
        return _lmeval_folder(path, name or path.name)
    if path.is_file() and looks_like_samples(path):
        return Sources([lmeval_samples(path, name or _samples_name(path), {})])
    data_path, default_name, metadata = locate(path)
    name = name or default_name
    if detect_format(data_path) == "json" and _is_lmeval_file(data_path):
        return Sources([lmeval_results([data_path], name, data_path)])
    fmt = detect_format(data_path)
    embedding = lazy_column(data_path, fmt)  # vectors stay in the file until sampled
    frame = _read_frame(data_path, fmt, embedding.name if embedding else None)
    kind = frame_kind(frame, data_path, columns, task)
    run: AnyRun
    if kind == "perplexity":
        run = perplexity_run(frame, name, data_path, fmt, columns, metadata)
    elif kind == "generation":
        run = generation_run(frame, name, data_path, fmt, columns, metadata)
    elif kind == "regression":
        run = regression_run(frame, name, data_path, fmt, columns, metadata)
    elif kind == "multilabel":
        run = multilabel_run(frame, name, data_path, fmt, columns, metadata)
    else:
        run = _validate(frame, name, data_path, fmt, columns, metadata, embedding)
    histories = [load_history(h, name) for h in _histories_beside(path, data_path)]
    return Sources([run], histories)


def load_sources(
    arguments: Sequence[str | Path | AnyRun],
    columns: ColumnNames | None = None,
    task: str | None = None,
    histories: Sequence[str | History] = (),
    mapper: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
) -> Sources:
    """Load every run argument (run objects pass through) and every ``--history NAME=PATH``.

    ``mapper`` may load arguments concurrently; results keep the argument order."""

    def one(argument: str | Path | AnyRun) -> Sources:
        if isinstance(argument, AnyRun):
            return Sources([argument])
        return load_source(argument, columns, task)

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
    _check_names(found)
    return found


def _check_names(found: Sources) -> None:
    """One model may have runs of several kinds, but one run per kind (and task)."""
    seen: dict[tuple[str, str], AnyRun] = {}
    for run in found.runs:
        key = (run.name, run.group if not isinstance(run, Run) else "classification")
        if key in seen:
            raise ReportgenError(
                f"two {key[1]} runs are named {run.name!r} ({seen[key].path} and {run.path}); "
                "name them apart with NAME=PATH"
            )
        seen[key] = run
    names = {h.name for h in found.histories}
    if len(names) < len(found.histories):
        raise ReportgenError("two training histories have the same model name; give one each")


def _is_lmeval_file(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if not head.lstrip().startswith("{"):
        return False
    try:
        return is_lmeval_results(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def _samples_name(path: Path) -> str:
    return path.parent.name or _stem(path)


def _lmeval_folder(folder: Path, name: str) -> Sources:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    results = [p for p in files if p.suffix.lower() == ".json" and _is_lmeval_file(p)]
    samples = [p for p in files if p.name.startswith("samples_") and ".jsonl" in p.name]
    if not results and not samples:
        raise ReportgenError(
            f"{folder}: no predictions.<ext>, lm-eval results (*.json with 'results') or "
            "samples_*.jsonl in this folder; point at a run file or an lm-eval output folder"
        )
    runs: list[AnyRun] = []
    if results:
        runs.append(lmeval_results(results, name, folder))
    runs += [lmeval_samples(p, name, {}) for p in samples]
    histories = [load_history(h, name) for h in _histories_beside(folder, None)]
    return Sources(runs, histories)


def _histories_beside(path: Path, data_path: Path | None) -> list[Path]:
    """``history.<ext>`` in a run directory, or ``<file>.history.<ext>`` beside a run file."""
    if path.is_dir():
        return [path / n for n in HISTORY_NAMES if (path / n).is_file()][:1]
    assert data_path is not None
    stem = _stem(data_path)
    beside = [data_path.with_name(f"{stem}.{n}") for n in HISTORY_NAMES]
    return [p for p in beside if p.is_file()][:1]
