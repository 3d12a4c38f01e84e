"""Speed and cost per model from optional per-example columns: latency_ms, prompt_tokens,
completion_tokens, cost.

Throughput assumes examples were served one after another (examples/s = 1000 / mean latency
in ms); runs served concurrently should log their own throughput as metadata.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reportgen import metrics as registry
from reportgen.errors import ReportgenError
from reportgen.kinds.base import Context, Kind, KindResult
from reportgen.kinds.cells import (
    model_cell,
    slug_of,
)
from reportgen.model import Cell, Figure, Section, Table, chart

COLUMNS = ("latency_ms", "prompt_tokens", "completion_tokens", "cost")
EFFICIENCY_ORDER = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "examples_per_s",
    "tokens_per_s",
    "cost_per_1k",
    "prompt_tokens_mean",
    "completion_tokens_mean",
)


def _column(extra: pd.DataFrame, name: str, where: str) -> np.ndarray | None:
    """A latency, token or cost column's values (empty cells left out); a negative or
    infinite value is an error naming the row: these are durations, counts and prices."""
    lower = {str(c).lower(): c for c in extra.columns}
    if name not in lower:
        return None
    values = pd.to_numeric(extra[lower[name]], errors="coerce").to_numpy(
        np.float64, na_value=np.nan
    )
    bad = np.flatnonzero(np.isinf(values) | (values < 0))
    if len(bad):
        raise ReportgenError(
            f"{where}: column {lower[name]!r} is {values[bad[0]]:g} at row {int(bad[0]) + 1} "
            f"({len(bad)} rows in all); latencies, token counts and costs are 0 or more"
        )
    values = values[np.isfinite(values)]
    # means, rates and cost per 1,000 add the column up: a sum past the largest float was
    # numpy overflow warnings and an infinite mean
    if len(values) and not math.isfinite(1000.0 * float(values.max()) * len(values)):
        raise ReportgenError(
            f"{where}: column {lower[name]!r} holds {values.max():g}, too large to add up over "
            f"{len(values):,} rows; give milliseconds, token counts and costs per example"
        )
    return values if len(values) else None


def efficiency_metrics(extra: pd.DataFrame, where: str = "run") -> dict[str, float]:
    """Latency percentiles (numpy's linear interpolation), throughput and cost, from the columns
    present; empty when the run has none of them."""
    found: dict[str, float] = {}
    latency = _column(extra, "latency_ms", where)
    completion = _column(extra, "completion_tokens", where)
    prompt = _column(extra, "prompt_tokens", where)
    cost = _column(extra, "cost", where)
    if latency is not None:
        p50, p90, p99 = np.percentile(latency, [50, 90, 99])
        found |= {
            "latency_p50_ms": float(p50),
            "latency_p90_ms": float(p90),
            "latency_p99_ms": float(p99),
            "latency_mean_ms": float(latency.mean()),
        }
        total = float(latency.sum())  # Python floats: a tiny total is no numpy warning
        if total > 0 and math.isfinite(rate := 1000.0 * len(latency) / total):
            found["examples_per_s"] = rate
            if completion is not None:
                found["tokens_per_s"] = 1000.0 * float(completion.sum()) / total
    if prompt is not None:
        found["prompt_tokens_mean"] = float(prompt.mean())
    if completion is not None:
        found["completion_tokens_mean"] = float(completion.mean())
    if cost is not None:
        found["cost_per_1k"] = float(1000.0 * cost.mean())
    return found


def pareto_front(latency: Sequence[float], quality: Sequence[float], higher: bool) -> list[bool]:
    """Which points no other point beats on both latency (lower) and quality."""
    lat = np.asarray(latency, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64) * (1 if higher else -1)
    front = []
    for i in range(len(lat)):
        dominated = (lat <= lat[i]) & (q >= q[i]) & ((lat < lat[i]) | (q > q[i]))
        front.append(not bool(dominated.any()))
    return front


def efficiency_section(
    entries: Sequence[tuple[str, str, dict[str, float], str, float | None]],
    colours: dict[str, str],
) -> Section | None:
    """``entries``: (model, kind, efficiency metrics, quality metric, quality value) per run
    that logged latency, tokens or cost."""
    entries = [e for e in entries if e[2]]
    if not entries:
        return None
    metrics = [m for m in EFFICIENCY_ORDER if any(m in e[2] for e in entries)]
    rows = []
    for model, kind, found, quality, value in entries:
        rows.append(
            [
                model_cell(model, colours),
                Cell(kind),
                Cell(
                    f"{registry.label(quality)} {registry.format_value(quality, value)}", role="num"
                ),
            ]
            + [Cell(registry.format_value(m, found.get(m)), role="num") for m in metrics]
        )
    section = Section(
        "efficiency",
        "Speed and cost",
        lead="Latency percentiles over examples; throughput assumes examples were served one "
        "after another (examples/s = 1,000 / mean latency in ms, tokens/s = completion tokens "
        "/ total latency).",
        tables=[
            Table(
                ["Model", "Runs", "Quality", *[registry.label(m) for m in metrics]],
                rows,
                title="Efficiency per run",
                numeric=[False, False, True, *[True] * len(metrics)],
            )
        ],
    )
    for kind in dict.fromkeys(e[1] for e in entries):
        mine = [
            e for e in entries if e[1] == kind and "latency_p50_ms" in e[2] and e[4] is not None
        ]
        if len(mine) < 2:
            continue
        quality = mine[0][3]
        higher = registry.higher_is_better(quality)
        front = pareto_front([e[2]["latency_p50_ms"] for e in mine], [e[4] for e in mine], higher)  # type: ignore[misc]
        frame = pd.DataFrame(
            {
                "model": [e[0] for e in mine],
                "latency": [round(e[2]["latency_p50_ms"], 4) for e in mine],
                "quality": [round(float(e[4]), 6) for e in mine],  # type: ignore[arg-type]
                "front": front,
                "front_text": [
                    "yes" if f else "no (another model is faster and better)" for f in front
                ],
            }
        )
        models = list(frame["model"])
        drawn = chart(
            "quality_latency_chart",
            frame,
            models,
            [colours[m] for m in models],
            registry.label(quality),
            higher,
        )
        section.figures.append(
            Figure(
                f"pareto-{slug_of(kind)}",
                f"{registry.label(quality)} against median latency ({kind})",
                drawn,
                lead="Towards the "
                + ("top" if higher else "bottom")
                + "-left is better. Circles are on the Pareto front (no other model is both "
                "faster and better)"
                + ("; the dashed line joins them." if sum(front) >= 2 else ".")
                + ("" if all(front) else " Diamonds are dominated."),
            )
        )
    return section


@dataclass
class EfficiencyResult(KindResult):
    entries: list[Any] = field(default_factory=list)


EFFICIENCY_METRICS = frozenset((*EFFICIENCY_ORDER, "latency_mean_ms"))


def entries_of(result: KindResult) -> list[Any]:
    """(model, kind, speed and cost metrics, quality metric, quality value) per model and scope
    of a kind's result that logged latency, tokens or cost, from its score records."""
    whole = [s for s in result.scores if s.slice_column is None]
    entries = []
    for model, scope in dict.fromkeys((s.model, s.scope) for s in whole):
        mine = [s for s in whole if s.model == model and s.scope == scope]
        found = {s.metric: s.value for s in mine if s.metric in EFFICIENCY_METRICS}
        quality = result.headlines.get((model, scope))
        if found and quality is not None and scope in result.labels:
            value = next((s.value for s in mine if s.metric == quality), None)
            entries.append((model, result.labels[scope], found, quality, value))
    return entries


class EfficiencyKind(Kind):
    """Speed and cost of every run that logged them, whatever its kind, side by side: a view
    of every kind's score records."""

    name = "efficiency"
    title = "Speed and cost"
    board = "efficiency"
    reads = ("*",)

    def evaluate(self, runs: list[Any], ctx: Context) -> EfficiencyResult | None:
        entries = [e for r in ctx.inputs for e in entries_of(r)]
        if not entries:
            return None
        models = list(dict.fromkeys(e[0] for e in entries))
        return EfficiencyResult(self.name, "", models, entries=entries)

    def sections(self, result: EfficiencyResult, ctx: Context) -> list[Section]:
        found = efficiency_section([e for e in result.entries if ctx.draws(e[0])], ctx.colours)
        return [found] if found is not None else []


EFFICIENCY = EfficiencyKind()
