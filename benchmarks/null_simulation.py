"""False-positive rate of the verdicts under the null: pairs of binary classifiers of equal
skill on one test set, compared with the report's own machinery (cell bootstrap, McNemar,
DeLong, Wald p-values from the bootstrap, max-T within each candidate's comparison).

    python benchmarks/null_simulation.py --repetitions 200
    python benchmarks/null_simulation.py --repetitions 200 --slices 4   # slice verdicts too

Prints the share of comparisons with any verdict other than a tie (the family-wise error
rate, target at most 5%) with its 95% Wilson interval, and how long it took. With
``--slices K`` each test set also has a column of K equally likely values, and the share of
candidates with any significant slice verdict (any metric, any value) is printed too.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from reportgen.ingest.runs import Categorical, Run
from reportgen.kinds.classification.assess import assess
from reportgen.kinds.classification.encode import encode_runs
from reportgen.kinds.classification.evaluate import evaluate
from reportgen.kinds.classification.slices import analyse
from reportgen.stats.comparison import settle


def _run(
    name: str, ids: np.ndarray, y: np.ndarray, score: np.ndarray, group: np.ndarray | None
) -> Run:
    import pandas as pd

    labels = Categorical(y.astype(np.int64), ("0", "1"))
    predictions = Categorical((score >= 0.5).astype(np.int64), ("0", "1"))
    return Run(
        name=name,
        path=f"<{name}>",  # type: ignore[arg-type]
        sha256="",
        format="memory",
        n_examples=len(y),
        ids=ids,
        labels=labels,
        predictions=predictions,
        score=score,
        class_scores={},
        columns={"label": "label", "prediction": "prediction", "score": "score", "id": "id"},
        extra=pd.DataFrame(index=range(len(y)))
        if group is None
        else pd.DataFrame({"group": group}),
    )


def one(seed: int, n: int, replicates: int, candidates: int, slices: int) -> list[bool]:
    """For each candidate: did any of its metrics get a verdict other than a tie? (With
    slices, then: did any metric on any slice value?)"""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int64)
    ids = np.arange(n)
    group = rng.integers(0, slices, n).astype(str) if slices else None
    runs = []
    for m in range(candidates + 1):
        logit = 1.0 * (2 * y - 1) + rng.normal(0, 1.2, n)
        runs.append(_run(f"m{m}", ids, y, np.round(1 / (1 + np.exp(-logit)), 6), group))
    evaluations = [evaluate(e) for e in encode_runs(runs)]
    found = assess(evaluations, "m0", False, replicates, seed)
    settle(found.comparisons)
    names = [r.name for r in runs[1:]]
    flags = [
        any(c.verdict in ("better", "worse") for c in found.comparisons if c.candidate == name)
        for name in names
    ]
    if slices:
        analysis = analyse(evaluations, "group", "m0", found.pairings, slices, 30, replicates, seed)
        flags += [
            any(d.verdict in ("better", "worse") for d in analysis.deltas if d.candidate == name)
            for name in names
        ]
    return flags


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=200)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=1, help="candidates per test set")
    parser.add_argument("--slices", type=int, default=0, help="values of a slice column")
    args = parser.parse_args()
    start = time.perf_counter()
    runs = [
        one(seed, args.examples, args.replicates, args.candidates, args.slices)
        for seed in range(args.repetitions)
    ]
    c = args.candidates
    report = [("null comparisons", [f for r in runs for f in r[:c]])]
    if args.slices:
        report.append(
            (f"candidates' slice families ({args.slices} values)", [f for r in runs for f in r[c:]])
        )
    for what, flags in report:
        k, n = sum(flags), len(flags)
        low, high = wilson(k, n)
        print(
            f"{k} of {n} {what} ({100 * k / n:.1f}%, 95% CI {100 * low:.1f}-"
            f"{100 * high:.1f}%) had a significant verdict; {args.examples:,} examples, "
            f"{args.replicates:,} replicates, 11 metrics each"
        )
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
