"""The numbers of the robustness views, from validated robustness runs and tables.

For model m, perturbation p and severity s, with accuracy A and error E = 1 − A:

- accuracy per (p, s) with a 95% Wilson interval; the clean copy is severity 0;
- robust accuracy = the mean of A_m(p, s) over every (p, s) the model has (clean excluded);
- corruption error (ImageNet-C, Hendrycks & Dietterich 2019), relative to the baseline b:
  CE_m(p) = Σ_s E_m(p, s) / Σ_s E_b(p, s) over the severities both have, and
  mCE_m = the mean of CE_m(p) over the perturbations both have (1 for the baseline);
- flip rate = the share of perturbed copies whose prediction differs from the clean one;
- McNemar's exact test of clean against perturbed correctness on the same ids, per (p, s),
  and of candidate against baseline per (p, s) on the ids both have; Holm within each model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reportgen.ingest.robustness import RobustnessRun
from reportgen.stats.comparison import Comparison
from reportgen.stats.significance import (
    discordance,
    holm,
    mcnemar_exact,
    mcnemar_from_counts,
    percentile_interval,
    wald_p_value,
    wilson_interval,
)

MAX_FLIPPED = 10  # most flipped examples listed per model
POINT_COLUMNS = ["model", "perturbation", "severity", "value", "low", "high", "n"]


@dataclass
class ModelRobustness:
    """One model's numbers (``flips`` and ``mcnemar`` need per-example runs)."""

    name: str
    clean: float | None
    clean_n: int | None
    clean_interval: tuple[float, float] | None
    robust: float | None
    groups: int
    flip_rate: float | None = None
    flipped: pd.DataFrame | None = None  # the most flipped examples
    flips: pd.DataFrame | None = None  # perturbation, severity, flipped, copies, flip_rate
    mcnemar: pd.DataFrame | None = None  # clean against each (p, s)
    robust_interval: tuple[float, float] | None = None  # bootstrap over example ids
    ce: dict[str, float] = field(default_factory=dict)  # perturbation -> CE
    mce: float | None = None
    mce_reason: str | None = None
    from_table: bool = False


def run_points(run: RobustnessRun) -> pd.DataFrame:
    """Accuracy per (perturbation, severity), the clean copy as ('none', 0), with intervals."""
    correct = run.correct
    perturbed = run.setting >= 0
    k = len(run.settings)
    n = np.bincount(run.setting[perturbed], minlength=k).astype(np.int64)
    right = np.bincount(run.setting[perturbed], weights=correct[perturbed], minlength=k)
    n = np.concatenate(([len(run.clean)], n))
    right = np.concatenate(([correct[run.clean].sum()], right))
    low, high = wilson_interval(right, n)
    return pd.DataFrame(
        {
            "model": run.name,
            "perturbation": ["none", *(p for p, _ in run.settings)],
            "severity": [0.0, *(s for _, s in run.settings)],
            "value": right / n,
            "low": low,
            "high": high,
            "n": n,
        }
    )


def table_points(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A robustness table's accuracy rows (error rows as 1 − error), and notes on what else
    it held."""
    metric = table["metric"].str.lower()
    accuracy = metric.isin(["accuracy", "acc"])
    error = metric.isin(["error", "error_rate"])
    notes = []
    others = sorted(set(table.loc[~(accuracy | error), "metric"]))
    if others:
        notes.append(
            f"--robustness-table: metrics other than accuracy ignored: {', '.join(others)}"
        )
    rows = table[accuracy | error].copy()
    rows["value"] = np.where(error[accuracy | error], 1.0 - rows["value"], rows["value"])
    rows = rows.drop_duplicates(["model", "perturbation", "severity"])
    rows["low"], rows["high"], rows["n"] = np.nan, np.nan, np.nan
    return rows[POINT_COLUMNS].reset_index(drop=True), notes


def summarise(points: pd.DataFrame, name: str, from_table: bool = False) -> ModelRobustness:
    mine = points[points["model"] == name]
    clean = mine[mine["perturbation"] == "none"]
    perturbed = mine[mine["perturbation"] != "none"]
    found = clean.iloc[0] if len(clean) else None
    interval = None
    if found is not None and np.isfinite(found["low"]):
        interval = (float(found["low"]), float(found["high"]))
    return ModelRobustness(
        name=name,
        clean=None if found is None else float(found["value"]),
        clean_n=None if found is None or not np.isfinite(found["n"]) else int(found["n"]),
        clean_interval=interval,
        robust=float(perturbed["value"].mean()) if len(perturbed) else None,
        groups=len(perturbed),
        from_table=from_table,
    )


def corruption_errors(
    points: pd.DataFrame, model: str, baseline: str
) -> tuple[dict[str, float], str | None]:
    """CE per perturbation of ``model`` relative to ``baseline`` (see the module's docstring),
    and why none is defined when that happens."""
    perturbed = points[points["perturbation"] != "none"]
    mine = perturbed[perturbed["model"] == model]
    base = perturbed[perturbed["model"] == baseline]
    both = mine.merge(base, on=["perturbation", "severity"], suffixes=("", "_base"))
    if not len(both):
        return {}, f"no perturbation and severity in common with the baseline {baseline}"
    both = both.assign(error=1.0 - both["value"], error_base=1.0 - both["value_base"])
    sums = both.groupby("perturbation", sort=False)[["error", "error_base"]].sum()
    defined = sums[sums["error_base"] > 0]
    if not len(defined):
        return {}, f"the baseline {baseline} makes no error under any perturbation"
    ce = defined["error"] / defined["error_base"]
    return {str(p): float(v) for p, v in ce.items()}, None


def flips(run: RobustnessRun) -> tuple[float | None, pd.DataFrame, pd.DataFrame]:
    """The flip rate over every perturbed copy, per (p, s), and the most flipped examples."""
    perturbed = np.flatnonzero(run.setting >= 0)
    clean_pred = run.predictions[run.clean]
    flipped = run.predictions[perturbed] != clean_pred[run.source[perturbed]]
    k = len(run.settings)
    copies = np.bincount(run.setting[perturbed], minlength=k)
    count = np.bincount(run.setting[perturbed], weights=flipped, minlength=k).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_group = pd.DataFrame(
            {
                "perturbation": [p for p, _ in run.settings],
                "severity": [s for _, s in run.settings],
                "flipped": count,
                "copies": copies,
                "flip_rate": count / copies,
            }
        )
    m = len(run.clean)
    by_example = np.bincount(run.source[perturbed], weights=flipped, minlength=m).astype(np.int64)
    total = np.bincount(run.source[perturbed], minlength=m)
    order = np.lexsort((np.arange(m), -by_example))[:MAX_FLIPPED]
    order = order[by_example[order] > 0]
    where = []
    for position in order:
        rows = perturbed[flipped & (run.source[perturbed] == position)]
        found = [f"{run.settings[g][0]} {run.settings[g][1]:g}" for g in run.setting[rows]]
        where.append(
            ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        )
    clean_rows = run.clean[order]
    top = pd.DataFrame(
        {
            "id": run.ids[clean_rows],
            "label": run.labels[clean_rows],
            "clean_prediction": clean_pred[order],
            "flipped": by_example[order],
            "copies": total[order],
            "where": where,
        }
    )
    rate = float(flipped.mean()) if len(perturbed) else None
    return rate, per_group, top


def mcnemar_clean(run: RobustnessRun) -> pd.DataFrame:
    """McNemar's exact test of clean against perturbed correctness per (p, s), Holm-adjusted
    over the model's tests. ``lost``: right clean, wrong perturbed; ``gained``: the reverse."""
    correct = run.correct
    perturbed = np.flatnonzero(run.setting >= 0)
    was = correct[run.clean][run.source[perturbed]]
    now = correct[perturbed]
    k = len(run.settings)
    group = run.setting[perturbed]
    lost = np.bincount(group, weights=was & ~now, minlength=k).astype(np.int64)
    gained = np.bincount(group, weights=~was & now, minlength=k).astype(np.int64)
    n = np.bincount(group, minlength=k)
    clean_right = np.bincount(group, weights=was, minlength=k)
    now_right = np.bincount(group, weights=now, minlength=k)
    p = [mcnemar_from_counts(int(b), int(c)) for b, c in zip(lost, gained, strict=True)]
    return pd.DataFrame(
        {
            "perturbation": [q for q, _ in run.settings],
            "severity": [s for _, s in run.settings],
            "n": n,
            "clean": clean_right / n,
            "perturbed": now_right / n,
            "lost": lost,
            "gained": gained,
            "p": p,
            "p_adjusted": holm(p) if p else [],
        }
    )


def mcnemar_pairs(candidate: RobustnessRun, baseline: RobustnessRun) -> pd.DataFrame:
    """McNemar's exact test of candidate against baseline correctness per (p, s) both have,
    on the ids both have; Holm-adjusted over the candidate's tests. ``worse``: only the
    baseline right; ``better``: only the candidate right."""
    rows = []
    base_at = {g: i for i, g in enumerate(baseline.settings)}
    base_correct, cand_correct = baseline.correct, candidate.correct
    for g, key in enumerate(candidate.settings):
        b = base_at.get(key)
        if b is None:
            continue
        mine = np.flatnonzero(candidate.setting == g)
        theirs = np.flatnonzero(baseline.setting == b)
        at = pd.Index(baseline.ids[theirs]).get_indexer(candidate.ids[mine])
        paired = at >= 0
        c_ok = cand_correct[mine[paired]]
        b_ok = base_correct[theirs[at[paired]]]
        worse = int(np.count_nonzero(b_ok & ~c_ok))
        better = int(np.count_nonzero(~b_ok & c_ok))
        n = int(paired.sum())
        rows.append(
            {
                "perturbation": key[0],
                "severity": key[1],
                "n": n,
                "baseline": float(b_ok.mean()) if n else np.nan,
                "candidate": float(c_ok.mean()) if n else np.nan,
                "worse": worse,
                "better": better,
                "p": mcnemar_from_counts(worse, better),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=["perturbation", "severity", "n", "baseline", "candidate", "worse", "better", "p"],
    )
    frame["p_adjusted"] = holm(frame["p"].tolist()) if len(frame) else []
    return frame


def analyse(
    runs: Sequence[RobustnessRun], table: pd.DataFrame | None, baseline: str
) -> tuple[pd.DataFrame, list[ModelRobustness]]:
    """Every model's points and numbers; ``baseline`` names the model mCE is relative to."""
    frames = [run_points(r) for r in runs]
    if table is not None and len(table):
        frames.append(table)
    points = pd.concat(frames, ignore_index=True)
    names = list(dict.fromkeys(points["model"]))
    from_table = set(table["model"]) if table is not None else set()
    found = {n: summarise(points, n, n in from_table) for n in names}
    by_name = {r.name: r for r in runs}
    for name, model in found.items():
        run = by_name.get(name)
        if run is not None:
            model.flip_rate, model.flips, model.flipped = flips(run)
            model.mcnemar = mcnemar_clean(run)
        model.ce, model.mce_reason = corruption_errors(points, name, baseline)
        model.mce = float(np.mean(list(model.ce.values()))) if model.ce else None
    return points, list(found.values())


def _cells(
    run: RobustnessRun, ids: pd.Index, settings: Sequence[tuple[str, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """(correct, present): n x G 0/1 matrices of the run's perturbed copies, by example id
    (``ids``) and setting."""
    at = {s: j for j, s in enumerate(settings)}
    mapping = np.array([at.get(s, -1) for s in run.settings] + [-1], dtype=np.int64)
    rows = np.flatnonzero(run.setting >= 0)
    g = mapping[run.setting[rows]]
    i = ids.get_indexer(run.ids[rows])
    keep = (g >= 0) & (i >= 0)
    correct = np.zeros((len(ids), len(settings)))
    present = np.zeros((len(ids), len(settings)))
    correct[i[keep], g[keep]] = run.correct[rows[keep]]
    present[i[keep], g[keep]] = 1.0
    return correct, present


def _robust_from_sums(sums: np.ndarray, k: int, complete: bool, n: int) -> np.ndarray:
    """Robust accuracy per row of ``sums``: resampled sums of ``k`` correct columns and, when
    some ids lack a setting, ``k`` present columns (else every setting counts ``n``)."""
    right = sums[:, :k]
    total = np.full_like(right, float(n)) if complete else sums[:, k : 2 * k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(right / total, axis=1)


@dataclass
class Resampled:
    """Bootstrap replicates of robust accuracy, and its value on the unresampled cells."""

    replicates: np.ndarray
    on_cells: float


def robust_bootstrap(
    runs: Sequence[RobustnessRun],
    ids: pd.Index,
    settings: list[tuple[str, float]],
    replicates: int,
    seed: int,
) -> list[Resampled]:
    """Robust accuracy of each run over ``replicates`` resamples of the example ``ids`` (the
    same resampled ids for every run, so runs given together are paired), on ``settings``."""
    from reportgen.stats.bootstrap import resampled_sums

    columns, complete = [], []
    for run in runs:
        correct, present = _cells(run, ids, settings)
        whole = bool(present.all())
        columns += [correct.T] + ([] if whole else [present.T])
        complete.append(whole)
    matrix = np.vstack(columns)
    sums = resampled_sums(matrix, replicates, seed)
    total = matrix.sum(axis=1)[None, :]
    found, at, k = [], 0, len(settings)
    for whole in complete:
        width = k if whole else 2 * k
        part = slice(at, at + width)
        found.append(
            Resampled(
                _robust_from_sums(sums[:, part], k, whole, len(ids)),
                float(_robust_from_sums(total[:, part], k, whole, len(ids))[0]),
            )
        )
        at += width
    return found


def comparisons(
    runs: Sequence[RobustnessRun],
    found: Sequence[ModelRobustness],
    baseline: str,
    replicates: int,
    seed: int,
) -> list[Comparison]:
    """Each run's robust-accuracy interval (set on ``found``), and each candidate against the
    baseline run: clean accuracy by McNemar's exact test on the shared clean ids, robust
    accuracy by the paired bootstrap over the shared ids and settings (a Wald test)."""
    by_name = {m.name: m for m in found}
    for run in runs:
        model = by_name[run.name]
        if replicates and model.robust is not None:
            drawn = robust_bootstrap(
                [run], pd.Index(run.ids[run.clean]), run.settings, replicates, seed
            )[0]
            model.robust_interval = percentile_interval(
                drawn.replicates, model.robust, drawn.on_cells
            )
    base_run = next((r for r in runs if r.name == baseline), None)
    if base_run is None:
        return []
    base = by_name[baseline]
    found_pairs = []
    for run in runs:
        if run.name == baseline:
            continue
        model = by_name[run.name]
        mine = pd.Index(run.ids[run.clean])
        theirs = pd.Index(base_run.ids[base_run.clean])
        shared = mine.intersection(theirs, sort=False)
        shared_only = len(shared) < max(len(mine), len(theirs))
        c_ok = run.correct[run.clean][mine.get_indexer(shared)]
        b_ok = base_run.correct[base_run.clean][theirs.get_indexer(shared)]
        found_pairs.append(
            Comparison(
                baseline,
                run.name,
                "clean_accuracy",
                base.clean,
                model.clean,
                _minus(model.clean, base.clean),
                None,
                mcnemar_exact(b_ok, c_ok) if len(shared) else None,
                "mcnemar-exact",
                len(shared),
                shared_only=shared_only,
                discordance=discordance(b_ok, c_ok),
            )
        )
        common = [s for s in run.settings if s in set(base_run.settings)]
        delta = _minus(model.robust, base.robust)
        ci = p = se = None
        if replicates and len(shared) and common and delta is not None:
            mine_r, base_r = robust_bootstrap([run, base_run], shared, common, replicates, seed)
            draws = mine_r.replicates - base_r.replicates
            on_cells = mine_r.on_cells - base_r.on_cells
            ci = percentile_interval(draws, delta, on_cells)
            tested = wald_p_value(draws, delta, on_cells)
            if tested is not None:
                p, se = tested
        found_pairs.append(
            Comparison(
                baseline,
                run.name,
                "robust_accuracy",
                base.robust,
                model.robust,
                delta,
                ci,
                p,
                "bootstrap-paired",
                len(shared),
                se=se,
                shared_only=shared_only,
                reason=""
                if p is not None
                else "no bootstrap (--bootstrap 0) or no shared perturbation",
            )
        )
    return found_pairs


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
