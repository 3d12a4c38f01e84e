"""End-to-end benchmark: `reportgen build` on generated runs of 100k and 1M rows.

For each case it writes two models' runs on one test set as Parquet (once, cached in --data),
paired by id, with a `channel` column to slice by; runs the command (default options: 1,000
bootstrap replicates, paired tests) as a fresh process, start-up included, several times; and
prints the median wall time, the peak resident memory of the process, and the report's size.

    python benchmarks/bench.py                 # all cases, 3 repeats
    python benchmarks/bench.py --rows 100000   # one size
    python benchmarks/bench.py --tasks perplexity generation   # language-model runs
    python benchmarks/bench.py --tasks regression multilabel embedding
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def test_set(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a slice column shared by every model: the runs are on one test set."""
    rng = np.random.default_rng(0)
    return rng.random(n), rng.choice(np.array(["web", "app", "email", "store"]), n)


def binary_run(n: int, seed: int, skill: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    uniform, channel = test_set(n)
    label = (uniform < 0.3).astype(np.int8)
    logit = rng.normal(skill * (2 * label - 1), 1.0)
    score = 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": label,
            "prediction": (score >= 0.5).astype(np.int8),
            "score": score,
            "channel": channel,
        }
    )


def multiclass_run(n: int, seed: int, skill: float, k: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    uniform, channel = test_set(n)
    label = np.minimum((uniform * k).astype(np.int64), k - 1)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), label] += skill
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(proba, columns=[f"prob_{c}" for c in range(k)])
    frame.insert(0, "prediction", proba.argmax(axis=1))
    frame.insert(0, "label", label)
    frame.insert(0, "id", np.arange(n))
    frame["channel"] = channel
    return frame


def perplexity_run(n: int, seed: int, skill: float) -> pd.DataFrame:
    """Per-example summed NLL and token counts, as a language-model evaluation logs them."""
    rng = np.random.default_rng(seed)
    _, channel = test_set(n)
    tokens = np.maximum(4, rng.lognormal(5.0, 0.8, n)).round().astype(np.int64)
    per_token = np.maximum(0.05, rng.normal(2.6 - 0.2 * skill, 0.4, n))
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "nll": per_token * tokens,
            "num_tokens": tokens,
            "num_bytes": (tokens * 4.1).round().astype(np.int64),
            "latency_ms": rng.gamma(2.0, 20.0, n),
            "channel": channel,
        }
    )


def generation_run(n: int, seed: int, skill: float) -> pd.DataFrame:
    """Free-text answers against lists of acceptable answers."""
    rng = np.random.default_rng(seed)
    _, channel = test_set(n)
    answer = np.char.add("answer ", np.arange(n).astype(str))
    right = rng.random(n) < 0.4 + 0.2 * skill
    prediction = np.where(right, np.char.add("The ", answer), "something else")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": [[a, a + " exactly"] for a in answer.tolist()],
            "prediction": prediction,
            "latency_ms": rng.gamma(2.0, 40.0, n),
            "completion_tokens": rng.integers(1, 30, n),
            "channel": channel,
        }
    )


def regression_run(n: int, seed: int, skill: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    uniform, channel = test_set(n)
    label = 100 + 30 * np.sqrt(-2 * np.log(1 - uniform)) * np.cos(2 * np.pi * uniform * 7)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": label,
            "prediction": label + rng.normal(0, 12 / skill, n),
            "channel": channel,
        }
    )


MULTILABEL_TAGS = np.array([f"tag{j:02d}" for j in range(20)])


def multilabel_run(n: int, seed: int, skill: float) -> pd.DataFrame:
    """20 tags, about 2 per example, as lists (the common form) with per-tag scores."""
    rng = np.random.default_rng(seed)
    _, channel = test_set(n)
    truth = np.random.default_rng(0).random((n, 20)) < 0.1
    scores = 1 / (1 + np.exp(-rng.normal(skill * (2 * truth - 1), 1.0)))
    predicted = scores >= 0.5
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "labels": [MULTILABEL_TAGS[r].tolist() for r in truth],
            "predictions": [MULTILABEL_TAGS[r].tolist() for r in predicted],
            "channel": channel,
        }
    )
    for j, tag in enumerate(MULTILABEL_TAGS):
        frame[f"score_{tag}"] = scores[:, j]
    return frame


GENERATORS = {
    "binary": binary_run,
    "multiclass": lambda n, seed, skill: multiclass_run(n, seed, skill + 1),
    "perplexity": perplexity_run,
    "generation": generation_run,
    "regression": regression_run,
    "multilabel": multilabel_run,
    "embedding": binary_run,  # plus an n x 128 float32 .npy per model, see make_runs
}
EMBEDDING_DIMS = 128


def make_runs(data: Path, task: str, rows: int) -> list[Path]:
    paths = []
    for model, (seed, skill) in {"a": (1, 1.2), "b": (2, 1.4)}.items():
        path = data / f"{task}-{rows}-{model}-v2.parquet"
        if not path.exists():
            GENERATORS[task](rows, seed, skill).to_parquet(path, index=False)
        paths.append(path)
        if task == "embedding":
            vectors = path.with_suffix(".npy")
            if not vectors.exists():
                write_embeddings(vectors, rows, seed)
    return paths


def write_embeddings(path: Path, rows: int, seed: int) -> None:
    """Class-dependent vectors, written in blocks through a memory map (never all in RAM)."""
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, EMBEDDING_DIMS))
    uniform, _ = test_set(rows)
    label = uniform < 0.3
    centre = rng.normal(size=EMBEDDING_DIMS)
    for start in range(0, rows, 200_000):
        stop = min(rows, start + 200_000)
        block = rng.normal(size=(stop - start, EMBEDDING_DIMS)).astype(np.float32)
        block[label[start:stop]] += centre.astype(np.float32)
        out[start:stop] = block
    out.flush()


# as on a user's machine: Python may cache bytecode (some sandboxes turn that off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    script = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.call(sys.argv[1:]); w = time.perf_counter() - t; "
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    # a wrapper process per run, so ru_maxrss is this run's peak, not an earlier one's
    out = subprocess.run(
        [sys.executable, "-c", script, *command],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    ).stdout.split()
    return float(out[-2]), float(out[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--tasks", nargs="+", default=["binary", "multiclass"], choices=list(GENERATORS)
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "reportgen-bench"
    )
    parser.add_argument("--slice", default="channel", help="column to slice by; '' for none")
    parser.add_argument(
        "--extra",
        nargs="*",
        default=[],
        help="more options for reportgen build, e.g. --extra=--bootstrap=0",
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    reportgen = [sys.executable, "-m", "reportgen.cli"]
    # warm the one-off caches (Vega bundle on disk, Python bytecode) outside the timings
    warm = make_runs(args.data, "binary", 1000)
    subprocess.run(
        [*reportgen, "build", *map(str, warm), "-o", str(args.data / "warm.html"), "-q"],
        check=True,
        env=ENV,
    )

    print(
        f"reportgen benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"median of {args.repeat}; options: "
        f"{'--slice ' + args.slice if args.slice else ''} {' '.join(args.extra)}"
    )
    print("| task | rows per run | runs | wall (s) | peak memory (MiB) | report (KB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for task in args.tasks:
        for rows in args.rows:
            runs = make_runs(args.data, task, rows)
            out = args.data / f"{task}-{rows}.html"
            command = [
                *reportgen,
                "build",
                *map(str, runs),
                "-o",
                str(out),
                "-q",
                *(["--slice", args.slice] if args.slice else []),
                *args.extra,
            ]
            if task == "embedding":
                for run in runs:
                    command += ["--embeddings", f"{run.stem}={run.with_suffix('.npy')}"]
            walls, peaks = [], []
            for _ in range(args.repeat):
                wall, peak = measure(command)
                walls.append(wall)
                peaks.append(peak)
            print(
                f"| {task} | {rows:,} | {len(runs)} | {statistics.median(walls):.2f} | "
                f"{max(peaks):,.0f} | {out.stat().st_size / 1024:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - start:.0f} s)")
