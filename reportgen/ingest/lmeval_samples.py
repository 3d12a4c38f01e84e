"""lm-evaluation-harness per-sample logs (``samples_<task>_*.jsonl``, ``--log_samples``):
one line per (document, filter) with its per-sample metrics, the response and the target."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import _read_frame, _sha256, detect_format
from reportgen.ingest.language import TextRun
from reportgen.ingest.runs import _row_location, _stem, class_name, scalar_values

SAMPLE_METRIC_ORDER = ("acc_norm", "acc", "exact_match")


def looks_like_samples(path: Path) -> bool:
    """An lm-eval per-sample log: ``samples_<task>_*.jsonl`` or lines with doc_id and resps."""
    if path.name.startswith("samples_") and ".jsonl" in path.name:
        return True
    try:
        if detect_format(path) != "jsonl" or path.suffix == ".gz":
            return False
    except ReportgenError:
        return False  # another kind may read it (an inspect-ai .eval); else it is refused later
    try:
        with path.open(encoding="utf-8") as handle:
            first = json.loads(handle.readline() or "null")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False  # the table reader says what is wrong, naming the line
    return isinstance(first, dict) and "doc_id" in first and "filtered_resps" in first


SAMPLES_NAME = re.compile(r"^samples_(.+?)(?:_\d{4}-\d{2}-\d{2}T[\d\-\.:]+)?\.jsonl(?:\.gz)?$")


def _loglikelihoods(value: Any) -> list[tuple[float, bool]] | None:
    """A loglikelihood request's responses, one (log-prob, is_greedy) per option, however
    deeply lm-eval nested them (and with numbers written as strings, as some versions do)."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        if value[0] and not isinstance(value[0][0], list):
            break
        value = value[0]
    if not isinstance(value, list) or not value:
        return None
    if not isinstance(value[0], list):
        value = [value]
    found = []
    for item in value:
        if isinstance(item, list) and len(item) == 1 and isinstance(item[0], list):
            item = item[0]
        if not isinstance(item, list) or not 1 <= len(item) <= 2:
            return None
        try:
            logprob = float(item[0])
        except (TypeError, ValueError):
            return None
        greedy = str(item[1]).lower() == "true" if len(item) == 2 else False
        found.append((logprob, greedy))
    return found


def _option_text(arguments: Any, index: int) -> str | None:
    """The continuation an option scored (``arguments.gen_args_<i>.arg_1``, or ``[ctx, cont]``)."""
    if isinstance(arguments, dict):
        entry = arguments.get(f"gen_args_{index}")
        if isinstance(entry, dict) and isinstance(entry.get("arg_1"), str):
            return entry["arg_1"].strip()
    if isinstance(arguments, list) and index < len(arguments):
        entry = arguments[index]
        if isinstance(entry, list) and len(entry) >= 2 and isinstance(entry[1], str):
            return entry[1].strip()
    return None


def _response_text(value: Any, arguments: Any = None) -> str:
    """The model's answer in a sample log: generated text, or for loglikelihood requests the
    chosen option's text (the highest log-prob), or the one continuation and whether it was
    the greedy one."""
    scored = _loglikelihoods(value)
    if scored is not None:
        if len(scored) == 1:
            text = _option_text(arguments, 0) or "the target"
            greedy = "greedy" if scored[0][1] else "not greedy"
            return f"{text} (log-prob {scored[0][0]:.3g}, {greedy})"
        best = int(np.argmax([lp for lp, _ in scored]))
        return _option_text(arguments, best) or f"option {best + 1} of {len(scored)}"
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list | str):
        value = value[0]
    if isinstance(value, str):
        return value
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
    ids = scalar_values(frame["doc_id"], path, fmt, "doc_id", "id")
    if ids.isna().any():
        row = int(np.argmax(ids.isna().to_numpy()))
        raise ReportgenError(
            f"{path}: doc_id is missing (null or empty) at {_row_location(fmt, row)}; every "
            "line of an lm-eval sample log needs its document's id"
        )
    notes: list[str] = []
    lines = np.arange(len(frame))  # each kept row's row in the file, for error locations
    if "filter" in frame.columns and frame["filter"].nunique() > 1:
        filters = list(dict.fromkeys(frame["filter"].astype(str)))
        chosen = (frame["filter"].astype(str) == filters[0]).to_numpy()
        frame, lines = frame[chosen].reset_index(drop=True), lines[chosen]
        notes.append(f"Filters {', '.join(filters)} logged; the first ({filters[0]}) is used.")
    listed = []
    if "metrics" in frame.columns:
        first = frame["metrics"].iloc[0]
        listed = [str(m) for m in first] if isinstance(first, list) else []
    candidates = [m for m in SAMPLE_METRIC_ORDER if m in frame.columns] + [
        m for m in listed if m in frame.columns and m not in SAMPLE_METRIC_ORDER
    ]
    sample_metrics: dict[str, np.ndarray] = {}
    broken: dict[str, np.ndarray] = {}  # metric -> the rows where it is not a finite number
    for metric in candidates:
        values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if np.isfinite(values).all():
            sample_metrics[metric] = values
        else:
            broken[metric] = np.flatnonzero(~np.isfinite(values))
    for metric, rows in broken.items():
        where = ", ".join(_row_location(fmt, int(lines[r])) for r in rows[:3])
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        text = f"per-sample metric {metric!r} is not a finite number at {where}{more}"
        if not sample_metrics:
            raise ReportgenError(
                f"{path}: {text} (NaN, Infinity or text); drop those lines, or the metric"
            )
        notes.append(f"The {text}; it is left out.")
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
            f"{_row_location(fmt, int(lines[row]))} for one filter; pass one task's log per file"
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
        predictions=[
            _response_text(v, a)
            for v, a in zip(
                frame["filtered_resps"].tolist(),
                frame["arguments"].tolist() if "arguments" in frame else [None] * len(frame),
                strict=True,
            )
        ],
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


def samples_name(path: Path) -> str:
    return path.parent.name or _stem(path)
