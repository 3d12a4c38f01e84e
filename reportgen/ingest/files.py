"""Reading run files: the bytes read once (their SHA-256 is the run's checksum), the format
told by the extension, and the table parsed from memory, with a one-line error naming the file
for anything that cannot be read."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.base import MemoryPath
from reportgen.ingest.folders import check_regular_file

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
GZIP_LIMIT = 2 * 2**30  # the most a .gz run file may inflate to: it is read in memory
HEAD_BYTES = 8192  # the head of a text file sniffed before anything reads the rest
UTF8_HINT = "save it as UTF-8 (iconv -f {} -t UTF-8, or 'CSV UTF-8' in a spreadsheet's Save As)"


def _text_format(path: Path) -> str | None:
    """The text format of a run file by its extension (None: Parquet or not a run file)."""
    try:
        fmt = detect_format(path)
    except ReportgenError:
        return None
    return None if fmt == "parquet" else fmt


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a regular file's text (gunzipped for .gz), however large
    the file; an error naming a .gz file that is not gzip."""
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        with path.open("rb") as handle:
            return handle.read(size)
    except (EOFError, gzip.BadGzipFile, zlib.error):
        raise ReportgenError(f"{path}: not a valid gzip archive; re-compress it") from None
    except OSError as exc:
        raise ReportgenError(
            f"{path}: cannot read the file ({exc.strerror or type(exc).__name__}); "
            "check that it exists and that you may read it"
        ) from None


def check_text_head(path: Path) -> None:
    """Refuse at once a CSV, TSV, JSON Lines or JSON run file whose head is not UTF-8-like
    text (binary data, UTF-16, a Git LFS pointer), before an engine reads the whole file.
    Files of other types, and paths that are not regular files, are left to their readers."""
    if _text_format(path) is None or not path.is_file():
        return
    check_not_lfs_pointer(path)  # the raw bytes: a pointer named .gz is not gzip
    _check_text(path, read_head(path))


def _is_utf16(head: bytes) -> bool:
    """UTF-16 by its byte-order mark, or by NUL bytes in every other position (ASCII text
    written as UTF-16 without a mark)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    pairs = len(head) // 2
    if pairs < 2:
        return False
    even, odd = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    return max(even, odd) >= pairs * 0.3 and min(even, odd) <= pairs * 0.02


def _check_text(path: Path, head: bytes) -> None:
    if _is_utf16(head):
        raise ReportgenError(f"{path}: UTF-16 text, not UTF-8; {UTF8_HINT.format('UTF-16')}")
    if b"\x00" in head:
        raise ReportgenError(
            f"{path}: looks like a binary file, not text; export the run as {SUPPORTED_HINT}"
        )


def _check_no_nul(path: Path, text: bytes) -> None:
    """A NUL byte anywhere in a text file is refused, naming its line (one C-level scan)."""
    _check_text(path, text[:HEAD_BYTES])
    at = text.find(b"\x00")
    if at >= 0:
        line = text.count(b"\n", 0, at) + 1
        raise ReportgenError(
            f"{path}: a NUL byte (\\x00) on line {line}; text run files cannot hold NUL bytes, "
            "remove it or export the file again"
        )


def _undecodable(path: Path, text: bytes) -> ReportgenError:
    """The error for text that is not UTF-8, naming the line of the first bad byte (decoded
    in blocks, so a large file is not copied whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    block = 1 << 24
    for start in range(0, len(text), block):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(text[start : start + block], final=start + block >= len(text))
        except UnicodeDecodeError as exc:
            at = max(start - pending + exc.start, 0)
            line = text.count(b"\n", 0, at) + 1
            return ReportgenError(
                f"{path}: line {line} is not UTF-8 text (byte 0x{text[at]:02X}); "
                + UTF8_HINT.format("LATIN1")
            )
    return ReportgenError(f"{path}: cannot decode the file; {UTF8_HINT.format('LATIN1')}")


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    fmt = FORMATS.get(ext)
    if fmt is None or (compressed and fmt not in COMPRESSIBLE):
        # the extension only: a dotted name (Qwen2.5-0.5B.README.md) says .md, not .5B.README.md
        shown = "".join(path.suffixes[-2:] if compressed else path.suffixes[-1:])
        raise ReportgenError(
            f"{path}: unsupported file type {shown or '(no extension)'}; use {SUPPORTED_HINT}"
        )
    return fmt


# the extensions a default run name leaves out: the formats read, and the files other
# harnesses write (a model card's .md, inspect-ai's .eval, .yaml results)
NAME_SUFFIXES = frozenset({*FORMATS, ".md", ".yaml", ".yml", ".eval", ".txt"})


def name_of(path: Path) -> str:
    """A run's default name: the file name without its known extension (and ``.gz``), so a
    dotted name keeps its dots: ``lgbm.it1200.csv`` is ``lgbm.it1200``."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    dot = name.rfind(".")
    if dot > 0 and name[dot:].lower() in NAME_SUFFIXES:
        name = name[:dot]
    return name or path.name


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
    parsed through :func:`read_bytes`); an in-memory table's, of its canonical Arrow bytes."""
    if isinstance(path, MemoryPath):
        return path.digest
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
    many locales write CSV), "|" or a tab (TSV saved as .csv) and not on ","."""
    end = text.find(b"\n")
    header = text[: end if end >= 0 else len(text)]  # a slice, not a copy of the whole file
    counts = {sep: header.count(sep.encode()) for sep in (",", ";", "|", "\t")}
    if counts[","] == 0 and max(counts.values()) > 0:
        return max(counts, key=counts.get)  # type: ignore[arg-type]
    return ","


def _text_bytes(path: Path, data: bytes) -> bytes:
    """The text of a text run file: ``data`` itself, or gunzipped for a .gz file."""
    if path.suffix.lower() != ".gz":
        return data
    try:
        # inflated once to count, in blocks, so a gzip bomb is refused in bounded memory
        size = 0
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while block := stream.read(1 << 24):
                size += len(block)
                if size > GZIP_LIMIT:
                    raise ReportgenError(
                        f"{path}: inflates to more than {GZIP_LIMIT / 2**30:g} GiB, the most a "
                        ".gz run file read in memory may hold; pass --engine duckdb, which "
                        "reads it out of core, or decompress it (gunzip -k) and pass the plain file"
                    )
        return gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error):
        raise ReportgenError(f"{path}: not a valid gzip archive; re-compress it") from None


def _read_frame(
    path: Path, fmt: str, skip: str | None = None, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The whole table; ``skip`` names a column left unread (a large embedding column);
    ``names``: the columns of a CSV or TSV file without a header row (``--no-header``)."""
    if names is not None and fmt not in ("csv", "tsv"):
        raise ReportgenError(
            f"{path}: --no-header reads CSV and TSV files; a {fmt.upper()} file names its "
            "own columns (drop --no-header and --columns)"
        )
    check_regular_file(path, "run")
    check_text_head(path)  # binary or UTF-16 content is refused before the whole file is read
    data = read_bytes(path)
    if not data:
        raise ReportgenError(f"{path}: file is empty; write one row per evaluated example")
    check_not_lfs_pointer(path, data)
    text = b"" if fmt == "parquet" else _text_bytes(path, data)
    if fmt != "parquet":
        _check_no_nul(path, text)
    try:
        if fmt in ("csv", "tsv"):
            sep = _delimiter(text) if fmt == "csv" else "\t"
            if names is not None:
                _check_width(path, text, sep, names)
            frame = pd.read_csv(
                io.BytesIO(text),
                sep=sep,
                header=None if names is not None else "infer",
                names=list(names) if names is not None else None,
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
    except UnicodeDecodeError:
        raise _undecodable(path, text) from None
    except RecursionError:
        raise ReportgenError(
            f"{path}: nested too deeply to read (arrays or objects inside each other); "
            "write one flat record per example"
        ) from None
    except Exception as exc:  # every reader has its own error types; the message is what counts
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReportgenError(
            f"{path}: cannot read as {fmt.upper()} ({reason}); check the file is valid {fmt}"
        ) from None
    _release_arrow_memory()
    if len(frame.columns) == 0:
        raise ReportgenError(f"{path}: no columns found; the file needs a header row")
    if len(frame) == 0:
        raise ReportgenError(
            f"{path}: has a header but no rows; write one row per evaluated example"
        )
    return frame


def _release_arrow_memory() -> None:
    """Arrow's allocator keeps the memory of a table it has converted, for reuse: 145 MB after
    reading a 1M x 10-class Parquet file, twice the frame's own numeric columns. Give it back
    to the system once the frame exists."""
    import pyarrow as pa  # already imported by pandas

    pa.default_memory_pool().release_unused()


def _check_width(path: Path, text: bytes, sep: str, names: Sequence[str]) -> None:
    """A headerless file's first line has as many fields as ``--columns`` names."""
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    width = len(next(csv.reader([first], delimiter=sep)))
    if width != len(names):
        raise ReportgenError(
            f"{path}: line 1 has {width} fields but --columns names {len(names)} "
            f"({', '.join(names)}); name every column of the file, in order"
        )


def _read_jsonl(path: Path, text: bytes) -> pd.DataFrame:
    try:
        return pd.read_json(io.BytesIO(text), lines=True, dtype=False)
    except ValueError:  # UnicodeDecodeError too: the lines below name the one that is not UTF-8
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
        except RecursionError:
            raise ReportgenError(
                f"{path}: line {number} is nested too deeply to read (arrays or objects inside "
                "each other); write one flat record per line"
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
            f"{path}: a JSON object of none of the formats tried (lm-eval results, inspect-ai "
            "log, MTEB results, simple-evals result, LLaMA-Factory all_results/predict_results, "
            "RobustBench model_info), nor a prediction file (a list of records, one per example: "
            '[{"id": 1, "label": "cat", "prediction": "dog"}, ...], or .jsonl)'
        )
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ReportgenError(
            f"{path}: expected a JSON list of records ([{{column: value}}, ...]); "
            "for one record per line use .jsonl"
        )
    return pd.DataFrame.from_records(data)
