"""lm-evaluation-harness files: results JSON of every harness version (one task's metrics and
standard errors, groups, n-shot, versions, directions), per-sample logs, and output folders."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.language import TextRun
from reportgen.ingest.runs import (
    _read_frame,
    _row_location,
    _sha256,
    _stem,
    class_name,
    detect_format,
)

SAMPLE_METRIC_ORDER = ("acc_norm", "acc", "exact_match")


@dataclass(frozen=True)
class TaskResult:
    """One task's aggregated results in an lm-eval results file."""

    task: str
    alias: str
    metrics: dict[str, float]  # "acc,none" -> value
    stderrs: dict[str, float | None]  # "acc,none" -> stderr (None for "N/A")
    n_shot: int | None
    version: str | None
    n_samples: int | None
    higher_is_better: dict[str, bool]  # metric (without filter) -> direction
    source: str  # the file it came from


@dataclass
class BenchmarkRun:
    """lm-evaluation-harness results of one model: every task of every merged file."""

    name: str
    path: Path
    sha256: str
    files: list[Path]
    tasks: dict[str, TaskResult]
    groups: dict[str, list[str]]  # group -> its subtasks (MMLU -> its categories -> subjects)
    model_args: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kind: str = "benchmark"
    format: str = "lm-eval results"

    @property
    def group(self) -> str:
        return "benchmark"

    @property
    def n_examples(self) -> int | None:
        counts = [t.n_samples for t in self.tasks.values() if t.n_samples is not None]
        return sum(counts) if counts else None


def is_lmeval_results(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("results"), dict)


def looks_like_samples(path: Path) -> bool:
    """An lm-eval per-sample log: ``samples_<task>_*.jsonl`` or lines with doc_id and resps."""
    if path.name.startswith("samples_") and ".jsonl" in path.name:
        return True
    if detect_format(path) != "jsonl" or path.suffix == ".gz":
        return False
    try:
        with path.open(encoding="utf-8") as handle:
            first = json.loads(handle.readline() or "null")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(first, dict) and "doc_id" in first and "filtered_resps" in first


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportgenError(f"{path}: cannot read ({exc}); check the file") from None
    except json.JSONDecodeError as exc:
        raise ReportgenError(
            f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file"
        ) from None


def _stderr(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None  # lm-eval writes "N/A" where it has no standard error (groups, some metrics)


def _task_results(data: dict[str, Any], path: Path) -> dict[str, TaskResult]:
    n_shot = data.get("n-shot") or {}
    versions = data.get("versions") or {}
    n_samples = data.get("n-samples") or {}
    configs = data.get("configs") or {}
    top_higher = data.get("higher_is_better") or {}
    tasks: dict[str, TaskResult] = {}
    for task, entries in data["results"].items():
        if not isinstance(entries, dict):
            raise ReportgenError(
                f"{path}: results[{task!r}] is not an object of metric: value pairs; "
                "is this an lm-eval results file?"
            )
        metrics: dict[str, float] = {}
        stderrs: dict[str, float | None] = {}
        for key, value in entries.items():
            metric, _, filt = str(key).partition(",")
            filt = filt or "none"  # lm-eval before 0.4 wrote bare metric names
            if metric.endswith("_stderr"):
                stderrs[f"{metric.removesuffix('_stderr')},{filt}"] = _stderr(value)
            elif (
                metric != "alias" and isinstance(value, int | float) and not isinstance(value, bool)
            ) and math.isfinite(value):
                metrics[f"{metric},{filt}"] = float(value)
        higher: dict[str, bool] = {}
        for item in (configs.get(task) or {}).get("metric_list") or []:
            if isinstance(item, dict) and "metric" in item and "higher_is_better" in item:
                higher[str(item["metric"])] = bool(item["higher_is_better"])
        for metric, flag in (top_higher.get(task) or {}).items():
            higher[str(metric)] = bool(flag)
        samples = n_samples.get(task)
        if isinstance(samples, dict):
            samples = samples.get("effective", samples.get("original"))
        shot = n_shot.get(task)
        if shot is None:
            shot = (configs.get(task) or {}).get("num_fewshot")
        version = versions.get(task)
        tasks[str(task)] = TaskResult(
            task=str(task),
            alias=str(entries.get("alias", task)).strip().lstrip("- ").strip() or str(task),
            metrics=metrics,
            stderrs=stderrs,
            n_shot=int(shot)
            if isinstance(shot, int | float) and not isinstance(shot, bool)
            else None,
            version=None if version is None else class_name(version),
            n_samples=int(samples) if isinstance(samples, int | float) else None,
            higher_is_better=higher,
            source=path.name,
        )
    return tasks


def lmeval_results(paths: list[Path], name: str, where: Path) -> BenchmarkRun:
    """Merge lm-eval results files (one per suite, or several runs) into one model's results.

    A task found in two files keeps the later one (by the file's ``date``), with a note.
    """
    loaded = []
    for path in paths:
        data = _read_json(path)
        if not is_lmeval_results(data):
            raise ReportgenError(
                f"{path}: not an lm-eval results file (no 'results' object); pass the "
                "results_*.json that lm-eval writes"
            )
        date = data.get("date")
        loaded.append((float(date) if isinstance(date, int | float) else 0.0, path, data))
    loaded.sort(key=lambda item: (item[0], str(item[1])))
    tasks: dict[str, TaskResult] = {}
    groups: dict[str, list[str]] = {}
    notes: list[str] = []
    model_args: str | None = None
    for _, path, data in loaded:
        for task, result in _task_results(data, path).items():
            if task in tasks:
                notes.append(
                    f"Task {task} is in {tasks[task].source} and {path.name}; "
                    f"the later file ({path.name}) is used."
                )
            tasks[task] = result
        for group, members in (data.get("group_subtasks") or {}).items():
            if isinstance(members, list) and members:
                groups[str(group)] = [str(m) for m in members]
        args = (data.get("config") or {}).get("model_args")
        if args:
            model_args = args if isinstance(args, str) else json.dumps(args, sort_keys=True)
    if not tasks:
        raise ReportgenError(f"{where}: the lm-eval results hold no tasks; check the files")
    digest = _combined_sha256([p for _, p, _ in loaded])
    metadata = {"model_args": model_args} if model_args else {}
    return BenchmarkRun(
        name=name,
        path=where,
        sha256=digest,
        files=[p for _, p, _ in loaded],
        tasks=tasks,
        groups=groups,
        model_args=model_args,
        metadata=metadata,
        notes=notes,
    )


def _combined_sha256(paths: list[Path]) -> str:
    if len(paths) == 1:
        return _sha256(paths[0])
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(f"{path.name}:{_sha256(path)}\n".encode())
    return digest.hexdigest()


SAMPLES_NAME = re.compile(r"^samples_(.+?)(?:_\d{4}-\d{2}-\d{2}T[\d\-\.:]+)?\.jsonl(?:\.gz)?$")


def _response_text(value: Any) -> str:
    """The model's answer in a sample log: generated text, or the chosen option's index."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list | str):
        value = value[0]
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, list) and v and isinstance(v[0], int | float) for v in value)
    ):
        # loglikelihood requests: one [logprob, is_greedy] per choice; the answer is the argmax
        return f"choice {int(np.argmax([float(v[0]) for v in value]))}"
    return json.dumps(value, ensure_ascii=False)[:500]


def _prompt_text(doc: Any) -> str:
    if isinstance(doc, dict):
        for key in ("question", "query", "prompt", "input", "sentence", "ctx", "text", "goal"):
            if isinstance(doc.get(key), str):
                return doc[key]
        return json.dumps(doc, ensure_ascii=False, sort_keys=True)[:1000]
    return "" if doc is None else str(doc)


def lmeval_samples(path: Path, name: str, metadata: dict[str, Any]) -> TextRun:
    """An lm-eval per-sample log: one line per (document, filter) with its sample metrics."""
    fmt = detect_format(path)
    frame = _read_frame(path, fmt)
    required = ("doc_id", "filtered_resps")
    for column in required:
        if column not in frame.columns:
            raise ReportgenError(
                f"{path}: lm-eval sample log without a {column!r} field; pass the "
                "samples_<task>_*.jsonl that lm-eval --log_samples writes"
            )
    notes: list[str] = []
    if "filter" in frame.columns and frame["filter"].nunique() > 1:
        filters = list(dict.fromkeys(frame["filter"].astype(str)))
        frame = frame[frame["filter"].astype(str) == filters[0]].reset_index(drop=True)
        notes.append(f"Filters {', '.join(filters)} logged; the first ({filters[0]}) is used.")
    listed = []
    if "metrics" in frame.columns:
        first = frame["metrics"].iloc[0]
        listed = [str(m) for m in first] if isinstance(first, list) else []
    candidates = [m for m in SAMPLE_METRIC_ORDER if m in frame.columns] + [
        m for m in listed if m in frame.columns and m not in SAMPLE_METRIC_ORDER
    ]
    sample_metrics: dict[str, np.ndarray] = {}
    for metric in candidates:
        values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if np.isfinite(values).all():
            sample_metrics[metric] = values
    if not sample_metrics:
        raise ReportgenError(
            f"{path}: no numeric per-sample metric (such as acc or exact_match) in the lm-eval "
            "sample log; re-run lm-eval with --log_samples"
        )
    match = SAMPLES_NAME.match(path.name)
    task = match.group(1) if match else path.stem
    targets = frame["target"].tolist() if "target" in frame.columns else [""] * len(frame)
    docs = frame["doc"].tolist() if "doc" in frame.columns else None
    ids = frame["doc_id"]
    if ids.duplicated().any():
        row = int(np.argmax(ids.duplicated().to_numpy()))
        raise ReportgenError(
            f"{path}: doc_id {class_name(ids.iloc[row])} appears twice at "
            f"{_row_location(fmt, row)} for one filter; pass one task's log per file"
        )
    kept = [c for c in ("doc", "target", "arguments", "resps", "filtered_resps") if c in frame]
    drop = kept + [c for c in frame.columns if c.endswith("_hash") or c in ("metrics", "filter")]
    return TextRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format="lm-eval samples",
        n_examples=len(frame),
        task=task,
        predictions=[_response_text(v) for v in frame["filtered_resps"].tolist()],
        references=[[class_name(t) if not isinstance(t, list) else json.dumps(t)] for t in targets],
        prompts=None if docs is None else [_prompt_text(d) for d in docs],
        sample_metrics=sample_metrics,
        ids=ids.to_numpy(),
        columns={"id": "doc_id", "prediction": "filtered_resps", "label": "target"},
        extra=frame.drop(columns=[c for c in drop if c in frame.columns] + ["doc_id"]).drop(
            columns=list(sample_metrics)
        ),
        metadata=metadata,
        notes=notes,
    )


def is_lmeval_file(path: Path) -> bool:
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


def samples_name(path: Path) -> str:
    return path.parent.name or _stem(path)


def lmeval_folder_runs(folder: Path, name: str) -> list[Any]:
    """An lm-eval output folder: every results file in it (one per suite) merged into one
    benchmark run, every sample log a run of its own."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    results = [p for p in files if p.suffix.lower() == ".json" and is_lmeval_file(p)]
    samples = [p for p in files if p.name.startswith("samples_") and ".jsonl" in p.name]
    if not results and not samples:
        raise ReportgenError(
            f"{folder}: no predictions.<ext>, lm-eval results (*.json with 'results') or "
            "samples_*.jsonl in this folder; point at a run file or an lm-eval output folder"
        )
    runs: list[Any] = []
    if results:
        runs.append(lmeval_results(results, name, folder))
    runs += [lmeval_samples(p, name, {}) for p in samples]
    return runs
