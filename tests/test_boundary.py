"""Decision boundaries: grids of real scikit-learn models over two features, the numbers
checked against independent computations (a 1-nearest-neighbour lookup on the grid, the
models' own predictions on the grid points), the page's bounds and captions, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from reportgen import build_report
from reportgen.demo.why_boundary import write_files
from reportgen.errors import ReportgenError

from .conftest import build_cli

CANCER = ("mean radius", "mean texture")


def _nearest_node_classes(
    u: np.ndarray, v: np.ndarray, node_class: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """The class at each point's nearest grid node, by scikit-learn's 1-NN on the grid nodes
    (axes scaled by their steps, so that Euclidean distance picks the node ``rint`` picks)."""
    steps = np.array([u[0, 1] - u[0, 0], v[1, 0] - v[0, 0]])
    nodes = np.column_stack([u.reshape(-1), v.reshape(-1)]) / steps
    knn = KNeighborsClassifier(n_neighbors=1).fit(nodes, node_class.reshape(-1))
    return knn.predict(x / steps)


@pytest.fixture(scope="module")
def cancer_grids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two binary classifiers trained on two breast-cancer features, their test runs (with the
    two feature columns) and their scores on a 150 x 130 grid."""
    directory = tmp_path_factory.mktemp("cancer")
    data = load_breast_cancer()
    a, b = (list(data.feature_names).index(f) for f in CANCER)
    x, y = data.data[:, [a, b]], data.target
    train, test = np.arange(len(y)) % 3 != 0, np.arange(len(y)) % 3 == 0
    models = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression()),
        "tree": DecisionTreeClassifier(max_depth=4, random_state=0),
    }
    u, v = np.meshgrid(np.linspace(6, 29, 150), np.linspace(9, 40, 130))
    nodes = np.column_stack([u.reshape(-1), v.reshape(-1)])
    runs, grids, node_class, preds = [], [], {}, {}
    for name, model in models.items():
        model.fit(x[train], y[train])
        score = model.predict_proba(x[test])[:, 1]
        preds[name] = (score >= 0.5).astype(int)
        frame = pd.DataFrame(
            {
                "id": np.flatnonzero(test),
                "label": y[test],
                "score": score,
                CANCER[0]: x[test, 0],
                CANCER[1]: x[test, 1],
            }
        )
        frame.to_csv(directory / f"{name}.csv", index=False)
        surface = model.predict_proba(nodes)[:, 1]
        node_class[name] = (surface >= 0.5).astype(int).reshape(u.shape)
        grid = pd.DataFrame({"x0": nodes[:, 0], "x1": nodes[:, 1], "score": surface})
        grid.sample(frac=1.0, random_state=0).to_csv(directory / f"{name}-grid.csv", index=False)
        runs.append(f"{name}={directory / f'{name}.csv'}")
        grids.append(f"{name}={directory / f'{name}-grid.csv'}")
    return {
        "runs": runs,
        "grids": grids,
        "u": u,
        "v": v,
        "x": x[test],
        "node_class": node_class,
        "preds": preds,
        "dir": directory,
    }


@pytest.fixture(scope="module")
def cancer_report(cancer_grids: dict[str, object]) -> object:
    return build_report(
        cancer_grids["runs"],
        boundary=cancer_grids["grids"],
        boundary_features=",".join(CANCER),
        bootstrap=0,
    )


def test_binary_numbers_match_a_nearest_neighbour_oracle(
    cancer_grids: dict[str, object], cancer_report: object
) -> None:
    g = cancer_grids
    found = cancer_report.summary()["boundary"]
    assert found["features"] == list(CANCER) and found["threshold"] == 0.5
    for name in ("logistic", "tree"):
        at_node = _nearest_node_classes(g["u"], g["v"], g["node_class"][name], g["x"])
        expected = float(np.mean(at_node == g["preds"][name]))
        entry = found["models"][name]
        assert entry["slice_agreement"] == pytest.approx(expected, abs=1e-12)
        assert entry["grid"] == [150, 130]
        assert entry["examples_within_grid"] == len(g["x"]) == entry["examples_placed"]
    # both models see only these two features: the slice is the whole model, nearly
    assert found["models"]["logistic"]["slice_agreement"] > 0.9
    expected = float(np.mean(g["node_class"]["tree"] != g["node_class"]["logistic"]))
    assert 0.0 < expected < 0.5
    assert found["models"]["tree"]["disagreement_with_baseline"] == pytest.approx(expected)
    assert found["models"]["logistic"]["disagreement_with_baseline"] is None
    scores = {(s.model, s.metric): s.value for s in cancer_report.scores}  # type: ignore[attr-defined]
    assert scores[("tree", "boundary_disagreement")] == pytest.approx(expected)
    assert ("logistic", "boundary_disagreement") not in scores


def test_the_page_is_bounded_and_says_it_is_a_slice(cancer_report: object) -> None:
    section = next(s for s in cancer_report.sections if s.id == "boundary")  # type: ignore[attr-defined]
    assert "2-D slice, not the whole model" in section.lead
    assert "does not say at which values the other features were held" in section.lead
    maps = next(f for f in section.figures if f.id == "boundary-maps")
    layers = [layer for row in maps.spec["hconcat"] for layer in row["layer"]]
    cells = [len(layer["data"]["values"][0]["v"]) for layer in layers if "values" in layer["data"]]
    # 150 x 130 nodes, every 2nd drawn: 75 x 65 cells per model
    assert cells == [75 * 65, 75 * 65]
    table = section.tables[0]
    assert [c.text for c in table.rows[0][1:4]] == ["150 x 130", "75 x 65", "190 of 190"]
    assert any(f.id == "boundary-disagreement" for f in section.figures)


def test_markdown_json_and_gates_carry_the_numbers(
    cancer_grids: dict[str, object], cancer_report: object
) -> None:
    markdown = cancer_report.to_markdown()  # type: ignore[attr-defined]
    assert "Decision boundaries (2-D slice)" in markdown
    assert "Slice agreement" in markdown and "Boundary disagreement" in markdown
    value = cancer_report.summary()["boundary"]["models"]["tree"]["disagreement_with_baseline"]
    assert f"{value:.3f}" in markdown
    gated = build_report(
        cancer_grids["runs"],
        boundary=cancer_grids["grids"],
        boundary_features=",".join(CANCER),
        bootstrap=0,
        fail_if=[f"boundary_disagreement > {value - 0.01:.3f}", "slice_agreement < 0.5"],
    )
    assert [(g.expression, g.model) for g in gated.failed_gates] == [
        (f"boundary_disagreement > {value - 0.01:.3f}", "tree")
    ]


def test_threshold_moves_the_binary_boundary(cancer_grids: dict[str, object]) -> None:
    report = build_report(
        cancer_grids["runs"],
        boundary=cancer_grids["grids"],
        boundary_features=",".join(CANCER),
        bootstrap=0,
        threshold=0.3,
    )
    found = report.summary()["boundary"]
    grid = pd.read_csv(cancer_grids["dir"] / "logistic-grid.csv")
    tree = pd.read_csv(cancer_grids["dir"] / "tree-grid.csv")
    merged = grid.merge(tree, on=["x0", "x1"])
    expected = float(np.mean((merged["score_x"] >= 0.3) != (merged["score_y"] >= 0.3)))
    assert found["threshold"] == 0.3
    assert found["models"]["tree"]["disagreement_with_baseline"] == pytest.approx(expected)


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, object]]:
    return write_files(tmp_path_factory.mktemp("wine"))


def test_multiclass_demo_grid_against_the_models_own_predictions(
    wine: tuple[list[str], dict[str, object]],
) -> None:
    runs, options = wine
    report = build_report(runs, bootstrap=0, **options)
    found = report.summary()["boundary"]
    assert found["features"] == ["alcohol", "proline"]
    assert found["held"]["ash"] == pytest.approx(2.3672, abs=1e-4)
    directory = Path(runs[0].partition("=")[2]).parent
    classes = {}
    for name in ("wine_logreg", "wine_forest"):
        grid = pd.read_csv(directory / f"{name}-grid.csv")
        probs = grid[[c for c in grid.columns if c.startswith("prob_")]].to_numpy()
        classes[name] = np.argmax(probs, axis=1)
        u = grid["x0"].to_numpy().reshape(200, 200)
        v = grid["x1"].to_numpy().reshape(200, 200)
        run = pd.read_csv(directory / f"{name}.csv")
        names = np.array(["class_0", "class_1", "class_2"])
        at_node = names[
            _nearest_node_classes(
                u, v, classes[name].reshape(200, 200), run[["alcohol", "proline"]].to_numpy()
            )
        ]
        expected = float(np.mean(at_node == run["prediction"].to_numpy()))
        assert found["models"][name]["slice_agreement"] == pytest.approx(expected, abs=1e-12)
        # 11 other features held at their means: the slice explains only part of the model
        assert found["models"][name]["slice_agreement"] < 0.9
    disagreement = float(np.mean(classes["wine_forest"] != classes["wine_logreg"]))
    assert found["models"]["wine_forest"]["disagreement_with_baseline"] == pytest.approx(
        disagreement
    )
    section = next(s for s in report.sections if s.id == "boundary")
    assert "ash = 2.367" in section.lead and "100 x 100" in section.lead
    html = report.to_html()
    assert "Decision regions over alcohol and proline" in html


def test_a_run_without_the_feature_columns_is_drawn_without_points(
    cancer_grids: dict[str, object], tmp_path: Path
) -> None:
    path = Path(cancer_grids["runs"][1].partition("=")[2])
    bare = tmp_path / "tree.csv"
    pd.read_csv(path).drop(columns=[CANCER[1]]).to_csv(bare, index=False)
    report = build_report(
        [cancer_grids["runs"][0], f"tree={bare}"],
        boundary=cancer_grids["grids"],
        boundary_features=",".join(CANCER),
        bootstrap=0,
    )
    assert report.summary()["boundary"]["models"]["tree"]["slice_agreement"] is None
    section = next(s for s in report.sections if s.id == "boundary")
    assert any("no column 'mean texture'" in n for n in section.notes)


def _grid(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return f"logistic={path}"


def _regular(nx: int = 4, ny: int = 3) -> pd.DataFrame:
    u, v = np.meshgrid(np.linspace(0, 1, nx), np.linspace(0, 2, ny))
    return pd.DataFrame({"x0": u.reshape(-1), "x1": v.reshape(-1), "score": 0.5})


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_regular().drop(columns="x1"), r"grid has no 'x1' column"),
        (_regular().drop(index=5), r"the grid is 4 x 3 but has 11 rows: x0=0.333333, x1=1 is"),
        (
            pd.concat([_regular(), _regular().iloc[[2]]], ignore_index=True),
            r"x0=0.666667, x1=0 at line 14 was given before at line 4",
        ),
        (
            _regular().assign(x0=lambda f: f["x0"].replace(1.0, 1.5)),
            r"column 'x0' is not evenly spaced",
        ),
        (
            _regular().astype({"score": object}).assign(score=["a"] + [0.5] * 11),
            r"column 'score' holds 'a' at line 2, not a finite number",
        ),
        (_regular().drop(columns="score"), r"no response column"),
    ],
)
def test_bad_grids_are_one_line_naming_file_line_and_column(
    cancer_grids: dict[str, object], tmp_path: Path, frame: pd.DataFrame, message: str
) -> None:
    argument = _grid(tmp_path / "bad-grid.csv", frame)
    with pytest.raises(ReportgenError, match=message) as raised:
        build_report(
            cancer_grids["runs"], boundary=[argument], boundary_features="a,b", bootstrap=0
        )
    assert "bad-grid.csv" in str(raised.value) and "\n" not in str(raised.value)


def test_bad_arguments_are_named(cancer_grids: dict[str, object], tmp_path: Path) -> None:
    grid = cancer_grids["grids"][0].partition("=")[2]
    runs = cancer_grids["runs"]
    cases = [
        ({"boundary": [f"nobody={grid}"], "boundary_features": "a,b"}, "no classification run"),
        ({"boundary": [grid], "boundary_features": "a,b"}, "write NAME=PATH"),
        ({"boundary": [f"logistic={grid}"]}, r"give --boundary-features F0,F1"),
        ({"boundary": [f"logistic={grid}"], "boundary_features": "a"}, "two feature names"),
        (
            {"boundary": [f"logistic={grid}", f"logistic={grid}"], "boundary_features": "a,b"},
            "has a grid already",
        ),
    ]
    for options, message in cases:
        with pytest.raises(ReportgenError, match=message):
            build_report(runs, bootstrap=0, **options)
    frame = _regular().drop(columns="score").assign(prob_cat=0.5, prob_dog=0.5)
    argument = _grid(tmp_path / "classes.csv", frame)
    with pytest.raises(ReportgenError, match="class 'cat' is not a class of run 'logistic'"):
        build_report(runs, boundary=[argument], boundary_features="a,b", bootstrap=0)


def test_cli_refuses_a_bad_grid_in_one_line(
    cancer_grids: dict[str, object], tmp_path: Path
) -> None:
    argument = _grid(tmp_path / "gap.csv", _regular().drop(index=5))
    done = build_cli(
        *cancer_grids["runs"],
        "--boundary",
        argument,
        "--boundary-features",
        "a,b",
        "-o",
        str(tmp_path / "r.html"),
        "-q",
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "gap.csv" in lines[0] and "x0=0.333333, x1=1 is missing" in lines[0]


def test_hostile_feature_and_class_names_stay_text(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">'

    def classes(t: np.ndarray) -> np.ndarray:
        return np.where(t > 0.66, hostile, np.where(t > 0.33, "</script><b>", "ok"))

    u, v = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    x = np.random.default_rng(0).uniform(0, 1, (60, 2))
    runs = []
    for name in ("a", "b"):
        frame = pd.DataFrame(
            {
                "label": classes(x[:, 0]),
                "prediction": classes(x[:, 0]),
                hostile: x[:, 0],
                "f</script>": x[:, 1],
            }
        )
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        runs.append(f"{name}={tmp_path / f'{name}.csv'}")
    grid = pd.DataFrame(
        {"x0": u.reshape(-1), "x1": v.reshape(-1), "prediction": classes(u.reshape(-1))}
    )
    grid.to_csv(tmp_path / "grid.csv", index=False)
    meta = {"features": [hostile, "f</script>"], "held": {hostile: "<b>bold</b>"}}
    (tmp_path / "grid.csv.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    report = build_report(
        runs, boundary=[f"a={tmp_path / 'grid.csv'}", f"b={tmp_path / 'grid.csv'}"], bootstrap=0
    )
    expected = float(np.mean(classes(np.rint(x[:, 0] * 4) / 4) == classes(x[:, 0])))
    assert 0.5 < expected < 1.0
    found = report.summary()["boundary"]["models"]
    assert found["b"]["slice_agreement"] == pytest.approx(expected)
    assert found["b"]["disagreement_with_baseline"] == 0.0
    html = report.to_html()
    assert hostile not in html and "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_binary_run_may_give_class_probabilities(
    cancer_grids: dict[str, object], tmp_path: Path
) -> None:
    arguments, classes = [], {}
    for argument in cancer_grids["grids"]:
        name, _, path = argument.partition("=")
        grid = pd.read_csv(path)
        probs = grid.assign(prob_0=1 - grid["score"], prob_1=grid["score"]).drop(columns="score")
        probs.to_csv(tmp_path / f"{name}.csv", index=False)
        arguments.append(f"{name}={tmp_path / f'{name}.csv'}")
        classes[name] = np.argmax(probs[["prob_0", "prob_1"]].to_numpy(), axis=1)
    report = build_report(
        cancer_grids["runs"], boundary=arguments, boundary_features=",".join(CANCER), bootstrap=0
    )
    found = report.summary()["boundary"]
    assert found["threshold"] is None  # the classes are the most probable ones
    expected = float(np.mean(classes["tree"] != classes["logistic"]))
    assert found["models"]["tree"]["disagreement_with_baseline"] == pytest.approx(expected)
    section = next(s for s in report.sections if s.id == "boundary")
    maps = next(f for f in section.figures if f.id == "boundary-maps")
    heat = maps.spec["hconcat"][0]["layer"][0]
    assert set(heat["data"]["values"][0]) == {"v", "c"}  # class and confidence


def test_grids_on_other_axes_or_without_the_baseline_are_noted(
    cancer_grids: dict[str, object], tmp_path: Path
) -> None:
    path = cancer_grids["grids"][1].partition("=")[2]
    grid = pd.read_csv(path)
    grid[grid["x0"] <= grid["x0"].median()].to_csv(tmp_path / "half.csv", index=False)
    options = {"boundary_features": ",".join(CANCER), "bootstrap": 0}
    report = build_report(
        cancer_grids["runs"],
        boundary=[cancer_grids["grids"][0], f"tree={tmp_path / 'half.csv'}"],
        **options,
    )
    found = report.summary()["boundary"]["models"]["tree"]
    assert found["grid"] == [75, 130] and found["disagreement_with_baseline"] is None
    assert found["examples_within_grid"] < found["examples_placed"]
    section = next(s for s in report.sections if s.id == "boundary")
    assert any("not on the baseline's axes" in n for n in section.notes)
    assert not any(f.id == "boundary-disagreement" for f in section.figures)
    alone = build_report(cancer_grids["runs"], boundary=[cancer_grids["grids"][1]], **options)
    section = next(s for s in alone.sections if s.id == "boundary")
    assert section.notes[0].startswith("The report's baseline logistic has no grid")
