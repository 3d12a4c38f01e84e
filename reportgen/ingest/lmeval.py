"""lm-evaluation-harness files: results JSON of every harness version (one task's metrics and
standard errors, groups, n-shot, versions, directions), per-sample logs, and output folders."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reportgen.errors import ReportgenError
from reportgen.ingest.base import RunBase
from reportgen.ingest.files import _sha256, check_not_lfs_pointer, read_bytes
from reportgen.ingest.runs import class_name


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
    n_original: int | None = None  # the task's size before --limit (n-samples "original")
    repeats: dict[str, list[float]] = field(default_factory=dict)  # key -> each run's value


@dataclass(kw_only=True)
class BenchmarkRun(RunBase):
    """lm-evaluation-harness results of one model: every task of every merged file."""

    files: list[Path]
    tasks: dict[str, TaskResult]
    groups: dict[str, list[str]]  # group -> its subtasks (MMLU -> its categories -> subjects)
    model_args: str | None
    format: str = "lm-eval results"

    kind: ClassVar[str] = "benchmark"
    repeatable: ClassVar[bool] = False  # repeats are files merged into one run
    mergeable: ClassVar[bool] = True

    @property
    def rows(self) -> int | None:
        return self.n_examples

    @property
    def n_examples(self) -> int | None:
        counts = [t.n_samples for t in self.tasks.values() if t.n_samples is not None]
        return sum(counts) if counts else None

    def merged_with(self, other: RunBase) -> BenchmarkRun:
        """One model's results given as several NAME=PATH arguments: all their files merged
        (tasks by the later file, repeats averaged; see :func:`lmeval_results`)."""
        files = list(dict.fromkeys([*self.files, *other.files]))
        return lmeval_results(files, self.name, self.path)


def is_lmeval_results(data: Any) -> bool:
    """lm-eval's results file, or its bare ``results`` object (task -> metric -> value)."""
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("eval"), dict) and "model" in data["eval"]:
        return False  # an inspect-ai log (its results are not lm-eval's)
    if isinstance(data.get("results"), dict):
        return True
    return _is_bare_results(data)


def _is_bare_results(data: dict[str, Any]) -> bool:
    """``{"arc_easy": {"acc": 0.7, "acc_stderr": 0.01}, ...}``: every value an object, and
    each holding at least one number under a metric-like key."""
    if not data or not all(isinstance(v, dict) for v in data.values()):
        return False
    return all(
        any(
            isinstance(value, int | float) and not isinstance(value, bool)
            for key, value in entries.items()
            if key != "alias"
        )
        or set(entries) <= {"alias", " "}
        for entries in data.values()
    )


def results_object(data: dict[str, Any]) -> dict[str, Any]:
    """The file as lm-eval writes it: a bare results object wrapped as ``{"results": ...}``."""
    return data if isinstance(data.get("results"), dict) else {"results": data}


def _read_json(path: Path) -> Any:
    """A JSON file, parsed once per build however often it is asked for (recognising an
    lm-eval file, finding its model, merging it): cached by path, size and modification
    time. Callers only read the result."""
    check_not_lfs_pointer(path)
    try:
        found = path.stat()
        return _parsed(str(path), found.st_size, found.st_mtime_ns)
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportgenError(f"{path}: cannot read ({exc}); check the file") from None
    except json.JSONDecodeError as exc:
        raise ReportgenError(
            f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file"
        ) from None
    except RecursionError:
        raise ReportgenError(
            f"{path}: nested too deeply to read (arrays or objects inside each other); "
            "an lm-eval results file or a list of flat records is expected"
        ) from None


@functools.lru_cache(maxsize=64)
def _parsed(path: str, size: int, mtime_ns: int) -> Any:
    return json.loads(read_bytes(Path(path)).decode("utf-8"))  # hashed as parsed


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
            ):
                metrics[f"{metric},{filt}"] = float(value)  # Infinity and NaN kept, shown
        higher: dict[str, bool] = {}
        for item in (configs.get(task) or {}).get("metric_list") or []:
            if isinstance(item, dict) and "metric" in item and "higher_is_better" in item:
                higher[str(item["metric"])] = bool(item["higher_is_better"])
        for metric, flag in (top_higher.get(task) or {}).items():
            higher[str(metric)] = bool(flag)
        samples = n_samples.get(task)
        original = None
        if isinstance(samples, dict):
            original = samples.get("original")
            samples = samples.get("effective", original)
        shot = n_shot.get(task)
        if shot is None:
            shot = (configs.get(task) or {}).get("num_fewshot")
        if shot is None:  # harness 0.3: one num_fewshot for the whole invocation
            shot = (data.get("config") or {}).get("num_fewshot")
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
            n_original=int(original) if isinstance(original, int | float) else None,
        )
    return tasks


def model_identity(data: dict[str, Any]) -> str | None:
    """Which model a results file is of: its ``model_name``, else ``pretrained=`` in
    ``config.model_args`` (a string or, in newer files, an object)."""
    name = data.get("model_name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    args = (data.get("config") or {}).get("model_args")
    if isinstance(args, dict) and isinstance(args.get("pretrained"), str):
        return str(args["pretrained"])
    if isinstance(args, str):
        for part in args.split(","):
            key, sep, value = part.partition("=")
            if sep and key.strip() == "pretrained" and value.strip():
                return value.strip()
    return None


def read_results(path: Path) -> dict[str, Any]:
    data = _read_json(path)
    if not is_lmeval_results(data):
        raise ReportgenError(
            f"{path}: not an lm-eval results file (no 'results' object of tasks, each an "
            "object of metric: value); pass the results_*.json that lm-eval writes"
        )
    found = results_object(data)
    _check_shape(found, path)
    return found


OBJECT_KEYS = ("n-shot", "versions", "n-samples", "configs", "higher_is_better", "config")


def _check_shape(data: dict[str, Any], path: Path) -> None:
    """The keys reportgen reads, of the types lm-eval writes them; otherwise one message
    naming the file and the key."""

    def wrong(key: str, what: str) -> ReportgenError:
        return ReportgenError(f"{path}: {key} should be {what}; fix or remove it")

    for key in (*OBJECT_KEYS, "group_subtasks"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise wrong(repr(key), "an object")
    for task, shot in (data.get("n-shot") or {}).items():
        if shot is not None and not _whole(shot):
            raise wrong(f"n-shot[{task!r}]", "a whole number")
    for task, samples in (data.get("n-samples") or {}).items():
        parts = samples.values() if isinstance(samples, dict) else [samples]
        if not all(p is None or _whole(p) for p in parts):
            raise wrong(f"n-samples[{task!r}]", "counts (whole numbers)")
    for key in ("configs", "higher_is_better"):
        for task, entry in (data.get(key) or {}).items():
            if entry is not None and not isinstance(entry, dict):
                raise wrong(f"{key}[{task!r}]", "an object")
    for task, entry in (data.get("configs") or {}).items():
        listed = (entry or {}).get("metric_list")
        if listed is not None and not isinstance(listed, list):
            raise wrong(f"configs[{task!r}].metric_list", "a list")
    for group, members in (data.get("group_subtasks") or {}).items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise wrong(f"group_subtasks[{group!r}]", "a list of task names")
    check_no_cycle(data.get("group_subtasks") or {}, str(path))
    for key in ("configs", "higher_is_better"):
        for task, entry in (data.get(key) or {}).items():
            if key == "configs":
                items = [
                    (f"configs[{task!r}].metric_list[{i}].higher_is_better", item)
                    for i, item in enumerate((entry or {}).get("metric_list") or [])
                    if isinstance(item, dict) and "higher_is_better" in item
                ]
                flags = [(name, item["higher_is_better"]) for name, item in items]
            else:
                flags = [
                    (f"higher_is_better[{task!r}][{m!r}]", f) for m, f in (entry or {}).items()
                ]
            for name, flag in flags:
                if not isinstance(flag, bool):
                    raise wrong(name, f"true or false (not {json.dumps(flag)[:40]})")
    date = data.get("date")
    if date is not None and _timestamp(date) is None:
        raise wrong("'date'", "a Unix time in seconds, such as 1713518875.6")
    for task, entries in data["results"].items():
        if not isinstance(entries, dict):
            raise wrong(f"results[{task!r}]", "an object of metric: value pairs")


def _timestamp(value: Any) -> dt.datetime | None:
    """lm-eval's ``date`` (seconds since 1970) as a UTC datetime; None for anything else (a
    string, NaN, or a number no calendar date has)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def group_leaves(groups: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Each group's leaf tasks (members that are not groups, through every level of
    subgroups, in first-seen order without repeats). Each group is walked once, so groups
    that share subgroups cost the size of the graph, not the number of paths through it; a
    member leading back to a group being walked (a cycle, refused when files are read) is
    skipped."""
    found: dict[str, list[str]] = {}
    for root in groups:
        if root in found:
            continue
        stack = [(root, iter(groups[root]))]
        walking = {root}
        while stack:
            group, members = stack[-1]
            for member in members:
                if member in groups and member not in found and member not in walking:
                    walking.add(member)
                    stack.append((member, iter(groups[member])))
                    break
            else:
                stack.pop()
                walking.discard(group)
                leaves: dict[str, None] = {}
                for member in groups[group]:
                    if member not in groups:
                        leaves[member] = None
                    elif member in found:
                        leaves.update(dict.fromkeys(found[member]))
                found[group] = list(leaves)
    return found


def group_cycle(groups: Mapping[str, list[str]]) -> list[str] | None:
    """A group that contains itself through its subgroups, as the path round the cycle
    (``[a, b, a]``); None when there is none."""
    done: set[str] = set()
    for root in groups:
        if root in done:
            continue
        stack = [(root, iter(groups[root]))]
        path = [root]
        while stack:
            group, members = stack[-1]
            for member in members:
                if member in path:
                    return [*path[path.index(member) :], member]
                if member in groups and member not in done:
                    path.append(member)
                    stack.append((member, iter(groups[member])))
                    break
            else:
                stack.pop()
                path.pop()
                done.add(group)
    return None


def check_no_cycle(groups: Mapping[str, list[str]], where: str) -> None:
    cycle = group_cycle(groups)
    if cycle is not None:
        raise ReportgenError(
            f"{where}: group_subtasks has a cycle: {' -> '.join(cycle)} (a group cannot "
            "contain itself through its subgroups); fix group_subtasks"
        )


def _whole(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value).is_integer()
    )


def lmeval_results(paths: list[Path], name: str, where: Path) -> BenchmarkRun:
    """Merge lm-eval results files of one model (one per suite, or several runs) into one run.

    Files holding exactly the same tasks (at the same versions and n-shot) are repeats: each
    task's value is the mean over them
    (see :func:`_repeated`). Otherwise a task found in two files keeps the later one (by the
    file's ``date``), with one note for all such tasks. Files of two different models are
    refused."""
    loaded = []
    for path in paths:
        data = read_results(path)
        date = data.get("date")
        loaded.append((float(date) if isinstance(date, int | float) else 0.0, path, data))
    loaded.sort(key=lambda item: (item[0], str(item[1])))
    identities = {path: model_identity(data) for _, path, data in loaded}
    distinct = list(dict.fromkeys(i for i in identities.values() if i))
    if len(distinct) > 1:
        first = next(p for p, i in identities.items() if i == distinct[0])
        second = next(p for p, i in identities.items() if i == distinct[1])
        raise ReportgenError(
            f"{where}: files of two models under the one name {name!r}: {first.name} is "
            f"{distinct[0]}, {second.name} is {distinct[1]}; give each model its own NAME=PATH"
        )
    # repeats: the same tasks, at the same task versions and n-shot settings
    units: dict[frozenset[tuple[str, Any, Any]], list[tuple[Path, dict[str, TaskResult]]]] = {}
    for _, path, data in loaded:
        found = _task_results(data, path)
        key = frozenset((t, r.version, r.n_shot) for t, r in found.items())
        units.setdefault(key, []).append((path, found))
    tasks: dict[str, TaskResult] = {}
    replaced: dict[str, str] = {}  # task -> the file whose result is kept
    notes: list[str] = []
    order = [path for _, path, _ in loaded]
    for unit in sorted(units.values(), key=lambda u: order.index(u[-1][0])):
        results = _repeated(unit) if len(unit) > 1 else unit[0][1]
        if len(unit) > 1:
            notes.append(
                f"{len(unit)} files hold the same {len(results)} tasks ("
                + ", ".join(p.name for p, _ in unit)
                + "): they are repeats, and each task shows their mean and spread."
            )
        for task, result in results.items():
            if task in tasks:
                replaced[task] = result.source
            tasks[task] = result
    if replaced:
        listed = list(replaced)
        more = f" and {len(listed) - 3} more" if len(listed) > 3 else ""
        notes.append(
            f"{len(listed)} task{'s are' if len(listed) > 1 else ' is'} in more than one file "
            f"({', '.join(listed[:3])}{more}); the later file's result is used ("
            + ", ".join(dict.fromkeys(replaced.values()))
            + ")."
        )
    groups: dict[str, list[str]] = {}
    model_args: str | None = None
    for _, _, data in loaded:
        for group, members in (data.get("group_subtasks") or {}).items():
            if isinstance(members, list) and members:
                groups[str(group)] = [str(m) for m in members]
        args = (data.get("config") or {}).get("model_args")
        if args:
            model_args = args if isinstance(args, str) else json.dumps(args, sort_keys=True)
    if len(loaded) > 1:
        check_no_cycle(groups, f"{where} ({', '.join(p.name for _, p, _ in loaded)})")
    if not tasks:
        raise ReportgenError(f"{where}: the lm-eval results hold no tasks; check the files")
    digest = _combined_sha256([p for _, p, _ in loaded])
    metadata: dict[str, Any] = {"model": distinct[0]} if distinct else {}
    metadata |= run_details([data for _, _, data in loaded])
    if model_args:
        metadata["model_args"] = model_args
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


def _repeated(unit: list[tuple[Path, dict[str, TaskResult]]]) -> dict[str, TaskResult]:
    """Runs of the same tasks as repeats: each metric's mean over the runs, every run's value
    kept, and SE = sqrt(mean SE² + s² / R) (the test set's error, which repeats on the same
    items do not shrink, and the runs' spread)."""
    found = {}
    for task, last in unit[-1][1].items():
        runs = [results[task] for _, results in unit]
        metrics, stderrs, repeats = {}, {}, {}
        for key in last.metrics:
            values = [r.metrics[key] for r in runs if key in r.metrics]
            if len(values) < len(runs):
                continue
            metrics[key] = float(np.mean(values))
            repeats[key] = values
            errors = [r.stderrs.get(key) for r in runs]
            if all(e is not None for e in errors):
                spread = float(np.var(values, ddof=1)) / len(values)
                stderrs[key] = math.sqrt(float(np.mean(np.square(errors))) + spread)
            else:
                stderrs[key] = None
        found[task] = TaskResult(
            **{**last.__dict__, "metrics": metrics, "stderrs": stderrs, "repeats": repeats}
        )
    return found


def run_details(loaded: list[dict[str, Any]]) -> dict[str, Any]:
    """What the runs table and the JSON show of how a model was run: harness version, date,
    --limit, batch size and dtype (from the files' config; several values joined)."""
    found: dict[str, list[str]] = {}

    def add(key: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # --limit 512 is written 512.0 by some versions
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        found.setdefault(key, [])
        if text not in found[key]:
            found[key].append(text)

    for data in loaded:
        config = data.get("config") or {}
        version = data.get("lm_eval_version")
        add("harness", f"lm-eval {version}" if version else None)
        git = data.get("git_hash")
        add("harness git", str(git)[:10] if git else None)
        stamp = _timestamp(data.get("date"))
        if stamp is not None:
            add("date", stamp.strftime("%Y-%m-%d %H:%M UTC"))
        add("limit", config.get("limit"))
        add("batch size", config.get("batch_size"))
        args = config.get("model_args")
        dtype = config.get("model_dtype")
        if dtype is None and isinstance(args, dict):
            dtype = args.get("dtype")
        if dtype is None and isinstance(args, str):
            dtype = next(
                (p.partition("=")[2] for p in args.split(",") if p.startswith("dtype=")), None
            )
        add("dtype", dtype)
    return {key: ", ".join(values) for key, values in found.items()}


def _combined_sha256(paths: list[Path]) -> str:
    if len(paths) == 1:
        return _sha256(paths[0])
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(f"{path.name}:{_sha256(path)}\n".encode())
    return digest.hexdigest()


def is_lmeval_file(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if not head.lstrip().startswith("{"):
        return False
    try:
        return is_lmeval_results(_read_json(path))
    except ReportgenError:
        return False
