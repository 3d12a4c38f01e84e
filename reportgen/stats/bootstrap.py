"""The example bootstrap: sums of per-example columns over resampled examples, paired when
two runs' columns are aligned row by row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOTSTRAP_CHUNK = 4_000_000  # resampled indices held at once
MAX_UNITS = 20_000  # beyond this many examples, resample random groups of examples
# Fewer examples than this get no bootstrap interval (of a run's metric, or of a difference).
# A percentile interval stands for the sampling distribution only when the resamples can take
# many values: with n examples a proportion takes n + 1, and below about 20 the nominal 95%
# interval covers far less often (Hesterberg 2015, "What teachers should know about the
# bootstrap"; the same minimum as the "rule of 20" for normal approximations). The metric
# itself is still shown, with a note that says why it has no interval.
MIN_INTERVAL_EXAMPLES = 20


def too_few_note(n: int) -> str:
    """The note of a run with too few examples for an interval."""
    return (
        f"{n:,} examples: too few for a bootstrap interval (it needs "
        f"{MIN_INTERVAL_EXAMPLES}); the metrics are shown without one."
    )


def resampled_sums(
    columns: np.ndarray | Sequence[np.ndarray], replicates: int, seed: int
) -> np.ndarray:
    """Sums of each of m ``columns`` (an m x n array, or m arrays of n values of any numeric or
    bool type) over ``replicates`` bootstrap resamples of the n examples: an array
    (replicates x m). The same resampled examples feed every column, so columns from two
    aligned runs give paired replicates.

    Past ``MAX_UNITS`` examples, rows are first dealt at random into ``MAX_UNITS`` groups and
    groups are resampled: exchangeable groups give the sum the same mean and variance as
    resampled examples, at a cost that no longer grows with the run. Columns are grouped one
    at a time, so no n x m float matrix is ever built."""
    m, n = len(columns), len(columns[0])
    rng = np.random.default_rng(seed)
    if n > MAX_UNITS:
        groups = rng.permutation(n) % MAX_UNITS
        matrix = np.vstack([np.bincount(groups, weights=c, minlength=MAX_UNITS) for c in columns])
        n = MAX_UNITS
    else:
        matrix = np.vstack([np.asarray(c, dtype=np.float64) for c in columns])
    out = np.empty((replicates, m), dtype=np.float64)
    chunk = max(1, BOOTSTRAP_CHUNK // max(n, 1))
    by_example = np.ascontiguousarray(matrix.T)
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        rows = rng.integers(0, n, size=(size, n))
        # how often each example was drawn, then one matrix product for every column at once
        offsets = (np.arange(size, dtype=np.int64) * n)[:, None]
        weights = np.bincount((rows + offsets).ravel(), minlength=size * n).reshape(size, n)
        out[start : start + size] = weights.astype(np.float64) @ by_example
    return out
