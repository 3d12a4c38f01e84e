"""Out-of-core benchmark: `reportgen build` on a binary pair (baseline and candidate, paired
by id) of 10M and 100M rows with --memory-limit 1GB, so `auto` switches to DuckDB.

Each run is written once (cached in --data) in row groups, never all in memory:
click-through-style scores (1% positives, median score 0.003), the candidate's scores
correlated with the baseline's. The whole command is timed as a fresh process (import,
aggregation, bootstrap, paired tests, top-k queries, charts, HTML); peak resident memory is
the child's.

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
import time
from pathlib import Path

import numpy as np

ROW_GROUP = 2_000_000


def write_pair(base: Path, cand: Path, rows: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("label", pa.int8()),
            ("prediction", pa.int8()),
            ("score", pa.float64()),
        ]
    )
    with pq.ParquetWriter(base, schema) as first, pq.ParquetWriter(cand, schema) as second:
        for start in range(0, rows, ROW_GROUP):
            size = min(ROW_GROUP, rows - start)
            ids = np.arange(start, start + size, dtype=np.int64)
            label = (rng.random(size) < 0.01).astype(np.int8)
            shared = rng.standard_normal(size)
            for writer, lift in ((first, 0.8), (second, 0.9)):
                noise = 0.8 * shared + 0.6 * rng.standard_normal(size)
                score = np.clip(np.exp(np.log(0.003) + lift * label + noise), 0, 1)
                prediction = (score >= 0.02).astype(np.int8)
                table = {"id": ids, "label": label, "prediction": prediction, "score": score}
                writer.write_table(pa.table(table, schema=schema))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "reportgen-bench"
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; reportgen build --memory-limit {args.memory_limit}")
    print("| rows per run | wall (s) | peak memory (MiB) | engine | AUC bound (baseline) |")
    print("|---:|---:|---:|---|---:|")
    for rows in args.rows:
        base, cand = args.data / f"base-{rows}.parquet", args.data / f"cand-{rows}.parquet"
        if not (base.exists() and cand.exists()):
            write_pair(base, cand, rows, seed=1)
        out = args.data / f"pair-{rows}"
        command = [
            sys.executable,
            "-m",
            "reportgen.cli",
            "build",
            f"base={base}",
            f"cand={cand}",
            "--memory-limit",
            args.memory_limit,
            "-o",
            f"{out}.html",
            "--json",
            f"{out}.json",
            "--quiet",
        ]
        start = time.perf_counter()
        child = subprocess.Popen(command)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest
        wall = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"reportgen build failed ({status})")
        peak = usage.ru_maxrss / 1024
        summary = json.loads(Path(f"{out}.json").read_text())
        note = summary["runs"][0]["notes"]
        bound = next((n.split("at most ±")[1].split(" ")[0] for n in note if "at most ±" in n), "")
        print(
            f"| {rows:,} | {wall:.1f} | {peak:,.0f} | {summary['engine']['name']} | {bound} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
