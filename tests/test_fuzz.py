"""Property-based fuzzing of the command line: random run files (columns, types, NaNs,
unicode, lengths) and random lm-eval JSON shapes. The property: ``reportgen build`` exits 0
with a report, or exits 2 with one line naming the problem; never a traceback, a signal or
exit 3.

CI runs a bounded, derandomised set (well under 60 s). Locally, ``REPORTGEN_FUZZ=long``
runs many more random examples:

    REPORTGEN_FUZZ=long python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reportgen.cli import app

LONG = os.environ.get("REPORTGEN_FUZZ") == "long"
FUZZ = settings(
    max_examples=1500 if LONG else 25,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
runner = CliRunner()

HOSTILE_TEXT = [
    "constructor",
    "__proto__",
    "toString",
    "hasOwnProperty",
    "None",
    "NA",
    "null",
    "NaN",
    "a\u2028b",
    "x\x01y",
    "</script><b>",
    "[x](javascript:alert(1))",
    "@someone www.example.com",
    "",
    " ",
    "é" * 3,
]
text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12))
number = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, 1.0, 0.5, 1e300, -1e-300]),
)
value = st.one_of(number, text, st.booleans(), st.none())
COLUMNS = [
    "id",
    "label",
    "prediction",
    "score",
    "prob_a",
    "prob_b",
    "nll",
    "num_tokens",
    "perplexity",
    "region",
    "latency_ms",
    "seed",
    "text",
]


@st.composite
def tables(draw: Any) -> list[dict[str, Any]]:
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True))
    columns += draw(st.lists(text, max_size=2, unique=True))
    rows = draw(st.integers(0, 25))
    kind = draw(st.sampled_from(["numbers", "mixed", "labels"]))
    out = []
    for i in range(rows):
        row: dict[str, Any] = {}
        for column in columns:
            if column == "id" and kind != "mixed":
                row[column] = i
            elif column in ("label", "prediction") and kind == "labels":
                row[column] = draw(st.sampled_from([0, 1, "0", "1", 1.0, True, "cat", "dog"]))
            elif column in ("score", "prob_a", "prob_b") and kind != "mixed":
                row[column] = draw(st.floats(0, 1))
            else:
                row[column] = draw(value)
        out.append(row)
    return out


@st.composite
def lmeval_files(draw: Any) -> dict[str, Any]:
    tasks = draw(st.lists(st.sampled_from(["arc", "mmlu", "gsm8k", "wikitext", "g"]), max_size=4))
    results = {}
    for task in tasks:
        metrics = draw(
            st.lists(
                st.sampled_from(["acc,none", "acc_stderr,none", "acc", "ppl", "alias", " "]),
                max_size=4,
            )
        )
        results[task] = {
            m: draw(st.one_of(number, text, st.none(), st.lists(number, max_size=2)))
            for m in metrics
        }
    data: dict[str, Any] = {"results": results} if draw(st.booleans()) else dict(results)
    for key in (
        "n-shot",
        "versions",
        "configs",
        "config",
        "group_subtasks",
        "higher_is_better",
        "n-samples",
    ):
        if draw(st.booleans()):
            data[key] = draw(
                st.one_of(
                    st.none(),
                    number,
                    text,
                    st.lists(text, max_size=2),
                    st.dictionaries(
                        st.sampled_from(tasks or ["arc"]),
                        st.one_of(
                            number,
                            text,
                            st.lists(text, max_size=2),
                            st.dictionaries(text, number, max_size=2),
                        ),
                        max_size=3,
                    ),
                )
            )
    return data


def _check(result: Any) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines and lines[0].startswith("reportgen: error: "), result.output
        assert "Traceback" not in result.output


def _dump(rows: list[dict[str, Any]], path: Path) -> None:
    if path.suffix == ".jsonl":
        path.write_text(
            "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows), encoding="utf-8"
        )
        return
    columns = list(dict.fromkeys(c for r in rows for c in r))
    lines = [",".join(_csv(c) for c in columns)]
    lines += [",".join(_csv(r.get(c)) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    text = str(value)
    if any(ch in text for ch in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


@FUZZ
@given(
    first=tables(),
    second=tables(),
    suffix=st.sampled_from([".csv", ".jsonl"]),
    options=st.lists(
        st.sampled_from(
            [
                ["--slice", "region"],
                ["--bootstrap", "20"],
                ["--task", "regression"],
                ["--task", "binary"],
                ["--positive-label", "1"],
                ["--threshold", "0.3"],
                ["--markdown", "-"],
            ]
        ),
        max_size=3,
    ),
)
def test_random_run_files_exit_0_or_2(
    first: list[dict[str, Any]], second: list[dict[str, Any]], suffix: str, options: list[list[str]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        a, b = Path(folder) / f"a{suffix}", Path(folder) / f"b{suffix}"
        _dump(first, a)
        _dump(second, b)
        args = ["build", f"a={a}", f"b={b}", "-o", str(Path(folder) / "r.html"), "--quiet"]
        args += ["--bootstrap", "0"] + [x for option in options for x in option]
        _check(runner.invoke(app, args))


@FUZZ
@given(first=lmeval_files(), second=lmeval_files())
def test_random_lmeval_files_exit_0_or_2(first: dict[str, Any], second: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        a, b = Path(folder) / "a.json", Path(folder) / "b.json"
        a.write_text(json.dumps(first, allow_nan=True))
        b.write_text(json.dumps(second, allow_nan=True))
        args = ["build", f"a={a}", f"b={b}", "-o", str(Path(folder) / "r.html"), "--quiet"]
        _check(runner.invoke(app, [*args, "--json", str(Path(folder) / "r.json")]))


@pytest.mark.parametrize(
    "name",
    ["constructor", "__proto__", "toString", "valueOf", "x\x01y", "a\u2028b", "n" * 20000],
    ids=["constructor", "proto", "toString", "valueOf", "control", "u2028", "long"],
)
def test_hostile_names_in_every_role_build(name: str, tmp_path: Path) -> None:
    """Named regressions of what the fuzzer looks for: such names as class, run and slice
    values build a report."""
    rows = [
        {
            "id": i,
            "label": [name, "b"][i % 2],
            "prediction": [name, "b"][(i // 3) % 2],
            "region": [name, "r"][i % 2],
        }
        for i in range(40)
    ]
    a = tmp_path / "a.jsonl"
    _dump(rows, a)
    result = runner.invoke(
        app,
        [
            "build",
            f"{name}={a}",
            "-o",
            str(tmp_path / "r.html"),
            "--slice",
            "region",
            "--bootstrap",
            "20",
            "--quiet",
            "--junit",
            str(tmp_path / "r.xml"),
            "--fail-if",
            "accuracy < 0",
            "--positive-label",
            "b",
            "--static",  # charts drawn to SVG by vl-convert, where such names crashed
            "--eml",
            str(tmp_path / "r.eml"),
        ],
    )
    _check(result)
    assert result.exit_code == 0, result.output
    import xml.etree.ElementTree as ET

    ET.parse(tmp_path / "r.xml")  # well-formed, whatever the names hold
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_found_an_lmeval_task_without_metrics_in_every_file(tmp_path: Path) -> None:
    """Found by the fuzzer: a task no model has a score for crashed the bar chart's notes."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text('{"arc": {}}')
    b.write_text('{"arc": {}}')
    _check(runner.invoke(app, ["build", f"a={a}", f"b={b}", "-o", str(tmp_path / "r.html")]))


def test_found_lmeval_keys_of_the_wrong_type(tmp_path: Path) -> None:
    """Found by the fuzzer: group_subtasks (and the other keys read) of the wrong type."""
    for key, bad, named in (
        ("group_subtasks", 1, "'group_subtasks' should be an object"),
        ("n-shot", {"arc": float("nan")}, "n-shot['arc'] should be a whole number"),
        ("configs", {"arc": [1]}, "configs['arc'] should be an object"),
        ("n-samples", {"arc": {"effective": float("inf")}}, "n-samples['arc'] should be counts"),
    ):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps({"results": {"arc": {"acc": 0.5}}, key: bad}))
        result = runner.invoke(app, ["build", str(path), "-o", str(tmp_path / "r.html")])
        assert result.exit_code == 2 and named in result.output, result.output
