"""The SQL engines that evaluate runs where they lie: DuckDB (in process, with a memory limit
and a spill folder) and Spark SQL (the active or a new SparkSession). Both run the same queries
(:mod:`.binary`, :mod:`.multiclass`, :mod:`.joint`, :mod:`.slicing`); this module holds what
differs between them: reading sources, quoting, hashing ids for samples, fetching frames."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.ingest.files import _delimiter
from reportgen.ingest.runs import class_name


class Engine:
    """Where the aggregation runs: a SQL dialect, a way to read files in place, and small
    tables to join against. :class:`DuckDBEngine` (embedded) and :class:`SparkEngine` (a
    cluster, or ``local[*]``) run the same queries."""

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def frame(self, query: str) -> pd.DataFrame:
        raise NotImplementedError

    def register(self, name: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def unregister(self, name: str) -> None:
        raise NotImplementedError

    def materialize(self, name: str, query: str) -> str:
        """Keep a query's (small) result as a table named ``name``; returns the name."""
        raise NotImplementedError

    def source(self, paths: Sequence[str | Path], numeric: Sequence[str] = ()) -> str:
        """The FROM clause reading ``paths`` in place; ``numeric`` columns (scores) are read
        as numbers, so that text in one is an error naming its line."""
        raise NotImplementedError

    text_type = "VARCHAR"  # the SQL type ids are compared as when runs' id types differ

    def sample_sql(self, column: str, modulus: int) -> str:
        """A deterministic predicate keeping about 1 row in ``modulus``, by a hash of
        ``column`` (the same rows in every run that shares the ids)."""
        return f"hash({column}) % {modulus} = 0"


def _kind_of(paths: Sequence[str]) -> str:
    lower = [p.lower() for p in paths]  # suffixes in any case; folders by their own name
    if all(p.lower().endswith((".parquet", ".pq")) or Path(p).is_dir() for p in paths):
        return "parquet"
    if all(f.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")) for f in lower):
        return "csv"
    if all(f.endswith((".jsonl", ".jsonl.gz", ".ndjson")) for f in lower):
        return "jsonl"
    raise ReportgenError(
        f"{paths[0]}: out-of-core engines read Parquet, CSV/TSV or JSON Lines; convert the file"
    )


class DuckDBEngine(Engine):
    def __init__(self, memory_limit: str | None = None, temp_directory: str | None = None):
        try:
            import duckdb
        except ImportError:
            raise ReportgenError("the DuckDB engine needs duckdb: pip install duckdb") from None
        self.duckdb = duckdb
        self._csv: dict[str, CsvSource] = {}  # each CSV source's FROM clause -> how it reads
        self.con = duckdb.connect()
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if temp_directory:  # memory_limit alone does not cap the process: spill here instead
            self.con.execute(f"SET temp_directory = '{temp_directory}'")
        self.con.execute("SET preserve_insertion_order = false")

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def frame(self, query: str) -> pd.DataFrame:
        try:
            return self.con.sql(query).df()
        except self.duckdb.Error as exc:
            raise self._explained(exc, query) from None

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def materialize(self, name: str, query: str) -> str:
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
        except self.duckdb.Error as exc:
            raise self._explained(exc, query) from None
        return name

    def source(self, paths: Sequence[str | Path], numeric: Sequence[str] = ()) -> str:
        files = [str(Path(p) / "**" / "*.parquet") if Path(p).is_dir() else str(p) for p in paths]
        listed = "[" + ", ".join(_literal(f) for f in files) + "]"
        kind = _kind_of([str(p) for p in paths])
        if kind == "parquet":
            return f"read_parquet({listed})"
        if kind == "csv":
            # the delimiter as the memory engine finds it, not sniffed: a ragged row in
            # DuckDB's sample made it read the file as one column
            options = f"header = true, delim = {_literal(csv_delimiter(files[0]))}"
            if numeric:
                types = ", ".join(f"{_literal(c)}: 'DOUBLE'" for c in numeric)
                options += f", types = {{{types}}}"
            source = f"read_csv({listed}, {options})"
            self._csv[source] = CsvSource(files, options, tuple(numeric))
            return source
        return f"read_json({listed}, format = 'newline_delimited')"

    def _explained(self, exc: Exception, query: str) -> Exception:
        """DuckDB's error as reportgen's, naming the file, line and column, when a CSV file
        the query reads has a row DuckDB cannot read; else the error itself (an internal
        one). Every CSV file of the query is read again with DuckDB's reject table, which
        lists the bad rows; the first in the file is named, whichever thread met one first."""
        for source, csv in self._csv.items():
            if source in query:
                found = self._first_reject(csv)
                if found is not None:
                    return found
        return json_error(str(exc)) or exc

    def _first_reject(self, csv: CsvSource) -> ReportgenError | None:
        listed = "[" + ", ".join(_literal(f) for f in csv.files) + "]"
        self.con.execute("DROP TABLE IF EXISTS reportgen_rejects")
        self.con.execute("DROP TABLE IF EXISTS reportgen_scans")
        try:
            self.con.sql(  # count(COLUMNS(*)): every field converted, not only the row count
                f"SELECT count(COLUMNS(*)) FROM read_csv({listed}, {csv.options}, "
                "store_rejects = true, rejects_table = 'reportgen_rejects', "
                "rejects_scan = 'reportgen_scans')"
            ).fetchall()
            rows = self.con.sql(
                "SELECT s.file_path, e.line, e.column_name, e.error_type, e.csv_line, "
                "e.error_message FROM reportgen_rejects e JOIN reportgen_scans s "
                "USING (scan_id, file_id) ORDER BY e.file_id, e.line LIMIT 1"
            ).fetchall()
        except self.duckdb.Error:
            return None
        if not rows:
            return None
        return csv_error(*rows[0], numeric=csv.numeric)


@dataclass(frozen=True)
class CsvSource:
    files: list[str]
    options: str  # read_csv's options, as the source gave them
    numeric: tuple[str, ...]  # the columns read as numbers (scores)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def csv_delimiter(path: str) -> str:
    """A CSV/TSV file's delimiter, by the memory engine's rule (:func:`_delimiter`)."""
    if path.lower().endswith((".tsv", ".tsv.gz")):
        return "\t"
    try:
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            head = handle.read(1 << 16)
    except (OSError, EOFError):
        return ","  # DuckDB says what is wrong with the file
    return _delimiter(head)


FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
CONVERT = re.compile(r'Could not convert string "(.*)" to \'(\w+)\'')


def csv_error(
    path: str,
    line: int,
    column: str | None,
    kind: str,
    text: str,
    message: str,
    numeric: Sequence[str] = (),
) -> ReportgenError:
    """A row DuckDB rejected (its reject table's fields) as the memory engine says it."""
    fields = FIELDS.search(message)
    if fields:  # TOO MANY COLUMNS, MISSING COLUMNS
        expected, saw = fields.groups()
        return ReportgenError(
            f"{path}: cannot read as CSV (expected {expected} fields in line {line}, saw "
            f"{saw}); check the file is valid csv"
        )
    converted = CONVERT.search(message)
    if kind == "CAST" and column is not None and converted:
        value, sql_type = converted.groups()
        if column in numeric:
            return ReportgenError(
                f"{path}: non-numeric value {value!r} in score column {column!r} at line "
                f"{line}; scores must be finite numbers"
            )
        return ReportgenError(
            f"{path}: column {column!r} holds {value!r} at line {line}, where the rows DuckDB "
            f"sampled were {sql_type}; give the column one type, or use --engine memory"
        )
    reason = message.splitlines()[0] if message else kind
    return ReportgenError(
        f"{path}: cannot read as CSV ({reason} at line {line}: {text[:60]!r}); check the "
        "file is valid csv"
    )


JSON_LINE = re.compile(
    r'(?:JSON transform error|Malformed JSON) in file "(.+?)",.*?line (\d+): (.*)'
)
CAST = re.compile(r"Failed to cast value to (\w+): (.*)")


def json_error(message: str) -> ReportgenError | None:
    """DuckDB's error on a JSON Lines line it cannot read (malformed, or a value of another
    type than its sampled rows held) as one line naming the file and line; None for others."""
    found = JSON_LINE.search(message)
    if found is None:
        return None
    path, line, reason = found.groups()
    reason = reason.splitlines()[0].split(". Try ")[0].strip().rstrip(".")
    cast = CAST.search(reason)
    if cast:
        kind, value = cast.groups()
        return ReportgenError(
            f"{path}: line {line} holds {value[:60]} where the rows DuckDB sampled hold "
            f"{kind} values; give each field one type (scores must be finite numbers), or use "
            "--engine memory"
        )
    return ReportgenError(
        f"{path}: cannot read line {_malformed_line(path, int(line))} as JSON ({reason[:80]}); "
        "check the file is valid JSON Lines"
    )


def _malformed_line(path: str, said: int) -> int:
    """The line DuckDB means by "Malformed JSON ... in line ``said``": it counts the line an
    object broken off at a line end runs into, so the one before is read again to see."""
    try:
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as handle:
            for number, text in enumerate(handle, start=1):
                if number == said - 1:
                    try:
                        json.loads(text)
                    except ValueError:
                        return number
                if number >= said - 1:
                    break
    except OSError:
        pass
    return said


class SparkEngine(Engine):
    """Spark SQL on the given or active SparkSession, or one started on ``master``. Paths are
    anything Spark reads; ``spark:TABLE`` names a table of the session's catalog."""

    def __init__(self, session: object | None = None, master: str = "local[*]"):
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ReportgenError(
                "the Spark engine needs pyspark: pip install 'reportgen-ml[spark]'"
            ) from None
        self.spark = session or SparkSession.getActiveSession()
        if self.spark is None:
            self.spark = (
                SparkSession.builder.master(master)
                .appName("reportgen")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
        self._views = 0

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def sample_sql(self, column: str, modulus: int) -> str:
        return f"pmod(hash({column}), {modulus}) = 0"  # Spark's hash is a signed int

    def frame(self, query: str) -> pd.DataFrame:
        return self.spark.sql(query).toPandas()  # type: ignore[attr-defined]

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)  # type: ignore[attr-defined]

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)  # type: ignore[attr-defined]

    def materialize(self, name: str, query: str) -> str:
        # a view, not a cache: building Spark's in-memory cache cost more than rereading
        self.spark.sql(query).createOrReplaceTempView(name)  # type: ignore[attr-defined]
        return name

    text_type = "STRING"

    def source(self, paths: Sequence[str | Path], numeric: Sequence[str] = ()) -> str:
        texts = [str(p) for p in paths]
        if len(texts) == 1 and texts[0].startswith("spark:"):
            return self.quote(texts[0].removeprefix("spark:"))
        reader = self.spark.read  # type: ignore[attr-defined]
        kind = _kind_of(texts)
        if kind == "parquet":
            frame = reader.parquet(*texts)
        elif kind == "csv":
            sep = "\t" if texts[0].lower().endswith((".tsv", ".tsv.gz")) else ","
            frame = reader.options(header=True, inferSchema=True, sep=sep).csv(texts)
        else:
            frame = reader.json(texts)
        self._views += 1
        name = f"reportgen_source_{self._views}"
        frame.createOrReplaceTempView(name)
        return name


def score_is_probability(engine: Engine, source: str, score: str) -> bool:
    """Whether every score lies in [0, 1] (Parquet answers from its statistics)."""
    s = f"CAST({engine.quote(score)} AS DOUBLE)"
    extremes = engine.frame(f"SELECT min({s}) AS low, max({s}) AS high FROM {source}")
    low, high = extremes["low"].iloc[0], extremes["high"].iloc[0]
    return bool(pd.notna(low) and low >= 0 and high <= 1)


def _label_names(values: pd.Series) -> pd.Series:
    """Class names as the in-memory path writes them (1.0 -> "1")."""

    def name(value: object) -> str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return class_name(number) if str(value).strip() not in ("True", "False") else str(value)

    # a few distinct values over many cells: name the distinct values, then index
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), sort=False)
    names = np.array([name(u) for u in uniques], dtype=object)
    return pd.Series(names[codes] if len(names) else [], index=values.index, dtype=object)
