"""Reading the JSON summaries ``reportgen build --json`` wrote, for ``reportgen diff``: their
score records, comparisons and which file each run was, from any schema version up to this
reportgen's (schema 1 had no ``scores``: they are rebuilt from each run's ``metrics`` and
``ci``). A summary of a newer schema is refused, as is anything that is not a summary."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.ingest.folders import check_regular_file
from reportgen.stats.score import Score

# The JSON summary's layout version, the one reportgen writes and the newest it reads.
# 1: the summaries before it was written (no key). 2: ``scores`` (one record per model, metric
# and slice), and one test vocabulary (metrics.TESTS) in every ``test`` field.
SCHEMA_VERSION = 2
SCORE_FIELDS = {f.name for f in fields(Score)}


@dataclass(frozen=True)
class Summary:
    """One summary, as ``reportgen diff`` reads it."""

    path: Path
    schema: int
    title: str
    generated_at: str | None
    scores: list[Score]
    comparisons: list[dict[str, Any]]  # as written: candidate, baseline, metric, verdict, ...
    sources: dict[str, str]  # run name -> the SHA-256 of its file (the first run of a name)
    labels: dict[str, str] = field(default_factory=dict)  # --label KEY=VALUE
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)  # run name -> metadata
    gates: list[str] = field(default_factory=list)  # the --fail-if expressions it was built with
    headlines: dict[str, list[str]] = field(default_factory=dict)  # kind -> headline metrics
    baseline: str = ""


def load_summary(path: Path) -> Summary:
    """A summary file, or a one-line error naming it and what is wrong."""
    check_regular_file(path, "summary")
    try:
        found = json.loads(path.read_bytes(), parse_constant=lambda name: name)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportgenError(
            f"{path}: not a JSON file ({exc}); give a summary written by reportgen build --json"
        ) from None
    except RecursionError:
        raise ReportgenError(f"{path}: nested too deeply to be a reportgen summary") from None
    return parse_summary(found, path)


def parse_summary(found: Any, path: Path) -> Summary:
    """A summary from its parsed JSON (``Report.summary()`` gives one for the build being
    made); ``path`` names it in messages."""
    if not isinstance(found, dict) or not isinstance(found.get("runs"), list):
        raise ReportgenError(
            f"{path}: not a reportgen summary (no 'runs' list); give a file written by "
            "reportgen build --json"
        )
    schema = found.get("schema_version", 1)
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise ReportgenError(f"{path}: 'schema_version' {schema!r} is not a version number")
    if schema > SCHEMA_VERSION:
        raise ReportgenError(
            f"{path}: written with summary schema {schema}, newer than this reportgen reads "
            f"({SCHEMA_VERSION}); upgrade reportgen (pip install -U reportgen-ml)"
        )
    runs = [r for r in found["runs"] if isinstance(r, dict) and isinstance(r.get("name"), str)]
    sources: dict[str, str] = {}
    for run in runs:
        source = run.get("source")
        if isinstance(source, dict) and isinstance(source.get("sha256"), str):
            sources.setdefault(run["name"], source["sha256"])
    if found.get("document") == "history":
        raise ReportgenError(
            f"{path}: is the JSON of a history page, not of a build; give the summaries that "
            "reportgen build --json wrote"
        )
    scores = _scores(found, runs, path) if schema >= 2 else _schema_1_scores(runs)
    comparisons = [c for c in found.get("comparisons") or [] if isinstance(c, dict)]
    return Summary(
        path,
        schema,
        str(found.get("title") or path.name),
        found.get("generated_at") if isinstance(found.get("generated_at"), str) else None,
        scores,
        comparisons,
        sources,
        labels=_texts(found.get("labels")),
        metadata={run["name"]: _texts(run.get("metadata")) for run in reversed(runs)},
        gates=[
            g["gate"]
            for g in (found.get("gates") or {}).get("results") or []
            if isinstance(g, dict) and isinstance(g.get("gate"), str)
        ]
        if isinstance(found.get("gates"), dict)
        else [],
        headlines={
            str(kind): [m for m in names if isinstance(m, str)]
            for kind, names in (found.get("headlines") or {}).items()
            if isinstance(names, list)
        }
        if isinstance(found.get("headlines"), dict)
        else {},
        baseline=str(found.get("baseline") or ""),
    )


def _texts(found: Any) -> dict[str, str]:
    """A mapping of labels or metadata with text values (numbers written as text)."""
    if not isinstance(found, dict):
        return {}
    return {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in found.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }


def _number(value: Any) -> float | None:
    """A stored value as a float: None stays None, and "NaN"/"Infinity" are how the summary
    writes non-finite numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.lower().replace("infinity", "inf"))
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


def _scores(found: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> list[Score]:
    records = found.get("scores")
    if not isinstance(records, list):
        raise ReportgenError(f"{path}: schema 2 summary without a 'scores' list")
    scores = []
    for at, record in enumerate(records):
        try:
            if not isinstance(record, dict) or not {"model", "kind", "metric"} <= set(record):
                raise ValueError("not a score record")
            kept = {k: v for k, v in record.items() if k in SCORE_FIELDS}
            for key in ("value", "low", "high", "level", "stderr", "spread"):
                kept[key] = _number(kept.get(key))
            scores.append(Score(**kept))
        except (TypeError, ValueError) as exc:
            raise ReportgenError(f"{path}: scores[{at}] cannot be read ({exc})") from None
    return scores


def _schema_1_scores(runs: list[dict[str, Any]]) -> list[Score]:
    """Schema 1 kept each run's metrics and intervals in its entry."""
    scores = []
    for run in runs:
        metrics = run.get("metrics") if isinstance(run.get("metrics"), dict) else {}
        ci = run.get("ci") if isinstance(run.get("ci"), dict) else {}
        for metric, value in metrics.items():
            try:
                number = _number(value)
            except ValueError:
                continue
            interval = ci.get(metric)
            low = high = None
            if isinstance(interval, list) and len(interval) == 2:
                low, high = (_finite(v) for v in interval)
            scores.append(
                Score(run["name"], str(run.get("task") or ""), metric, number, low=low, high=high)
            )
    return scores


def _finite(value: Any) -> float | None:
    try:
        number = _number(value)
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
