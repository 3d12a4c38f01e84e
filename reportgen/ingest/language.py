"""Stage 1 for language models: perplexity runs, generation runs, lm-evaluation-harness output
and training histories -> validated, columnar run objects.

Per-example files go through the same readers and checks as classification runs
(:mod:`reportgen.ingest`); which kind a file is follows from its columns (see
:func:`reportgen.sources.load_sources`).
"""

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
from reportgen.ingest.runs import (
    ID_ALIASES,
    LABEL_ALIASES,
    PREDICTION_ALIASES,
    ColumnNames,
    _find_column,
    _read_frame,
    _row_location,
    _sha256,
    _stem,
    class_name,
    detect_format,
    unique_ids,
)

NLL_ALIASES = ("nll", "loss", "neg_log_likelihood", "sum_nll")
TOKENS_ALIASES = ("num_tokens", "n_tokens", "tokens", "token_count")
BYTES_ALIASES = ("num_bytes", "n_bytes", "bytes")
PERPLEXITY_ALIASES = ("perplexity", "ppl")
PROMPT_ALIASES = ("prompt", "question", "input", "text")
SAMPLE_METRIC_ORDER = ("acc_norm", "acc", "exact_match")


@dataclass
class PerplexityRun:
    """Per-example summed negative log-likelihood (nats) and token counts of one model."""

    name: str
    path: Path
    sha256: str
    format: str
    n_examples: int
    nll: np.ndarray  # float64, nats summed over the example's tokens
    num_tokens: np.ndarray  # float64 (counts), > 0
    num_bytes: np.ndarray | None
    ids: np.ndarray | None
    columns: dict[str, str]
    extra: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kind: str = "perplexity"

    @property
    def group(self) -> str:
        return "perplexity"


@dataclass
class TextRun:
    """Per-example outputs scored right or wrong: free-text generations (exact match and
    token F1 against the references) or an lm-eval per-sample log (its own sample metrics)."""

    name: str
    path: Path
    sha256: str
    format: str
    n_examples: int
    task: str  # "generation" or the lm-eval task name
    predictions: list[str]
    references: list[list[str]]  # acceptable answers per example
    prompts: list[str] | None
    sample_metrics: dict[str, np.ndarray]  # lm-eval logs: metric -> per-example value
    ids: np.ndarray | None
    columns: dict[str, str]
    extra: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "generation" if not self.sample_metrics else "lm-eval samples"

    @property
    def group(self) -> str:
        return "generation" if not self.sample_metrics else f"samples:{self.task}"


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


@dataclass
class History:
    """A training history in long form: one row per (step, split, metric)."""

    name: str
    path: Path
    frame: pd.DataFrame  # columns step (float), split, metric, value


# ----------------------------------------------------------------------------- detection


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


def looks_perplexity(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    """Summed NLL (or per-example perplexity) with token counts, or without a label column:
    a classifier's per-example 'loss' beside its labels is not a perplexity run."""
    lower = {str(c).lower() for c in frame.columns}
    likelihood = any(a in lower for a in (*NLL_ALIASES, *PERPLEXITY_ALIASES))
    if not likelihood:
        return False
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    return any(a in lower for a in TOKENS_ALIASES) or label_col is None


def looks_generation(frame: pd.DataFrame, path: Path, columns: ColumnNames) -> bool:
    """Free-text references: an ``answers`` column without labels, labels holding lists or
    JSON lists of answers, or text labels that mostly do not repeat (class labels do)."""
    label_col = _find_column(frame, path, "label", LABEL_ALIASES, columns.label)
    if label_col is None:
        lower = {str(c).lower() for c in frame.columns}
        return "answers" in lower or "answer" in lower
    labels = frame[label_col]
    if labels.dtype != object and not isinstance(labels.dtype, pd.StringDtype):
        return False
    head = labels.dropna().head(1000)  # a list column holds lists in every row
    if head.map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
        return True
    if len(head) and all(isinstance(v, str) for v in head):
        if head.str.startswith("[").all():
            return True  # JSON lists of acceptable answers, as CSV writes them
        distinct = labels.nunique()
        return bool(distinct >= 20 and distinct > 0.5 * labels.notna().sum())
    return False


# ----------------------------------------------------------------------------- perplexity


def _positive_numbers(
    frame: pd.DataFrame, column: str, path: Path, fmt: str, what: str, allow_zero: bool = False
) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | ((values < 0) if allow_zero else (values <= 0))
    if bad.any():
        row = int(np.argmax(bad))
        value = frame[column].iloc[row]
        shown = "a missing value" if pd.isna(value) else str(value)
        raise ReportgenError(
            f"{path}: {what} column {column!r} has {shown} at "
            f"{_row_location(fmt, row)}; it must be a "
            f"{'non-negative' if allow_zero else 'positive'} number"
        )
    return values


def perplexity_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> PerplexityRun:
    nll_col = _find_column(frame, path, "nll", NLL_ALIASES, None)
    ppl_col = _find_column(frame, path, "perplexity", PERPLEXITY_ALIASES, None)
    tok_col = _find_column(frame, path, "token count", TOKENS_ALIASES, None)
    bytes_col = _find_column(frame, path, "byte count", BYTES_ALIASES, None)
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    if tok_col is None:
        given = nll_col or ppl_col
        raise ReportgenError(
            f"{path}: column {given!r} needs per-example token counts to be weighted; add "
            "'num_tokens' (or n_tokens, tokens): corpus perplexity is exp(sum nll / sum tokens)"
        )
    tokens = _positive_numbers(frame, tok_col, path, fmt, "token count")
    notes = []
    if nll_col is not None:
        nll = _positive_numbers(frame, nll_col, path, fmt, "negative log-likelihood", True)
    else:
        assert ppl_col is not None
        perplexity = _positive_numbers(frame, ppl_col, path, fmt, "perplexity")
        nll = tokens * np.log(perplexity)  # exact: ppl_i = exp(nll_i / tokens_i)
        notes.append(
            f"Per-example perplexity ({ppl_col!r}) converted to summed NLL as "
            "num_tokens × ln(perplexity)."
        )
    num_bytes = _positive_numbers(frame, bytes_col, path, fmt, "byte count") if bytes_col else None
    ids = unique_ids(frame, id_col, path, fmt)
    found = {"nll" if nll_col else "perplexity": nll_col or ppl_col, "num_tokens": tok_col}
    if bytes_col:
        found["num_bytes"] = bytes_col
    if id_col:
        found["id"] = id_col
    used = [c for c in found.values() if c is not None]
    return PerplexityRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        nll=nll,
        num_tokens=tokens,
        num_bytes=num_bytes,
        ids=ids,
        columns={k: v for k, v in found.items() if v is not None},
        extra=frame.drop(columns=used),
        metadata=metadata,
        notes=notes,
    )


# ----------------------------------------------------------------------------- generation


def _answers(value: Any, path: Path, fmt: str, row: int, column: str) -> list[str]:
    if isinstance(value, np.ndarray):  # a list column read from Parquet
        value = value.tolist()
    if isinstance(value, list | tuple):
        answers = [v if isinstance(v, str) else str(v) for v in value if v is not None]
    elif isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list):
            raise ReportgenError(
                f"{path}: {column!r} at {_row_location(fmt, row)} starts with '[' but is not a "
                'JSON list of answers; write it as ["answer one", "answer two"]'
            )
        answers = [str(v) for v in parsed if v is not None]
    elif value is None or (isinstance(value, float) and math.isnan(value)):
        answers = []
    else:
        answers = [class_name(value)]
    if not answers:
        raise ReportgenError(
            f"{path}: no reference answer in column {column!r} at {_row_location(fmt, row)}; "
            "every example needs at least one"
        )
    return answers


def generation_run(
    frame: pd.DataFrame,
    name: str,
    path: Path,
    fmt: str,
    columns: ColumnNames,
    metadata: dict[str, Any],
) -> TextRun:
    label_col = _find_column(
        frame, path, "label", (*LABEL_ALIASES, "answers", "answer"), columns.label
    )
    pred_col = _find_column(
        frame,
        path,
        "prediction",
        (*PREDICTION_ALIASES, "output", "generation", "response"),
        columns.prediction,
    )
    if label_col is None or pred_col is None:
        missing = "label (reference answer)" if label_col is None else "prediction (model output)"
        raise ReportgenError(
            f"{path}: a generation run needs a {missing} column; name it "
            f"{'label' if label_col is None else 'prediction'} or pass "
            f"{'--label-col' if label_col is None else '--pred-col'}"
        )
    id_col = _find_column(frame, path, "id", ID_ALIASES, columns.id)
    prompt_col = _find_column(frame, path, "prompt", PROMPT_ALIASES, None)
    references = [
        _answers(v, path, fmt, i, label_col) for i, v in enumerate(frame[label_col].tolist())
    ]
    predictions = _texts(frame[pred_col])
    prompts = None if prompt_col is None else _texts(frame[prompt_col])
    found = {"label": label_col, "prediction": pred_col}
    if id_col:
        found["id"] = id_col
    if prompt_col:
        found["prompt"] = prompt_col
    return TextRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        n_examples=len(frame),
        task="generation",
        predictions=predictions,
        references=references,
        prompts=prompts,
        sample_metrics={},
        ids=unique_ids(frame, id_col, path, fmt),
        columns=found,
        extra=frame.drop(columns=[label_col, pred_col, *([id_col] if id_col else [])]),
        metadata=metadata,
    )


def _texts(series: pd.Series) -> list[str]:
    """A column as text, missing values as empty strings (vectorised for text columns)."""
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        values = series.tolist()
        if all(isinstance(v, str) for v in values):
            return values
    return ["" if _missing(v) else class_name(v) for v in series.tolist()]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# ----------------------------------------------------------------------------- lm-eval


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


# ----------------------------------------------------------------------------- histories

HISTORY_NAMES = ("history.csv", "history.jsonl", "history.tsv", "history.parquet")


def load_history(path: Path, name: str) -> History:
    """A training history, long (step, split, metric, value) or wide (step, train_loss, ...)."""
    fmt = detect_format(path)
    frame = _read_frame(path, fmt)
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    step_col = next(
        (by_lower[c] for c in ("step", "global_step", "iteration", "epoch") if c in by_lower), None
    )
    if step_col is None:
        raise ReportgenError(
            f"{path}: training history needs a 'step' (or epoch) column; "
            "write long form step,split,metric,value or wide form step,train_loss,val_loss,..."
        )
    step = pd.to_numeric(frame[step_col], errors="coerce")
    if step.isna().any():
        row = int(np.argmax(step.isna().to_numpy()))
        raise ReportgenError(
            f"{path}: step {frame[step_col].iloc[row]!r} at {_row_location(fmt, row)} is not a "
            "number"
        )
    if {"metric", "value"} <= set(by_lower):
        split = frame[by_lower["split"]].astype(str) if "split" in by_lower else "train"
        long = pd.DataFrame(
            {
                "step": step.astype(np.float64),
                "split": split,
                "metric": frame[by_lower["metric"]].astype(str),
                "value": pd.to_numeric(frame[by_lower["value"]], errors="coerce"),
            }
        )
    else:
        # "Unnamed: 0" is a pandas index written to CSV, not a metric
        value_cols = [
            c for c in frame.columns if c != step_col and not str(c).startswith("Unnamed: ")
        ]
        if not value_cols:
            raise ReportgenError(f"{path}: training history has a step column and nothing else")
        wide = frame[value_cols].apply(pd.to_numeric, errors="coerce")
        wide.insert(0, "step", step.astype(np.float64))
        long = wide.melt(id_vars="step", var_name="column", value_name="value")
        parts = long["column"].astype(str).map(_split_metric_name)
        long["split"] = parts.str[0]
        long["metric"] = parts.str[1]
        long = long.drop(columns="column")
    long = long[np.isfinite(long["value"].to_numpy(np.float64, na_value=np.nan))]
    if long.empty:
        raise ReportgenError(f"{path}: training history has no numeric values")
    return History(name=name, path=path, frame=long.reset_index(drop=True))


SPLIT_PREFIXES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "eval": "validation",
    "dev": "validation",
    "test": "test",
}


def _split_metric_name(column: str) -> tuple[str, str]:
    """``val_loss`` -> (validation, loss); ``loss`` -> (train, loss)."""
    for sep in ("_", "/", "."):
        head, found, tail = column.partition(sep)
        if found and head.lower() in SPLIT_PREFIXES and tail:
            return SPLIT_PREFIXES[head.lower()], tail
    return "train", column


# --------------------------------------------------------------------- lm-eval files and folders


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
