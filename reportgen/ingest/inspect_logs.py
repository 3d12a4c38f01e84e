"""inspect-ai evaluation logs, read with the standard library: ``.eval`` files (a zip of
``header.json``, ``samples/<id>_epoch_<n>.json``, ``reductions.json``, ``summaries.json``), the
``.json`` log form (one object: ``version, status, eval, results, samples, ...``), and a folder
of them (inspect's ``logs/``).

A log gives two things: the task-level ``results.scores[].metrics`` (accuracy, stderr, ...) as
benchmark scores of the model ``eval.model`` on the task ``eval.task`` (with its version and
dataset), and the per-sample scores as a sample log, paired across models by sample id. A
sample's score is mapped to a number as inspect's ``value_to_float`` does (``C`` 1, ``P`` 0.5,
``I`` and ``N`` 0, numbers and booleans as they are, "yes"/"true" 1, "no"/"false" 0, numeric
text as its number); a dict score gives one metric per key (``scorer.key``). Each epoch is a
repeat of the model.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import _sha256, check_not_lfs_pointer
from reportgen.ingest.harnesses import ScoresRun
from reportgen.ingest.language import TextRun
from reportgen.ingest.lmeval import TaskResult, _read_json
from reportgen.ingest.runs import class_name

FORMAT = "inspect-ai log"
LETTERS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}  # inspect's CORRECT, PARTIAL, ...


def is_inspect_data(data: Any) -> bool:
    """An inspect log object: ``eval`` with ``task`` and ``model``, and a ``status`` or
    ``results``."""
    if not isinstance(data, dict) or not isinstance(data.get("eval"), dict):
        return False
    found = data["eval"]
    return "task" in found and "model" in found and ("status" in data or "results" in data)


def _json_head_is_inspect(path: Path) -> bool:
    """A .json file that starts like an inspect log (``"version"`` then ``"status"`` or
    ``"eval"`` among its first keys), read in full only then."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if not head.lstrip().startswith("{") or ('"eval"' not in head and '"status"' not in head):
        return False
    try:
        return is_inspect_data(_read_json(path))  # parsed once, however often it is asked
    except ReportgenError:
        return False


def is_inspect_file(path: Path) -> bool:
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    if suffix == ".eval":
        return True  # inspect's own suffix: a broken one is said to be broken when read
    return suffix == ".json" and _json_head_is_inspect(path)


def inspect_logs_in(folder: Path) -> list[Path]:
    """The inspect logs directly in a folder, by name."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.suffix.lower() in (".eval", ".json") and is_inspect_file(p)]


def is_inspect_folder(path: Path) -> bool:
    return path.is_dir() and bool(inspect_logs_in(path))


def _read_log(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The log's header (eval, results, ...) and its samples."""
    check_not_lfs_pointer(path)
    if path.suffix.lower() == ".eval":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "header.json" not in names:
                    raise ReportgenError(
                        f"{path}: an .eval file without header.json; the log was not finished "
                        "(inspect writes header.json when the evaluation ends): re-run it"
                    )
                header = json.loads(archive.read("header.json").decode("utf-8"))
                samples = [
                    json.loads(archive.read(n).decode("utf-8"))
                    for n in sorted(names)
                    if n.startswith("samples/") and n.endswith(".json")
                ]
        except zipfile.BadZipFile:
            raise ReportgenError(
                f"{path}: not a zip archive, so not an inspect-ai .eval log; pass the file "
                "inspect wrote (or convert it with `inspect log convert --to json`)"
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReportgenError(f"{path}: a member of the .eval zip is not JSON ({exc})") from None
    else:
        header = _read_json(path)
        samples = header.get("samples") or [] if isinstance(header, dict) else []
    if not is_inspect_data(header):
        raise ReportgenError(
            f"{path}: not an inspect-ai log (no 'eval' object with 'task' and 'model'); "
            "pass a log that inspect wrote"
        )
    if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
        raise ReportgenError(f"{path}: 'samples' should be a list of objects; fix the file")
    return header, samples


def value_to_float(value: Any) -> float | None:
    """inspect's ``value_to_float``; None where inspect would warn and give 0."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in LETTERS:
            return LETTERS[value]
        lower = value.strip().lower()
        if lower in ("yes", "true"):
            return 1.0
        if lower in ("no", "false"):
            return 0.0
        try:
            return float(lower)
        except ValueError:
            return None
    return None


def task_name(header: dict[str, Any]) -> str:
    """The task as the log names it: ``eval.task``, with ``@version`` when it is not 0."""
    found = header["eval"]
    task = str(found.get("task"))
    version = found.get("task_version")
    return task if version in (None, 0, "0") else f"{task}@{version}"


def _task_result(header: dict[str, Any], path: Path) -> TaskResult | None:
    """``results.scores[]``: each scorer's metrics as ``metric,scorer`` (lm-eval's
    ``metric,filter``), its ``stderr`` the standard error of the scorer's other metrics."""
    results = header.get("results")
    if not isinstance(results, dict):
        return None
    entries = results.get("scores") or []
    if not isinstance(entries, list):
        raise ReportgenError(f"{path}: results.scores should be a list; fix the file")
    metrics: dict[str, float] = {}
    stderrs: dict[str, float | None] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
            raise ReportgenError(
                f"{path}: results.scores[{i}] should be an object with 'metrics'; fix the file"
            )
        scorer = str(entry.get("name") or entry.get("scorer") or f"scorer{i + 1}")
        found = entry["metrics"]
        error = None
        for key, metric in found.items():
            value = metric.get("value") if isinstance(metric, dict) else metric
            if key == "stderr":
                error = value if isinstance(value, int | float) and math.isfinite(value) else None
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics[f"{key},{scorer}"] = float(value)
        for key in [k for k in metrics if k.endswith(f",{scorer}")]:
            stderrs[key] = float(error) if error is not None else None
    found = header["eval"]
    dataset = found.get("dataset") if isinstance(found.get("dataset"), dict) else {}
    name = task_name(header)
    alias = name + (f" ({dataset['name']})" if dataset.get("name") not in (None, "", name) else "")
    total = _count(results.get("completed_samples", results.get("total_samples")))
    original = _count(dataset.get("samples"))
    return TaskResult(
        task=name,
        alias=alias,
        metrics=metrics,
        stderrs=stderrs,
        n_shot=None,
        version=str(found.get("task_version", "")) or None,
        n_samples=total,
        higher_is_better={},
        source=path.name,
        n_original=original,
    )


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _order(value: Any) -> tuple[int, float, str]:
    """Sample ids in order: numbers by value, then text."""
    number = _count(value) if not isinstance(value, float) else None
    if number is not None:
        return (0, float(number), "")
    return (1, 0.0, json.dumps(value, sort_keys=True, default=str))


def _sample_runs(
    header: dict[str, Any], samples: list[dict[str, Any]], name: str, path: Path
) -> list[TextRun]:
    """One sample log per epoch (a repeat of the model when there are several)."""
    if not samples:
        return []
    task = task_name(header)
    by_epoch: dict[int, list[dict[str, Any]]] = {}
    for i, sample in enumerate(samples):
        if not isinstance(sample.get("scores") or {}, dict):
            raise ReportgenError(
                f"{path}: sample {i + 1}'s 'scores' should be an object of scorer: score; "
                "fix the file"
            )
        by_epoch.setdefault(_count(sample.get("epoch")) or 1, []).append(sample)
    runs = []
    digest = _sha256(path)
    for epoch, rows in sorted(by_epoch.items()):
        rows = sorted(rows, key=lambda s: _order(s.get("id")))
        values: dict[str, list[float]] = {}
        unreadable = 0
        for i, sample in enumerate(rows):
            if sample.get("id") is None:
                raise ReportgenError(
                    f"{path}: sample {i + 1} of epoch {epoch} has no 'id'; inspect logs give "
                    "every sample its id"
                )
            scores = sample.get("scores") or {}
            for scorer, score in scores.items():
                value = score.get("value") if isinstance(score, dict) else score
                parts = (
                    {f"{scorer}.{k}": v for k, v in value.items()}
                    if isinstance(value, dict)
                    else {str(scorer): value}
                )
                for key, part in parts.items():
                    number = value_to_float(part)
                    if number is None:
                        unreadable += 1
                        number = 0.0  # as inspect's value_to_float does, with a note
                    values.setdefault(key, [math.nan] * len(rows))[i] = number
        metrics = {k: np.asarray(v, dtype=float) for k, v in values.items() if np.isfinite(v).all()}
        notes = []
        partial = sorted(set(values) - set(metrics))
        if partial:
            notes.append(f"Scores {', '.join(partial)} are missing for some samples; left out.")
        if unreadable:
            notes.append(
                f"{unreadable} sample score(s) are not a number, C/I/P/N or yes/no; counted as "
                "0, as inspect's value_to_float does."
            )
        if not metrics:
            continue
        ids = np.array([class_name(s["id"]) for s in rows], dtype=object)
        if len(set(ids.tolist())) < len(ids):
            raise ReportgenError(
                f"{path}: a sample id appears twice in epoch {epoch}; each sample of an epoch "
                "needs its own id"
            )
        runs.append(
            TextRun(
                name=name,
                path=path,
                sha256=digest,
                format="inspect-ai samples",
                n_examples=len(rows),
                task=task,
                predictions=[_answer(s) for s in rows],
                references=[[_text(s.get("target"))] for s in rows],
                prompts=[_text(s.get("input")) for s in rows],
                sample_metrics=metrics,
                ids=ids,
                columns={"id": "id", "prediction": "output", "label": "target"},
                extra=pd.DataFrame(index=range(len(rows))),
                metadata={"model": str(header["eval"].get("model"))},
                notes=notes,
                repeat=f"epoch={epoch}" if len(by_epoch) > 1 else None,
            )
        )
    return runs


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):  # chat messages, or several targets
        parts = [
            m.get("content") if isinstance(m, dict) else m
            for m in value
            if not isinstance(m, dict) or m.get("role") in (None, "user")
        ]
        return " ".join(p if isinstance(p, str) else json.dumps(p) for p in parts)[:2000]
    return "" if value is None else json.dumps(value, ensure_ascii=False)[:2000]


def _answer(sample: dict[str, Any]) -> str:
    output = sample.get("output")
    if isinstance(output, dict) and isinstance(output.get("completion"), str):
        return output["completion"]
    for score in (sample.get("scores") or {}).values():
        if isinstance(score, dict) and isinstance(score.get("answer"), str):
            return score["answer"]
    return ""


def inspect_runs(path: Path, name: str | None) -> list[Any]:
    """One inspect log, or a folder of them: a benchmark-scores run per model (its tasks)
    and a sample log per model, task and epoch. Several logs of one model and task keep the
    latest (by ``eval.created``), with a note."""
    logs = inspect_logs_in(path) if path.is_dir() else [path]
    if not logs:
        raise ReportgenError(f"{path}: no inspect-ai logs (.eval or .json) in the folder")
    loaded = []
    for log in logs:
        header, samples = _read_log(log)
        loaded.append((str(header["eval"].get("created", "")), log, header, samples))
    loaded.sort(key=lambda item: (item[0], str(item[1])))
    models = list(dict.fromkeys(str(h["eval"]["model"]) for _, _, h, _ in loaded))
    if name is not None and len(models) > 1:
        raise ReportgenError(
            f"{path}: logs of {len(models)} models ({', '.join(models[:3])}); pass the folder "
            "without NAME= (each model is named by eval.model), or one model's logs"
        )
    latest: dict[tuple[str, str], tuple[Path, dict[str, Any], list[dict[str, Any]]]] = {}
    replaced: dict[str, list[str]] = {}
    for _, log, header, samples in loaded:
        key = (str(header["eval"]["model"]), task_name(header))
        if key in latest:
            replaced.setdefault(key[0], []).append(f"{key[1]} ({latest[key][0].name})")
        latest[key] = (log, header, samples)
    runs: list[Any] = []
    for model in models:
        tasks: dict[str, TaskResult] = {}
        files: list[Path] = []
        samples_runs: list[TextRun] = []
        shown = name or model
        for (owner, task), (log, header, samples) in latest.items():
            if owner != model:
                continue
            files.append(log)
            result = _task_result(header, log)
            if result is not None and result.metrics:
                tasks[task] = result
            samples_runs += _sample_runs(header, samples, shown, log)
        notes = []
        if model in replaced:
            notes.append(
                f"Several logs of {', '.join(replaced[model])}; the latest log of each is used."
            )
        if tasks:
            runs.append(
                ScoresRun(
                    name=shown,
                    path=path,
                    sha256=_sha256(files[0]) if len(files) == 1 else "",
                    format=FORMAT,
                    files=files,
                    tasks=tasks,
                    groups={},
                    model_args=None,
                    metadata=_details(latest, model),
                    notes=notes,
                )
            )
        runs += samples_runs
    if not runs:
        raise ReportgenError(
            f"{path}: the inspect-ai log holds no scores (results.scores is empty and no "
            "sample is scored); was the evaluation finished?"
        )
    return runs


def _details(latest: dict[tuple[str, str], Any], model: str) -> dict[str, Any]:
    found: dict[str, list[str]] = {"model": [model]}
    for (owner, _), (_, header, _) in latest.items():
        if owner != model:
            continue
        version = (header["eval"].get("packages") or {}).get("inspect_ai")
        for key, value in (
            ("harness", f"inspect-ai {version}" if version else None),
            ("date", header["eval"].get("created")),
            ("status", header.get("status")),
        ):
            if value and str(value) not in found.setdefault(key, []):
                found[key].append(str(value))
    return {k: ", ".join(v) for k, v in found.items() if v}
