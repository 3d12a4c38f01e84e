"""Embedding views: a deterministic bounded sample, only its rows read, projections and
silhouettes checked against scikit-learn, clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.vectors import EmbeddingSource, read_rows, sample_rows
from reportgen.kinds.embeddings import project

from .conftest import build_cli


@pytest.fixture(scope="module")
def digits_run() -> tuple[pd.DataFrame, np.ndarray]:
    """A digit classifier's predictions and, as its embedding, the 64 pixel intensities."""
    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=3000).fit(x[::2], y[::2])
    frame = pd.DataFrame({"id": np.arange(len(y)) * 10, "label": y, "prediction": model.predict(x)})
    return frame, x


def test_sample_is_deterministic_bounded_and_sorted() -> None:
    rows = sample_rows(10_000, 300, seed=4)
    assert len(rows) == 300 and len(set(rows)) == 300
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, sample_rows(10_000, 300, seed=4))
    assert not np.array_equal(rows, sample_rows(10_000, 300, seed=5))
    np.testing.assert_array_equal(sample_rows(50, 300, seed=4), np.arange(50))


def test_only_the_sampled_rows_are_parsed() -> None:
    column = pd.Series(["[1, 2]"] * 1000, dtype=object)
    column.iloc[7] = "not a vector"  # outside the sample: never looked at
    rows = np.array([0, 5, 999])
    vectors = read_rows(EmbeddingSource("run.csv: column 'embedding'", column=column), rows, 1000)
    np.testing.assert_array_equal(vectors, [[1, 2], [1, 2], [1, 2]])


def test_a_large_npy_file_is_memory_mapped(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(400_000, 64))
    array[:] = 0.0
    array[123_456] = 1.5
    del array
    rows = np.array([5, 123_456])
    vectors = read_rows(EmbeddingSource(str(path), npy=path), rows, 400_000)
    assert vectors.shape == (2, 64) and vectors[1, 0] == 1.5 and vectors[0, 0] == 0.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ["[1, 2]", "[1, 2, 3]", "[4, 5]"],
            r"ragged embeddings: row 2 has 3 numbers, most rows have 2",
        ),
        (["[1, 2]", "hello", "[4, 5]"], r"row 2 holds 'hello', not a list of numbers"),
        (["[1, 2]", '["a", 2]', "[4, 5]"], r"not a number"),
        (
            ["[1, 2]", "[NaN, 2]", "[4, 5]"],
            r"row 2 has a missing, infinite or huge \(over 1e150\) embedding value",
        ),
    ],
)
def test_bad_vectors_are_named(values: list[str], message: str) -> None:
    source = EmbeddingSource("run.csv: column 'embedding'", column=pd.Series(values))
    with pytest.raises(ReportgenError, match=message):
        read_rows(source, np.arange(3), 3)


def test_projection_and_silhouette_match_scikit_learn(
    digits_run: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, x = digits_run
    rows = sample_rows(len(x), 500, seed=0)
    y = frame["label"].to_numpy()
    found = project("pixels", x[rows], rows, y[rows], y[rows], len(x), seed=0)
    assert found.silhouette_score == pytest.approx(silhouette_score(x[rows], y[rows]))
    expected = PCA(n_components=2, svd_solver="full").fit_transform(x[rows])
    for axis in range(2):  # PCA axes are defined up to sign
        corr = np.corrcoef(found.pca[:, axis], expected[:, axis])[0, 1]
        assert abs(corr) == pytest.approx(1.0)
    assert found.tsne is not None and found.tsne.shape == (500, 2)
    again = project("pixels", x[rows], rows, y[rows], y[rows], len(x), seed=0)
    np.testing.assert_array_equal(found.tsne, again.tsne)  # deterministic


def test_report_from_a_column_and_from_npy(
    tmp_path: Path, digits_run: tuple[pd.DataFrame, np.ndarray], write_run: Callable[..., Path]
) -> None:
    frame, x = digits_run
    with_column = frame.assign(embedding=[json.dumps(v) for v in x.tolist()])
    a = write_run(with_column, "pixels.csv")
    b = write_run(frame, "plain.parquet")
    npy = tmp_path / "plain.npy"
    np.save(npy, PCA(8, random_state=0).fit_transform(x))
    report = build_report(
        [a, b], embeddings=[f"plain={npy}"], max_points=400, bootstrap=0, timestamp=False
    )
    section = next(s for s in report.sections if s.id == "embeddings")
    assert [f.id for f in section.figures] == [
        "embedding-pca",
        "embedding-tsne",
        "embedding-separation",
    ]
    assert all(f.raster for f in section.figures[:2])
    runs = {r["name"]: r for r in json.loads(report.to_json())["runs"]}
    assert runs["pixels"]["embedding"]["sampled"] == 400
    assert runs["plain"]["embedding"]["dimensions"] == 8
    rows = sample_rows(len(x), 400, seed=0)
    assert runs["pixels"]["embedding"]["silhouette"] == pytest.approx(
        silhouette_score(x[rows], frame["label"].to_numpy()[rows])
    )
    assert "embedding" not in runs["pixels"]["columns"].values()  # not kept as metadata
    points = section.figures[0].spec["hconcat"][0]["data"]["values"][0]
    assert len(points["x"]) == 400 and points["id"][:2] == [int(i) for i in frame["id"][rows[:2]]]


def test_embedding_arguments_are_checked(
    tmp_path: Path, digits_run: tuple[pd.DataFrame, np.ndarray], write_run: Callable[..., Path]
) -> None:
    frame, x = digits_run
    path = write_run(frame, "run.csv")
    npy = tmp_path / "short.npy"
    np.save(npy, x[:10])
    with pytest.raises(ReportgenError, match=r"short\.npy: has 10 rows but the run has 1,797"):
        build_report([path], embeddings=[f"run={npy}"], bootstrap=0)
    with pytest.raises(ReportgenError, match=r"no classification run named 'other'"):
        build_report([path], embeddings=[f"other={npy}"], bootstrap=0)
    with pytest.raises(ReportgenError, match=r"write NAME=PATH"):
        build_report([path], embeddings=[str(npy)], bootstrap=0)
    text = tmp_path / "vectors.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ReportgenError, match=r"is not a \.npy file"):
        build_report([path], embeddings=[f"run={text}"], bootstrap=0)
    y = np.linspace(0, 1, 40)
    regression = write_run(pd.DataFrame({"label": y + 0.01, "prediction": y}), "reg.csv")
    with pytest.raises(ReportgenError, match=r"'reg' is a regression run"):
        build_report([path, regression], embeddings=[f"reg={npy}"], bootstrap=0)


@pytest.mark.parametrize("name", ["vectors.parquet", "vectors.csv", "vectors.tsv"])
def test_a_column_in_a_large_file_is_read_for_the_sample_only(
    tmp_path: Path, name: str, write_run: Callable[..., Path]
) -> None:
    n = 25_000
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, n)
    vectors = np.round(rng.normal(size=(n, 4)) + label[:, None], 3)
    frame = pd.DataFrame({"label": label, "prediction": label})
    frame["embedding"] = [json.dumps(v) for v in vectors.tolist()]
    rows = sample_rows(n, 200, seed=0)
    outside = int(np.setdiff1d(np.arange(n), rows)[0])
    frame.loc[outside, "embedding"] = "not a vector"  # never parsed: not in the sample
    if name.endswith(".parquet"):  # several row groups, as large files have
        frame.to_parquet(tmp_path / name, index=False, row_group_size=4_000)
        path = tmp_path / name
    else:
        path = write_run(frame, name)
    from reportgen.kinds import load_source

    run = load_source(path).runs[0]
    assert run.embedding is not None and run.embedding.file == path  # type: ignore[union-attr]
    assert "embedding" not in run.extra.columns  # type: ignore[union-attr]
    read = read_rows(run.embedding, rows, n)  # type: ignore[union-attr, arg-type]
    np.testing.assert_allclose(read, vectors[rows])
    report = build_report([path], max_points=200, bootstrap=0, timestamp=False)
    assert report.result("embeddings").projections[0].silhouette_score == pytest.approx(
        silhouette_score(vectors[rows], label[rows])
    )


@pytest.mark.parametrize("kind", ["zeros", "constant", "complex", "huge"])
def test_degenerate_vectors_are_refused_before_projecting(
    kind: str, tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    n = 60
    label = np.arange(n) % 2
    vectors = {
        "zeros": np.zeros((n, 4)),
        "constant": np.full((n, 4), 3.0),
        "complex": np.ones((n, 4)) * (1 + 2j),
        "huge": np.full((n, 4), np.iinfo(np.uint64).max, dtype=np.uint64),
    }[kind]
    if kind == "huge":
        vectors[0, 0] = 1  # not constant: only its size is wrong
    npy = tmp_path / "v.npy"
    np.save(npy, vectors)
    run = write_run(pd.DataFrame({"label": label, "prediction": label}), "run.csv")
    if kind == "huge":  # uint64 near its maximum is large but projectable: no crash
        report = build_report([f"m={run}"], embeddings=[f"m={npy}"], bootstrap=0, timestamp=False)
        assert report.to_html()
        return
    with pytest.raises(ReportgenError, match=r"same vector|2-D numeric array"):
        build_report([f"m={run}"], embeddings=[f"m={npy}"], bootstrap=0, timestamp=False)


def test_nested_lists_and_overflowing_npy_shapes_are_refused(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    n = 40
    path = tmp_path / "nested.jsonl"
    rows = [
        {"id": i, "label": i % 2, "score": i / n, "embedding": [[1.0, 2.0], [3.0, i]]}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(
        ReportgenError, match=r"nested\.jsonl: column 'embedding': row 1 holds a nested"
    ):
        build_report([str(path)], bootstrap=0, timestamp=False)
    npy = tmp_path / "overflow.npy"
    np.save(npy, np.zeros((2, 2)))
    # a header that declares more rows than any machine can address
    npy.write_bytes(npy.read_bytes().replace(b"(2, 2)", b"(9999999999999999999999, 2)"))
    run = write_run(pd.DataFrame({"label": [0, 1] * 20, "prediction": [0, 1] * 20}), "run.csv")
    with pytest.raises(ReportgenError, match=r"overflow\.npy: cannot read as a NumPy \.npy array"):
        build_report([f"m={run}"], embeddings=[f"m={npy}"], bootstrap=0, timestamp=False)


def test_one_far_outlier_does_not_collapse_a_projection() -> None:
    """Axes stop at robust limits: the outlier is pinned to the edge and counted, and the
    other points keep the frame."""
    from reportgen.kinds.embeddings import _outside_note, _unit

    values = np.random.default_rng(0).normal(size=500)
    values[7] = 1_000.0
    scaled, outside = _unit(values)
    assert outside.sum() == 1 and outside[7] and scaled[7] == 1.0
    inliers = np.delete(scaled, 7)
    assert inliers.max() - inliers.min() > 0.8  # min-max scaling would squeeze them under 0.01
    assert scaled.min() == 0.0
    clean, none_outside = _unit(np.linspace(-1.0, 1.0, 11))  # no outlier: plain min-max
    np.testing.assert_allclose(clean, np.linspace(0.0, 1.0, 11), atol=1e-3)
    assert not none_outside.any()
    points = pd.DataFrame({"model": ["a"] * 500 + ["b"] * 2, "outside": [*outside, False, False]})
    note = _outside_note(points, ["a", "b"])
    assert "pinned to the frame's edge (a 1, b 0)" in note
    assert _outside_note(points.assign(outside=False), ["a", "b"]) == ""


def test_ten_classes_get_their_own_colours_and_only_more_are_pooled() -> None:
    """The digits' ten classes each get a colour of the class palette; with eleven, the
    rarest two share the last colour as (other)."""
    from reportgen.charts.kinds import CLASS_PALETTE
    from reportgen.kinds.embeddings import MAX_PROJECTION_CLASSES, _projection_points

    assert len(CLASS_PALETTE) == MAX_PROJECTION_CLASSES
    rng = np.random.default_rng(0)

    def shown(k: int) -> list[str]:
        y = np.repeat(np.arange(k), np.arange(k) + 20)  # class i has 20 + i examples
        p = SimpleNamespace(
            name="m", y_true=y, y_pred=y, rows=np.arange(len(y)),
            pca=rng.normal(size=(len(y), 2)), tsne=rng.normal(size=(len(y), 2)),
        )  # fmt: skip
        return _projection_points([p], [str(i) for i in range(k)], {})[2]  # type: ignore[list-item]

    assert shown(10) == [str(i) for i in range(10)]
    assert shown(11) == [str(i) for i in range(2, 11)] + ["(other)"]  # 0 and 1 are rarest


def _projector(folder: Path, vectors: np.ndarray, metadata: str | None) -> Path:
    folder.mkdir()
    np.savetxt(folder / "vectors.tsv", vectors, delimiter="\t", fmt="%.6f")
    if metadata is not None:
        (folder / "metadata.tsv").write_text(metadata)
    return folder / "vectors.tsv"


def test_embedding_projector_tsvs_are_embeddings(
    tmp_path: Path, digits_run: tuple[pd.DataFrame, np.ndarray], write_run: Callable[..., Path]
) -> None:
    """Was: exit 2, "vectors.tsv is not a .npy file". Headerless labels are in row order; a
    metadata header with an id column aligns shuffled vectors by id."""
    frame, x = digits_run
    run = write_run(frame, "run.csv")
    labels = "".join(f"{v}\n" for v in frame["label"])
    plain = _projector(tmp_path / "plain", x, labels)
    order = np.random.default_rng(0).permutation(len(x))
    ids, classes = frame["id"].to_numpy()[order], frame["label"].to_numpy()[order]
    header = "id\tlabel\n" + "".join(f"{i}\t{v}\n" for i, v in zip(ids, classes, strict=True))
    shuffled = _projector(tmp_path / "shuffled", x[order], header)
    rows = sample_rows(len(x), 400, seed=0)
    expected = silhouette_score(x[rows], frame["label"].to_numpy()[rows])
    for given in (plain, plain.parent, shuffled):
        summary = tmp_path / "s.json"
        done = build_cli(f"run={run}", "--embeddings", f"run={given}", "--max-points", "400",
                         "--bootstrap", "0", "-o", str(tmp_path / "r.html"),
                         "--json", str(summary))  # fmt: skip
        assert done.returncode == 0, done.stderr
        embedding = json.loads(summary.read_text())["runs"][0]["embedding"]
        assert embedding["dimensions"] == 64 and embedding["silhouette"] == pytest.approx(
            expected, abs=1e-6
        )


@pytest.mark.parametrize(
    ("vectors", "metadata", "message"),
    [
        ("1\t2\n3\tx\n", None, "vectors.tsv: line 2, value 2 is 'x', not a number"),
        ("1\t2\n3\t4\n", "a\nb\nc\n", "metadata.tsv: has 3 rows but vectors.tsv has 2 vectors"),
        ("1\t2\n3\t4\n", None, "vectors.tsv: has 2 vectors but the run has 4 examples"),
        ("1\t2\n3\t4\n5\t6\n7\t8\n", "id\tlabel\na\t0\nb\t1\nc\t1\nzz\t0\n",
         "metadata.tsv: no vector for the run's id 'd' (1 of 4 ids missing)"),
    ],
    ids=["not a number", "metadata rows", "vector count", "missing id"],
)  # fmt: skip
def test_projector_files_that_do_not_fit_are_one_line(
    tmp_path: Path, vectors: str, metadata: str | None, message: str
) -> None:
    run = tmp_path / "run.csv"
    pd.DataFrame({"id": list("abcd"), "label": [0, 1, 1, 0], "prediction": [0, 1, 0, 0]}).to_csv(
        run, index=False
    )
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "vectors.tsv").write_text(vectors)
    if metadata is not None:
        (folder / "metadata.tsv").write_text(metadata)
    done = build_cli(f"run={run}", "--embeddings", f"run={folder / 'vectors.tsv'}", "-o",
                     str(tmp_path / "r.html"), "--bootstrap", "0")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"reportgen: error: {folder}/{message}"), done.stderr
    assert not (tmp_path / "r.html").exists()
