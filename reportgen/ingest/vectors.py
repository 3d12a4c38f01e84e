"""Embedding vectors of a run, read only for the sampled rows: a list column already in memory,
a column left in its Parquet or CSV/TSV file, or a memory-mapped ``.npy`` of shape n x d."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import read_head

EMBEDDING_ALIASES = ("embedding", "embeddings", "vector", "features")


@dataclass(frozen=True)
class EmbeddingSource:
    """Where a run's vectors are: a list column already in memory, a column left in its
    Parquet or CSV/TSV file (read later for the sampled rows only), or an n x d ``.npy``."""

    where: str  # for messages: "runs/a.csv: column 'embedding'" or the .npy path
    column: pd.Series | None = None
    npy: Path | None = None
    file: Path | None = None  # with ``name`` and ``fmt``: a column not read with the run
    name: str = ""
    fmt: str = ""
    matrix: np.ndarray | None = None  # read whole, in the run's order (Projector vectors.tsv)


LAZY_FORMATS = ("parquet", "csv", "tsv")
CSV_CHUNK = 100_000
HEADER_BYTES = 1 << 20  # a header line longer than this is not searched for an embedding column


def lazy_column(path: Path, fmt: str) -> EmbeddingSource | None:
    """An embedding column named in the file's header, to be left out of the main read."""
    if fmt not in LAZY_FORMATS:
        return None
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            names = list(pq.read_schema(path).names)
        else:
            # the header line from a bounded head: a file (or a gzip bomb) with no line break
            # is not read whole here
            head = read_head(path, HEADER_BYTES)
            end = head.find(b"\n")
            if end < 0 and len(head) == HEADER_BYTES:
                return None
            sep = "," if fmt == "csv" else "\t"
            names = list(pd.read_csv(io.BytesIO(head[: end + 1 or None]), sep=sep, nrows=0).columns)
    except Exception:  # the main read reports unreadable files with a proper message
        return None
    found = find_column(pd.DataFrame(columns=[str(n) for n in names]))
    if found is None:
        return None
    return EmbeddingSource(f"{path}: column {found!r}", file=path, name=found, fmt=fmt)


def _file_rows(source: EmbeddingSource, rows: np.ndarray) -> pd.Series:
    """The sampled rows of a column left in its file, one row group or chunk at a time."""
    assert source.file is not None
    if source.fmt == "parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(source.file)
        sizes = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]
        starts = np.concatenate(([0], np.cumsum(sizes)))
        values: list[Any] = []
        for group in np.unique(np.searchsorted(starts, rows, side="right") - 1):
            local = rows[(rows >= starts[group]) & (rows < starts[group + 1])] - starts[group]
            table = handle.read_row_group(int(group), columns=[source.name])
            values += table.column(0).take(local).to_pylist()
        return pd.Series(values, dtype=object)
    picked: list[Any] = []
    sep = "," if source.fmt == "csv" else "\t"
    reader = pd.read_csv(source.file, sep=sep, usecols=[source.name], chunksize=CSV_CHUNK)
    for start, chunk in zip(range(0, 1 << 62, CSV_CHUNK), reader, strict=False):
        local = rows[(rows >= start) & (rows < start + len(chunk))] - start
        picked += chunk.iloc[local, 0].tolist()
    return pd.Series(picked, dtype=object)


def find_column(frame: pd.DataFrame) -> str | None:
    lower = {str(c).lower(): str(c) for c in frame.columns}
    return next((lower[a] for a in EMBEDDING_ALIASES if a in lower), None)


def sample_rows(n: int, max_points: int, seed: int) -> np.ndarray:
    """At most ``max_points`` distinct row indices, sorted; the same for the same n and seed."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def _vector(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_rows(source: EmbeddingSource, rows: np.ndarray, n_examples: int) -> np.ndarray:
    """The vectors of ``rows`` as float64 (m, d); a clear error for ragged or non-numeric
    vectors, naming the row."""
    if source.npy is not None:
        return _read_npy(source, rows, n_examples)
    if source.matrix is not None:
        return _finite(source.matrix[rows], source, rows)
    column = _file_rows(source, rows) if source.file is not None else source.column
    assert column is not None
    values = [_vector(v) for v in (column if source.file is not None else column.iloc[rows])]
    lengths = []
    for position, value in enumerate(values):
        if not isinstance(value, list | tuple | np.ndarray):
            raise ReportgenError(
                f"{source.where}: row {int(rows[position]) + 1} holds {str(value)[:40]!r}, not "
                "a list of numbers; write each embedding as a JSON array such as [0.1, -0.3]"
            )
        lengths.append(len(value))
    dims = pd.Series(lengths).mode().iloc[0]
    ragged = [i for i, length in enumerate(lengths) if length != dims]
    if ragged:
        row = int(rows[ragged[0]]) + 1
        raise ReportgenError(
            f"{source.where}: ragged embeddings: row {row} has {lengths[ragged[0]]} numbers, "
            f"most rows have {dims}; every embedding must have the same length"
        )
    try:
        vectors = [np.asarray(v, dtype=np.float64) for v in values]
    except (TypeError, ValueError):
        raise ReportgenError(
            f"{source.where}: an embedding holds something that is not a number; "
            "write each embedding as a list of numbers"
        ) from None
    nested = [i for i, v in enumerate(vectors) if v.ndim != 1]
    if nested:
        raise ReportgenError(
            f"{source.where}: row {int(rows[nested[0]]) + 1} holds a nested list; write each "
            "embedding as one flat list of numbers such as [0.1, -0.3]"
        )
    matrix = np.asarray(vectors)
    return _finite(matrix, source, rows)


def _read_npy(source: EmbeddingSource, rows: np.ndarray, n_examples: int) -> np.ndarray:
    assert source.npy is not None
    try:
        array = np.load(source.npy, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, OverflowError, MemoryError) as exc:  # a shape that overflows
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReportgenError(
            f"{source.npy}: cannot read as a NumPy .npy array ({reason}); save it with "
            "numpy.save(path, array) as a 2-D float array"
        ) from None
    if (
        array.ndim != 2
        or not np.issubdtype(array.dtype, np.number)
        or np.issubdtype(array.dtype, np.complexfloating)
    ):
        raise ReportgenError(
            f"{source.npy}: holds a {array.ndim}-D {array.dtype} array; embeddings must be a 2-D "
            "numeric array, one row per example (n x d)"
        )
    if array.shape[0] != n_examples:
        raise ReportgenError(
            f"{source.npy}: has {array.shape[0]:,} rows but the run has {n_examples:,} examples; "
            "write one embedding per example, in the run's row order"
        )
    return _finite(np.asarray(array[rows], dtype=np.float64), source, rows)


def _finite(matrix: np.ndarray, source: EmbeddingSource, rows: np.ndarray) -> np.ndarray:
    """Vectors PCA and t-SNE can take: finite and of a sane size."""
    bad = ~np.isfinite(matrix).all(axis=1) | (np.abs(matrix) > 1e150).any(axis=1)
    if bad.any():
        row = int(rows[int(np.argmax(bad))]) + 1
        raise ReportgenError(
            f"{source.where}: row {row} has a missing, infinite or huge (over 1e150) embedding "
            "value; embeddings must be finite numbers"
        )
    return matrix
