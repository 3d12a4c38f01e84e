"""Scores of other evaluation harnesses, as they write them, each recognised from its content:
MTEB task results, a Hugging Face model card's ``model-index`` (the YAML front matter of a
``README.md``) and ``.eval_results/*.yaml``, OpenAI simple-evals summaries, LLaMA-Factory
``all_results.json``/``predict_results.json`` and RobustBench ``model_info`` entries (model x
metric summary tables: :mod:`reportgen.ingest.summary_tables`).

Each becomes a :class:`ScoresRun`: the lm-eval results shape (tasks with metrics and standard
errors), so that the benchmark board reads it as it reads lm-eval's. A spread the file gives
is kept (MTEB's experiments as repeats, simple-evals' ``score:std`` as a note); a summary table
has no intervals, and says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.ingest.files import _sha256, read_bytes
from reportgen.ingest.lmeval import BenchmarkRun, TaskResult, _read_json
from reportgen.ingest.runs import _stem


@dataclass(kw_only=True)
class ScoresRun(BenchmarkRun):
    """One model's scores from another harness (or an inspect-ai log's task level)."""

    spreads: dict[str, str] = field(default_factory=dict)  # task -> "sd 0.120" as the file says
    intervals: bool = True  # False: a summary table, values without any interval
    kind: ClassVar[str] = "benchmark scores"

    def merged_with(self, other: Any) -> ScoresRun:
        """Files of one model given under one name: their tasks together (the later file's
        where both hold one)."""
        both = [t for t in other.tasks if t in self.tasks]
        notes = [*self.notes, *other.notes]
        if both:
            notes.append(
                f"{len(both)} task(s) in more than one file ({', '.join(both[:3])}); the later "
                "file's result is used."
            )
        return ScoresRun(
            name=self.name,
            path=self.path,
            format=self.format if self.format == other.format else "benchmark scores",
            files=list(dict.fromkeys([*self.files, *other.files])),
            tasks={**self.tasks, **other.tasks},
            groups={**self.groups, **other.groups},
            model_args=self.model_args,
            metadata={**other.metadata, **self.metadata},
            notes=notes,
            spreads={**self.spreads, **other.spreads},
            intervals=self.intervals and other.intervals,
        )


def _number(value: Any) -> float | None:
    """A finite number, or a number written as text (RobustBench's "94.78")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            found = float(value.strip().rstrip("%"))
        except ValueError:
            return None
        return found if math.isfinite(found) else None
    return None


def _task(
    task: str,
    metrics: dict[str, float],
    path: Path,
    *,
    alias: str | None = None,
    stderrs: dict[str, float | None] | None = None,
    n: int | None = None,
    repeats: dict[str, list[float]] | None = None,
) -> TaskResult:
    return TaskResult(
        task=task,
        alias=alias or task,
        metrics={f"{k},none": v for k, v in metrics.items()},
        stderrs={f"{k},none": v for k, v in (stderrs or {}).items()},
        n_shot=None,
        version=None,
        n_samples=n,
        higher_is_better={},
        source=path.name,
        repeats={f"{k},none": v for k, v in (repeats or {}).items()},
    )


def _run(name: str, path: Path, fmt: str, tasks: dict[str, TaskResult], **more: Any) -> ScoresRun:
    if not any(t.metrics for t in tasks.values()):
        raise ReportgenError(f"{path}: the {fmt} file holds no numeric score; check the file")
    return ScoresRun(
        name=name,
        path=path,
        sha256=_sha256(path),
        format=fmt,
        files=[path],
        tasks=tasks,
        groups=more.pop("groups", {}),
        model_args=None,
        **more,
    )


# ----------------------------------------------------------------------------- MTEB


def is_mteb(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "task_name" in data
        and isinstance(data.get("scores"), dict)
        and all(isinstance(v, list) for v in data["scores"].values())
    )


def read_mteb(data: dict[str, Any], path: Path, name: str | None) -> list[ScoresRun]:
    """``scores.<split>[]``: each subset's ``main_score`` first, then its other metrics; the
    ``scores_per_experiment`` of the metric equal to the main score are repeats (mean, spread
    and SE = sd / sqrt(n))."""
    tasks: dict[str, TaskResult] = {}
    for split, entries in data["scores"].items():
        for entry in entries:
            if not isinstance(entry, dict) or _number(entry.get("main_score")) is None:
                raise ReportgenError(
                    f"{path}: scores[{split!r}] has an entry without a numeric main_score; "
                    "pass the results JSON that MTEB writes"
                )
            parts = [str(data["task_name"])]
            subset = entry.get("hf_subset", "default")
            if subset not in (None, "default"):
                parts.append(f"({subset})")
            if split != "test":
                parts.append(f"[{split}]")
            main = float(entry["main_score"])
            metrics = {"main_score": main} | {
                str(k): float(v)
                for k, v in entry.items()
                if k != "main_score" and _number(v) is not None and not isinstance(v, str)
            }
            stderrs: dict[str, float | None] = {}
            repeats: dict[str, list[float]] = {}
            runs = entry.get("scores_per_experiment")
            if isinstance(runs, list) and len(runs) > 1:
                same = next(
                    (k for k, v in metrics.items() if k != "main_score" and v == main), None
                )
                values = [_number(r.get(same)) if isinstance(r, dict) else None for r in runs]
                if same is not None and all(v is not None for v in values):
                    repeats["main_score"] = [float(v) for v in values]  # type: ignore[arg-type]
                    sd = float(np.std(repeats["main_score"], ddof=1))
                    stderrs["main_score"] = sd / math.sqrt(len(values))
            key = " ".join(parts)
            tasks[key] = _task(key, metrics, path, stderrs=stderrs, repeats=repeats)
    meta = path.with_name("model_meta.json")
    model = None
    if meta.is_file():
        try:
            model = json.loads(meta.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            model = None
    version = data.get("mteb_version")
    return [
        _run(
            name or (str(model) if model else _stem(path)),
            path,
            "MTEB results",
            tasks,
            metadata={"harness": f"MTEB {version}"} if version else {},
        )
    ]


# ----------------------------------------------------------------------------- model cards


def front_matter(text: str) -> Any:
    """The YAML header of a Markdown file (between the first two ``---`` lines); None
    without one."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return None
    return _yaml("\n".join(lines[1:end]), None)


def _yaml(text: str, path: Path | None) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except RecursionError:
        if path is None:
            return None
        raise ReportgenError(f"{path}: nested too deeply to read; fix the file") from None
    except yaml.YAMLError as exc:
        if path is None:
            return None
        mark = exc.problem_mark if isinstance(exc, yaml.MarkedYAMLError) else None
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ReportgenError(f"{path}: not valid YAML{where}; fix the file") from None


def read_model_index(data: dict[str, Any], path: Path, name: str | None) -> list[ScoresRun]:
    """``model-index[].results[]``: one task per dataset (name, config and split), its
    ``main_score`` first where the card gives one; tasks grouped by ``task.type``."""
    runs = []
    entries = data.get("model-index")
    if not isinstance(entries, list) or not entries:
        raise ReportgenError(f"{path}: model-index should be a list of models; fix the card")
    for i, model in enumerate(entries):
        where = f"model-index[{i}]"
        if not isinstance(model, dict) or not isinstance(model.get("results"), list):
            raise ReportgenError(f"{path}: {where}.results should be a list; fix the card")
        tasks: dict[str, TaskResult] = {}
        groups: dict[str, list[str]] = {}
        for j, result in enumerate(model["results"]):
            dataset = result.get("dataset") if isinstance(result, dict) else None
            listed = result.get("metrics") if isinstance(result, dict) else None
            if not isinstance(dataset, dict) or not isinstance(listed, list):
                raise ReportgenError(
                    f"{path}: {where}.results[{j}] needs 'dataset' and a list of 'metrics'; "
                    "fix the card"
                )
            key = str(dataset.get("name") or dataset.get("type") or f"result {j + 1}")
            if dataset.get("split") not in (None, "test"):
                key += f" [{dataset['split']}]"
            while key in tasks:
                key += "'"
            metrics: dict[str, float] = {}
            for item in listed:
                value = _number(item.get("value")) if isinstance(item, dict) else None
                if value is not None and item.get("type"):
                    metrics[str(item["type"])] = value
            if "main_score" in metrics:
                metrics = {"main_score": metrics.pop("main_score"), **metrics}
            tasks[key] = _task(key, metrics, path)
            task = result.get("task")
            kind = task.get("type") if isinstance(task, dict) else None
            if kind:
                groups.setdefault(str(kind), []).append(key)
        if len(tasks) > 12:  # a card of many datasets: one board column per task type
            for group in groups:
                tasks.setdefault(group, _task(group, {}, path))
        else:
            groups = {}
        model_name = str(model.get("name") or "") or _card_name(path)
        runs.append(
            _run(
                name if name and len(entries) == 1 else model_name,
                path,
                "model-card model-index",
                tasks,
                groups=groups,
            )
        )
    return runs


def _card_name(path: Path) -> str:
    return (
        path.parent.name if path.name.lower() == "readme.md" and path.parent.name else _stem(path)
    )


def is_eval_results(data: Any) -> bool:
    """``.eval_results/<benchmark>.yaml``: a list of ``{dataset: {id, task_id}, value}``."""
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(d, dict) and isinstance(d.get("dataset"), dict) for d in data)
        and all("value" in d for d in data)
    )


def read_eval_results(data: list[Any], path: Path, name: str | None) -> list[ScoresRun]:
    tasks = {}
    for i, entry in enumerate(data):
        value = _number(entry.get("value"))
        if value is None:
            raise ReportgenError(f"{path}: entry {i + 1} has no numeric 'value'; fix the file")
        dataset = entry["dataset"]
        key = str(dataset.get("task_id") or dataset.get("id") or path.stem)
        if dataset.get("id") and dataset.get("task_id"):
            key = f"{dataset['id']}/{dataset['task_id']}"
        if entry.get("notes"):
            key += f" ({entry['notes']})"
        tasks[key] = _task(key, {"score": value}, path)
    folder = path.parent
    model = folder.parent.name if folder.name == ".eval_results" and folder.parent.name else None
    return [_run(name or model or _stem(path), path, "Hugging Face .eval_results", tasks)]


# ----------------------------------------------------------------------------- flat JSON


def is_simple_evals(data: Any) -> bool:
    """``{"score": 0.8, "score:std": 0.4, "<group>": ..., "<group>:std": ...}``."""
    return (
        isinstance(data, dict)
        and _number(data.get("score")) is not None
        and not isinstance(data.get("score"), str)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in data.values())
    )


def read_simple_evals(data: dict[str, Any], path: Path, name: str | None) -> list[ScoresRun]:
    """The file is ``<eval>_<model>.json``: the eval's ``score`` (``score:std`` the standard
    deviation over samples, shown, not a standard error: the file has no sample count), and
    each group's as a subtask."""
    stem = _stem(path)
    task, sep, model = stem.partition("_")
    task, model = (task, model) if sep and model else (stem, stem)
    tasks = {task: _task(task, {"score": float(data["score"])}, path)}
    spreads = {}
    if "score:std" in data:
        spreads[task] = f"sd {float(data['score:std']):.3f} over samples"
    members = []
    for key, value in data.items():
        if key in ("score", "score:std") or key.endswith(":std"):
            continue
        sub = f"{task}: {key}"
        tasks[sub] = _task(sub, {"score": float(value)}, path, alias=key)
        members.append(sub)
        if f"{key}:std" in data:
            spreads[sub] = f"sd {float(data[f'{key}:std']):.3f} over samples"
    return [
        _run(
            name or model,
            path,
            "simple-evals result",
            tasks,
            groups={task: members} if members else {},
            spreads=spreads,
        )
    ]


LLAMAFACTORY_PREFIXES = ("predict_", "eval_", "train_")
LLAMAFACTORY_SPEED = ("runtime", "samples_per_second", "steps_per_second")
LLAMAFACTORY_SKIP = ("model_preparation_time", "total_flos", "mem", "steps")


def is_llamafactory(data: Any) -> bool:
    """LLaMA-Factory's ``all_results.json``/``predict_results.json``: flat numbers, keys
    ``predict_*``/``eval_*``/``train_*`` (and ``epoch``), with their runtime."""
    if not isinstance(data, dict) or not data:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in data.values()):
        return False
    prefixed = [k for k in data if k.startswith(LLAMAFACTORY_PREFIXES)]
    return len(prefixed) >= len(data) - 1 and any(k.endswith("_runtime") for k in prefixed)


def read_llamafactory(data: dict[str, Any], path: Path, name: str | None) -> list[ScoresRun]:
    """One task per metric (``predict_bleu-4``), speed and bookkeeping keys left out."""
    tasks = {}
    for key, value in data.items():
        bare = key.partition("_")[2]
        if key == "epoch" or bare in LLAMAFACTORY_SPEED or bare.startswith(LLAMAFACTORY_SKIP):
            continue
        if key.startswith("train_"):
            continue  # training loss: a history's business, not a score
        split, _, metric = key.partition("_")
        tasks[key] = _task(key, {metric: float(value)}, path, alias=f"{metric} ({split})")
    folder = path.parent.name
    return [_run(name or folder or _stem(path), path, "LLaMA-Factory results", tasks)]


ROBUSTBENCH_KEYS = ("clean_acc", "autoattack_acc", "corruptions_acc", "reported")


def is_robustbench(data: Any) -> bool:
    return isinstance(data, dict) and "clean_acc" in data and "dataset" in data and "eps" in data


def read_robustbench(data: dict[str, Any], path: Path, name: str | None) -> list[ScoresRun]:
    """Accuracies in percent, written as text; the threat model and model id from the file's
    name (``<dataset>__<threat>__<id>.json``) when it has that form."""
    parts = _stem(path).split("__")
    threat, model = (parts[1], parts[2]) if len(parts) == 3 else (None, None)
    dataset = str(data.get("dataset"))
    tasks = {}
    for key in ("clean_acc", "autoattack_acc", "corruptions_acc"):
        value = _number(data.get(key))
        if key not in data:
            continue
        if value is None:
            raise ReportgenError(f"{path}: {key!r} is {data[key]!r}, not a number; fix the file")
        what = key.removesuffix("_acc")
        task = f"{dataset} {what}"
        if what != "clean" and threat not in (None, what):
            task = f"{dataset} {threat} {what}"
        if what == "autoattack":
            task += f" (eps {data.get('eps')})"
        tasks[task] = _task(task, {"acc": value}, path)
    return [
        _run(
            name or model or str(data.get("name") or _stem(path)),
            path,
            "RobustBench model_info",
            tasks,
            metadata={k: str(data[k]) for k in ("name", "architecture", "venue") if data.get(k)},
        )
    ]


JSON_FORMATS: dict[str, tuple[Callable[[Any], bool], Callable[..., list[ScoresRun]]]] = {
    "MTEB results": (is_mteb, read_mteb),
    "simple-evals result": (is_simple_evals, read_simple_evals),
    "LLaMA-Factory all_results/predict_results": (is_llamafactory, read_llamafactory),
    "RobustBench model_info": (is_robustbench, read_robustbench),
}


# ----------------------------------------------------------------------------- entry points


def harness_format(path: Path) -> str | None:
    """Which harness's file this is, from its content; None for none of them."""
    suffix = path.suffix.lower()
    if not path.is_file():
        return None
    if suffix == ".json":
        try:
            data = _read_json(path)
        except ReportgenError:
            return None
        return next((fmt for fmt, (test, _) in JSON_FORMATS.items() if test(data)), None)
    if suffix == ".md":
        try:
            data = front_matter(read_bytes(path).decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
        return "model-index" if isinstance(data, dict) and "model-index" in data else None
    if suffix in (".yaml", ".yml"):
        return "YAML"  # no other run is YAML: what it holds is said when it is read
    return None


def harness_runs(path: Path, name: str | None) -> list[ScoresRun]:
    fmt = harness_format(path)
    if fmt in JSON_FORMATS:
        return JSON_FORMATS[fmt][1](_read_json(path), path, name)
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise ReportgenError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    if path.suffix.lower() == ".md":
        return read_model_index(front_matter(text), path, name)
    data = _yaml(text, path)
    if isinstance(data, dict) and "model-index" in data:
        return read_model_index(data, path, name)
    if is_eval_results(data):
        return read_eval_results(data, path, name)
    raise ReportgenError(
        f"{path}: YAML, but neither a model card's model-index (model-index: [{{name, "
        "results}}]) nor .eval_results entries ([{dataset: {id, task_id}, value}]); pass one "
        "of those"
    )
