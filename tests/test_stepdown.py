"""Step-down corrections: Holm against statsmodels, max-T against a brute-force max-T."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from reportgen.stats import stepdown
from reportgen.stats.comparison import Comparison, settle


def _brute_force_max_t(p: np.ndarray, correlation: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Westfall and Young's step-down max-T by its definition: for each hypothesis, the share
    of null vectors whose largest |Z| over the hypotheses no stronger than it reaches its z,
    then the running maximum in order of strength. One simulation, one loop per hypothesis."""
    z = -np.array([math.sqrt(2) * _erfcinv(v) for v in p])
    z = np.abs(z)
    rng = np.random.default_rng(seed)
    simulated = np.abs(rng.multivariate_normal(np.zeros(len(p)), correlation, size=n))
    order = np.argsort(-z)
    adjusted = np.empty(len(p))
    running = 0.0
    for k, i in enumerate(order):
        left = order[k:]
        share = np.mean(simulated[:, left].max(axis=1) >= z[i])
        running = max(running, share)
        adjusted[i] = running
    return adjusted


def _erfcinv(p: float) -> float:
    from statistics import NormalDist

    return -NormalDist().inv_cdf(p / 2) / math.sqrt(2)


def _equicorrelated(m: int, rho: float) -> np.ndarray:
    return rho * np.ones((m, m)) + (1 - rho) * np.eye(m)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_max_t_matches_a_brute_force_max_t(rho: float) -> None:
    rng = np.random.default_rng(3)
    m = 8
    correlation = _equicorrelated(m, rho)
    correlation[0, 1] = correlation[1, 0] = 0.98  # a near-duplicate pair
    p = np.array([0.0004, 0.003, 0.008, 0.012, 0.02, 0.04, 0.2, 0.6])
    rng.shuffle(p)
    found = stepdown.max_t(p, correlation)
    oracle = _brute_force_max_t(p, correlation, 400_000, seed=11)
    # the two simulations differ by Monte Carlo error only (sd < 0.001 at these values)
    assert np.allclose(found.adjusted, oracle, atol=0.004), (found.adjusted, oracle)
    assert [a < 0.05 for a in found.adjusted] == found.rejected


def test_max_t_is_never_weaker_than_holm_and_gains_on_correlated_metrics() -> None:
    p = [0.004, 0.006, 0.009, 0.011, 0.3]
    holm = stepdown.holm(p)
    independent = stepdown.max_t(p, np.eye(5))
    correlated = stepdown.max_t(p, _equicorrelated(5, 0.95))
    assert all(i <= h + 0.002 for i, h in zip(independent.adjusted, holm.adjusted, strict=True))
    # correlated tests count as fewer: the first adjusted p is 0.008, not Holm's 5 x 0.004
    assert 0.004 <= correlated.adjusted[0] < 0.5 * holm.adjusted[0]
    # with independent tests max-T is Sidak's step-down, 1 - (1 - p)^m at the first step
    assert independent.adjusted[0] == pytest.approx(1 - (1 - 0.004) ** 5, abs=0.002)


def test_holm_matches_statsmodels() -> None:
    p = [0.011, 0.04, 0.03, 0.2, 0.005, 0.5]  # no p on a level: statsmodels rejects p = level
    found = stepdown.holm(p)
    reject, oracle, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert np.allclose(found.adjusted, oracle)
    assert found.rejected == list(reject)


def test_max_t_keeps_the_resolution_of_tiny_p_values() -> None:
    p6 = math.erfc(6 / math.sqrt(2))  # 6 standard errors: 2e-9
    found = stepdown.max_t([p6, 0.5, 0.3], _equicorrelated(3, 0.8))
    assert 0 < found.adjusted[0] < 1e-6
    assert found.rejected == [True, False, False]


def test_max_t_is_deterministic_and_order_free() -> None:
    p = [0.01, 0.02, 0.03, 0.5]
    correlation = _equicorrelated(4, 0.6)
    first = stepdown.max_t(p, correlation)
    assert stepdown.max_t(p, correlation) == first
    flipped = stepdown.max_t(p[::-1], correlation[::-1, ::-1])
    # another order simulates other vectors: equal up to Monte Carlo error
    assert np.allclose(flipped.adjusted[::-1], first.adjusted, atol=0.005)


def test_the_level_each_test_is_held_to_agrees_with_its_verdict() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        m = int(rng.integers(2, 12))
        p = 10 ** rng.uniform(-5, 0, m)
        a = rng.normal(size=(m, 3 * m))
        correlation = np.corrcoef(a)
        found = stepdown.max_t(p, correlation)
        for raw, level, rejected, adjusted in zip(
            p, found.levels, found.rejected, found.adjusted, strict=True
        ):
            assert (raw < level) == rejected == (adjusted < 0.05)


def test_correlation_of_joint_replicates_and_independence_for_the_rest() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=1000)
    draws = [base, base + 0.1 * rng.normal(size=1000), None, np.zeros(1000), rng.normal(size=5)]
    found = stepdown.correlation_of(draws)
    assert found is not None
    assert found[0, 1] == pytest.approx(np.corrcoef(draws[0], draws[1])[0, 1])
    assert found[0, 1] > 0.99
    assert np.array_equal(found[2:, 2:], np.eye(3))
    assert found[0, 2] == found[0, 3] == found[0, 4] == 0
    assert stepdown.correlation_of([base, None]) is None


def _comparison(metric: str, delta: float, se: float, draws: np.ndarray | None) -> Comparison:
    z = delta / se
    p = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(
        "a",
        "b",
        metric,
        0.5,
        0.5 + delta,
        delta,
        None,
        p,
        "bootstrap-paired",
        100,
        se=se,
        draws=draws,
    )


def test_settle_uses_max_t_when_replicates_are_joint_and_holm_otherwise() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(size=1000)
    near = [common + 0.05 * rng.normal(size=1000) for _ in range(6)]
    # six near-duplicate metrics, each 2.3 SE from zero: raw p = 0.021 each
    with_draws = [_comparison(f"m{i}", 0.023, 0.01, 0.01 * d) for i, d in enumerate(near)]
    without = [_comparison(f"m{i}", 0.023, 0.01, None) for i in range(6)]
    settle(with_draws)
    settle(without)
    assert {c.correction for c in with_draws} == {"max-T"}
    assert {c.correction for c in without} == {"Holm"}
    assert all(c.verdict == "better" for c in with_draws)  # max-T sees one test, not six
    assert all(c.verdict == "tie" for c in without)  # Holm: 6 x 0.021 > 0.05
    for c in with_draws + without:
        assert c.ci_adjusted is not None
        assert (c.ci_adjusted[0] <= 0 <= c.ci_adjusted[1]) == (c.verdict == "tie")


def test_large_families_are_settled_by_holm_in_bounded_memory() -> None:
    """Tie-aware ranks of 300 models test 44,850 pairs, one metric each: the family's
    correlation is never built (an identity of 44,850² numbers is 16 GB), and a family of
    joint replicates beyond MAX_TESTS is corrected by Holm, not a simulation of DRAWS × tests."""
    import tracemalloc

    rng = np.random.default_rng(2)
    pairs = [_comparison(f"p{i}", 0.01, 0.01, rng.normal(size=50)) for i in range(44_850)]
    for i, c in enumerate(pairs):
        c.baseline, c.candidate = f"b{i}", f"c{i}"  # each pair its own resampling
    tracemalloc.start()  # numpy reports its arrays to tracemalloc
    try:
        settle(pairs, key=lambda c: ())
        grown_mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert {c.correction for c in pairs} == {"Holm"}
    assert grown_mb < 500
    common = rng.normal(size=200)
    joint = [
        _comparison(f"m{i}", 0.023, 0.01, 0.01 * (common + 0.05 * rng.normal(size=200)))
        for i in range(stepdown.MAX_TESTS + 1)
    ]
    settle(joint)
    assert {c.correction for c in joint} == {"Holm"}
    settle(joint[: stepdown.MAX_TESTS])
    assert {c.correction for c in joint[: stepdown.MAX_TESTS]} == {"max-T"}


def test_max_t_simulated_in_blocks_is_the_one_block_simulation() -> None:
    """The simulation is made in blocks of rows to bound memory; the normal stream and every
    product are those of one (draws x tests) block, so the outcome is the same to the bit."""
    rng = np.random.default_rng(5)
    for m in (1, 3, 11, 44):
        a = rng.normal(size=(m, m + 4))
        correlation = np.corrcoef(a) if m > 1 else np.eye(1)
        draws = 3 * stepdown.BLOCK + 17
        root = stepdown._root(correlation)
        whole = np.abs(np.random.default_rng(0).standard_normal((draws, m)) @ root.T)
        expected = np.maximum.accumulate(whole[:, ::-1], axis=1)[:, ::-1].T
        found = stepdown._left_max(np.random.default_rng(0), root, draws)
        assert np.array_equal(found, expected)
