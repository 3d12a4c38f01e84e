"""What the verdict machinery costs at scale: each stage of the statistics on three binary
classifiers of 1M examples, paired by id, with a four-value slice column (`group`).

    python benchmarks/verdict_cost.py                  # 1,000,000 rows, 1,000 replicates
    python benchmarks/verdict_cost.py --rows 100000

Stages, each timed once in this process (wall seconds, ``time.perf_counter``):
  evaluate       metrics of every run (not a test; for scale)
  assess         intervals, and each candidate's paired tests: McNemar, DeLong, and the
                 cell bootstrap's deltas with their Wald p-values
  settle         the multiplicity correction of every family (max-T over 11 metrics)
  slices         per-slice metrics and the slice deltas' tests (Holm over the values)
  ranks          tie-aware ranks: every pair of models, the metric's own test
  repeats        a candidate given as three seeds, tested against the baseline
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from null_simulation import _run as null_run  # benchmarks/ is on the path when run

from reportgen.ingest.runs import Run
from reportgen.kinds.classification.assess import assess, significance_ranks
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import HEADLINE, evaluate
from reportgen.kinds.classification.repeats import compare_repeats, repeat_sets
from reportgen.kinds.classification.slices import analyse
from reportgen.stats.comparison import settle


def _run(name: str, y: np.ndarray, score: np.ndarray, channel: np.ndarray, repeat: str) -> Run:
    run = null_run(name, np.arange(len(y)), y, score, channel)
    run.repeat = repeat or None
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    n, replicates = args.rows, args.replicates
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.3).astype(np.int64)
    channel = rng.choice(np.array(["web", "app", "email", "store"]), n)

    def scores(skill: float) -> np.ndarray:
        logit = rng.normal(skill * (2 * y - 1), 1.0)
        return np.round(1 / (1 + np.exp(-logit)), 6)

    runs = [_run(f"m{i}", y, scores(s), channel, "") for i, s in enumerate((1.0, 1.01, 0.98))]
    timings: dict[str, float] = {}

    def timed(stage: str, work):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        found = work()
        timings[stage] = time.perf_counter() - start
        return found

    evaluations = timed("evaluate", lambda: [evaluate(e) for e in encode_runs(runs)])
    found = timed("assess", lambda: assess(evaluations, "m0", False, replicates, 0))
    timed("settle", lambda: settle(found.comparisons))
    timed(
        "slices",
        lambda: analyse(evaluations, "group", "m0", found.pairings, 4, 30, replicates, 0),
    )
    metric = HEADLINE["binary"][0]
    timed("ranks", lambda: significance_ranks(evaluations, metric, False, replicates, 0))
    seeds = [_run("s", y, scores(1.0 + 0.01 * k), channel, f"seed={k}") for k in range(3)]
    sets = repeat_sets([evaluations[0], *(evaluate(e) for e in encode_runs(seeds))])
    pairing = found.pairings["m1"]
    timed(
        "repeats",
        lambda: compare_repeats(sets[0], sets[1], pairing, HEADLINE["binary"], replicates, 0),
    )
    print(f"{n:,} rows, 3 models, {replicates:,} replicates")
    for stage, seconds in timings.items():
        print(f"  {stage:<9} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
