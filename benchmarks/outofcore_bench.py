"""Out-of-core benchmark: `reportgen build` on a binary pair (baseline and candidate, paired
by id) of 10M and 100M rows with --memory-limit 1GB, so `auto` switches to DuckDB.

Each run is written once (cached in --data) in row groups, never all in memory:
click-through-style scores (1% positives, median score 0.003), the candidate's scores
correlated with the baseline's. The whole build is timed as a fresh process, and split
into start-up (imports), statistics (the engine's passes, the id join, the bootstrap and
paired tests) and the report (top-k query, charts, static SVGs, HTML and JSON); peak resident
memory is the child's.

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


CHILD = """
import json, sys, time
from pathlib import Path
start = time.perf_counter()
from reportgen.pipeline import build_report
marks = {"imported": time.perf_counter()}
def say(message):
    marks.setdefault(message.split(" ")[0], time.perf_counter())
base, cand, limit, out = sys.argv[1:5]
report = build_report([f"base={base}", f"cand={cand}"], memory_limit=limit, progress=say)
marks["built"] = time.perf_counter()
report.save(out + ".html")
Path(out + ".json").write_text(report.to_json())
marks["saved"] = time.perf_counter()
print(json.dumps({"start_up": marks["imported"] - start,
                  "statistics": marks["Drawing"] - marks["Reading"],
                  "report": marks["saved"] - marks["Drawing"]}))
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
    print(f"{os.cpu_count()} cores; build_report(memory_limit={args.memory_limit!r})")
    print(
        "| rows per run | wall (s) | start-up (s) | statistics (s) | charts and page (s) "
        "| peak memory (MiB) | engine | AUC bound (baseline) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    for rows in args.rows:
        base, cand = args.data / f"base-{rows}.parquet", args.data / f"cand-{rows}.parquet"
        if not (base.exists() and cand.exists()):
            write_pair(base, cand, rows, seed=1)
        out = args.data / f"pair-{rows}"
        command = [sys.executable, "-c", CHILD, str(base), str(cand), args.memory_limit, str(out)]
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest
        wall = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"the benchmark's build failed ({status})")
        assert child.stdout is not None
        phases = json.loads(child.stdout.read().strip().splitlines()[-1])
        peak = usage.ru_maxrss / 1024
        summary = json.loads(Path(f"{out}.json").read_text())
        note = summary["runs"][0]["notes"]
        bound = next((n.split("at most ±")[1].split(" ")[0] for n in note if "at most ±" in n), "")
        print(
            f"| {rows:,} | {wall:.1f} | {phases['start_up']:.1f} | {phases['statistics']:.1f} "
            f"| {phases['report']:.1f} | {peak:,.0f} | {summary['engine']['name']} | {bound} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
