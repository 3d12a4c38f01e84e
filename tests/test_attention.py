"""Attention maps: files read without pickle, clear errors, the examples chosen, the weights
carried to the chart within the quantisation bound, the page size bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.datasets import load_digits

from reportgen import build_report
from reportgen.demo import why_attention
from reportgen.errors import ReportgenError
from reportgen.formatting import DISPLAY_LIMIT
from reportgen.ingest.attention import read_map
from reportgen.kinds.attention import (
    ALPHABET,
    CELL_BUDGET,
    LEVELS,
    MAX_EXAMPLES,
    MAX_FIGURES,
    MAX_TOKENS,
    dequantise,
    label_bytes,
    matrix_bytes,
    natural_key,
    plan,
    quantise,
    tokens_that_fit,
)
from tests.conftest import build_cli


def digit_attention(image: np.ndarray, heads: int = 3, layers: int = 2) -> np.ndarray:
    """Self-attention over a digit's 8 pixel rows (the tokens, 8 features each), per head a
    scaled dot product with its own seeded projection, the rows by scipy's softmax."""
    rng = np.random.default_rng(0)
    x = image.reshape(8, 8) / 16.0
    found = np.empty((layers, heads, 8, 8))
    for layer in range(layers):
        for head in range(heads):
            w = rng.normal(size=(8, 8))
            q, k = x @ w, x @ w.T
            found[layer, head] = softmax(q @ k.T / np.sqrt(8.0), axis=1)
    return found


@pytest.fixture(scope="module")
def digits_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], dict]:
    """Two digit 'classifiers' (the true class, and a copy wrong on every third example) and
    attention maps over the pixel rows of 30 digits."""
    base = tmp_path_factory.mktemp("digits")
    x, y = load_digits(return_X_y=True)
    x, y = x[:30], y[:30]
    ids = [f"d{i}" for i in range(30)]
    wrong = np.where(np.arange(30) % 3 == 0, (y + 1) % 10, y)
    runs = []
    for name, pred in (("a", y), ("b", wrong)):
        pd.DataFrame({"id": ids, "label": y, "prediction": pred}).to_csv(
            base / f"{name}.csv", index=False
        )
        runs.append(f"{name}={base / f'{name}.csv'}")
    folder = base / "att"
    folder.mkdir()
    tokens = np.array([f"row{r}" for r in range(8)])
    maps = {}
    for i, ident in enumerate(ids):
        maps[ident] = digit_attention(x[i])
        np.savez(folder / f"{ident}.npz", tokens=tokens, attention=maps[ident])
    return base, runs, {"folder": folder, "maps": maps, "y": y, "wrong": wrong}


def section(report: Any) -> Any:
    return next(s for s in report.sections if s.id == "attention")


def decoded(spec: dict, model: int, layer: int, head: int) -> np.ndarray:
    """The weights the browser draws, decoded from the spec the way its expression does."""
    record = next(
        r for r in spec["data"]["values"] if (r["m"], r["l"], r["h"]) == (model, layer, head)
    )
    return dequantise(record["s"], record["v"])


def test_quantised_weights_are_within_half_a_level_on_digit_attention() -> None:
    x, _ = load_digits(return_X_y=True)
    weights = digit_attention(x[5], heads=4)
    mean = weights[-1].mean(axis=0)
    scale, rows = quantise(mean)
    assert scale == pytest.approx(mean.max(), rel=1e-4)  # 4 significant digits
    assert len(rows) == 8 and all(len(r) == 8 and set(r) <= set(ALPHABET) for r in rows)
    back = dequantise(scale, rows)
    assert np.abs(back - mean).max() <= scale / (2 * LEVELS) + 1e-4 * scale
    assert back.max() == pytest.approx(scale)  # the largest weight is exact
    assert quantise(np.zeros((2, 2))) == (0.0, ["00", "00"])
    assert MAX_TOKENS <= DISPLAY_LIMIT  # row strings pass the charts' safe path whole


def test_the_chart_carries_the_last_layers_head_mean_and_every_choice_that_fits(
    digits_files: tuple[Path, list[str], dict],
) -> None:
    _, runs, found = digits_files
    report = build_report(runs, attention=[f"a={found['folder']}"], bootstrap=0)
    figures = section(report).figures
    assert len(figures) == MAX_EXAMPLES
    spec = figures[0].spec
    ident = figures[0].title.split()[1]
    truth = found["maps"][ident]
    # the default view: the last layer averaged over heads, against numpy's mean
    expected = truth[-1].mean(axis=0)
    back = decoded(spec, 0, 2, 0)
    assert np.abs(back - expected).max() <= expected.max() / (2 * LEVELS) + 1e-9
    # a single head of the first layer (2 layers x 4 choices x 64 cells fit the budget)
    np.testing.assert_allclose(decoded(spec, 0, 1, 2), truth[0, 1], atol=truth[0, 1].max() / 126)
    params = {p["name"]: p for p in spec["params"]}
    assert params["layer"]["value"] == 2 and params["head"]["value"] == 0
    assert params["layer"]["bind"]["options"] == [1, 2]
    assert params["head"]["bind"]["labels"] == ["mean of heads", "head 1", "head 2", "head 3"]
    assert params["tok"]["value"] == [f"row{r}" for r in range(8)]
    assert len(params["have"]["value"]) == 2 * 4
    assert figures[0].still["params"][0].get("bind") is None  # the static drawing: no selector


def test_examples_the_models_disagree_on_come_first(
    digits_files: tuple[Path, list[str], dict],
) -> None:
    _, runs, found = digits_files
    report = build_report(
        runs, attention=[f"a={found['folder']}", f"b={found['folder']}"], bootstrap=0
    )
    shown = report.summary()["attention"]["shown"]
    # oracle: ids where b's prediction differs from a's (every third), in natural order
    differ = [f"d{i}" for i in range(30) if found["wrong"][i] != found["y"][i]]
    assert [s["id"] for s in shown[: len(differ)]] == differ
    assert {s["reason"] for s in shown[: len(differ)]} == {"models disagree"}
    assert [s["id"] for s in shown[len(differ) :]] == [
        f"d{i}" for i in range(30) if f"d{i}" not in differ
    ][: MAX_EXAMPLES - len(differ)]
    assert all(s["models"] == ["a", "b"] for s in shown)  # same tokens: side by side
    summary = report.summary()["attention"]
    assert summary["examples_with_attention"] == 30
    assert summary["models"]["a"]["examples"] == 30
    assert (summary["max_examples"], summary["max_tokens"]) == (MAX_EXAMPLES, MAX_TOKENS)


def test_natural_order_and_the_budget_plan() -> None:
    assert sorted(["ex10", "ex2", "ex1", "a"], key=natural_key) == ["a", "ex1", "ex2", "ex10"]
    # 12 layers x 12 heads of 20 tokens, one model: 400 cells and 124 bytes of framing each
    taken = plan(12, 12, 1, 20)
    assert taken[0] == (12, 0) and taken[1:12] == [(layer, 0) for layer in range(11, 0, -1)]
    assert taken[12:15] == [(12, 1), (12, 2), (12, 3)]
    assert len(taken) == CELL_BUDGET // matrix_bytes(1, 20) == CELL_BUDGET // 524
    assert len(plan(12, 12, 1, 20, fixed=2_000)) == (CELL_BUDGET - 2_000) // 524
    assert plan(12, 12, 2, 128) == [(12, 0)]  # the default view always, even over budget


def write_maps(
    folder: Path,
    ids: list[str],
    n: int,
    layers: int,
    heads: int,
    seed: int,
    token: Any = "t{}".format,
) -> None:
    """Random attention (rows drawn from a Dirichlet: noise, the costliest to draw and to
    compress) over n tokens named ``token(j)``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for ident in ids:
        weights = rng.dirichlet(np.full(n, 0.3), size=(layers, heads, n)).astype(np.float32)
        tokens = np.array([token(j) for j in range(n)])
        np.savez_compressed(folder / f"{ident}.npz", tokens=tokens, attention=weights)


def test_long_inputs_are_cut_to_the_figures_byte_budget(
    tmp_path: Path,
) -> None:
    ids = [f"e{i}" for i in range(40)]
    runs = []
    for name in ("m1", "m2"):
        frame = pd.DataFrame({"id": ids, "label": [0, 1] * 20, "prediction": [0] * 40})
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
    write_maps(tmp_path / "one", ids, 200, 4, 6, seed=1)
    report = build_report(runs[:1], attention=[f"m1={tmp_path / 'one'}"], bootstrap=0)
    shown = report.summary()["attention"]["shown"]
    assert len(shown) == MAX_EXAMPLES
    # the most tokens whose cells, rows' framing, record and labels fit the budget
    labels = label_bytes([f"t{j}" for j in range(128)])
    n = tokens_that_fit(labels, 1)
    assert n == 109
    assert n * n + 3 * n + 64 + labels[:n].sum() <= CELL_BUDGET
    assert (n + 1) ** 2 + 3 * (n + 1) + 64 + labels[: n + 1].sum() > CELL_BUDGET
    assert {(s["tokens"], s["tokens_shown"], s["matrices_shown"]) for s in shown} == {(200, n, 1)}
    figures = section(report).figures
    assert f"The first {n} of 200 tokens." in figures[0].lead
    assert "1 of 28 layer and head choices" in figures[0].lead
    # the static drawing: the default view only, a pixel per token
    assert figures[0].still["hconcat"][0]["width"] == n
    assert len(figures[0].still["data"]["values"]) == 1
    # two models side by side share the budget: fewer tokens each
    write_maps(tmp_path / "two", ids, 200, 4, 6, seed=2)
    report = build_report(
        runs,
        attention=[f"m1={tmp_path / 'one'}", f"m2={tmp_path / 'two'}"],
        bootstrap=0,
    )
    shown = report.summary()["attention"]["shown"]
    assert {s["tokens_shown"] for s in shown} == {tokens_that_fit(labels, 2)} == {69}


def test_models_with_different_tokens_get_their_own_figures(tmp_path: Path) -> None:
    ids = ["x1", "x2"]
    runs = []
    for name in ("p", "q"):
        pd.DataFrame({"id": ids, "label": [0, 1], "prediction": [0, 1]}).to_csv(
            tmp_path / f"{name}.csv", index=False
        )
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
    write_maps(tmp_path / "p", ids, 5, 1, 1, seed=0)
    write_maps(tmp_path / "q", ids, 6, 1, 1, seed=0)
    report = build_report(
        runs, attention=[f"p={tmp_path / 'p'}", f"q={tmp_path / 'q'}"], bootstrap=0
    )
    shown = report.summary()["attention"]["shown"]
    assert [(s["id"], s["models"]) for s in shown] == [
        ("x1", ["p"]),
        ("x1", ["q"]),
        ("x2", ["p"]),
        ("x2", ["q"]),
    ]
    assert [f.id for f in section(report).figures] == [f"attention-{i}" for i in range(1, 5)]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"tokens": np.array(["a", 1], dtype=object), "attention": np.ones((1, 1, 2, 2))},
            "holds an object array, which only pickle can load and is refused",
        ),
        ({"attention": np.ones((1, 1, 2, 2))}, "no 'tokens' array"),
        (
            {"tokens": np.array(["a", "b"]), "attention": np.ones((1, 2, 2))},
            "'attention' must be a 4-D number array",
        ),
        (
            {"tokens": np.array(["a", "b"]), "attention": np.ones((1, 1, 3, 3))},
            "but 2 tokens need (layers, heads, 2, 2)",
        ),
        (
            {"tokens": np.array(["a", "b"]), "attention": -np.ones((1, 1, 2, 2))},
            "holds negative values",
        ),
        (
            {"tokens": np.array(["a", "b"]), "attention": np.full((1, 1, 2, 2), np.nan)},
            "NaN or infinite",
        ),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "x.npz"
    np.savez(path, **arrays)
    with pytest.raises(ReportgenError) as raised:
        read_map("x", path, MAX_TOKENS)
    assert message in str(raised.value) and str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("kind", ["text", "npy", "pickle", "broken zip"])
def test_not_an_npz_file_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.npz"
    if kind == "text":
        path.write_text("not a zip")
    elif kind == "npy":
        np.save(tmp_path / "x.npy", np.ones(3))
        (tmp_path / "x.npy").rename(path)
    elif kind == "pickle":
        import pickle

        path.write_bytes(pickle.dumps({"tokens": ["a"]}))
    else:
        path.write_bytes(b"PK\x03\x04" + b"\0" * 20)
    with pytest.raises(ReportgenError) as raised:
        read_map("x", path, MAX_TOKENS)
    said = str(raised.value)
    assert said.startswith(f"{path}: not ") and ".npz" in said and "numpy.savez" in said


def test_object_arrays_exit_2_with_one_line_on_the_command_line(tmp_path: Path) -> None:
    pd.DataFrame({"id": ["a", "b"], "label": [0, 1], "prediction": [0, 1]}).to_csv(
        tmp_path / "v1.csv", index=False
    )
    folder = tmp_path / "att"
    folder.mkdir()
    np.savez(
        folder / "a.npz", tokens=np.array(["x"], dtype=object), attention=np.ones((1, 1, 1, 1))
    )
    done = build_cli(
        f"v1={tmp_path / 'v1.csv'}", "--attention", f"v1={folder}", "-o", str(tmp_path / "r.html")
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "a.npz" in lines[0] and "object array" in lines[0]
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("nowhere", "write NAME=DIR"),
        ("zz={dir}", "no run named 'zz'; runs are: v1"),
        ("v1={dir}/missing", "file not found"),
        ("v1={dir}/v1.csv", "is a file; give the folder"),
        ("v1={dir}/empty", "holds no .npz file"),
    ],
)
def test_bad_arguments_say_what_to_give(tmp_path: Path, argument: str, message: str) -> None:
    pd.DataFrame({"id": ["a", "b"], "label": [0, 1], "prediction": [0, 1]}).to_csv(
        tmp_path / "v1.csv", index=False
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_report(
            [f"v1={tmp_path / 'v1.csv'}"], attention=[argument.format(dir=tmp_path)], bootstrap=0
        )


def test_a_name_given_twice_is_refused(tmp_path: Path) -> None:
    pd.DataFrame({"id": ["a", "b"], "label": [0, 1], "prediction": [0, 1]}).to_csv(
        tmp_path / "v1.csv", index=False
    )
    write_maps(tmp_path / "att", ["a"], 2, 1, 1, seed=0)
    with pytest.raises(ReportgenError, match="given twice"):
        build_report(
            [f"v1={tmp_path / 'v1.csv'}"],
            attention=[f"v1={tmp_path / 'att'}", f"v1={tmp_path / 'att'}"],
            bootstrap=0,
        )


HOSTILE = ["</script><script>window.__pwned=1</script>", "\u202eevil", "constructor", "a\nb"]


def hostile_report(tmp_path: Path) -> Path:
    """Tokens and an id (a file name) that would run or reorder text if not kept as text."""
    ident = "<img src=x onerror=window.__pwned=2>"
    tmp_path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": [ident], "label": [0], "prediction": [1]}).to_csv(
        tmp_path / "v1.csv", index=False
    )
    folder = tmp_path / "att"
    folder.mkdir()
    weights = softmax(np.arange(64, dtype=float).reshape(1, 4, 4, 4) % 5, axis=-1)
    np.savez(folder / f"{ident}.npz", tokens=np.array(HOSTILE), attention=weights)
    out = tmp_path / "hostile.html"
    build_report([f"v1={tmp_path / 'v1.csv'}"], attention=[f"v1={folder}"], bootstrap=0).save(out)
    return out


def test_hostile_tokens_and_ids_stay_text(tmp_path: Path) -> None:
    html = hostile_report(tmp_path).read_text()
    assert "<script>window.__pwned" not in html
    assert "<img src=x" not in html
    assert "\u202e" not in html.split("<body", 1)[1]
    assert "\\u003c/script\\u003e" in html or "&lt;/script&gt;" in html
    assert "\\\\u202eevil" in html and "a\\\\nb" in html  # shown as escapes, in the spec


def test_the_demo_part_builds_its_section(tmp_path: Path) -> None:
    runs, options = why_attention.write_files(tmp_path)
    assert options == {
        "attention": [f"v1={tmp_path / 'v1-attention'}", f"v2={tmp_path / 'v2-attention'}"]
    }
    report = build_report(runs, bootstrap=0, **options)  # type: ignore[arg-type]
    summary = report.summary()["attention"]
    assert summary["examples_with_attention"] == 120
    shown = summary["shown"]
    assert len(shown) == MAX_EXAMPLES and shown[0]["reason"] == "models disagree"
    assert all(s["models"] == ["v1", "v2"] and s["matrices"] == 6 for s in shown)
    # the toy attention's rows are distributions (scipy's softmax agrees)
    found = read_map("a180", tmp_path / "v1-attention" / "a180.npz", MAX_TOKENS)
    np.testing.assert_allclose(found.weights.sum(axis=-1), 1.0, atol=1e-4)
    weight = np.abs(np.arange(len(found.tokens), dtype=float))
    np.testing.assert_allclose(
        why_attention.toy_attention(weight)[0, 0],
        softmax(np.tile(1.5 * weight, (len(weight), 1)), axis=1),
    )
    assert "Attention weights are not attributions" in section(report).lead


def test_the_demo_attention_joins_runs_with_token_attributions(tmp_path: Path) -> None:
    runs, _ = why_attention.write_files(tmp_path / "runs")
    lines = []
    frame = pd.read_csv(tmp_path / "runs" / "v1.csv")
    for ident, text in zip(frame["id"], frame["text"], strict=True):
        tokens = text.split(" ")
        values = [float(len(t)) for t in tokens]  # any attribution: longer words weigh more
        lines.append(json.dumps({"id": ident, "tokens": tokens, "attributions": values}))
    (tmp_path / "v1.jsonl").write_text("\n".join(lines) + "\n")
    options = why_attention.write_from_attributions(
        tmp_path / "att", [f"v1={tmp_path / 'v1.jsonl'}"]
    )
    assert options == {"attention": [f"v1={tmp_path / 'att' / 'v1-attention'}"]}
    found = read_map("a181", tmp_path / "att" / "v1-attention" / "a181.npz", MAX_TOKENS)
    text = frame.set_index("id").loc["a181", "text"].split(" ")
    assert list(found.tokens) == text
    weight = np.array([len(t) for t in text], dtype=float)
    np.testing.assert_allclose(
        found.weights[1, 0], softmax(np.tile(4.0 * weight, (len(text), 1)), axis=1), atol=1e-5
    )
    report = build_report(runs[:1], bootstrap=0, **options)  # type: ignore[arg-type]
    assert report.summary()["attention"]["models"]["v1"]["examples"] == 120


def attention_section_bytes(html: str) -> int:
    start = html.index('<section id="attention"')
    return len(html[start : html.index("</section>", start)].encode())


WORST_CASES = {
    # every weight the budget allows: one model, more than 128 plain tokens
    "cells": (1, 200, 4, 6, "t{}".format, True),
    # labels that cost 12 bytes a character, few tokens (the static drawing names them), and
    # the budget filled with layer and head choices
    "labels": (1, 24, 12, 12, lambda j: "\U0001f600" * 29 + chr(0x4E00 + j), True),
    # the same labels on 40 tokens: too many to name in the static drawing, so the weights
    # take the whole budget, and its cells (3 px each) are the costliest JPEG
    "noise": (1, 40, 12, 12, lambda j: "\U0001f600" * 29 + chr(0x4E00 + j), True),
    # three tokens: the budget filled with the framing of 10,000s of matrices
    "matrices": (1, 3, 200, 200, "t{}".format, True),
    # three models whose tokens differ: three figures an example, at most twelve in all;
    # labels the page escapes (<) and long ones
    "figures": (3, 200, 4, 6, lambda j: "<" * 28 + chr(65 + j % 26) + str(j), False),
}


@pytest.mark.parametrize("case", list(WORST_CASES))
def test_the_section_stays_under_300_kb_on_the_worst_inputs(tmp_path: Path, case: str) -> None:
    """The attention section of a built page, charts and static drawings included, for the
    inputs that fill each of its limits: 12 examples (of 14), random weights."""
    models, n, layers, heads, token, same = WORST_CASES[case]
    ids = [f"e{i}" for i in range(14)]
    runs, folders = [], []
    for m in range(models):
        name = f"m{m}"
        frame = pd.DataFrame({"id": ids, "label": [0, 1] * 7, "prediction": [0] * 14})
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
        own = token if same else (lambda j, m=m: token(j + 1000 * m))
        write_maps(tmp_path / name, ids, n, layers, heads, seed=m, token=own)
        folders.append(f"{name}={tmp_path / name}")
    report = build_report(runs, attention=folders, bootstrap=0, timestamp=False)
    figures = section(report).figures
    assert len(figures) == MAX_FIGURES
    size = attention_section_bytes(report.to_html())
    assert size < 300_000, (case, size)
    if case == "figures":  # 14 examples x 3 figures: the cap, said
        assert any(f"At most {MAX_FIGURES} figures" in note for note in section(report).notes)
        assert len({f.title.split()[1] for f in figures[:3]}) == 1  # one example's three
    if case == "labels":  # 24 emoji labels would be 8.6 kB: cut short, and said
        assert "Token labels are cut to" in figures[0].lead
    if case == "matrices":  # the selectors offer what is carried, not 200 and 201 choices
        params = {p["name"]: p for p in figures[0].spec["params"]}
        carried = {tuple(map(int, c.split(":"))) for c in params["have"]["value"]}
        assert params["layer"]["bind"]["options"] == sorted({lh[0] for lh in carried})
        assert params["head"]["bind"]["options"] == sorted({lh[1] for lh in carried})
        assert len(params["layer"]["bind"]["options"]) < 200
