"""Language-model metrics as pure functions of per-example sums, and the example bootstrap.

Perplexity is a ratio of sums over the corpus, never the mean of per-example perplexities:
long examples weigh by their token count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LN2 = math.log(2.0)
BOOTSTRAP_CHUNK = 4_000_000  # resampled indices held at once
MAX_UNITS = 20_000  # beyond this many examples, resample random groups of examples


def perplexity(nll_sum: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray | float:
    """Corpus perplexity exp(Σ nll / Σ tokens), with nll in nats summed over each example."""
    return np.exp(np.divide(nll_sum, tokens))


def mean_token_nll(nll_sum: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray | float:
    """Mean negative log-likelihood per token in nats, Σ nll / Σ tokens."""
    return np.divide(nll_sum, tokens)


def bits_per_byte(nll_sum: np.ndarray | float, n_bytes: np.ndarray | float) -> np.ndarray | float:
    """Σ nll / (ln 2 · Σ bytes): the code length per byte of text, comparable across tokenizers."""
    return np.divide(nll_sum, np.multiply(LN2, n_bytes))


def example_perplexity(nll: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Each example's own perplexity exp(nll_i / tokens_i), for distributions only."""
    return np.exp(nll / tokens)


def perplexity_metrics(
    nll_sum: np.ndarray | float, tokens: np.ndarray | float, n_bytes: np.ndarray | float | None
) -> dict[str, np.ndarray | float]:
    values: dict[str, np.ndarray | float] = {
        "perplexity": perplexity(nll_sum, tokens),
        "mean_nll": mean_token_nll(nll_sum, tokens),
    }
    if n_bytes is not None:
        values["bits_per_byte"] = bits_per_byte(nll_sum, n_bytes)
    return values


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
