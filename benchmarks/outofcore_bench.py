"""Out-of-core aggregation benchmark: the DuckDB engine's statistics of one binary run of
10M and 100M rows, generated in row groups (never all in memory).

For each size it writes (once, cached in --data) a Parquet run with click-through-style scores
(1% positives, median score 0.003) and times, as a fresh process with DuckDB's memory limit set,
the aggregation pass(es) and the statistics built from them; it prints wall time, peak resident
memory, the number of cells, and the AUC bound stated for the binned result.

    python benchmarks/outofcore_bench.py                  # 10M and 100M rows
    python benchmarks/outofcore_bench.py --rows 10000000  # one size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROW_GROUP = 2_000_000


def write_run(path: Path, rows: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    schema = pa.schema([("label", pa.int8()), ("prediction", pa.int8()), ("score", pa.float64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            size = min(ROW_GROUP, rows - start)
            label = (rng.random(size) < 0.01).astype(np.int8)
            score = np.clip(rng.lognormal(np.log(0.003) + 0.8 * label, 1.0), 0, 1)
            prediction = (score >= 0.02).astype(np.int8)
            writer.write_table(
                pa.table({"label": label, "prediction": prediction, "score": score}, schema=schema)
            )


CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from reportgen import metrics, outofcore
engine = outofcore.DuckDBEngine(sys.argv[2], sys.argv[3])
cells = outofcore.binary_cells(engine, engine.source([sys.argv[1]]), "label", "score",
                               "prediction")
stats = outofcore.binary_stats(cells)
print(json.dumps({
    "wall": time.perf_counter() - start,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cells": len(cells),
    "auc": metrics.roc_auc(stats.rank),
    "auc_bound": stats.auc_bound,
    "ap_range": stats.ap_range,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "reportgen-bench"
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    spill = args.data / "duckdb-spill"
    spill.mkdir(exist_ok=True)
    print(f"{os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}")
    print("| rows | wall (s) | peak memory (MiB) | cells | AUC | AUC bound |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        path = args.data / f"ctr-{rows}.parquet"
        if not path.exists():
            write_run(path, rows, seed=1)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), args.memory_limit, str(spill)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {rows:,} | {found['wall']:.2f} | {found['peak_mib']:,.0f} | {found['cells']:,} "
            f"| {found['auc']:.6f} | {found['auc_bound']:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
