"""TensorBoard Embedding Projector files as a run's embeddings (``--embeddings NAME=PATH``):
``vectors.tsv``, headerless, one tab-separated vector per line, and beside it an optional
``metadata.tsv``: one label per line without a header, or a header row and columns when there
are several (the Projector's own rule). A metadata ``id`` column aligns the vectors with the
run by id; otherwise they are in the run's row order."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import read_bytes

VECTORS, METADATA = "vectors.tsv", "metadata.tsv"


def projector_vectors(path: Path) -> Path | None:
    """The vectors file an ``--embeddings`` path names: a ``.tsv`` file, or a folder holding
    ``vectors.tsv``; None for anything else."""
    if path.is_dir():
        return path / VECTORS if (path / VECTORS).is_file() else None
    return path if path.suffix.lower() == ".tsv" else None


def projector_matrix(vectors: Path, ids: np.ndarray | None, n_examples: int) -> np.ndarray:
    """The vectors as an (n_examples, d) float array in the run's row order."""
    matrix = _read_vectors(vectors)
    metadata = vectors.with_name(METADATA)
    if not metadata.is_file():
        return _same_count(matrix, vectors, n_examples)
    ids_of_rows, rows = _metadata_ids(metadata)
    if rows != len(matrix):
        raise ReportgenError(
            f"{metadata}: has {rows:,} rows but {vectors.name} has {len(matrix):,} vectors; "
            "the Projector pairs them line by line"
        )
    if ids_of_rows is None or ids is None:
        return _same_count(matrix, vectors, n_examples)
    at = pd.Index(ids_of_rows)
    if at.has_duplicates:
        first = ids_of_rows[int(np.argmax(at.duplicated()))]
        raise ReportgenError(f"{metadata}: id {first!r} is given twice; ids must be unique")
    positions = at.get_indexer(pd.Series(ids).astype(str).to_numpy())
    if (positions < 0).any():
        missing = ids[int(np.argmax(positions < 0))]
        raise ReportgenError(
            f"{metadata}: no vector for the run's id {str(missing)!r} "
            f"({int((positions < 0).sum()):,} of {len(ids):,} ids missing); give every "
            "example of the run a line"
        )
    return matrix[positions]


def _same_count(matrix: np.ndarray, vectors: Path, n_examples: int) -> np.ndarray:
    if len(matrix) != n_examples:
        raise ReportgenError(
            f"{vectors}: has {len(matrix):,} vectors but the run has {n_examples:,} examples; "
            "write one vector per example in the run's row order, or an id column in "
            f"{METADATA}"
        )
    return matrix


def _lines(path: Path) -> list[str]:
    text = read_bytes(path).decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def _metadata_ids(path: Path) -> tuple[list[str] | None, int]:
    """The ``id`` column of a metadata file with a header (several columns, else None), and
    its number of rows."""
    lines = _lines(path)
    if not lines or "\t" not in lines[0]:
        return None, len(lines)  # one column: labels, no header
    header = [h.strip().lower() for h in lines[0].split("\t")]
    if "id" not in header:
        return None, len(lines) - 1
    at = header.index("id")
    ids = [(line.split("\t") + [""] * len(header))[at].strip() for line in lines[1:]]
    return ids, len(ids)


def _read_vectors(path: Path) -> np.ndarray:
    data = read_bytes(path)
    if not data.strip():
        raise ReportgenError(f"{path}: file is empty; write one tab-separated vector per line")
    try:
        frame = pd.read_csv(io.BytesIO(data), sep="\t", header=None, dtype=str,
                            keep_default_na=False)  # fmt: skip
    except (ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise ReportgenError(
            f"{path}: not one tab-separated vector per line ({reason}); every line must have "
            "the same number of values"
        ) from None
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna().to_numpy()
    if bad.any():
        rows, cols = np.nonzero(bad)
        row, col = int(rows[0]), int(cols[0])
        raise ReportgenError(
            f"{path}: line {row + 1}, value {col + 1} is {frame.iat[row, col]!r}, not a number; "
            "vectors.tsv holds numbers only (labels go in metadata.tsv)"
        )
    return numbers.to_numpy(np.float64)
