"""Speed and cost per model from optional per-example columns: latency_ms, prompt_tokens,
completion_tokens, cost.

Throughput assumes examples were served one after another (examples/s = 1000 / mean latency
in ms); runs served concurrently should log their own throughput as metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ("latency_ms", "prompt_tokens", "completion_tokens", "cost")


def _column(extra: pd.DataFrame, name: str) -> np.ndarray | None:
    lower = {str(c).lower(): c for c in extra.columns}
    if name not in lower:
        return None
    values = pd.to_numeric(extra[lower[name]], errors="coerce").to_numpy(
        np.float64, na_value=np.nan
    )
    values = values[np.isfinite(values)]
    return values if len(values) else None


def efficiency_metrics(extra: pd.DataFrame) -> dict[str, float]:
    """Latency percentiles (numpy's linear interpolation), throughput and cost, from the columns
    present; empty when the run has none of them."""
    found: dict[str, float] = {}
    latency = _column(extra, "latency_ms")
    completion = _column(extra, "completion_tokens")
    prompt = _column(extra, "prompt_tokens")
    cost = _column(extra, "cost")
    if latency is not None:
        p50, p90, p99 = np.percentile(latency, [50, 90, 99])
        found |= {
            "latency_p50_ms": float(p50),
            "latency_p90_ms": float(p90),
            "latency_p99_ms": float(p99),
            "latency_mean_ms": float(latency.mean()),
        }
        if latency.sum() > 0:
            found["examples_per_s"] = float(1000.0 * len(latency) / latency.sum())
            if completion is not None:
                found["tokens_per_s"] = float(1000.0 * completion.sum() / latency.sum())
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
