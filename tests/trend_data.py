"""Summaries of a sequence of builds, made in code: what ``reportgen build --json`` writes,
for the trend tests (``reportgen history``, ``build --trend``, ``reportgen diff``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

METRICS = ("accuracy", "f1", "roc_auc", "log_loss")
REGRESSION_AT = 8  # the build (1-based) where the candidate clearly regresses


def summary(
    number: int,
    values: dict[str, dict[str, float]],
    verdicts: dict[str, dict[str, str]] | None = None,
    *,
    labels: dict[str, str] | None = None,
    gates: list[str] | None = None,
    baseline: str = "base",
    n: int = 500,
) -> dict[str, Any]:
    """One binary build's summary: ``values[model][metric]``; ``verdicts[model][metric]``
    the candidate's test against the baseline (better, worse or tie)."""
    verdicts = verdicts or {}
    scores, comparisons, runs = [], [], []
    for model, metrics in values.items():
        runs.append(
            {
                "name": model,
                "task": "binary",
                "n_examples": n,
                "source": {"path": f"{model}-{number}.csv", "sha256": f"{number:02d}{model}" * 4},
                "metadata": {"version": f"1.{number}"} if model != baseline else {},
                "metrics": dict(metrics),
                "ci": {},
                "notes": [],
            }
        )
        for metric, value in metrics.items():
            half = (
                1.96 * np.sqrt(max(value * (1 - value), 0.01) / n) if metric != "log_loss" else 0.03
            )
            scores.append(
                {
                    "model": model,
                    "kind": "classification",
                    "metric": metric,
                    "value": value,
                    "baseline": baseline,
                    "low": value - half,
                    "high": value + half,
                    "level": 0.95,
                    "stderr": None,
                    "n": n,
                    "slice_column": None,
                    "slice_value": None,
                    "repeats": None,
                    "spread": None,
                    "reason": None,
                    "scope": "",
                    "measure": "",
                    "higher_is_better": None,
                }
            )
            if model != baseline:
                delta = value - values[baseline][metric]
                comparisons.append(
                    {
                        "baseline": baseline,
                        "candidate": model,
                        "metric": metric,
                        "baseline_value": values[baseline][metric],
                        "candidate_value": value,
                        "delta": delta,
                        "ci": [delta - 0.02, delta + 0.02],
                        "ci_adjusted": [delta - 0.03, delta + 0.03],
                        "p_value": 0.5,
                        "p_value_adjusted": 0.5,
                        "family_size": len(metrics),
                        "correction": "max-T",
                        "test": "bootstrap-paired",
                        "verdict": verdicts.get(model, {}).get(metric, "tie"),
                        "n_paired": n,
                    }
                )
    found: dict[str, Any] = {
        "schema_version": 2,
        "reportgen_version": "0.1.0",
        "title": f"build {number}",
        "generated_at": f"2026-11-{number:02d} 12:00 UTC",
        "task": "binary",
        "baseline": baseline,
        "bootstrap": {"replicates": 1000, "seed": 0},
        "engine": {"name": "memory", "note": None},
        "command": "reportgen build base.csv cand.csv",
        "labels": labels if labels is not None else {"commit": f"{number:02d}c0ffee{number:02d}"},
        "verdict": "",
        "warnings": [],
        "runs": runs,
        "headlines": {"classification": list(METRICS)},
        "scores": scores,
        "comparisons": comparisons,
        "slice_comparisons": [],
    }
    if gates:
        found["gates"] = {
            "passed": True,
            "results": [{"gate": g, "model": "cand", "passed": True, "detail": ""} for g in gates],
        }
    return found


def drifting_builds(count: int = 12, models: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` builds of slowly drifting models; at REGRESSION_AT the candidate ("cand")
    falls clearly and its test says worse."""
    rng = np.random.default_rng(seed)
    names = ["base", "cand", *(f"m{i}" for i in range(2, models))][:models]
    found = []
    for number in range(1, count + 1):
        values, verdicts = {}, {}
        for k, name in enumerate(names):
            level = 0.80 + 0.05 * number / count + 0.01 * k + rng.normal(0, 0.002)
            drop = 0.08 if (name == "cand" and number == REGRESSION_AT) else 0.0
            values[name] = {
                "accuracy": round(level - drop, 6),
                "f1": round(level - 0.02 - drop, 6),
                "roc_auc": round(level + 0.08 - drop / 2, 6),
                "log_loss": round(0.5 - 0.3 * (level - 0.8) + drop, 6),
            }
            if name == "cand" and number == REGRESSION_AT:
                verdicts[name] = {m: "worse" for m in METRICS}
        found.append(
            summary(
                number,
                values,
                verdicts,
                labels={
                    "commit": f"{number:02d}c0ffee{number:02d}",
                    "date": f"2026-11-{number:02d}",
                },
                gates=["accuracy < 0.75"],
            )
        )
    return found


def write_builds(folder: Path, builds: list[dict[str, Any]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, found in enumerate(builds, start=1):
        path = folder / f"build-{number:03d}.json"
        path.write_text(json.dumps(found, indent=1), encoding="utf-8")
        paths.append(path)
    return paths
