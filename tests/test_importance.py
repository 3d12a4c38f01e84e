"""Feature importance: tables and per-example contributions on real scikit-learn outputs
(permutation_importance on the breast-cancer data, a logistic regression's exact linear
contributions), against scipy and hand-counted oracles."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email import policy
from itertools import combinations
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from reportgen import build_report
from reportgen.errors import ReportgenError
from reportgen.ingest.importance import load_importance
from reportgen.kinds.importance.contributions import SWARM_HALF
from reportgen.kinds.importance.formulas import agreement, shared_order
from reportgen.kinds.importance.sections import SWARM_EXAMPLES, SWARM_FEATURES

from .conftest import build_cli


class Cancer:
    """Two models on one held-out split of the breast-cancer data, with their permutation
    importances and the logistic regression's exact contributions."""

    def __init__(self) -> None:
        data = load_breast_cancer(as_frame=True)
        self.x, y = data.data, data.target
        x_train, self.x_test, y_train, self.y_test = train_test_split(
            self.x, y, test_size=0.4, random_state=0, stratify=y
        )
        self.logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        self.logistic.fit(x_train, y_train)
        self.forest = RandomForestClassifier(n_estimators=50, random_state=0)
        self.forest.fit(x_train, y_train)
        self.importances = {
            name: permutation_importance(
                model, self.x_test, self.y_test, n_repeats=5, random_state=0
            )
            for name, model in (("logistic", self.logistic), ("forest", self.forest))
        }
        scaler, linear = self.logistic[0], self.logistic[1]
        centre = scaler.transform(x_train).mean(axis=0)
        self.weights = linear.coef_[0]
        self.contributions = (scaler.transform(self.x_test) - centre) * self.weights
        self.base = linear.intercept_[0] + centre @ self.weights
        self.margin = self.logistic.decision_function(self.x_test)

    def run(self, name: str, contributions: bool = True, margin: bool = True) -> pd.DataFrame:
        model = self.logistic if name == "logistic" else self.forest
        frame = pd.DataFrame(
            {
                "id": self.x_test.index.to_numpy(),
                "label": self.y_test.to_numpy(),
                "score": model.predict_proba(self.x_test)[:, 1],
            }
        )
        if name == "logistic" and contributions:
            for j, feature in enumerate(self.x.columns):
                frame[f"shap_{feature}"] = self.contributions[:, j]
                frame[feature] = self.x_test[feature].to_numpy()
            frame["shap_base"] = self.base
            if margin:
                frame["margin"] = self.margin
        return frame

    def table(self, name: str) -> pd.DataFrame:
        found = self.importances[name]
        return pd.DataFrame(
            {
                "feature": self.x.columns,
                "importance": found.importances_mean,
                "std": found.importances_std,
                "method": "permutation",
            }
        )


@pytest.fixture(scope="module")
def cancer() -> Cancer:
    return Cancer()


@pytest.fixture
def files(tmp_path: Path, cancer: Cancer) -> Iterator[dict[str, Path]]:
    found = {}
    for name in ("logistic", "forest"):
        found[name] = tmp_path / f"{name}.csv"
        cancer.run(name).to_csv(found[name], index=False)
        found[f"{name}-imp"] = tmp_path / f"{name}-imp.csv"
        cancer.table(name).to_csv(found[f"{name}-imp"], index=False)
    yield found


def _report(files: dict[str, Path], **options: object) -> object:
    return build_report(
        [f"logistic={files['logistic']}", f"forest={files['forest']}"],
        importance=[f"logistic={files['logistic-imp']}", f"forest={files['forest-imp']}"],
        bootstrap=0,
        **options,
    )


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """τ-b counted pair by pair (the textbook definition)."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    n0 = concordant + discordant
    return (concordant - discordant) / np.sqrt((n0 + ties_x) * (n0 + ties_y))


def test_rank_agreement_of_permutation_importances_matches_scipy_and_hand_counts(
    files: dict[str, Path], cancer: Cancer
) -> None:
    base = load_importance(files["logistic-imp"], "logistic")
    cand = load_importance(files["forest-imp"], "forest")
    assert base.method == "permutation" and len(base.features) == 30
    found = agreement(base, cand, 10)
    x = cancer.importances["logistic"].importances_mean
    y = cancer.importances["forest"].importances_mean
    assert found.common == 30
    assert found.spearman == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert found.kendall == pytest.approx(_kendall_tau_b(x, y), abs=1e-12)
    top_base = list(cancer.x.columns[np.argsort(-x, kind="stable")[:10]])
    top_cand = list(cancer.x.columns[np.argsort(-y, kind="stable")[:10]])
    assert found.overlap == len(set(top_base) & set(top_cand)) / 10
    assert found.entered == [f for f in top_cand if f not in top_base]
    assert found.left == [f for f in top_base if f not in top_cand]
    assert 0 < found.overlap < 1 and -1 < found.spearman < 1  # the models differ, not wholly


def test_shared_order_is_the_mean_rank_and_missing_features_rank_last(tmp_path: Path) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("feature,importance\na,3\nb,2\nc,1\n")
    two.write_text("feature,importance\nc,5\nb,4\nd,1\n")
    tables = [load_importance(one, "one"), load_importance(two, "two")]
    order, means = shared_order(tables)
    # ranks: one a1 b2 c3 (d absent: 4); two c1 b2 d3 (a absent: 4)
    # mean ranks: a 2.5, b 2, c 2, d 3.5; b and c tie, in order of first appearance
    assert order == ["b", "c", "a", "d"]
    assert list(means) == [2.0, 2.0, 2.5, 3.5]
    found = agreement(tables[0], tables[1], 2)
    assert (found.common, found.only_baseline, found.only_candidate) == (2, 1, 1)
    assert found.spearman == pytest.approx(-1.0)  # b > c in one, c > b in two
    assert (found.entered, found.left, found.overlap) == (["c"], ["a"], 0.5)


def test_linear_contributions_add_up_exactly_and_a_gap_is_found(
    tmp_path: Path, cancer: Cancer
) -> None:
    run = tmp_path / "logistic.csv"
    cancer.run("logistic").to_csv(run, index=False)
    report = build_report([f"logistic={run}"], bootstrap=0)
    found = report.summary()["importance"]["models"]["logistic"]
    assert found["method"] == "mean |contribution|"  # no table: implied by the contributions
    assert found["additivity"]["output"] == "margin"
    assert found["additivity"]["max_gap"] < 1e-9
    means = np.abs(cancer.contributions).mean(axis=0)
    first = found["top_features"][0]
    assert first["feature"] == cancer.x.columns[int(np.argmax(means))]
    assert first["importance"] == pytest.approx(means.max(), rel=1e-12)
    # without the margin, the score is compared as log-odds, which fits to rounding
    cancer.run("logistic", margin=False).to_csv(run, index=False)
    check = build_report([f"logistic={run}"], bootstrap=0).summary()["importance"]
    gap = check["models"]["logistic"]["additivity"]
    # the oracle: the same sums against the logit of the score as written (a score near 1
    # keeps few digits of its log-odds, so the gap is float rounding, not a bug)
    score = pd.read_csv(run)["score"].to_numpy()
    logit = np.log(score) - np.log1p(-score)
    expected = np.abs(cancer.base + cancer.contributions.sum(axis=1) - logit).max()
    assert gap["output"] == "log-odds of the score"
    assert gap["max_gap"] == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert (
        gap["max_gap"] < 0.05 < np.abs(cancer.base + cancer.contributions.sum(axis=1) - score).max()
    )
    # one contribution off by 0.5: the largest gap is 0.5, at that example
    frame = cancer.run("logistic")
    frame.loc[7, "shap_mean radius"] += 0.5
    frame.to_csv(run, index=False)
    report = build_report([f"logistic={run}"], bootstrap=0)
    gap = report.summary()["importance"]["models"]["logistic"]["additivity"]
    assert gap["max_gap"] == pytest.approx(0.5, abs=1e-9)
    assert gap["at_id"] == str(frame.loc[7, "id"])
    score = next(s for s in report.scores if s.metric == "additivity_max_gap")
    assert score.value == pytest.approx(0.5, abs=1e-9)


def test_report_sections_json_markdown_and_email_carry_the_headline_numbers(
    files: dict[str, Path], cancer: Cancer
) -> None:
    report = _report(files)
    section = next(s for s in report.sections if s.id == "importance")
    assert [f.id for f in section.figures] == ["importance-bars", "importance-swarm"]
    for figure in section.figures:
        alt.Chart.from_dict(figure.spec, validate=True)
    x = cancer.importances["logistic"].importances_mean
    y = cancer.importances["forest"].importances_mean
    rho = spearmanr(x, y).statistic
    summary = json.loads(report.to_json())["importance"]
    assert summary["baseline"] == "logistic"
    (agreed,) = summary["rank_agreement"]
    assert agreed["candidate"] == "forest" and agreed["spearman"] == pytest.approx(rho)
    tops = summary["models"]["forest"]["top_features"]
    assert tops[0]["feature"] == cancer.x.columns[int(np.argmax(y))]
    assert [t["importance"] for t in tops] == sorted((t["importance"] for t in tops), reverse=True)
    markdown = report.to_markdown()
    assert "**Feature importance: leaderboard**" in markdown
    assert f"{rho:.3f}" in markdown
    message = email.message_from_bytes(report.to_email(attach="none"), policy=policy.default)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Feature importance: leaderboard" in html and f"{rho:.3f}" in html
    assert f"{rho:.3f}" in text
    page = report.to_html()
    assert "not causal" in page and "correlated" in page  # the caveat is on the page


def test_bars_draw_the_top_k_in_the_shared_order_with_std_error_bars(
    files: dict[str, Path], cancer: Cancer
) -> None:
    report = _report(files, importance_top=5)
    figure = next(f for s in report.sections for f in s.figures if f.id == "importance-bars")
    values = next(d["values"] for d in _datasets(figure.spec) if "importance" in d["values"][0])
    frame = pd.DataFrame(values)
    tables = [
        load_importance(files["logistic-imp"], "logistic"),
        load_importance(files["forest-imp"], "forest"),
    ]
    order, _ = shared_order(tables)
    assert list(dict.fromkeys(frame.sort_values("order", kind="stable")["feature"])) == order[:5]
    first = frame[(frame["model"] == "forest") & (frame["feature"] == order[0])].iloc[0]
    at = list(cancer.x.columns).index(order[0])
    found = cancer.importances["forest"]
    assert first["importance"] == pytest.approx(found.importances_mean[at], rel=1e-3)
    assert first["high"] - first["low"] == pytest.approx(2 * found.importances_std[at], rel=1e-2)
    note = next(s for s in report.sections if s.id == "importance").notes
    assert any("top 5 of 30 features" in n for n in note)


def _datasets(spec: object) -> Iterator[dict]:
    """Every inline data set of a spec, as {"values": rows}: named ones and inline ones."""
    if isinstance(spec, dict) and "datasets" in spec:
        for rows in spec["datasets"].values():
            if rows:
                yield {"values": rows}
    if isinstance(spec, dict):
        if "values" in spec and isinstance(spec["values"], list) and spec["values"]:
            yield spec
        for value in spec.values():
            yield from _datasets(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _datasets(value)


def test_beeswarm_is_a_bounded_deterministic_sample(tmp_path: Path) -> None:
    """5,000 examples and 40 features: at most SWARM_EXAMPLES examples and SWARM_FEATURES
    rows are drawn, the same twice; offsets stay within their row."""
    rng = np.random.default_rng(3)
    n, k = 5000, 40
    values = rng.normal(size=(n, k)) * np.linspace(3, 0.1, k)
    frame = pd.DataFrame({"id": np.arange(n), "label": rng.integers(0, 2, n)})
    frame["score"] = rng.uniform(size=n)
    for j in range(k):
        frame[f"shap_f{j}"] = values[:, j]
    run = tmp_path / "big.csv"
    frame.to_csv(run, index=False)

    def swarm() -> dict:
        report = build_report([f"big={run}"], bootstrap=0)
        return next(f for s in report.sections for f in s.figures if f.id == "importance-swarm")

    spec = swarm().spec
    (record,) = [d for d in _datasets(spec) if "offset" in d["values"][0]]
    points = record["values"][0]
    assert len(points["value"]) == SWARM_EXAMPLES * SWARM_FEATURES
    assert max(np.abs(points["offset"])) <= SWARM_HALF
    assert sorted(set(points["order"])) == list(range(SWARM_FEATURES))
    assert len(json.dumps(spec)) < 400_000
    assert json.dumps(spec) == json.dumps(swarm().spec)  # deterministic


def test_tables_in_json_and_sklearn_names(tmp_path: Path, cancer: Cancer) -> None:
    run = tmp_path / "forest.csv"
    cancer.run("forest").to_csv(run, index=False)
    found = cancer.importances["forest"]
    table = tmp_path / "imp.json"
    table.write_text(
        json.dumps(
            {
                "method": "permutation",
                "importances": [
                    {"feature": f, "importances_mean": m, "importances_std": s}
                    for f, m, s in zip(
                        cancer.x.columns, found.importances_mean, found.importances_std, strict=True
                    )
                ],
            }
        )
    )
    loaded = load_importance(table, "forest")
    assert loaded.method == "permutation"
    assert np.allclose(loaded.importance, found.importances_mean)
    assert np.allclose(loaded.std, found.importances_std)
    plain = tmp_path / "plain.csv"
    plain.write_text("feature,importance\na,1\n")
    assert load_importance(plain, "m").method == ""
    (tmp_path / "plain.csv.meta.json").write_text('{"method": "shap"}')
    assert load_importance(plain, "m").method == "shap"
    mapping = tmp_path / "gain.json"
    mapping.write_text(json.dumps({"method": "gain", "importances": {"a": 2.0, "b": 1.0}}))
    assert load_importance(mapping, "m").features.tolist() == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,value\na,1\n", "needs columns 'feature' and 'importance'"),
        ("feature,importance\na,1\nb,inf\n", "line 3, column 'importance': 'inf' is not a finite"),
        ("feature,importance\na,1\na,2\n", "line 3, column 'feature': feature 'a' appears twice"),
        ("feature,importance,std\na,1,-0.1\n", "line 2, column 'std': -0.1 is negative"),
        ("feature,importance,method\na,1,gain\nb,2,shap\n", "line 3, column 'method'"),
    ],
)
def test_bad_tables_are_one_line_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    table = tmp_path / "imp.csv"
    table.write_text(text)
    with pytest.raises(ReportgenError, match=r"imp\.csv") as raised:
        load_importance(table, "m")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_command_line_errors_exit_2_and_gates_read_the_records(
    files: dict[str, Path], tmp_path: Path
) -> None:
    runs = [f"logistic={files['logistic']}", f"forest={files['forest']}"]
    tables = ["--importance", f"logistic={files['logistic-imp']}"]
    tables += ["--importance", f"forest={files['forest-imp']}"]
    out = ["-o", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json"), "-q"]
    failed = build_cli(
        *runs, *tables, *out, "--bootstrap", "0", "--fail-if", "importance_spearman < 0.99"
    )
    assert failed.returncode == 1, failed.stderr
    gates = json.loads((tmp_path / "r.json").read_text())["gates"]
    assert not gates["passed"] and gates["results"][0]["model"] == "forest"
    unknown = build_cli(*runs, "--importance", f"nobody={files['forest-imp']}", *out)
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 and "no run named 'nobody'" in unknown.stderr
    frame = pd.read_csv(files["logistic"])
    frame.loc[4, "shap_mean radius"] = np.inf
    frame.to_csv(files["logistic"], index=False)
    broken = build_cli(*runs, *out)
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1
    assert "logistic.csv: line 6, column 'shap_mean radius'" in broken.stderr


HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def hostile_importance_report(tmp_path: Path, cancer: Cancer) -> Path:
    """Feature names that are markup, in the table and in the contribution columns."""
    frame = cancer.run("logistic")
    top = str(cancer.x.columns[int(np.argmax(np.abs(cancer.contributions).mean(axis=0)))])
    renamed = {c: c.replace(top, HOSTILE) for c in frame.columns}
    run = tmp_path / "logistic.csv"
    frame.rename(columns=renamed).to_csv(run, index=False)
    table = cancer.table("logistic")
    table["feature"] = table["feature"].replace(top, HOSTILE)
    table["importance"] = np.where(table["feature"] == HOSTILE, 1.0, table["importance"])
    path = tmp_path / "imp.csv"
    table.to_csv(path, index=False)
    other = tmp_path / "forest.csv"
    cancer.run("forest").to_csv(other, index=False)
    out = tmp_path / "hostile.html"
    build_report(
        [f"logistic={run}", f"forest={other}"], importance=[f"logistic={path}"], bootstrap=0
    ).save(out)
    return out


def test_hostile_feature_names_stay_text(tmp_path: Path, cancer: Cancer) -> None:
    page = hostile_importance_report(tmp_path, cancer).read_text()
    assert HOSTILE not in page  # never raw
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1" in page  # in tables, escaped


def test_regression_contributions_are_checked_against_the_prediction(tmp_path: Path) -> None:
    """A linear regression on the diabetes data: φ_ij = w_j (x_ij − mean_j x), base =
    b + w·mean x; with no output column the prediction is the output, and it adds up."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(x, y)
    centre = x.to_numpy().mean(axis=0)
    frame = pd.DataFrame({"id": x.index, "label": y, "prediction": model.predict(x)})
    for j, feature in enumerate(x.columns):
        frame[f"shap_{feature}"] = model.coef_[j] * (x[feature].to_numpy() - centre[j])
    frame["base_value"] = model.intercept_ + centre @ model.coef_
    run = tmp_path / "linear.csv"
    frame.to_csv(run, index=False)
    found = build_report([f"linear={run}"], task="regression", bootstrap=0).summary()
    check = found["importance"]["models"]["linear"]["additivity"]
    assert check["output"] == "prediction" and check["max_gap"] < 1e-9
    means = np.abs(frame[[f"shap_{f}" for f in x.columns]].to_numpy()).mean(axis=0)
    tops = found["importance"]["models"]["linear"]["top_features"]
    assert [t["feature"] for t in tops] == [x.columns[i] for i in np.argsort(-means)[:10]]


def test_demo_part_builds_with_exact_additivity(tmp_path: Path) -> None:
    from reportgen.demo.why_importance import NAMES, write_files

    runs, options = write_files(tmp_path)
    report = build_report(runs, bootstrap=0, **options)
    found = report.summary()["importance"]
    assert list(found["models"]) == list(NAMES)
    assert found["models"][NAMES[0]]["additivity"]["max_gap"] < 1e-9
    assert found["models"][NAMES[0]]["method"] == "permutation (ROC AUC drop)"
    (agreed,) = found["rank_agreement"]
    assert agreed["candidate"] == NAMES[1] and -1 <= agreed["spearman"] <= 1


def test_without_a_base_the_base_is_estimated_and_multiclass_has_no_output(
    tmp_path: Path, cancer: Cancer
) -> None:
    frame = cancer.run("logistic").drop(columns="shap_base")
    run = tmp_path / "logistic.csv"
    frame.to_csv(run, index=False)
    check = build_report([f"logistic={run}"], bootstrap=0).summary()["importance"]
    found = check["models"]["logistic"]["additivity"]
    assert found["base_estimated"] and found["max_gap"] < 1e-9  # the gap is a constant: base
    # a multiclass run has no single output: the check says so instead of guessing
    multi = frame.assign(label=np.arange(len(frame)) % 3).drop(columns=["score", "margin"])
    multi["prediction"] = multi["label"]
    multi.to_csv(run, index=False)
    report = build_report([f"logistic={run}"], bootstrap=0)
    found = report.summary()["importance"]["models"]["logistic"]["additivity"]
    assert found["output"] is None and found["max_gap"] is None
    score = next(s for s in report.scores if s.metric == "additivity_max_gap")
    assert score.value is None and score.reason == "no model output in the run"


def test_a_five_model_importance_board_fits_a_phone_in_the_email(
    files: dict[str, Path],
) -> None:
    """Like the main leaderboard, a further board of five models goes out turned, in tables
    of three model columns, each with the baseline."""
    names = ["m1", "m2", "m3", "m4", "m5"]
    pick = ["logistic", "forest", "forest", "logistic", "forest"]
    report = build_report(
        [f"{n}={files[p]}" for n, p in zip(names, pick, strict=True)],
        importance=[f"{n}={files[p + '-imp']}" for n, p in zip(names, pick, strict=True)],
        bootstrap=0,
    )
    message = email.message_from_bytes(report.to_email(attach="none"), policy=policy.default)
    html = message.get_body(("html",)).get_content()
    board = html[html.index("Feature importance: leaderboard") :]
    board = board[: board.index("</table>\n</div>") if "</table>\n</div>" in board else None]
    assert board.count("<table") == 2
    assert board.count("m1 (baseline)") == 2 and all(n in board for n in names)
