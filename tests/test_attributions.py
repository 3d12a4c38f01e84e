"""Token attributions (``--attributions NAME=PATH``): strips for the examples the models
disagree on, then the confident mistakes; rank agreement against scipy; exact linear
contributions on breast-cancer data; bounds, hostile tokens and one-line errors."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from reportgen import build_report
from reportgen.demo.why_tokens import write_files
from reportgen.errors import ReportgenError
from reportgen.formatting import escape_hidden
from reportgen.kinds.attributions import MAX_EXAMPLES, MAX_TOKENS, grouped_spearman
from reportgen.model import Section, Table
from reportgen.render.cells import token_colour, token_strip
from tests.conftest import build_cli


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two logistic regressions on breast cancer; each example's tokens are the 30 feature
    names and its attributions the exact linear contributions coef x (x - mean)."""
    data = load_breast_cancer()
    x = StandardScaler().fit_transform(data.data)
    y = data.target
    train, test = np.arange(len(y)) % 3 != 0, np.arange(len(y)) % 3 == 0
    folder = tmp_path_factory.mktemp("cancer")
    found: dict = {"runs": [], "files": [], "values": {}, "frames": {}}
    mean = x[train].mean(axis=0)
    names = [str(n) for n in data.feature_names]
    for name, c, columns in (("v1", 1.0, slice(0, 30)), ("v2", 0.01, slice(0, 10))):
        model = LogisticRegression(C=c, max_iter=5000).fit(x[train][:, columns], y[train])
        xt = x[test][:, columns]
        contributions = model.coef_[0] * (xt - mean[columns])
        # additivity, exact: the contributions and the intercept at the mean give the logit
        logit = contributions.sum(axis=1) + model.intercept_[0] + model.coef_[0] @ mean[columns]
        np.testing.assert_allclose(logit, model.decision_function(xt), atol=1e-10)
        full = np.zeros((len(xt), 30))
        full[:, columns] = contributions
        proba = model.predict_proba(xt)[:, 1]
        frame = pd.DataFrame(
            {
                "id": np.flatnonzero(test),
                "label": y[test],
                "prediction": (proba >= 0.5).astype(int),
                "score": proba,
            }
        )
        run = folder / f"{name}.csv"
        frame.to_csv(run, index=False)
        records = [
            {"id": int(i), "tokens": names, "attributions": row.tolist(), "method": "linear"}
            for i, row in zip(frame["id"], full, strict=True)
        ]
        path = write_jsonl(folder / f"{name}.jsonl", records)
        found["runs"].append(f"{name}={run}")
        found["files"].append(f"{name}={path}")
        found["values"][name] = full
        found["frames"][name] = frame
    return found


def section(report: object, ident: str = "attributions") -> Section:
    return next(s for s in report.sections if s.id == ident)  # type: ignore[attr-defined]


def test_grouped_spearman_matches_scipy_with_ties(cancer: dict) -> None:
    a, b = cancer["values"]["v1"], cancer["values"]["v2"]
    a, b = np.round(a, 1), np.round(b, 1)  # many ties, and v2's 20 zero features
    rho = grouped_spearman(a.ravel(), b.ravel(), np.full(len(a), a.shape[1]))
    expected = [spearmanr(p, q).statistic for p, q in zip(a, b, strict=True)]
    np.testing.assert_allclose(rho, expected, atol=1e-12)
    # groups of different lengths, one of length 1 and one constant: undefined
    lengths = np.array([3, 1, 4, 2])
    x = np.array([1.0, 2.0, 3.0, 5.0, 1.0, 1.0, 2.0, 2.0, 7.0, 7.0])
    z = np.array([3.0, 2.0, 1.0, 9.0, 4.0, 3.0, 2.0, 1.0, 1.0, 2.0])
    got = grouped_spearman(x, z, lengths)
    assert got[0] == pytest.approx(-1.0)
    assert np.isnan(got[1]) and np.isnan(got[3])
    assert got[2] == pytest.approx(spearmanr(x[4:8], z[4:8]).statistic)


def test_report_on_breast_cancer_matches_an_independent_selection(cancer: dict) -> None:
    report = build_report(
        cancer["runs"], attributions=cancer["files"], bootstrap=0, timestamp=False
    )
    summary = json.loads(report.to_json())
    v1, v2 = cancer["frames"]["v1"], cancer["frames"]["v2"]
    # rank agreement: the mean of scipy's rho over every example (same tokens in both files)
    expected = np.mean(
        [
            spearmanr(p, q).statistic
            for p, q in zip(cancer["values"]["v1"], cancer["values"]["v2"], strict=True)
        ]
    )
    models = summary["token_attributions"]["models"]
    assert models["v2"]["rank_agreement_with_baseline"] == pytest.approx(expected)
    assert models["v2"]["rank_agreement_examples"] == len(v1)
    assert models["v1"]["rank_agreement_with_baseline"] is None
    scores = [s for s in summary["scores"] if s["metric"] == "attribution_rank_agreement"]
    assert [(s["model"], round(s["value"], 12)) for s in scores] == [("v2", round(expected, 12))]
    # the examples shown: predictions differ, most confident first; then confident mistakes
    conf1 = np.where(v1["prediction"] == 1, v1["score"], 1 - v1["score"])
    conf2 = np.where(v2["prediction"] == 1, v2["score"], 1 - v2["score"])
    differ = (v1["prediction"] != v2["prediction"]).to_numpy()
    wrong1 = (v1["prediction"] != v1["label"]).to_numpy()
    wrong2 = (v2["prediction"] != v2["label"]).to_numpy()
    key_differ = np.maximum(conf1, conf2)
    key_wrong = np.maximum(np.where(wrong1, conf1, -np.inf), np.where(wrong2, conf2, -np.inf))
    ranked = sorted(
        range(len(v1)),
        key=lambda i: (
            0 if differ[i] else 1 if (wrong1[i] or wrong2[i]) else 2,
            -(key_differ[i] if differ[i] else key_wrong[i] if wrong1[i] or wrong2[i] else 0),
            i,
        ),
    )
    shown = summary["token_attributions"]["shown"]
    assert [s["id"] for s in shown] == [str(v1["id"][i]) for i in ranked[:MAX_EXAMPLES]]
    assert summary["token_attributions"]["by_reason"] == {
        "models disagree": int(differ.sum()),
        "confident mistake": int((~differ & (wrong1 | wrong2)).sum()),
        "right, models agree": int((~differ & ~wrong1 & ~wrong2).sum()),
    }
    table = section(report).tables[0]
    assert len(table.rows) == MAX_EXAMPLES
    assert f"{MAX_EXAMPLES} of {len(v1)} examples" in table.caption
    assert f"{len(v1) - MAX_EXAMPLES} left out" in table.caption
    # each strip is the example's values over its largest absolute value, rounded
    first = int(shown[0]["id"])
    row = int(np.flatnonzero(v1["id"] == first)[0])
    values = cancer["values"]["v2"][row]
    strip = table.rows[0][4].tokens
    assert [t.text for t in strip] == [str(n) for n in load_breast_cancer().feature_names]
    np.testing.assert_allclose(
        [t.weight for t in strip], np.round(values / np.abs(values).max(), 2), atol=1e-12
    )
    assert max(abs(t.weight) for t in strip) == 1.0
    # the board: one row per model, agreement for the candidate
    board = section(report, "attributions-leaderboard").tables[0]
    assert [r[0].text for r in board.rows] == ["v1", "v2"]
    assert board.rows[1][3].text == f"{expected:.3f}"
    assert "Rank agreement" in report.to_markdown()
    assert f"| {expected:.3f} |" in report.to_markdown()


def test_demo_attributions_add_up_to_the_logit(tmp_path: Path) -> None:
    """The demo's linear attributions: summed with the intercept, they are the model's logit
    (the score the run file holds), to the 6 decimals written."""
    runs, options = write_files(tmp_path)
    for run, file in zip(runs, options["attributions"], strict=True):  # type: ignore[arg-type]
        frame = pd.read_csv(run.split("=", 1)[1])
        lines = Path(file.split("=", 1)[1]).read_text().splitlines()
        sums = np.array([sum(json.loads(line)["attributions"]) for line in lines])
        logit = np.log(frame["score"] / (1 - frame["score"]))
        intercept = logit - sums  # the same for every example
        assert np.ptp(intercept) < 1e-3
    report = build_report(runs, bootstrap=0, timestamp=False, **options)
    table = section(report).tables[0]
    assert table.rows and all(r[2].text == "models disagree" for r in table.rows)


def test_long_examples_and_many_examples_are_capped(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    n = 40
    frame = pd.DataFrame(
        {"id": [f"e{i}" for i in range(n)], "label": ["a", "b"] * (n // 2)}
    ).assign(prediction=lambda f: f["label"])
    other = frame.assign(prediction=np.where(np.arange(n) < 20, "b", "a"))  # 20 disagree, ...
    a = write_run(frame, "a.csv")
    b = write_run(other, "b.csv")
    tokens = [f"t{k}" for k in range(MAX_TOKENS + 44)]
    records = [
        {"id": f"e{i}", "tokens": tokens, "attributions": np.linspace(-1, 2, len(tokens)).tolist()}
        for i in range(n)
    ]
    fa = write_jsonl(tmp_path / "a.jsonl", records)
    report = build_report(
        [a, b], attributions=[f"a={fa}"], bootstrap=0, timestamp=False, positive_label="b"
    )
    table = section(report).tables[0]
    assert len(table.rows) == MAX_EXAMPLES
    assert table.caption.startswith(f"{MAX_EXAMPLES} of {n} examples with attributions shown")
    cell = table.rows[0][3]
    assert len(cell.tokens) == MAX_TOKENS and cell.sub == "44 more tokens not shown"
    assert cell.tokens[-1].weight < 1.0  # scaled by the whole example's largest value
    assert table.header == ["Id", "Label", "Why shown", "a"]
    html = report.to_html()
    start = html.index('<section id="attributions"')
    size = len(html[start : html.index("</section>", start)].encode())
    assert size < MAX_EXAMPLES * MAX_TOKENS * 90 + 20_000


def test_hostile_tokens_stay_text(tmp_path: Path, write_run: Callable[..., Path]) -> None:
    frame = pd.DataFrame({"id": [1, 2], "label": ["x", "y"], "prediction": ["x", "x"]})
    run = write_run(frame, "run.csv")
    hostile = ["<script>alert(1)</script>", '" onmouseover="alert(2)', "\u202eevil", "a\nb"]
    records = [{"id": 2, "tokens": hostile, "attributions": [1.0, -1.0, 0.5, 0.0]}]
    path = write_jsonl(tmp_path / "h.jsonl", records)
    report = build_report(
        [run], attributions=[f"run={path}"], bootstrap=0, timestamp=False, positive_label="y"
    )
    for html in (report.to_html(), report.to_html(static=True)):
        assert "<script>alert(1)" not in html and 'onmouseover="alert' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "\u202e" not in html and "\\u202eevil" in html and "a\\nb" in html
    eml = tmp_path / "r.eml"
    report.save(eml)
    message = email.message_from_bytes(eml.read_bytes())
    body = next(p for p in message.walk() if p.get_content_type() == "text/html")
    text = body.get_payload(decode=True).decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    assert 'style="background:rgba(230,97,1,1.00)"' in text  # the strip, styled inline


def test_strip_colours_and_escaping() -> None:
    assert token_colour(0.0) == "transparent"
    assert token_colour(1.0) == "rgba(230,97,1,1.00)"
    assert token_colour(-0.25) == "rgba(33,102,172,0.25)"
    from reportgen.model import Cell, Token

    html = str(token_strip(Cell("", tokens=(Token("<b>", 0.5, 1.0), Token("&", -2.0, -1.0)))))
    assert html.count("<mark ") == 2
    assert "&lt;b&gt;" in html and "&amp;" in html and 'title="-2"' in html


def test_email_shows_the_first_strips(tmp_path: Path, cancer: dict) -> None:
    report = build_report(
        cancer["runs"], attributions=cancer["files"], bootstrap=0, timestamp=False
    )
    eml = tmp_path / "r.eml"
    report.save(eml)
    message = email.message_from_bytes(eml.read_bytes())
    body = next(p for p in message.walk() if p.get_content_type() == "text/html")
    text = body.get_payload(decode=True).decode()
    assert text.count('<span class="strip"') == 4 * 2  # 4 examples, 2 models
    assert "The first 4 examples" in text
    [agreement] = [s.value for s in report.scores if s.metric == "attribution_rank_agreement"]
    assert f"Rank agreement with v1 (mean Spearman ρ): v2 {agreement:.3f} (190 examples)." in text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            {"id": "x1", "tokens": ["a", "b"], "attributions": [0.1]},
            r"bad\.jsonl: line 2, id 'x1': 2 tokens but 1 attributions",
        ),
        (
            {"id": 7, "tokens": ["a", "b"], "attributions": [0.1, float("nan")]},
            r"line 2, id 7: field 'attributions' holds a non-finite value \(nan\) at token 2",
        ),
        (
            {"id": 7, "tokens": ["a"], "attributions": [float("inf")]},
            r"line 2, id 7: .*non-finite value \(inf\)",
        ),
        ({"id": 7, "tokens": "a b", "attributions": [1]}, r"line 2, id 7: field 'tokens'"),
        ({"id": 7, "tokens": ["a"], "attributions": ["1"]}, r"field 'attributions' must be"),
        ({"tokens": ["a"], "attributions": [1]}, r"line 2: field 'id' is missing"),
        ({"id": "a", "tokens": ["a"], "attributions": [1]}, r"line 2, id 'a': the id is given"),
        (
            {"id": 7, "tokens": ["a"], "attributions": [1], "convergence_delta": "big"},
            r"field 'convergence_delta'",
        ),
    ],
)
def test_bad_lines_are_named(
    tmp_path: Path, write_run: Callable[..., Path], line: dict, message: str
) -> None:
    frame = pd.DataFrame({"id": ["a", "x1", "7"], "label": [0, 1, 1], "prediction": [0, 1, 0]})
    run = write_run(frame, "run.csv")
    path = tmp_path / "bad.jsonl"
    first = json.dumps({"id": "a", "tokens": ["a"], "attributions": [1.0]})
    path.write_text(first + "\n" + json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(ReportgenError, match=message):
        build_report([run], attributions=[f"run={path}"], bootstrap=0)


def test_arguments_are_checked_and_the_command_says_one_line(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "prediction": [0, 1]})
    run = write_run(frame, "run.csv")
    good = write_jsonl(tmp_path / "g.jsonl", [{"id": 1, "tokens": ["a"], "attributions": [1]}])
    with pytest.raises(ReportgenError, match=r"no classification run named 'other'"):
        build_report([run], attributions=[f"other={good}"], bootstrap=0)
    with pytest.raises(ReportgenError, match=r"write NAME=PATH"):
        build_report([run], attributions=[str(good)], bootstrap=0)
    with pytest.raises(ReportgenError, match=r"missing\.jsonl: file not found"):
        build_report([run], attributions=[f"run={tmp_path / 'missing.jsonl'}"], bootstrap=0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "tokens": ["a"], "attributions": [1]}\n{"id": 2, "tok\n')
    done = build_cli(str(run), "--attributions", f"run={bad}", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "bad.jsonl: line 2, column" in lines[0] and "not valid JSON" in lines[0]
    )


def test_ids_missing_from_the_run_are_counted(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "label": [0, 1, 1], "prediction": [0, 1, 0]})
    run = write_run(frame, "run.csv")
    records = [{"id": i, "tokens": ["a", "b"], "attributions": [1, -1]} for i in (1, 3, 8, 9)]
    path = write_jsonl(tmp_path / "p.jsonl", records)
    report = build_report([run], attributions=[f"run={path}"], bootstrap=0, timestamp=False)
    found = section(report)
    assert [r[0].text for r in found.tables[0].rows] == ["3", "1"]  # the mistake first
    assert [r[2].text for r in found.tables[0].rows] == ["confident mistake", "right, models agree"]
    assert any("2 ids of the file are not in the run" in n for n in found.notes)
    summary = json.loads(report.to_json())
    assert summary["token_attributions"]["models"]["run"]["unmatched_ids"] == 2
    assert isinstance(found.tables[0], Table)


def test_rank_agreement_can_be_gated(cancer: dict) -> None:
    report = build_report(
        cancer["runs"],
        attributions=cancer["files"],
        bootstrap=0,
        timestamp=False,
        fail_if=["attribution_rank_agreement < 0.99"],
    )
    [gate] = report.gates
    assert not gate.passed and gate.model == "v2"


class _Anchors(HTMLParser):
    """The page's ids (each with the text of its element) and its example links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, the id of the cell holding it)
        self.cells: dict[str, str] = {}  # a cell's id -> its text, as the reader sees it
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag in ("td", "th"):
            self._cell = found.get("id") or ""
            if self._cell:
                self.cells[self._cell] = ""
        if tag == "a" and found.get("class") == "example-link":
            self.links.append((str(found["href"]), self._cell or ""))

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.cells[self._cell] += data


HOSTILE_IDS = [
    "q\"uote's",
    "sp ace",
    "</script><script>alert(1)</script>",
    "ünï 😀\u202e",
    "a b",
    "a_20b",  # what "a b" would be if a space were written _20 without escaping "_"
    "right",
]


def test_strips_link_to_their_error_rows_and_back_with_safe_anchors(
    tmp_path: Path, write_run: Callable[..., Path]
) -> None:
    """v1 is wrong on every id but "right"; v2 is right on the first three (newly right) and
    wrong on the next three; "right" is right for both, so no error list holds it."""
    labels = ["y"] * 6 + ["x"]
    predictions = {"v1": ["x"] * 7, "v2": ["y"] * 3 + ["x"] * 4}
    runs, files = [], []
    for name, said in predictions.items():
        frame = pd.DataFrame({"id": HOSTILE_IDS, "label": labels, "prediction": said})
        runs.append(f"{name}={write_run(frame, f'{name}.csv')}")
        records = [
            {"id": i, "tokens": ["good", "bad"], "attributions": [1.0, -0.5]} for i in HOSTILE_IDS
        ]
        files.append(f"{name}={write_jsonl(tmp_path / f'{name}.jsonl', records)}")
    report = build_report(
        runs, attributions=files, bootstrap=0, timestamp=False, positive_label="y"
    )
    for html in (report.to_html(), report.to_html(static=True)):
        assert "<script>alert(1)" not in html and "\u202e" not in html.split("<body", 1)[1]
        page = _Anchors()
        page.feed(html)
        assert len(page.ids) == len(set(page.ids))  # every anchor unique on the page
        assert all(re.fullmatch(r"ex-(strip|error)-[A-Za-z0-9_-]+", i) for i in page.cells)
        targets = {href[1:]: holder for href, holder in page.links}
        assert all(target in page.ids for target in targets)  # no dead link
        # v1: a strip for each of its six mistakes links to its row, and the row back
        # v2: three newly right, three mistakes; "right" is listed nowhere
        assert len(page.links) == 2 * 12
        for model, wrong in (("v1", HOSTILE_IDS[:6]), ("v2", HOSTILE_IDS[:6])):
            for ident in wrong:
                error = next(
                    a
                    for a in targets
                    if a.startswith(f"ex-error-{model}-")
                    and page.cells[a].strip() == escape_hidden(ident)
                )
                strip = targets[error]  # the strip cell that links to the row
                assert strip.startswith(f"ex-strip-{model}-")
                assert f"#{strip}" in {h for h, holder in page.links if holder == error}
        assert not any(page.cells[a].strip() == "right" for a in targets)
        # per model: the same id has two anchors, one per model
        assert len({a for a in page.cells if a.startswith("ex-error-")}) == 12
