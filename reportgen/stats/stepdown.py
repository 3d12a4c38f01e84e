"""Step-down multiplicity corrections over one family of tests: Holm's, and Westfall and
Young's max-T when the tests' correlation is known.

Both test the hypotheses in order of evidence, the strongest first, and stop at the first
they keep. Each step has a critical level; a hypothesis is rejected when its own p-value is
below its step's level and every stronger one was rejected. Holm's level at step k of m is
α / (m − k + 1), whatever the correlation (it is the Bonferroni bound on the hypotheses left).

Max-T replaces that bound with the distribution it bounds. With the tests' z-scores
Z ~ N(0, R) under the null, step k's critical value c_k is the 1 − α quantile of
max |Z_i| over the hypotheses left, and the adjusted p-value is
P(max_{i left} |Z_i| ≥ z_k), made monotone. Near-duplicate metrics (F1 and balanced
accuracy, say) then count as little more than one test. The joint law of the z-scores is
approximated by a normal with the correlation of the joint bootstrap replicates; that
keeps the p-values' resolution, which max-T over the replicates themselves would floor at
1 / B. Hypotheses whose correlation is unknown count as independent: for normal z-scores
that is conservative (Šidák's inequality, and the Gaussian correlation inequality for
blocks), and it still never does worse than Holm.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.stats.significance import normal_quantile

DRAWS = 200_000  # normal vectors simulated per family; the MC error at p = 0.05 is 0.0005
BLOCK = 25_000  # normal vectors made at once
RESOLVED = 100  # below this many simulated exceedances, the Bonferroni bound is used instead
# families larger than this are corrected by Holm: max-T's simulation holds DRAWS × tests
# numbers (100 tests: 160 MB), and Holm is valid under any dependence
MAX_TESTS = 100


@dataclass(frozen=True)
class StepDown:
    """A family's outcome, each list in the input order."""

    adjusted: list[float]  # adjusted p-values
    levels: list[float]  # the per-test level each was tested at (where the procedure stopped)
    rejected: list[bool]


def _outcome(
    order: np.ndarray, raw: Sequence[float], step_levels: list[float], step_adjusted: list[float]
) -> StepDown:
    m = len(raw)
    adjusted = [1.0] * m
    levels = [0.0] * m
    rejected = [False] * m
    running = 0.0
    stopped: float | None = None
    for k, index in enumerate(order):
        running = max(running, min(1.0, step_adjusted[k]))
        adjusted[index] = running
        if stopped is None and raw[index] < step_levels[k]:
            levels[index] = step_levels[k]
            rejected[index] = True
        else:
            stopped = step_levels[k] if stopped is None else stopped
            levels[index] = stopped
    return StepDown(adjusted, levels, rejected)


def holm(p_values: Sequence[float], alpha: float = 0.05) -> StepDown:
    """Holm's step-down: step k of m tests at α / (m − k + 1); valid under any dependence."""
    raw = [float(p) for p in p_values]
    m = len(raw)
    order = np.argsort(np.asarray(raw), kind="stable")
    levels = [alpha / (m - k) for k in range(m)]
    adjusted = [(m - k) * raw[i] for k, i in enumerate(order)]
    return _outcome(order, raw, levels, adjusted)


def max_t(
    p_values: Sequence[float],
    correlation: np.ndarray,
    alpha: float = 0.05,
    draws: int = DRAWS,
    seed: int = 0,
) -> StepDown:
    """Westfall–Young step-down max-T with normal z-scores of correlation ``correlation``.

    ``p_values`` are two-sided; each becomes z = Φ⁻¹(1 − p / 2). The tail probabilities are
    simulated from ``draws`` normal vectors (fixed ``seed``: the same inputs give the same
    output). Where fewer than 100 vectors exceed z (p below about 0.0005) the Bonferroni
    bound over the hypotheses left is used (capped at 100 / draws), so that a difference
    6 standard errors from zero still gets p < 1e-6."""
    raw = [float(p) for p in p_values]
    m = len(raw)
    z = np.array([normal_quantile(p / 2) for p in raw])
    order = np.argsort(-z, kind="stable")
    root = _root(np.asarray(correlation, dtype=float))[order]
    left_max = _left_max(np.random.default_rng(seed), root, draws)
    rank = math.ceil(alpha * draws)  # reject at step k when z_k > the rank-th largest maximum
    levels, adjusted = [], []
    for k, index in enumerate(order):
        column = left_max[k]
        exceed = int(np.count_nonzero(column >= z[index]))
        column.partition(draws - rank)  # in place: the column is not read again
        critical = float(column[draws - rank])
        levels.append(2 * _upper_tail(critical))
        if exceed >= RESOLVED:
            adjusted.append(exceed / draws)
        else:
            adjusted.append(min((m - k) * raw[index], RESOLVED / draws))
    return _outcome(order, raw, levels, adjusted)


def _left_max(rng: np.random.Generator, root: np.ndarray, draws: int) -> np.ndarray:
    """|Z| = |N(0, I) Lᵀ| for ``draws`` vectors, as its running maximum from the weakest
    hypothesis (the largest |Z| over the hypotheses left at each step): one row per step.

    Made in blocks of rows, so that no draws x tests temporary but the result is held; the
    normal stream, and every product, are the same as in one block."""
    m = len(root)
    left_max = np.empty((m, draws))
    # blocks of near-equal size: a sliver of a last block could take another BLAS kernel
    bounds = np.linspace(0, draws, -(-draws // BLOCK) + 1).round().astype(int)
    for start, stop in itertools.pairwise(bounds.tolist()):
        block = rng.standard_normal((stop - start, m)) @ root.T
        np.abs(block, out=block)
        left_max[:, start:stop] = np.maximum.accumulate(block[:, ::-1], axis=1)[:, ::-1].T
    return left_max


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _root(correlation: np.ndarray) -> np.ndarray:
    """A matrix L with L Lᵀ = the correlation (made positive semi-definite, unit diagonal)."""
    values, vectors = np.linalg.eigh((correlation + correlation.T) / 2)
    root = vectors * np.sqrt(np.clip(values, 0, None))
    scale = np.sqrt(np.sum(root**2, axis=1))
    scale[scale == 0] = 1.0
    return root / scale[:, None]


def correlation_of(draws: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Correlation of the tests from their joint bootstrap replicates (the same resampled
    examples for every test), or None when fewer than two tests have them. Tests without
    replicates, with replicates of another length, or whose replicates do not vary, count as
    independent of the others."""
    lengths = [len(d) for d in draws if d is not None]
    if not lengths:
        return None
    common = max(set(lengths), key=lengths.count)
    usable = [
        i
        for i, d in enumerate(draws)
        if d is not None and len(d) == common and np.all(np.isfinite(d)) and np.std(d) > 0
    ]
    if len(usable) < 2:
        return None
    found = np.eye(len(draws))
    found[np.ix_(usable, usable)] = np.corrcoef(np.vstack([draws[i] for i in usable]))
    return found
