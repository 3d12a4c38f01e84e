"""End-to-end benchmark: `reportgen build` on generated runs of 100k and 1M rows.

For each case it writes two models' runs on one test set as Parquet (once, cached in --data),
paired by id, with a `channel` column to slice by; runs the command (default options: 1,000
bootstrap replicates, paired tests) as a fresh process, start-up included, several times; and
prints the median wall time, the peak resident memory of the process, and the report's size.

    python benchmarks/bench.py                 # all cases, 3 repeats
    python benchmarks/bench.py --rows 100000   # one size
    python benchmarks/bench.py --tasks perplexity generation   # language-model runs
    python benchmarks/bench.py --tasks regression multilabel embedding
    python benchmarks/bench.py --rows 5000 --models 2 5 --compare-sklearn
    python benchmarks/bench.py --startup          # reportgen --help and --version
    python benchmarks/bench.py --demo             # reportgen demo (every kind of report)

Each row also gives the median time per stage (``REPORTGEN_PROFILE=1``: imports, load,
evaluate, verdicts, charts, fallbacks, write). ``--compare-sklearn`` times, in the same
sitting, a process that reads the same files and makes the bare scikit-learn calls for the
report's point metrics and curves (no intervals, no tests, no page) and prints the ratio.
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


MODELS = {"a": (1, 1.2), "b": (2, 1.4), "c": (3, 1.0), "d": (4, 1.3), "e": (5, 1.1)}


def model_specs(models: int) -> list[tuple[str, tuple[int, float]]]:
    """The first five models of MODELS, then a sweep's worth more (m005, m006, ...), each with
    its own seed and a skill between 1.0 and 1.4."""
    specs = list(MODELS.items())[:models]
    specs += [(f"m{i:03d}", (i + 1, 1.0 + 0.04 * ((7 * i) % 11))) for i in range(5, models)]
    return specs


def make_runs(data: Path, task: str, rows: int, models: int = 2) -> list[Path]:
    paths = []
    for model, (seed, skill) in model_specs(models):
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


def sklearn_calls(task: str, paths: list[str], slice_column: str) -> None:
    """The bare scikit-learn calls for what a report shows of these runs: point metrics,
    ROC and PR curves, calibration bins, per-class scores and each slice's headline metrics."""
    from sklearn import calibration, metrics

    for path in paths:
        frame = pd.read_parquet(path)
        y = frame["label"].to_numpy()
        pred = frame["prediction"].to_numpy()
        for function in (
            metrics.accuracy_score,
            metrics.balanced_accuracy_score,
            metrics.matthews_corrcoef,
            metrics.cohen_kappa_score,
            metrics.confusion_matrix,
        ):
            function(y, pred)
        average = "binary" if task == "binary" else "macro"
        metrics.precision_recall_fscore_support(y, pred, average=average)
        metrics.precision_recall_fscore_support(y, pred, average=None)
        if task == "binary":
            s = frame["score"].to_numpy()
            metrics.roc_auc_score(y, s)
            metrics.average_precision_score(y, s)
            metrics.log_loss(y, s)
            metrics.brier_score_loss(y, s)
            metrics.roc_curve(y, s)
            metrics.precision_recall_curve(y, s)
            calibration.calibration_curve(y, s, n_bins=10)
        else:
            proba = frame[[c for c in frame.columns if c.startswith("prob_")]].to_numpy()
            metrics.roc_auc_score(y, proba, multi_class="ovr")
            metrics.log_loss(y, proba)
            metrics.top_k_accuracy_score(y, proba, k=3)
            onehot = np.eye(proba.shape[1])[y]
            for k in range(proba.shape[1]):
                metrics.roc_curve(onehot[:, k], proba[:, k])
                metrics.average_precision_score(onehot[:, k], proba[:, k])
        if slice_column:
            for _, part in frame.groupby(slice_column):
                metrics.accuracy_score(part["label"], part["prediction"])
                metrics.f1_score(part["label"], part["prediction"], average=average)


def profile_of(stderr: str) -> dict[str, float]:
    """The stage times of a REPORTGEN_PROFILE=1 line."""
    line = next((x for x in stderr.splitlines() if x.startswith("profile (s):")), "")
    body = line.removeprefix("profile (s): ").split(";")[0]
    return {
        name: float(value)
        for name, value in (part.strip().rsplit(" ", 1) for part in body.split(",") if part)
    }


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    wall, peak, _ = measure_profiled(command)
    return wall, peak


def measure_profiled(command: list[str]) -> tuple[float, float, dict[str, float]]:
    """Wall seconds, peak RSS (MiB) and stage times of one child process."""
    script = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.call(sys.argv[1:]); w = time.perf_counter() - t; "
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    # a wrapper process per run, so ru_maxrss is this run's peak, not an earlier one's
    done = subprocess.run(
        [sys.executable, "-c", script, *command],
        capture_output=True,
        text=True,
        check=True,
        env={**ENV, "REPORTGEN_PROFILE": "1"},
    )
    out = done.stdout.split()
    return float(out[-2]), float(out[-1]) / 1024, profile_of(done.stderr)


STAGES = ("imports", "load", "evaluate", "verdicts", "charts", "fallbacks", "write")


def startup(repeat: int) -> None:
    """``reportgen --help`` and ``--version``: what a user waits for before anything runs."""
    print("| command | wall (s) |")
    print("|---|---:|")
    for flag in ("--help", "--version"):
        walls = [measure([sys.executable, "-m", "reportgen.cli", flag])[0] for _ in range(repeat)]
        print(f"| reportgen {flag} | {statistics.median(walls):.2f} |", flush=True)


def demo(repeat: int) -> None:
    """``reportgen demo``: every kind of report, from training the models to the pages."""
    print("| command | wall (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    walls, peaks = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, "-m", "reportgen.cli", "demo", "-o", folder, "-q"]
            wall, peak = measure(command)
        walls.append(wall)
        peaks.append(peak)
    print(f"| reportgen demo | {statistics.median(walls):.2f} | {max(peaks):,.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--tasks", nargs="+", default=["binary", "multiclass"], choices=list(GENERATORS)
    )
    parser.add_argument("--models", type=int, nargs="+", default=[2], help="runs per report")
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
    parser.add_argument(
        "--compare-sklearn",
        action="store_true",
        help="also time bare scikit-learn metric calls on the same files (binary, multiclass)",
    )
    parser.add_argument("--startup", action="store_true", help="time --help and --version only")
    parser.add_argument("--demo", action="store_true", help="time `reportgen demo` only")
    parser.add_argument("--sklearn-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sklearn_child:  # the process --compare-sklearn times
        task, slice_column, *paths = args.sklearn_child
        sklearn_calls(task, paths, slice_column)
        return
    if args.startup:
        startup(args.repeat)
        return
    if args.demo:
        demo(args.repeat)
        return
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
    sklearn_header = " scikit-learn (s) | ratio |" if args.compare_sklearn else ""
    print(
        "| task | rows per run | runs | wall (s) | peak memory (MiB) | report (KB) |"
        f"{sklearn_header} {' | '.join(STAGES)} |"
    )
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * (len(STAGES) + 2 * args.compare_sklearn))
    for task in args.tasks:
        for rows in args.rows:
            for models in args.models:
                case(args, reportgen, task, rows, models)


def case(args: argparse.Namespace, reportgen: list[str], task: str, rows: int, models: int) -> None:
    runs = make_runs(args.data, task, rows, models)
    out = args.data / f"{task}-{rows}-{models}.html"
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
    walls, peaks, stages = [], [], []
    bare = []
    for _ in range(args.repeat):
        wall, peak, profile = measure_profiled(command)
        walls.append(wall)
        peaks.append(peak)
        stages.append(profile)
        if args.compare_sklearn and task in ("binary", "multiclass"):
            child = [sys.executable, __file__, "--sklearn-child", task, args.slice]
            bare.append(measure([*child, *map(str, runs)])[0])
    wall = statistics.median(walls)
    columns = [f"{statistics.median(p.get(stage, 0.0) for p in stages):.2f}" for stage in STAGES]
    compared = ""
    if args.compare_sklearn:
        compared = (
            f" {statistics.median(bare):.2f} | {wall / statistics.median(bare):.2f}x |"
            if bare
            else " - | - |"
        )
    print(
        f"| {task} | {rows:,} | {len(runs)} | {wall:.2f} | {max(peaks):,.0f} | "
        f"{out.stat().st_size / 1024:,.0f} |{compared} {' | '.join(columns)} |",
        flush=True,
    )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - start:.0f} s)")
