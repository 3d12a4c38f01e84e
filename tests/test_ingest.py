"""Reading run files: formats, column aliases, metadata, and precise errors."""

from __future__ import annotations

import gzip
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.errors import ReportgenError
from reportgen.ingest.runs import ColumnNames, load_run, parse_run_argument

from .conftest import build_cli, one_line_error

FRAME = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "label": [0, 1, 1, 0],
        "prediction": [0, 1, 0, 0],
        "score": [0.1, 0.9, 0.4, 0.3],
        "text": ["x", "y", "z", "w"],
    }
)


@pytest.mark.parametrize(
    "name",
    [
        "r.csv",
        "r.tsv",
        "r.jsonl",
        "r.ndjson",
        "r.json",
        "r.parquet",
        "r.csv.gz",
        "r.jsonl.gz",
        "r.tsv.gz",
    ],
)
def test_every_format_reads_the_same(write_run: Callable[..., Path], name: str) -> None:
    run = load_run(write_run(FRAME, name))
    assert run.name == "r"
    assert run.n_examples == 4
    assert [run.labels.values[c] for c in run.labels.codes] == ["0", "1", "1", "0"]
    np.testing.assert_allclose(run.score, FRAME["score"])
    assert list(run.extra.columns) == ["text"]
    assert len(run.sha256) == 64


def test_aliases_are_case_insensitive(write_run: Callable[..., Path]) -> None:
    frame = FRAME.rename(
        columns={"label": "Y_True", "prediction": "PRED", "score": "Proba", "id": "Example_ID"}
    )
    run = load_run(write_run(frame))
    assert run.columns == {
        "label": "Y_True",
        "prediction": "PRED",
        "score": "Proba",
        "id": "Example_ID",
    }


def test_overrides_and_class_score_columns(write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame(
        {
            "gold": ["a", "b"],
            "answer": ["a", "a"],
            "proba_a": [0.7, 0.6],
            "Score_b": [0.3, 0.4],
            "label": ["x", "y"],
        }
    )
    run = load_run(write_run(frame), columns=ColumnNames(label="gold", prediction="answer"))
    assert run.columns["label"] == "gold"
    assert sorted(run.class_scores) == ["a", "b"]
    assert "label" in run.extra.columns  # not the label any more: kept as metadata


def test_unknown_override_names_the_columns(write_run: Callable[..., Path]) -> None:
    with pytest.raises(ReportgenError, match=r"no column 'truth' .*columns are: id, label"):
        load_run(write_run(FRAME), columns=ColumnNames(label="truth"))


def test_sidecar_and_directory_metadata(write_run: Callable[..., Path], tmp_path: Path) -> None:
    path = write_run(FRAME, "model.csv")
    path.with_name("model.csv.meta.json").write_text(json.dumps({"model": "m", "version": 3}))
    assert load_run(path).metadata == {"model": "m", "version": 3}

    directory = tmp_path / "run-dir"
    directory.mkdir()
    FRAME.to_parquet(directory / "predictions.parquet")
    (directory / "run.json").write_text(json.dumps({"commit": "abc123"}))
    run = load_run(directory)
    assert run.name == "run-dir" and run.metadata == {"commit": "abc123"}


def test_run_argument_parsing(tmp_path: Path) -> None:
    assert parse_run_argument("new=runs/b.csv") == ("new", Path("runs/b.csv"))
    assert parse_run_argument("runs/b.csv") == (None, Path("runs/b.csv"))
    odd = tmp_path / "a=b.csv"
    odd.write_text("label,prediction\n1,1\n")
    assert parse_run_argument(str(odd)) == (None, odd)  # an existing path wins


def test_integral_floats_and_booleans_become_clean_class_names(
    write_run: Callable[..., Path],
) -> None:
    frame = pd.DataFrame({"label": [1.0, 0.0], "prediction": [True, False]})
    run = load_run(write_run(frame, "r.parquet"))
    assert set(run.labels.values) == {"0", "1"}
    assert set(run.predictions.values) == {"True", "False"}  # type: ignore[union-attr]


def _write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", r"empty\.csv: file is empty"),
        ("header.csv", b"label,prediction\n", r"header\.csv: has a header but no rows"),
        ("run.xlsx", b"whatever", r"run\.xlsx: unsupported file type \.xlsx"),
        ("nolabel.csv", b"truth,prediction\n1,1\n", r"nolabel\.csv: no label column"),
        (
            "score.csv",
            b"label,score\n1,0.5\n0,high\n",
            r"score\.csv: non-numeric value 'high' in score column 'score' at line 3",
        ),
        (
            "missing.csv",
            b"label,prediction\n1,1\n,0\n",
            r"missing\.csv: missing label in column 'label' at line 3",
        ),
        (
            "broken.jsonl",
            b'{"label": 1, "prediction": 1}\n{"label": 0, "pred\n',
            r"broken\.jsonl: line 2 is not valid JSON",
        ),
        (
            "corrupt.parquet",
            b"PAR1 this is not parquet at all PAR1",
            r"corrupt\.parquet: cannot read as PARQUET",
        ),
        ("garbage.csv", bytes(range(256)) * 4, r"garbage\.csv: looks like a binary file"),
        ("nopred.csv", b"label,text\n1,a\n", r"nopred\.csv: no prediction or score column"),
        (
            "dup.csv",
            b"id,label,prediction\n1,1,1\n1,0,0\n",
            r"dup\.csv: duplicate id 1 in column 'id' at line 3",
        ),
        (
            "records.json",
            b'{"label": 1}',
            r"records\.json: a JSON object of none of the formats tried \(lm-eval results",
        ),
        ("scalars.json", b"[1, 2]", r"scalars\.json: expected a JSON list of records"),
        ("bad.csv.gz", b"not gzip at all", r"bad\.csv\.gz: not a valid gzip archive"),
        (
            "pointer.csv.gz",
            b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 12\n",
            r"pointer\.csv\.gz: a Git LFS pointer",
        ),
    ],
)
def test_bad_files_get_one_line_errors(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = _write_bytes(tmp_path, name, data)
    with pytest.raises(ReportgenError, match=message) as info:
        load_run(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportgenError, match=r"nothere\.csv: file not found"):
        load_run(tmp_path / "nothere.csv")


def test_gzip_csv_with_binary_inside(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv.gz"
    path.write_bytes(gzip.compress(b"\x00\x01\x02" * 100))
    with pytest.raises(ReportgenError, match="looks like a binary file"):
        load_run(path)


def test_files_found_in_the_wild_semicolons_aliases_and_boolean_labels(tmp_path: Path) -> None:
    """;-separated CSV, true_label/pred_label, and True/False in one run next to 0/1 in
    another: the same classes, paired by id."""
    from reportgen import build_report

    semi = tmp_path / "semi.csv"
    semi.write_text("id;true_label;pred_label\n1;1;1\n2;0;1\n3;1;0\n4;0;0\n")
    boolean = tmp_path / "bool.csv"
    boolean.write_text(
        "id,true_class,predicted_class\n1,True,True\n2,False,False\n3,True,True\n4,False,True\n"
    )
    report = build_report([f"a={semi}", f"b={boolean}"], timestamp=False, bootstrap=0)
    evaluations = report.result("classification").evaluations
    assert evaluations[0].classes == evaluations[1].classes == ("0", "1")
    accuracy = {e.name: e.metrics["accuracy"] for e in evaluations}
    assert accuracy == {"a": 0.5, "b": 0.75}
    assert report.result("classification").assessment.pairings["b"].n_paired == 4
    # labels that really disagree: the error shows an id with both values
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,label,prediction\n1,0,1\n2,0,0\n3,1,1\n4,0,0\n")
    with pytest.raises(ReportgenError, match=r"label of id 1 \('a' says '1', 'w' says '0'"):
        build_report([f"a={semi}", f"w={wrong}"], timestamp=False, bootstrap=0)


def test_classes_named_like_missing_values_are_classes_in_csv(tmp_path: Path) -> None:
    from reportgen import build_report

    path = tmp_path / "na.csv"
    rows = ["id,label,prediction"] + [
        f"{i},{['None', 'NA', 'null', 'NaN'][i % 4]},{['None', 'NA', 'null', 'NaN'][(i // 2) % 4]}"
        for i in range(40)
    ]
    path.write_text("\n".join(rows) + "\n")
    report = build_report([str(path)], timestamp=False, bootstrap=0)
    (evaluation,) = report.result("classification").evaluations
    assert set(evaluation.classes) == {"None", "NA", "null", "NaN"}
    empty = tmp_path / "empty.csv"
    empty.write_text("id,label,prediction\n1,a,a\n2,,b\n")
    with pytest.raises(ReportgenError, match=r"missing label in column 'label' at line 3"):
        build_report([str(empty)], timestamp=False, bootstrap=0)


def test_slice_names_that_differ_only_in_punctuation_get_unique_ids(tmp_path: Path) -> None:
    import re

    from reportgen import build_report

    path = tmp_path / "s.csv"
    rows = ["id,label,prediction,a b,a-b,a_b"] + [
        f"{i},{i % 2},{(i // 3) % 2},{i % 3},{i % 2},{i % 4}" for i in range(60)
    ]
    path.write_text("\n".join(rows) + "\n")
    report = build_report([str(path)], timestamp=False, bootstrap=0, slices=["a b", "a-b", "a_b"])
    ids = re.findall(r'\bid="([^"]+)"', report.to_html())
    assert len(ids) == len(set(ids))


def test_two_label_columns_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("id,label,prediction,label\n1,a,a,b\n2,b,b,a\n")
    with pytest.raises(ReportgenError, match=r"two.csv: two columns are named 'label'"):
        from reportgen.kinds import load_source

        load_source(path)


def test_missing_ids_are_reported_as_missing_not_duplicate(tmp_path: Path) -> None:
    from reportgen.kinds import load_source

    path = tmp_path / "ids.csv"
    path.write_text("id,label,prediction\n1,a,a\n,b,b\n,a,b\n")
    with pytest.raises(ReportgenError, match=r"missing id in column 'id' at line 3 \(2 rows"):
        load_source(path)


def test_json_lines_with_numbers_out_of_range_are_read(tmp_path: Path) -> None:
    from reportgen.kinds import load_source

    path = tmp_path / "big.jsonl"
    path.write_text(
        '{"id": 1, "label": "a", "prediction": "a", "big": 100000000000000000000000000000}\n'
        '{"id": 2, "label": "b", "prediction": "a", "big": 1e400}\n'
    )
    (run,) = load_source(path).runs
    assert run.n_examples == 2 and run.extra["big"].iloc[0] == 10**29


def _parquet(path: Path, columns: dict[str, object]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


def test_nested_and_binary_values_are_refused_where_one_value_is_needed(tmp_path: Path) -> None:
    import pyarrow as pa

    from reportgen import build_report

    n = 40
    label = [i % 2 for i in range(n)]
    struct = _parquet(
        tmp_path / "struct.parquet",
        {"id": list(range(n)), "label": label, "prediction": label, "region": [{"a": 1}] * n},
    )
    with pytest.raises(ReportgenError, match=r"struct\.parquet: slice column 'region' holds an "):
        build_report([str(struct)], slices=["region"], bootstrap=0, timestamp=False)
    listed = _parquet(
        tmp_path / "list.parquet",
        {"id": list(range(n)), "label": label, "prediction": label, "region": [[1, 2]] * n},
    )
    with pytest.raises(ReportgenError, match=r"list\.parquet: slice column 'region' holds a list"):
        build_report([str(listed)], slices=["region"], bootstrap=0, timestamp=False)
    raw = [b"\xff\xfe" if i == 3 else b"yes" for i in range(n)]
    binary = _parquet(
        tmp_path / "bytes.parquet",
        {"label": pa.array(raw, pa.binary()), "prediction": pa.array([b"yes"] * n, pa.binary())},
    )
    with pytest.raises(ReportgenError, match=r"bytes that are not UTF-8 text at record 4"):
        load_run(binary)
    text = _parquet(
        tmp_path / "text.parquet",
        {
            "label": pa.array([b"yes", b"no"] * (n // 2), pa.binary()),
            "prediction": pa.array([b"yes"] * n, pa.binary()),
        },
    )
    run = load_run(text)  # UTF-8 bytes are text: the classes are "no" and "yes"
    assert set(run.labels.values) == {"yes", "no"}
    path = tmp_path / "dict.jsonl"
    lines = [{"id": i, "label": {"x": 1} if i == 5 else i % 2, "prediction": 1} for i in range(n)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(ReportgenError, match=r"label column 'label' holds an object at line 6"):
        load_run(path)


def test_infinite_scores_are_refused_by_every_engine(tmp_path: Path) -> None:
    from reportgen import build_report

    path = tmp_path / "inf.csv"
    path.write_text("id,label,score\n" + "".join(f"{i},{i % 2},0.{i}\n" for i in range(1, 9)))
    path.write_text(path.read_text().replace("0.3\n", "inf\n"))
    with pytest.raises(ReportgenError, match=r"infinite value 'inf' in score column 'score' at"):
        load_run(path)
    with pytest.raises(ReportgenError, match=r"inf\.csv: score column 'score' has 1 missing"):
        build_report([str(path)], engine="duckdb", bootstrap=0, timestamp=False)


def test_the_checksum_is_of_the_bytes_that_were_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    path = tmp_path / "run.csv"
    first = b"label,prediction\n1,1\n0,0\n1,0\n"
    path.write_bytes(first)
    parse = pd.read_csv

    def replaced_while_parsing(*args: object, **kwargs: object) -> pd.DataFrame:
        frame = parse(*args, **kwargs)
        if kwargs.get("nrows") != 0:  # the main read, not the header sniff
            path.write_bytes(b"label,prediction\n0,0\n")  # another version lands mid-read
        return frame

    monkeypatch.setattr(pd, "read_csv", replaced_while_parsing)
    run = load_run(path)
    assert run.n_examples == 3
    assert run.sha256 == hashlib.sha256(first).hexdigest()


@pytest.mark.parametrize("name", ["run.csv.gz", "run.parquet", "run.jsonl"])
def test_an_unreadable_file_is_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"x") if name.endswith(".gz") else b"x")  # a head to sniff

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads anything: simulate the mode
    with pytest.raises(ReportgenError, match=rf"{name}: cannot read the file \(Permission denied"):
        load_run(path)


# --- hardening: reading run bytes safely (issue 33) -----------------------------------------

CLEAN_RUN = b"id,label,prediction,score\n" + b"".join(
    f"{i},{i % 2},{i % 2},{(i % 10) / 10}\n".encode() for i in range(40)
)


_one_line_error = one_line_error


def _cap_memory() -> None:  # in the child: 1.5 GiB of address space, far below the bomb
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**29, 3 * 2**29))


def test_a_gzip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A 4 MB .csv.gz inflating to 2.5 GiB was inflated whole (4 GB and more): now it is
    counted as a bounded stream and refused past GZIP_LIMIT, in capped memory."""
    block = b"0,0,0\n" * (64 * 2**20 // 6)
    member = gzip.compress(block, compresslevel=9, mtime=0)  # ~100 kB each; gzip reads them all
    members = 40  # 2.5 GiB in all
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"id,label,prediction\n", mtime=0) + member * members)
    assert bomb.stat().st_size < 8 * 2**20
    clean = tmp_path / "clean.csv"
    clean.write_bytes(CLEAN_RUN)
    started = time.monotonic()
    result = build_cli(
        str(bomb), str(clean), "-o", str(tmp_path / "r.html"), timeout=120, preexec_fn=_cap_memory
    )
    _one_line_error(result, "bomb.csv.gz: inflates to more than 2 GiB", "--engine duckdb", "gunzip")
    assert time.monotonic() - started < 60
    assert not (tmp_path / "r.html").exists()
    from reportgen.ingest.files import GZIP_LIMIT

    assert members * len(block) > GZIP_LIMIT


def test_the_engine_choice_takes_a_gzip_files_stated_size(tmp_path: Path) -> None:
    """--memory-limit auto weighs a .gz by the size its trailer states when that is more
    than 8 times the file (it took 8 times the file: 4 kB for 6 MB of CSV)."""
    from reportgen.engines.choice import TEXT_EXPANSION, estimate_memory

    text = b"id,label,prediction\n" + b"1,0,0\n" * 2**20
    path = tmp_path / "run.csv.gz"
    path.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    assert estimate_memory(str(path)) == len(text) * TEXT_EXPANSION


@pytest.mark.parametrize("engine", [[], ["--engine", "duckdb"]])
def test_a_sparse_file_of_nul_bytes_is_refused_before_an_engine_reads_it(
    tmp_path: Path, engine: list[str]
) -> None:
    """2 GB of NUL bytes named .csv went to DuckDB (too big for memory) and was read for 49 s
    into an internal error: the head is sniffed before the engine is chosen."""
    zeros = tmp_path / "zeros.csv"
    with zeros.open("wb") as handle:
        os.truncate(handle.fileno(), 2 * 2**30)  # sparse: no disk, no time
    clean = tmp_path / "clean.csv"
    clean.write_bytes(CLEAN_RUN)
    started = time.monotonic()
    result = build_cli(
        str(zeros), str(clean), "--memory-limit", "64MB", *engine, "-o",
        str(tmp_path / "r.html"), timeout=60,
    )  # fmt: skip
    _one_line_error(result, "zeros.csv: looks like a binary file")
    assert time.monotonic() - started < 30


LINES = b"".join(b'{"id": %d, "label": "a", "prediction": "a"}\n' % i for i in range(5))


@pytest.mark.parametrize(
    ("name", "data", "needles"),
    [
        (
            "latin1.jsonl",
            LINES + '{"id": 9, "label": "café", "prediction": "a"}\n'.encode("latin-1"),
            ["latin1.jsonl: line 6 is not UTF-8 text (byte 0xE9)", "save it as UTF-8"],
        ),
        (
            "latin1.csv",
            b"label,prediction\na,a\n" + "café,a\n".encode("latin-1"),
            ["latin1.csv: line 3 is not UTF-8 text (byte 0xE9)", "save it as UTF-8"],
        ),
        (
            "bom.csv",
            "label,prediction\na,a\nb,b\n".encode("utf-16"),
            ["bom.csv: UTF-16 text, not UTF-8", "iconv -f UTF-16 -t UTF-8"],
        ),
        (
            "nobom.csv",
            "label,prediction\na,a\nb,b\n".encode("utf-16-le"),
            ["nobom.csv: UTF-16 text, not UTF-8", "save it as UTF-8"],
        ),
        (
            "bigendian.jsonl",
            LINES.decode().encode("utf-16-be"),
            ["bigendian.jsonl: UTF-16 text, not UTF-8"],
        ),
        (
            "late.csv",
            b"label,prediction\n" + b"1,1\n0,0\n" * 2000 + b"0\x00,0\n1,1\n",
            ["late.csv: a NUL byte (\\x00) on line 4002", "cannot hold NUL bytes"],
        ),
        (
            "deep.json",
            b"[" * 200_000 + b"]" * 200_000,
            ["deep.json: nested too deeply to read"],
        ),
        (
            "deepobject.json",
            b'{"a": ' * 200_000 + b"1" + b"}" * 200_000,
            ["deepobject.json: nested too deeply to read"],
        ),
        (
            "deep.jsonl",
            LINES + b'{"id": 9, "label": "a", "prediction": "a", "x": '
            + b"[" * 200_000 + b"]" * 200_000 + b"}\n",
            ["deep.jsonl: line 6 is nested too deeply to read"],
        ),
        (
            "deepfirst.jsonl",
            b'{"a": ' * 200_000 + b"1" + b"}" * 200_000 + b"\n",
            ["deepfirst.jsonl: line 1 is nested too deeply to read"],
        ),
        (
            "ids.jsonl",
            LINES + b'{"id": "3", "label": "b", "prediction": "b"}\n',
            ["ids.jsonl: ids 3 (line 4) and '3' (line 6) in column 'id' read the same as text",
             "write every id one way"],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",  # bytes would be the test name
)  # fmt: skip
def test_text_that_cannot_be_read_is_named_with_the_line(
    tmp_path: Path, name: str, data: bytes, needles: list[str]
) -> None:
    """Latin-1 bytes (were 'cannot decode the file'), UTF-16 (were 'a binary file'), a NUL
    after the first 8 kB (was read into a class '0\\x00'), JSON nested 200,000 deep (was a
    RecursionError, exit 3) and ids 0 and '0' in one file (were an InvalidIndexError, exit 3)."""
    path = tmp_path / name
    path.write_bytes(data)
    clean = tmp_path / "clean.csv"
    clean.write_bytes(CLEAN_RUN)
    result = build_cli(str(path), str(clean), "-o", str(tmp_path / "r.html"), timeout=120)
    _one_line_error(result, *needles)
    assert not (tmp_path / "r.html").exists()


def test_tab_separated_content_in_a_csv_file_is_read(tmp_path: Path) -> None:
    """Tabs are sniffed like ';' and '|' (a .csv holding TSV had one column, 'no label')."""
    path = tmp_path / "tabs.csv"
    path.write_bytes(b"id\tlabel\tprediction\n1\tcat\tcat\n2\tdog\tcat\n")
    run = load_run(path)
    assert run.columns == {"label": "label", "prediction": "prediction", "id": "id"}
    assert run.labels.values == ("cat", "dog")


def _build(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from reportgen.cli import app

    result = CliRunner().invoke(app, ["build", *args, "--quiet"])
    return result.exit_code, " ".join(result.output.split())


def test_an_unreadable_run_folder_is_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was reported as rundir/history.csv, a file that does not exist."""
    folder = tmp_path / "rundir"
    folder.mkdir()
    (folder / "predictions.csv").write_text("label,prediction\n1,1\n0,0\n")
    scandir = os.scandir

    def denied(path: object = ".") -> object:
        if Path(str(path)) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)  # type: ignore[arg-type]

    folder.chmod(0o000)
    if os.geteuid() == 0:  # root reads anything: simulate the mode
        monkeypatch.setattr(os, "scandir", denied)
    try:
        code, output = _build(str(folder), "-o", str(tmp_path / "r.html"))
    finally:
        folder.chmod(0o755)
    assert code == 2, output
    assert output == (
        f"reportgen: error: {folder}: cannot read this run folder (Permission denied); "
        "check that you may list and open it (e.g. chmod u+rx)"
    )
    assert "history" not in output and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("folder", ["/", "/proc", "/proc/1", "/sys/kernel", "/dev", "HOME"])
def test_system_folders_are_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """Walking / ended on /proc/1/cwd; the home folder would read every file in it."""
    if folder == "HOME":
        monkeypatch.setenv("HOME", str(tmp_path))
        folder, what = str(tmp_path), "your home folder is not a run folder"
    else:
        what = (
            "the root folder is not a run folder"
            if folder == "/"
            else "a system folder, not a run folder"
        )
    code, output = _build(f"x={folder}", "-o", str(tmp_path / "r.html"))
    assert code == 2, output
    assert output.startswith(f"reportgen: error: {folder}: {what}; point at the run's own folder")


def test_symlinked_folders_are_not_walked_into(tmp_path: Path) -> None:
    """A link back to the folder (a loop) and a link out of it: the results are read once."""
    from reportgen.demo.lmeval_files import write_lmeval_results
    from reportgen.ingest.folders import folder_files

    out = tmp_path / "out"
    written = write_lmeval_results(out / "demo__demo-lm-7b", "demo-lm-7b", 0)
    (out / "demo__demo-lm-7b" / "up").symlink_to(out, target_is_directory=True)
    elsewhere = tmp_path / "elsewhere"
    write_lmeval_results(elsewhere, "demo-lm-7b-chat", 1)
    (out / "other").symlink_to(elsewhere, target_is_directory=True)
    assert folder_files(out) == written
    summary = tmp_path / "s.json"
    code, output = _build(str(out), "-o", str(tmp_path / "r.html"), "--json", str(summary))
    assert code == 0, output
    assert [run["name"] for run in json.loads(summary.read_text())["runs"]] == ["demo/demo-lm-7b"]


def test_default_run_names_strip_known_extensions_only(tmp_path: Path) -> None:
    """Was: every dot was an extension, so lgbm.it1200.csv and lgbm.it800.csv were both
    'lgbm' and the build stopped with "two classification runs are named 'lgbm'", exit 2."""
    first, second = tmp_path / "lgbm.it1200.csv", tmp_path / "lgbm.it800.csv.gz"
    FRAME.to_csv(first, index=False)
    second.write_bytes(gzip.compress(FRAME.to_csv(index=False).encode()))
    summary = tmp_path / "s.json"
    done = build_cli(str(first), str(second), "-o", str(tmp_path / "r.html"),
                     "--json", str(summary), "--bootstrap", "0")  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = [run["name"] for run in json.loads(summary.read_text())["runs"]]
    assert names == ["lgbm.it1200", "lgbm.it800"]


def test_unsupported_type_names_the_extension_not_the_dotted_name(tmp_path: Path) -> None:
    """Was: "unsupported file type .5B_v5.README.md"."""
    path = tmp_path / "Qwen2.5-0.5B_v5.README.md"
    path.write_text("# a note\n")
    done = build_cli(str(path), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"reportgen: error: {path}: unsupported file type .md; use CSV")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "r.html").exists()
