"""Reading run files: the bytes read once (their SHA-256 is the run's checksum), the format
told by the extension, and the table parsed from memory, with a one-line error naming the file
for anything that cannot be read."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from reportgen.errors import ReportgenError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSIBLE = {"csv", "tsv", "jsonl"}
SUPPORTED_HINT = "CSV, TSV, JSON Lines, JSON, Parquet (.csv/.tsv/.jsonl may be gzipped: .gz)"


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    fmt = FORMATS.get(ext)
    if fmt is None or (compressed and fmt not in COMPRESSIBLE):
        raise ReportgenError(
            f"{path}: unsupported file type {''.join(path.suffixes) or '(no extension)'}; "
            f"use {SUPPORTED_HINT}"
        )
    return fmt


_PARSED: dict[str, str] = {}  # path -> SHA-256 of the bytes last parsed from it


def read_bytes(path: Path) -> bytes:
    """A run file's bytes, read once: they are parsed from memory and their SHA-256 is the
    run's checksum, so a file replaced while being read cannot get one version's hash and
    another's data. A file that cannot be read is named with the reason."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ReportgenError(f"{path}: a folder, not a file; give the run file") from None
    except OSError as exc:
        raise ReportgenError(
            f"{path}: cannot read the file ({exc.strerror or type(exc).__name__}); "
            "check that it exists and that you may read it"
        ) from None
    _PARSED[str(path)] = hashlib.sha256(data).hexdigest()
    return data


def _sha256(path: Path) -> str:
    """The SHA-256 of the bytes parsed from ``path`` (hashing the file only if it was not
    parsed through :func:`read_bytes`)."""
    known = _PARSED.get(str(path))
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def is_lfs_pointer(path: Path) -> bool:
    """A Git LFS pointer file committed in place of the real file."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:
        return False


def check_not_lfs_pointer(path: Path, head: bytes | None = None) -> None:
    """An error naming a Git LFS pointer; ``head``: the file's first bytes, if already read."""
    if is_lfs_pointer(path) if head is None else head.startswith(LFS_POINTER):
        raise ReportgenError(
            f"{path}: a Git LFS pointer, not the file; run git lfs pull to fetch it"
        )


def _delimiter(text: bytes) -> str:
    """A .csv file's delimiter: "," unless the header line splits on ";" (as spreadsheets in
    many locales write CSV) or "|" and not on ","."""
    end = text.find(b"\n")
    header = text[: end if end >= 0 else len(text)]  # a slice, not a copy of the whole file
    counts = {sep: header.count(sep.encode()) for sep in (",", ";", "|")}
    if counts[","] == 0 and max(counts.values()) > 0:
        return max(counts, key=counts.get)  # type: ignore[arg-type]
    return ","


def _text_bytes(path: Path, data: bytes) -> bytes:
    """The text of a text run file: ``data`` itself, or gunzipped for a .gz file."""
    if path.suffix.lower() != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile):
        raise ReportgenError(f"{path}: not a valid gzip archive; re-compress it") from None


def _read_frame(path: Path, fmt: str, skip: str | None = None) -> pd.DataFrame:
    """The whole table; ``skip`` names a column left unread (a large embedding column)."""
    if not path.exists():
        raise ReportgenError(f"{path}: file not found; check the path")
    data = read_bytes(path)
    if not data:
        raise ReportgenError(f"{path}: file is empty; write one row per evaluated example")
    check_not_lfs_pointer(path, data)
    text = b"" if fmt == "parquet" else _text_bytes(path, data)
    if fmt != "parquet" and b"\x00" in text[:8192]:
        raise ReportgenError(
            f"{path}: looks like a binary file, not text; export the run as {SUPPORTED_HINT}"
        )
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(
                io.BytesIO(text),
                sep=_delimiter(text) if fmt == "csv" else "\t",
                low_memory=False,
                # only an empty cell is missing: a class named None, NA, null or NaN is a class
                keep_default_na=False,
                na_values=[""],
                usecols=None if skip is None else (lambda column: column != skip),
            )
        elif fmt == "jsonl":
            frame = _read_jsonl(path, text)
        elif fmt == "json":
            frame = _read_json_records(path, text)
        elif skip is not None:
            import pyarrow.parquet as pq

            names = [n for n in pq.read_schema(io.BytesIO(data)).names if n != skip]
            frame = pd.read_parquet(io.BytesIO(data), columns=names)
        else:
            frame = pd.read_parquet(io.BytesIO(data))
    except ReportgenError:
        raise
    except pd.errors.EmptyDataError:
        raise ReportgenError(f"{path}: file has no header and no rows") from None
    except UnicodeDecodeError as exc:
        raise ReportgenError(
            f"{path}: cannot decode the file ({type(exc).__name__}); save it as UTF-8 text"
        ) from None
    except Exception as exc:  # every reader has its own error types; the message is what counts
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReportgenError(
            f"{path}: cannot read as {fmt.upper()} ({reason}); check the file is valid {fmt}"
        ) from None
    if len(frame.columns) == 0:
        raise ReportgenError(f"{path}: no columns found; the file needs a header row")
    if len(frame) == 0:
        raise ReportgenError(
            f"{path}: has a header but no rows; write one row per evaluated example"
        )
    return frame


def _read_jsonl(path: Path, text: bytes) -> pd.DataFrame:
    try:
        return pd.read_json(io.BytesIO(text), lines=True, dtype=False)
    except ValueError:
        pass
    # pandas does not say which line is broken: find it, so the user can fix it; if none is
    # (pandas' parser also refuses numbers out of its range), read with Python's json
    records = []
    for number, line in enumerate(text.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportgenError(
                f"{path}: line {number} is not valid JSON ({exc.msg}); fix or remove it"
            ) from None
        if not isinstance(record, dict):
            raise ReportgenError(
                f"{path}: line {number} is not a JSON object; "
                "each line must be one {column: value} record"
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


def _read_json_records(path: Path, text: bytes) -> pd.DataFrame:
    try:
        data = json.loads(text.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportgenError(
            f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file"
        ) from None
    if isinstance(data, dict):
        raise ReportgenError(
            f"{path}: a JSON object, but neither an lm-eval results file (an object of tasks, "
            'each an object of metric: value, e.g. {"results": {"arc_easy": {"acc": 0.7}}}) '
            "nor a prediction file (a list of records, one per example: "
            '[{"id": 1, "label": "cat", "prediction": "dog"}, ...], or .jsonl)'
        )
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ReportgenError(
            f"{path}: expected a JSON list of records ([{{column: value}}, ...]); "
            "for one record per line use .jsonl"
        )
    return pd.DataFrame.from_records(data)
