"""lm-eval output folders as people have them: ``OUT/<model_sanitized>/results_<date>.json``
with sample logs beside, one model or several, one run or several of each.

Results files are grouped by the model they are of (:func:`~reportgen.ingest.lmeval.
model_identity`, else the folder they sit in). One model: one benchmark run (named NAME, or
after the model). Several: one run per model, named after each, unless the user gave the
folder one NAME, which is an error that lists the models and how to name each. Sample logs
go with the model whose results sit in the same folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.ingest.files import check_not_lfs_pointer, is_lfs_pointer
from reportgen.ingest.folders import folder_files
from reportgen.ingest.lmeval import (
    is_lmeval_file,
    lmeval_results,
    model_identity,
    read_results,
)
from reportgen.ingest.lmeval_samples import lmeval_samples

SAMPLES_STAMP = re.compile(r"_(\d{4}-\d{2}-\d{2}T[\d\-\.:]+)\.jsonl")


def lmeval_folder_runs(folder: Path, name: str | None) -> list[Any]:
    """Every results file in ``folder`` (recursively), as one benchmark run per model, and
    every sample log as a run of its own."""
    files = folder_files(folder)
    pointers = [p for p in files if is_lfs_pointer(p)]
    files = [p for p in files if p not in pointers]
    results = [p for p in files if p.suffix.lower() == ".json" and is_lmeval_file(p)]
    samples = [p for p in files if p.name.startswith("samples_") and ".jsonl" in p.name]
    if not results and not samples:
        raise ReportgenError(
            f"{folder}: no predictions.<ext>, lm-eval results (*.json with 'results') or "
            "samples_*.jsonl in this folder; point at a run file or an lm-eval output folder"
        )
    models: dict[str, list[Path]] = {}
    for path in results:
        identity = model_identity(read_results(path))
        models.setdefault(identity or _folder_model(folder, path), []).append(path)
    if len(models) > 1 and name is not None:
        listed = "; ".join(f"{model} in {_where(folder, paths)}" for model, paths in models.items())
        first = next(iter(models.values()))
        raise ReportgenError(
            f"{folder}: holds the results of {len(models)} models ({listed}); give each its "
            f"own NAME=PATH, e.g. a={_where(folder, first, full=True)}, or drop the NAME= to "
            "name them after the models"
        )
    runs: list[Any] = []
    owner: dict[Path, str] = {}
    for model, paths in models.items():
        run_name = name if name is not None else model
        runs.append(lmeval_results(paths, run_name, folder))
        for path in paths:
            owner[path.parent] = run_name
    fallback = name if name is not None else (next(iter(owner.values())) if owner else None)
    logs = []
    for path in samples:
        run_name = owner.get(path.parent) or fallback or path.parent.name or folder.name
        logs.append(lmeval_samples(path, run_name, {}))
    _label_repeats(logs)
    runs += logs
    if pointers and runs:
        skipped = ", ".join(str(p.relative_to(folder)) for p in pointers[:3])
        more = f" and {len(pointers) - 3} more" if len(pointers) > 3 else ""
        runs[0].notes.append(
            f"Skipped {skipped}{more}: a Git LFS pointer, not the file (run git lfs pull)."
        )
    elif pointers:
        check_not_lfs_pointer(pointers[0])
    return runs


def _label_repeats(logs: list[Any]) -> None:
    """Sample logs of one model and task from several runs (one per results file) are
    repeats, labelled by the run's timestamp in the file name."""
    counts: dict[tuple[str, str], int] = {}
    for log in logs:
        counts[(log.name, log.task)] = counts.get((log.name, log.task), 0) + 1
    for log in logs:
        if counts[(log.name, log.task)] > 1:
            stamp = SAMPLES_STAMP.search(log.path.name)
            log.repeat = f"run {stamp.group(1)}" if stamp else log.path.name


def _folder_model(folder: Path, path: Path) -> str:
    """The model folder a results file without a model name sits in (the folder itself for a
    flat folder)."""
    return path.parent.name if path.parent != folder else folder.name


def _where(folder: Path, paths: list[Path], full: bool = False) -> str:
    parent = paths[0].parent
    if parent == folder:
        return f"{folder}/" if full else "the folder itself"
    return f"{parent}/" if full else f"{parent.relative_to(folder)}/"
