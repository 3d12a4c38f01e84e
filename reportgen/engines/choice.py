"""Which engine evaluates the runs: in memory while they fit ``--memory-limit``, else DuckDB
(or Spark when asked), from Parquet row counts or file sizes."""

from __future__ import annotations

import glob
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportgen.engines.sql import DuckDBEngine, Engine, SparkEngine
from reportgen.errors import ReportgenError
from reportgen.formatting import byte_size
from reportgen.ingest.files import check_text_head
from reportgen.ingest.folders import folder_files
from reportgen.ingest.runs import (
    parse_run_argument,
)

ENGINES = ("auto", "memory", "duckdb", "spark")

ENGINE_NAMES = {"memory": "memory", "duckdb": "DuckDB", "spark": "Spark"}


MEMORY_FRACTION = 0.25  # the default --memory-limit: a quarter of the machine's memory


BYTES_PER_VALUE = 40  # in-memory cost of one cell of a run (pandas, codes, sorts), measured


TEXT_EXPANSION = 4  # in-memory bytes per byte of CSV / JSON Lines


TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".csv.gz", ".tsv.gz", ".jsonl", ".ndjson")


SPARK_PREFIX = "spark:"


UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_memory(text: str) -> int:
    """Bytes in ``"1GB"``, ``"512MiB"``, ``"2e9"``."""
    found = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", text)
    unit = found.group(2).upper() if found else ""
    if found is None or unit not in UNITS:
        raise ReportgenError(f"--memory-limit {text!r}: use a size such as 1GB, 512MB or 2GiB")
    try:
        value = float(found.group(1)) * UNITS[unit]
    except ValueError:
        raise ReportgenError(f"--memory-limit {text!r}: use a size such as 1GB") from None
    if not math.isfinite(value) or value < 32 * 10**6:
        raise ReportgenError(f"--memory-limit {text!r} is too small; give at least 32MB")
    return int(value)


def machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_memory_limit() -> int:
    return int(machine_memory() * MEMORY_FRACTION)


@dataclass(frozen=True)
class EngineChoice:
    name: str  # memory | duckdb | spark
    memory_limit: int
    reason: str | None = None  # why auto switched, for stderr and the page


def _table_files(path: str) -> list[str]:
    """The data files a path names: itself, a glob's matches, or a folder's Parquet files."""
    if any(ch in path for ch in "*?["):
        return sorted(glob.glob(path, recursive=True))
    p = Path(path)
    if p.is_dir():
        return [str(f) for f in folder_files(p) if f.suffix.lower() == ".parquet"]
    return [path]


def estimate_memory(path: str) -> int | None:
    """Bytes the memory engine would need for a run file (None: not a table run file, or one
    that cannot be read; the reader then says why)."""
    files = _table_files(path)
    if not files or not all(f.lower().endswith(TABLE_SUFFIXES) for f in files):
        return None
    for file in files:  # binary content is refused before its size sends it to DuckDB
        check_text_head(Path(file))
    try:
        return sum(_file_estimate(f) for f in files)
    except Exception:  # an estimate only: missing or corrupt files are reported when read
        return None


def _file_estimate(path: str) -> int:
    if path.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return meta.num_rows * meta.num_columns * BYTES_PER_VALUE
    size = os.path.getsize(path)
    if path.lower().endswith(".gz"):  # at least 8x, or the size its last member states
        size = max(size * 8, _gzip_size(path))
    return size * TEXT_EXPANSION


def _gzip_size(path: str) -> int:
    """The inflated size a gzip file's trailer states (its last member's, modulo 4 GiB)."""
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        return int.from_bytes(handle.read(4), "little")


def choose_engine(engine: str, runs: Sequence[object], memory_limit: int | None) -> EngineChoice:
    """The engine to use; ``auto`` switches to DuckDB when the runs would not fit the budget."""
    if engine not in ENGINES:
        raise ReportgenError(f"--engine {engine!r} is not known; use {', '.join(ENGINES)}")
    limit = memory_limit or default_memory_limit()
    if engine != "auto":
        return EngineChoice(engine, limit)
    paths = [parse_run_argument(str(r))[1] for r in runs if isinstance(r, str | Path)]
    if len(paths) != len(runs) or any(str(p).startswith(SPARK_PREFIX) for p in paths):
        return EngineChoice("memory", limit)
    estimates = [estimate_memory(str(p)) for p in paths]
    if any(e is None for e in estimates):
        return EngineChoice("memory", limit)  # other kinds of runs are read in memory
    needed = sum(e for e in estimates if e is not None)
    if needed <= limit:
        return EngineChoice("memory", limit)
    reason = (
        f"These runs need about {byte_size(needed)} in memory, more than the memory limit of "
        f"{byte_size(limit)}, so DuckDB computed their statistics where the files lie: AUC "
        "and AP come from binned scores (within the bounds stated with them) and per-example "
        "views are limited to top-k lists"
    )
    return EngineChoice("duckdb", limit, reason)


def open_engine(choice: EngineChoice, spark_master: str = "local[*]") -> Engine:
    if choice.name == "spark":
        return SparkEngine(master=spark_master)
    spill = Path(tempfile.gettempdir()) / "reportgen-duckdb"
    spill.mkdir(exist_ok=True)
    # DuckDB's limit covers its buffers, not the process: leave room for Python and results
    return DuckDBEngine(f"{max(choice.memory_limit * 3 // 4, 64 * 2**20)}B", str(spill))
