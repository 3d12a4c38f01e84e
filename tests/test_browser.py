"""Real-browser checks: Debian's chromium through playwright, every network request blocked."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report
from reportgen.render.cells import LONG_WORD

from .conftest import Predictions
from .test_attention import hostile_report as hostile_attention_report
from .test_attention import write_maps
from .test_lmeval import hostile_lm_report
from .test_mixed import hostile_kinds_report
from .test_render import hostile_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@dataclass
class PageVisit:
    console: list[tuple[str, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    pwned: object = None


def offline(target: object) -> None:
    """Only file: URLs load in this context or page: everything else is aborted."""
    target.route(  # type: ignore[attr-defined]
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def watched(browser: object) -> tuple[object, object, PageVisit]:
    """A new context and page whose console messages, dialogs and requests outside file:
    URLs (aborted) are recorded in the returned PageVisit."""
    seen = PageVisit()
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.on("console", lambda m: seen.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: seen.console.append(("pageerror", str(e))))

    def on_dialog(dialog: object) -> None:
        seen.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)

    def route(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith("file:"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            seen.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)  # type: ignore[attr-defined]
    return context, page, seen


@pytest.fixture
def visit(browser: object) -> Callable[[Path], PageVisit]:
    def open_page(path: Path) -> PageVisit:
        context, page, seen = watched(browser)
        page.goto(path.resolve().as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.chart:not([data-rendered])').length === 0",
            timeout=30_000,
        )
        seen.charts = page.eval_on_selector_all(
            ".chart",
            """els => els.map(e => ({id: e.id, state: e.getAttribute('data-rendered'),
                 svg: !!e.querySelector('svg'),
                 marks: e.querySelectorAll('svg path, svg rect, svg line, svg text').length}))""",
        )
        seen.pwned = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        context.close()
        return seen

    return open_page


def assert_clean(seen: PageVisit, expected_charts: int) -> None:
    assert len(seen.charts) == expected_charts
    for chart in seen.charts:
        assert chart["state"] == "true", chart
        assert chart["svg"] and chart["marks"] > 10, chart
    assert seen.console == []  # no errors and no warnings
    assert seen.blocked == []  # the page asked for nothing outside the file
    assert seen.dialogs == [] and seen.pwned is None


def test_binary_report_renders_every_chart(
    tmp_path: Path,
    visit: Callable[[Path], PageVisit],
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.csv"),
    ]
    out = tmp_path / "binary.html"
    report = build_report(runs)
    report.save(out)
    assert_clean(visit(out), sum(len(s.figures) for s in report.sections))


def test_multiclass_report_renders_every_chart(
    tmp_path: Path,
    visit: Callable[[Path], PageVisit],
    digits_logistic: Predictions,
    digits_forest: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [
        write_run(digits_logistic.frame(), "logistic.parquet"),
        write_run(digits_forest.frame(), "forest.parquet"),
    ]
    out = tmp_path / "digits.html"
    report = build_report(runs)
    report.save(out)
    assert len({f.id for s in report.sections for f in s.figures}) >= 8
    assert_clean(visit(out), sum(len(s.figures) for s in report.sections))


def test_out_of_core_report_renders_every_chart_and_runs_no_script(
    tmp_path: Path,
    visit: Callable[[Path], PageVisit],
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
) -> None:
    """Built by DuckDB: binned curves, the engine note, bounded mistakes; names that try to
    break out of the page."""
    hostile = "</script><script>window.__pwned=1</script><img src=x onerror=alert(1)>"
    runs = []
    for predictions, name in ((cancer_logistic, "logistic"), (cancer_tree, "tree")):
        frame = predictions.frame().assign(group=np.where(predictions.y_true == 1, hostile, "b"))
        frame.to_parquet(tmp_path / f"{name}.parquet")
        # a name cannot hold "=" (NAME=PATH): the alert would open a dialog
        evil = "</script><script>alert(1)</script>" if name == "tree" else ""
        runs.append(f"{name}{evil}={tmp_path / name}.parquet")
    out = tmp_path / "out-of-core.html"
    report = build_report(runs, engine="duckdb", slices=["group"], bootstrap=100)
    report.save(out)
    assert "computed by DuckDB" in out.read_text()
    assert_clean(visit(out), sum(len(s.figures) for s in report.sections))


def test_hundred_classes_render(tmp_path: Path, visit: Callable[[Path], PageVisit]) -> None:
    rng = np.random.default_rng(0)
    n, k = 20_000, 100
    label = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), label] += 2.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(proba, columns=[f"prob_c{i:03d}" for i in range(k)])
    frame.insert(0, "label", [f"c{i:03d}" for i in label])
    path = tmp_path / "hundred.parquet"
    frame.to_parquet(path)
    out = tmp_path / "hundred.html"
    report = build_report([path])
    report.save(out)
    assert out.stat().st_size < 2_000_000
    assert_clean(visit(out), sum(len(s.figures) for s in report.sections))


def test_hostile_names_run_no_script(
    tmp_path: Path, visit: Callable[[Path], PageVisit], cancer_logistic: Predictions
) -> None:
    out = hostile_report(tmp_path, cancer_logistic)
    seen = visit(out)
    assert_clean(seen, len(seen.charts))
    assert len(seen.charts) >= 4


def test_clicking_a_legend_entry_highlights_that_model(
    tmp_path: Path,
    browser: object,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.csv"),
    ]
    out = tmp_path / "legend.html"
    build_report(runs, bootstrap=0).save(out)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    chart = page.locator("#chart-roc-curves")
    script = """e => Array.from(e.querySelectorAll('g.mark-line.role-mark path'))
                 .map(p => Number(p.getAttribute('opacity') ?? 1))"""
    assert chart.evaluate(script)[-2:] == [1, 1]  # the two models' curves (after the diagonal)
    chart.locator("g.role-legend-symbol path").first.click(force=True)
    page.wait_for_timeout(300)
    assert chart.evaluate(script)[-2:] == [1, 0.15]  # the other model fades
    page.close()


def test_the_threshold_slider_moves_the_table_to_the_counts_there(
    tmp_path: Path,
    browser: object,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    """The explorer's table is computed in the page from the counts on it: after moving the
    slider it shows scikit-learn's confusion counts at the picked threshold, for each model."""
    from sklearn.metrics import confusion_matrix

    runs = [
        write_run(cancer_logistic.frame(), "logistic.csv"),
        write_run(cancer_tree.frame(), "tree.csv"),
    ]
    out = tmp_path / "explorer.html"
    build_report(runs, bootstrap=0, cost="FP=1,FN=5").save(out)
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    slider = page.locator("#chart-threshold-chart input[type=range]")
    low, high = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
    texts = """e => Array.from(e.querySelectorAll('svg text')).map(t => t.textContent)"""
    chart = page.locator("#chart-threshold-chart")

    def row(words: list[str], model: str) -> list[str]:
        at = len(words) - 1 - words[::-1].index("Expected cost")  # the table's last heading
        values = words[at + 1 :]  # the models (columns) come before, on the top axis
        k = ["logistic", "tree"].index(model)
        return values[k * 9 : (k + 1) * 9]

    for share in (0.5, 0.3, 0.9):
        index = round(share * 200)
        slider.evaluate(
            f"e => {{ e.value = {low} + {index} * e.step; "
            "e.dispatchEvent(new Event('input', {bubbles: true})); }"
        )
        page.wait_for_timeout(300)
        words = chart.evaluate(texts)
        t = np.linspace(low, high, 201)[index]
        for model, run in (("logistic", cancer_logistic), ("tree", cancer_tree)):
            y, score = run.y_true, run.proba[:, 1]
            tn, fp, fn, tp = confusion_matrix(y, (score >= t).astype(int), labels=[0, 1]).ravel()
            shown = row(words, model)
            assert shown[4:8] == [f"{tp:,}", f"{fp:,}", f"{fn:,}", f"{tn:,}"], (share, model)
            assert float(shown[8]) == pytest.approx((fp + 5 * fn) / len(y), rel=1e-3)
    assert errors == []
    page.close()


def test_the_improvement_chart_draws_what_the_verdict_badges_say(
    tmp_path: Path, browser: object
) -> None:
    """Five models: every drawn interval, as the browser lays it out, crosses its panel's zero
    line exactly when the comparison table's verdict badge says tie."""
    from .test_verdicts import _five_models

    out = tmp_path / "five.html"
    report = build_report(_five_models(tmp_path), timestamp=False, bootstrap=300)
    report.save(out)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    lines = page.eval_on_selector_all(
        "#improvements line[aria-label]",
        r"""els => els.map(e => {
             const m = /translate\(([-\d.e]+),/.exec(e.getAttribute('transform'));
             return [e.getAttribute('aria-label'), Number(m[1]), Number(e.getAttribute('x2'))];
           })""",
    )
    badges = page.eval_on_selector_all(
        "#comparison table tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    page.close()
    verdicts = {f"{row[0]}, {row[1]}": row[-1] for row in badges}
    assert len(verdicts) == 44  # four candidates, eleven metrics
    checked, zero = 0, None
    for label, x, width in lines:
        if label == "zero":  # each panel draws its zero line first
            zero = x
            continue
        assert zero is not None
        name, _, verdict = label.rpartition(": ")
        assert verdicts[name] == verdict, label
        low, high = sorted((x, x + width))
        crosses = low <= zero + 1e-6 and high >= zero - 1e-6
        assert crosses == (verdict == "tie"), (label, low, high, zero)
        checked += 1
    assert checked == 44
    assert {v for v in verdicts.values()} >= {"tie", "worse"}


def test_llm_report_renders_every_chart_and_runs_no_script(
    tmp_path: Path, visit: Callable[[Path], PageVisit]
) -> None:
    out, expected = hostile_lm_report(tmp_path)
    seen = visit(out)
    assert_clean(seen, expected)
    ids = {c["id"] for c in seen.charts}
    shown = ["perplexity-improvements", "perplexity-distribution"]
    shown += ["benchmark-bars", "subtasks-mmlu"]
    for chart in shown:
        assert f"chart-{chart}" in ids
    assert any(i.startswith("chart-pareto-") for i in ids)
    assert any(i.startswith("chart-history-") for i in ids)
    assert any(i.startswith("chart-perplexity-slice-") for i in ids)


def test_regression_multilabel_and_embedding_views_render_and_run_no_script(
    tmp_path: Path, visit: Callable[[Path], PageVisit], digits_logistic: Predictions
) -> None:
    out, expected = hostile_kinds_report(tmp_path, digits_logistic)
    seen = visit(out)
    assert_clean(seen, expected)
    ids = {c["id"] for c in seen.charts}
    for chart in (
        "embedding-pca",
        "embedding-tsne",
        "embedding-separation",
        "regression-fit",
        "regression-residuals",
        "regression-residual-distribution",
        "multilabel-per-label",
        "multilabel-cardinality",
        "multilabel-cooccurrence",
        "regression-improvements",
        "multilabel-improvements",
    ):
        assert f"chart-{chart}" in ids
    points = {c["id"]: c["marks"] for c in seen.charts}
    assert points["chart-embedding-pca"] > 300  # the 300 sampled points, all drawn


def test_without_javascript_the_static_charts_show(
    tmp_path: Path,
    browser: object,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [write_run(cancer_logistic.frame(), "a.csv"), write_run(cancer_tree.frame(), "b.csv")]
    out = tmp_path / "r.html"
    report = build_report(runs, bootstrap=0)
    report.save(out)
    expected = sum(len(s.figures) for s in report.sections)
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(out.resolve().as_uri())
    boxes = page.eval_on_selector_all(
        ".static-chart svg",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
    )
    assert len(boxes) == expected and all(w > 100 and h > 50 for w, h in boxes)
    assert page.locator("table").count() > 5  # tables are plain HTML
    context.close()
    # with JavaScript, each static drawing gives way to its live chart on screen, and stays
    # for print (laid out for paper)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    assert page.locator(".static-chart:visible").count() == 0
    assert page.locator(".static-chart.for-print").count() == expected
    page.emulate_media(media="print")
    assert page.locator(".static-chart:visible").count() == expected
    assert page.locator(".chart:visible").count() == 0
    page.close()


def test_static_edition_renders_without_scripts(
    tmp_path: Path, visit: Callable[[Path], PageVisit], cancer_logistic: Predictions
) -> None:
    out = tmp_path / "static.html"
    frame = cancer_logistic.frame()
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)
    build_report([path], bootstrap=0).save(out, format="static")
    seen = visit(out)  # no .chart elements to wait for
    assert seen.charts == [] and seen.console == [] and seen.blocked == []


def test_hostile_names_stay_text_in_the_static_edition(
    tmp_path: Path,
    visit: Callable[[Path], PageVisit],
    browser: object,
    cancer_logistic: Predictions,
) -> None:
    """The static edition inlines every chart as SVG drawn from the hostile names: they must
    arrive as SVG text, never as elements, attributes or script."""
    out = hostile_report(tmp_path, cancer_logistic, format="static")
    seen = visit(out)
    assert seen.charts == [] and seen.console == [] and seen.blocked == []
    assert seen.dialogs == [] and seen.pwned is None
    page = browser.new_page()  # type: ignore[attr-defined]
    offline(page)
    page.goto(out.resolve().as_uri())
    found = page.evaluate(
        """() => ({
            svgs: document.querySelectorAll('svg').length,
            scripts: document.querySelectorAll('script').length,
            images: [...document.querySelectorAll('img, image')].filter(
                i => !(i.getAttribute('src') || i.getAttribute('href') || '').startsWith('data:')
            ).length,
            handlers: [...document.querySelectorAll('*')].filter(
                e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            text: [...document.querySelectorAll('svg text')].map(t => t.textContent).join(' '),
        })"""
    )
    page.close()
    assert found["svgs"] >= 4 and found["scripts"] == 0
    assert found["images"] == 0 and found["handlers"] == 0
    assert "onerror=window.__pwned" in found["text"]  # the names are drawn, as text


def test_email_body_shows_its_images_without_javascript(
    tmp_path: Path,
    browser: object,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
) -> None:
    import base64
    import email
    import email.policy

    runs = [write_run(cancer_logistic.frame(), "a.csv"), write_run(cancer_tree.frame(), "b.csv")]
    message = email.message_from_bytes(
        build_report(runs, bootstrap=100).to_email(), policy=email.policy.default
    )
    body = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for part in message.walk():
        if part.get_content_type() == "image/png":
            data = base64.b64encode(part.get_content()).decode()
            # a mail client resolves cid: to the related part; a browser needs a data: URI
            body = body.replace(
                f"cid:{part['Content-ID'].strip('<>')}", f"data:image/png;base64,{data}"
            )
    page_file = tmp_path / "body.html"
    page_file.write_text(body)
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(page_file.resolve().as_uri())
    sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.width])")
    assert 2 <= len(sizes) <= 3
    assert all(natural > 200 and 100 < shown <= 760 for natural, shown in sizes)
    assert "cid:" not in page.content()
    context.close()


def test_printing_keeps_each_chart_on_one_page_with_its_heading(
    tmp_path: Path,
    browser: object,
    digits_logistic: Predictions,
    digits_forest: Predictions,
    write_run: Callable[..., Path],
) -> None:
    runs = [
        write_run(digits_logistic.frame(), "a.parquet"),
        write_run(digits_forest.frame(), "b.parquet"),
    ]
    out = tmp_path / "print.html"
    build_report(runs, bootstrap=100).save(out)
    # A4 with 12 mm margins at 96 dpi: 703 x 1032 px of paper for the content
    page = browser.new_page(viewport={"width": 703, "height": 1032})  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    page.emulate_media(media="print")
    figures = page.eval_on_selector_all(
        ".figure",
        """els => els.map(e => ({id: e.id, height: e.getBoundingClientRect().height,
             inside: getComputedStyle(e).breakInside,
             heading: e.firstElementChild.tagName}))""",
    )
    assert len(figures) >= 8
    for figure in figures:
        assert figure["inside"] == "avoid" and figure["heading"] == "H3", figure
        assert figure["height"] < 1032, figure  # fits a page, so it is never split
    assert page.eval_on_selector(".toc", "e => getComputedStyle(e).display") == "none"
    after = page.eval_on_selector("section h2", "e => getComputedStyle(e).breakAfter")
    assert after == "avoid"
    for heading in ("section > details > summary", "section > details > p.lead"):
        assert page.eval_on_selector(heading, "e => getComputedStyle(e).breakAfter") == "avoid"
    # no drawn chart is wider than the paper (Chrome would shrink the whole page to fit it)
    right = page.eval_on_selector_all(
        ".chart svg.marks", "els => els.map(e => e.getBoundingClientRect().right)"
    )
    assert right and max(right) <= 703 + 1, max(right)
    pdf = page.pdf(
        format="A4", margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"}
    )
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 3 <= pages <= 40
    page.close()


LAYOUT = """() => {
  const width = window.innerWidth, doc = document.documentElement;
  const outside = [];
  document.querySelectorAll('.chart').forEach(chart => {
    const card = chart.closest('.card').getBoundingClientRect();
    const box = chart.getBoundingClientRect();
    if (box.left < card.left - 1 || box.right > card.right + 1) { outside.push(chart.id); }
  });
  return {page: doc.scrollWidth, width: width, outside: outside,
          toc: document.querySelector('.toc').getBoundingClientRect().height,
          height: window.innerHeight};
}"""

PRINTED = """() => Array.from(document.querySelectorAll('.card table')).map(t => {
  const room = t.closest('.card').getBoundingClientRect();
  const box = t.getBoundingClientRect();
  return {right: box.right, room: room.right, columns: t.rows[0].cells.length};
})"""


@pytest.fixture(scope="module")
def layout_pages(
    tmp_path_factory: pytest.TempPathFactory,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    digits_logistic: Predictions,
) -> list[Path]:
    """The three kinds of page a reader meets: classification with four models (a wide
    leaderboard), an LLM report, and a mixed-kinds report with slices (many sections, a long
    contents bar)."""
    tmp_path = tmp_path_factory.mktemp("layout")
    runs = []
    rng = np.random.default_rng(0)
    for name, predictions in (("logistic", cancer_logistic), ("tree", cancer_tree)) * 2:
        frame = predictions.frame()
        if len(runs) >= 2:  # two more models: the same scores, a little noise
            frame["score"] = np.clip(frame["score"] + rng.normal(0, 0.05, len(frame)), 0, 1)
            frame["prediction"] = (frame["score"] >= 0.5).astype(int)
        path = tmp_path / f"{name}-v{len(runs)}.csv"
        frame.to_csv(path, index=False)
        runs.append(path)
    binary = tmp_path / "four.html"
    build_report(runs, bootstrap=100, timestamp=False).save(binary)
    return [
        binary,
        hostile_lm_report(tmp_path)[0],
        hostile_kinds_report(tmp_path, digits_logistic)[0],
    ]


@pytest.mark.parametrize("width", [400, 1400])
def test_pages_fit_the_screen(browser: object, layout_pages: list[Path], width: int) -> None:
    """At phone and desktop width: the page is never wider than the screen, every chart stays
    inside its card (wide ones scroll there), and the contents bar is a small strip."""
    context = browser.new_context(viewport={"width": width, "height": 800})  # type: ignore[attr-defined]
    offline(context)
    page = context.new_page()
    for path in layout_pages:
        page.goto(path.resolve().as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.chart:not([data-rendered])').length === 0",
            timeout=30_000,
        )
        found = page.evaluate(LAYOUT)
        assert found["page"] <= width, (path.name, found)
        assert found["outside"] == [], (path.name, found)
        assert found["toc"] <= 0.15 * found["height"], (path.name, found)
        if path.name == "four.html":  # the leaderboard reads without sideways scrolling
            board = page.eval_on_selector(
                "#leaderboard .table-scroll:not(.layout-wide .table-scroll)",
                "e => ({inner: e.scrollWidth, box: e.clientWidth})",
            )
            assert board["inner"] <= board["box"] + 1, (width, board)
    context.close()


def test_a_table_that_scrolls_shows_that_it_scrolls(
    browser: object, layout_pages: list[Path]
) -> None:
    """At 400 px the comparison table is wider than its box: its right edge fades, a line
    under it says to scroll sideways, and once scrolled the left edge fades too; tables that
    fit carry neither (before: nothing told that columns were hidden)."""
    context = browser.new_context(viewport={"width": 400, "height": 800})  # type: ignore[attr-defined]
    offline(context)
    page = context.new_page()
    page.goto(layout_pages[0].resolve().as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart:not([data-rendered])').length === 0", timeout=30_000
    )
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_timeout(300)
    boxes = page.eval_on_selector_all(
        ".table-scroll",
        """els => els.filter(e => e.offsetParent !== null).map(e => ({
             wide: e.scrollWidth > e.clientWidth + 1, cls: e.className,
             hint: !!(e.nextElementSibling && e.nextElementSibling.matches('.scroll-hint')
                      && !e.nextElementSibling.hidden)}))""",
    )
    wide = [b for b in boxes if b["wide"]]
    assert wide, boxes
    assert all("more-right" in b["cls"] and b["hint"] for b in wide), wide
    assert all("more-" not in b["cls"] and not b["hint"] for b in boxes if not b["wide"])
    after = page.eval_on_selector(
        ".table-scroll.more-right",
        "e => { e.scrollLeft = e.scrollWidth; e.dispatchEvent(new Event('scroll')); "
        "return e.className; }",
    )
    assert "more-left" in after and "more-right" not in after, after
    context.close()


def test_printing_keeps_every_table_column(browser: object, layout_pages: list[Path]) -> None:
    """Emulated print on A4 (the printable width at 96 dpi): no table runs past its card, so
    no leaderboard column is cut off."""
    context = browser.new_context(viewport={"width": 700, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.emulate_media(media="print")
    for path in layout_pages:
        page.goto(path.resolve().as_uri())
        tables = page.evaluate(PRINTED)
        assert tables, path.name
        cut = [t for t in tables if t["right"] > t["room"] + 1]
        assert cut == [], (path.name, cut)
    context.close()


@pytest.fixture(scope="module")
def long_lists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two noisy models on 2,000 examples with --top-k 60: lists longer than a page."""
    tmp_path = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 2000)
    paths = []
    for name, noise in (("old", 0.9), ("new", 0.8)):
        score = 1 / (1 + np.exp(-(2 * label - 1 + rng.normal(0, noise * 2, len(label)))))
        frame = pd.DataFrame({"id": np.arange(len(label)), "label": label, "score": score})
        frame["prediction"] = (score >= 0.5).astype(int)
        frame["text"] = [f"example {i} {'alpha' if i % 3 else 'beta'}" for i in range(len(label))]
        paths.append(tmp_path / f"{name}.csv")
        frame.to_csv(paths[-1], index=False)
    out = tmp_path / "tables.html"
    build_report(paths, bootstrap=50, top_k=60, timestamp=False).save(out)
    return out


def test_tables_sort_filter_page_and_download(browser: object, long_lists: Path) -> None:
    """Click a heading to sort (numbers as numbers, again to reverse); type to filter; long
    lists show 25 rows and a button for more; CSV holds every matching row; no errors."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(long_lists.resolve().as_uri())
    table = "#errors details.behind:has(table) >> nth=-1"
    page.evaluate(
        "() => document.querySelectorAll('#errors details.behind').forEach(d => d.open = true)"
    )
    last = page.locator(table).locator("table")
    visible = (
        "t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden)"
        ".map(r => r.cells[4].textContent.trim())"
    )
    assert len(last.evaluate(visible)) == 25  # a page of a 60-row list
    page.locator(table).locator("button.table-more").click()
    assert len(last.evaluate(visible)) == 50
    headings = last.evaluate("t => Array.from(t.tHead.rows[0].cells).map(c => c.textContent)")
    assert headings[2:5] == ["Prediction", "old prediction", "Confidence"]
    last.locator("th").nth(4).click()  # Confidence, ascending
    shown = [float(v) for v in last.evaluate(visible)]
    assert shown == sorted(shown) and len(shown) == 50
    last.locator("th").nth(4).click()  # and descending
    shown = [float(v) for v in last.evaluate(visible)]
    assert shown == sorted(shown, reverse=True)
    search = page.locator(table).locator("input[type=search]")
    search.fill("beta")
    texts = last.evaluate(
        "t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden).map(r => r.textContent)"
    )
    assert texts and all("beta" in t for t in texts)
    total = last.evaluate(
        "t => Array.from(t.tBodies[0].rows).filter(r => r.textContent.includes('beta')).length"
    )
    href = page.locator(table).locator(".table-tools a[download]").get_attribute("href")
    assert href is not None and href.startswith("data:text/csv;charset=utf-8,")
    from urllib.parse import unquote

    lines = unquote(href.split(",", 1)[1]).strip().split("\r\n")
    assert lines[0].startswith("Id,") and len(lines) == total + 1
    # only changed vs the baseline: the rows where old predicted otherwise, and all of them
    search.fill("")
    pairs = (
        "t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden)"
        ".map(r => [r.cells[2].textContent.trim(), r.cells[3].textContent.trim()])"
    )
    every = last.evaluate(
        "t => Array.from(t.tBodies[0].rows)"
        ".map(r => [r.cells[2].textContent.trim(), r.cells[3].textContent.trim()])"
    )
    differ = sum(a != b for a, b in every)
    assert 0 < differ < len(every) == 60  # the filter has something to do
    page.locator(table).locator(".table-tools input[type=checkbox]").check()
    if differ > 25:
        page.locator(table).locator("button.table-more").click()
    narrowed = last.evaluate(pairs)
    assert len(narrowed) == differ and all(a != b for a, b in narrowed)
    label = page.locator(table).locator(".table-tools label").text_content()
    assert label is not None and label.strip() == "Only changed vs old"
    assert errors == []
    context.close()


def test_an_anchor_opens_its_collapsed_section(browser: object, long_lists: Path) -> None:
    """report.html#runs opens the Runs section, folded by default; every section and table
    has a link to copy."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(long_lists.resolve().as_uri())
    assert page.evaluate("document.querySelector('#runs > details').open") is False
    page.goto(long_lists.resolve().as_uri() + "#runs")
    assert page.evaluate("document.querySelector('#runs > details').open") is True
    page.goto(long_lists.resolve().as_uri() + "#errors-logistic-most-confident-mistakes")
    ids = page.evaluate("Array.from(document.querySelectorAll('table[id]')).map(t => t.id)")
    assert len(ids) == len(set(ids)) and len(ids) >= 5
    sections = page.evaluate("document.querySelectorAll('main section.card[id]').length")
    assert (
        page.evaluate("document.querySelectorAll('section.card h2 + a.anchor').length") == sections
    )
    context.close()


def test_csv_exports_never_carry_a_formula(browser: object, tmp_path: Path) -> None:
    """OWASP's CSV-injection payloads as class names and example text: every exported cell
    that a spreadsheet would run (= + - @ tab CR first) starts with ', whatever follows;
    numbers are exported as plain numbers (by the cell's type, not by its look)."""
    import csv
    import io
    from urllib.parse import unquote

    payloads = ["-2+3+cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "=1+1", "@SUM(A1)"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    frame = pd.DataFrame(
        {
            "label": np.where(y == 1, payloads[0], payloads[1]),
            "score": np.clip(y * 0.5 + rng.normal(0.25, 0.3, 200), 0, 1),
            "text": [payloads[i % 4] for i in range(200)],
        }
    )
    frame.to_csv(tmp_path / "a.csv", index=False)
    out = tmp_path / "r.html"
    build_report(
        [f"@evil={tmp_path / 'a.csv'}"], positive_label=payloads[0], bootstrap=0, timestamp=False
    ).save(out)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    hrefs = page.eval_on_selector_all(
        ".table-tools a[download]", "links => links.map(a => a.getAttribute('href'))"
    )
    page.close()
    fields = []
    for href in hrefs:
        text = unquote(href.split(",", 1)[1])
        fields += [f for row in csv.reader(io.StringIO(text)) for f in row]
    assert any(f.startswith("'-2+3+cmd") for f in fields)
    assert any(f.startswith("'+1+cmd") for f in fields)
    assert any(f.startswith("'@evil") for f in fields)  # the run name too
    for f in fields:
        if f[:1] in ("=", "+", "-", "@", "\t", "\r"):
            float(f)  # only a plain number may start so (a negative one)
    assert any(re.fullmatch(r"0\.\d+", f) for f in fields)  # numbers stay numbers


# -- print and small screens, measured on the demo's own reports ---------------------------

# Markers put into the page just before printing: tiny white text at the top and the foot of
# each box, found again in the PDF's text, page by page.
MARK_BOXES = """() => {
  const add = (el, text, top) => {
    const s = document.createElement('span');
    s.textContent = text;
    s.style.cssText = 'position:absolute;left:0;font-size:5px;line-height:5px;color:#fff;'
      + (top ? 'top:0' : 'bottom:0');
    if (getComputedStyle(el).position === 'static') { el.style.position = 'relative'; }
    el.appendChild(s);
  };
  // a shut section prints its heading line only: nothing of it to keep together
  const shown = el => el.getBoundingClientRect().height > 0 && !el.closest('details:not([open])');
  let n = 0; const boxes = [], heads = [];
  document.querySelectorAll('.figure, .static-chart, .chart').forEach(box => {
    if (!shown(box)) { return; }
    n += 1; add(box, 'zzS' + n + 'zz', true); add(box, 'zzE' + n + 'zz', false);
    boxes.push([n, box.id || box.getAttribute('data-static-for')]);
  });
  document.querySelectorAll('h2, h3').forEach(h => {
    if (!shown(h)) { return; }
    let next = (h.closest('summary') || h).nextElementSibling;
    while (next && next.getBoundingClientRect().height === 0) { next = next.nextElementSibling; }
    if (!next) { return; }
    if (next.tagName === 'DETAILS') { next = next.querySelector('summary'); }  // may be shut
    n += 1; add(h, 'zzH' + n + 'zz', false); add(next, 'zzN' + n + 'zz', true);
    heads.push([n, h.textContent.trim().slice(0, 60)]);
  });
  return {boxes: boxes, heads: heads};
}"""

# Words of table cells and headings broken across lines (a break at a hyphen is a line
# break between words, as in "naive-/bayes"; "−" in a number is not a hyphen). Only a word
# longer than LONG_WORD may break, and the headings of a table of ten columns or more.
SPLIT_WORDS = """(longest) => {
  const split = [];
  document.querySelectorAll('td, th').forEach(cell => {
    if (!cell.getBoundingClientRect().height) { return; }
    if (cell.closest('thead') && cell.parentElement.cells.length >= 10) { return; }
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walk.nextNode())) {
      const word = /[^\\s-]+/g; let m;
      while ((m = word.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0)
          .map(r => Math.round(r.top)));
        if (lines.size > 1 && m[0].length <= longest) { split.push(m[0]); }
      }
    }
  });
  return split;
}"""

CONTROLS = """() => Array.from(document.querySelectorAll(
    'input, button, select, .vega-embed summary, .vega-bindings, .table-tools, .anchor, .hint'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .map(e => e.tagName + '.' + e.className + ' ' + e.textContent.trim().slice(0, 40))"""


@pytest.fixture(scope="module")
def demo_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seven reports of ``reportgen demo``, as a new user first prints them."""
    from reportgen.demo.run import build_demo

    plans = build_demo(tmp_path_factory.mktemp("demo"))
    return {plan.html.stem: plan.html for plan in plans}


def _open(browser: object, path: Path, width: int) -> object:
    context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    offline(context)
    page = context.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart:not([data-rendered])').length === 0", timeout=60_000
    )
    return page


@pytest.mark.parametrize(
    "name",
    [
        "report",
        "digits-report",
        "llm-report",
        "kinds-report",
        "why-report",
        "boundary-report",
        "tokens-report",
    ],
)
def test_printed_demo_reports_keep_figures_headings_and_numbers_whole(
    browser: object, demo_pages: dict[str, Path], name: str
) -> None:
    """Each demo report printed to A4 PDF in Chromium: no figure or chart box crosses a page
    boundary, no heading ends a page (what follows it is on its page), no word of a table
    or heading is broken across lines, and no control or mouse hint is on paper."""
    import io

    import pypdf

    page = _open(browser, demo_pages[name], 1200)
    page.emulate_media(media="print")  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 703, "height": 1032})  # type: ignore[attr-defined]
    assert page.evaluate(SPLIT_WORDS, LONG_WORD) == []  # type: ignore[attr-defined]
    assert page.evaluate(CONTROLS) == []  # type: ignore[attr-defined]
    # paper shows the static drawing, laid out for it; the live chart (laid out for the
    # screen, with its menu and slider) stays on screen
    assert page.eval_on_selector_all(".chart", "els => els.every(e => !e.offsetHeight)")  # type: ignore[attr-defined]
    marks = page.evaluate(MARK_BOXES)  # type: ignore[attr-defined]
    pdf = page.pdf(  # type: ignore[attr-defined]
        format="A4", margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"}
    )
    page.context.close()  # type: ignore[attr-defined]
    found: dict[str, set[int]] = {}
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for number, sheet in enumerate(reader.pages):
        text = re.sub(r"\s", "", sheet.extract_text())
        for marker in re.findall(r"zz([SEHN]\d+)zz", text):
            found.setdefault(marker, set()).add(number)
    boxes, heads = marks["boxes"], marks["heads"]
    assert len(boxes) >= 8 and len(heads) >= 8, marks
    missing = [f"{k}{n}" for n, _ in boxes for k in "SE" if f"{k}{n}" not in found]
    missing += [f"{k}{n}" for n, _ in heads for k in "HN" if f"{k}{n}" not in found]
    assert missing == [], [h for h in heads if f"N{h[0]}" in missing]  # the checks can fail
    crossing = [box for n, box in boxes if found[f"S{n}"] != found[f"E{n}"]]
    assert crossing == []
    alone = [head for n, head in heads if found[f"H{n}"] != found[f"N{n}"]]
    assert alone == []
    assert 3 <= len(reader.pages) <= 30


WIDTHS = """sel => Array.from(document.querySelectorAll(sel)).map(c => {
  const svg = c.querySelector('svg.marks');
  return {id: c.id, room: c.clientWidth, width: svg ? svg.getBoundingClientRect().width : -1,
          height: svg ? svg.getBoundingClientRect().height : -1,
          columns: Number(c.getAttribute('data-columns') || 0)};
})"""


def test_small_multiples_fit_a_phone_and_use_a_desktop(
    browser: object, demo_pages: dict[str, Path]
) -> None:
    """Charts that carry the comparison wrap their panels to the screen: at 400 px the
    confusion matrices, the threshold explorer and the improvement chart fit without
    scrolling sideways; at 1,400 px the three matrices and the improvement panels sit side
    by side; resizing the window re-flows them; the mistakes chart is sized to its bars."""
    wrapped = "#confusion .chart, #thresholds .chart, #comparison .chart, #per-class .chart"
    for name in ("report", "digits-report"):
        page = _open(browser, demo_pages[name], 400)
        narrow = page.evaluate(WIDTHS, wrapped)  # type: ignore[attr-defined]
        assert len(narrow) >= 3 and all(c["width"] > 0 for c in narrow), (name, narrow)
        assert [c for c in narrow if c["width"] > c["room"] + 1] == [], (name, narrow)
        assert {c["columns"] for c in narrow} - {0} == {1}, narrow  # wrapped: one column
        page.set_viewport_size({"width": 1400, "height": 900})  # type: ignore[attr-defined]
        for _ in range(100):  # the page re-flows 0.2 s after the last resize (polled here:
            # playwright's waiting would evaluate a string, which the page's CSP refuses)
            page.wait_for_timeout(100)  # type: ignore[attr-defined]
            columns = page.evaluate(WIDTHS, "#confusion .chart")  # type: ignore[attr-defined]
            if all(c["columns"] > 1 and c["width"] > 0 for c in columns):
                break
        wide = {c["id"]: c for c in page.evaluate(WIDTHS, wrapped)}  # type: ignore[attr-defined]
        confusion = [c for i, c in wide.items() if i.startswith("chart-confusion")]
        assert confusion and all(c["columns"] >= 3 for c in confusion), wide
        assert wide["chart-improvements"]["columns"] >= 2, wide
        assert all(0 < c["width"] <= c["room"] + 1 for c in wide.values()), wide
        if name == "digits-report":
            pairs = page.evaluate(WIDTHS, "#confused-pairs .chart")  # type: ignore[attr-defined]
            assert 150 < pairs[0]["height"] < 600, pairs  # 15 pairs x 3 models, not 1,100 px
        page.context.close()  # type: ignore[attr-defined]


def test_token_strips_render_and_hostile_tokens_stay_text(
    tmp_path: Path,
    visit: Callable[[Path], PageVisit],
    browser: object,
    cancer_logistic: Predictions,
    write_run: Callable[..., Path],
) -> None:
    """Token strips are plain HTML: the page renders every chart, the hostile tokens arrive
    as text with their colour inline, and nothing runs (the CSP allows the inline styles)."""
    import json

    frame = cancer_logistic.frame()
    run = write_run(frame, "logistic.csv")
    hostile = ['<img src=x onerror="window.__pwned=1">', "</mark><script>window.__pwned=2</script>"]
    tokens = [*hostile, *(f"w{k}" for k in range(300))]
    values = np.linspace(-1.0, 1.0, len(tokens))
    path = tmp_path / "attributions.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": int(i), "tokens": tokens, "attributions": values.tolist()}) + "\n"
            for i in frame["id"][:20]
        )
    )
    out = tmp_path / "tokens.html"
    report = build_report([run], attributions=[f"logistic={path}"], bootstrap=0)
    report.save(out)
    seen = visit(out)
    assert_clean(seen, sum(len(s.figures) for s in report.sections))
    page = browser.new_page()  # type: ignore[attr-defined]
    offline(page)
    page.goto(out.resolve().as_uri())
    found = page.evaluate(
        """() => {
            const strips = [...document.querySelectorAll('#attributions .strip')];
            const marks = strips[0].querySelectorAll('mark');
            return {
                strips: strips.length,
                marks: marks.length,
                first: marks[0].textContent,
                second: marks[1].textContent,
                colour: getComputedStyle(marks[marks.length - 1]).backgroundColor,
                inner: strips.flatMap(s => [...s.querySelectorAll('img, script')]).length,
            };
        }"""
    )
    page.close()
    assert found["strips"] == 12 and found["marks"] == 256
    assert found["first"] == hostile[0] and found["second"] == hostile[1]
    assert found["inner"] == 0
    assert found["colour"].startswith("rgba(230, 97, 1,")  # a positive token, shown orange


def test_decision_boundaries_render_bounded_with_hostile_feature_names(
    tmp_path: Path, visit: Callable[[Path], PageVisit]
) -> None:
    """The wine demo's 200 x 200 grids, their feature renamed to markup: every chart draws,
    at most 100 x 100 cells per model, and the names stay text."""
    import json

    from reportgen.demo.why_boundary import write_files

    runs, options = write_files(tmp_path / "wine")
    hostile = '<img src=x onerror="window.__pwned=1">'
    for argument in runs:
        path = Path(argument.partition("=")[2])
        pd.read_csv(path).rename(columns={"alcohol": hostile}).to_csv(path, index=False)
    for argument in options["boundary"]:  # type: ignore[union-attr]
        meta = Path(argument.partition("=")[2] + ".meta.json")
        found = json.loads(meta.read_text())
        found["features"] = [hostile, "proline"]
        meta.write_text(json.dumps(found))
    out = tmp_path / "boundary.html"
    report = build_report(runs, **options)
    report.save(out)
    seen = visit(out)
    assert_clean(seen, sum(len(s.figures) for s in report.sections))
    marks = {c["id"]: c["marks"] for c in seen.charts}
    # two panels of 100 x 100 cells (every 2nd grid point) and 72 test points each
    assert 2 * 100 * 100 < marks["chart-boundary-maps"] < 2 * 100 * 100 + 2_000
    assert marks["chart-boundary-disagreement"] > 100
    assert hostile not in out.read_text(encoding="utf-8")


def test_feature_importance_charts_render_and_hostile_feature_names_stay_text(
    tmp_path: Path, visit: Callable[[Path], PageVisit], browser: object
) -> None:
    """The importance bars and the contribution beeswarm render, with a feature named as
    markup: it reaches the axes as SVG text and runs nothing."""
    from .test_importance import HOSTILE, Cancer, hostile_importance_report

    out = hostile_importance_report(tmp_path, Cancer())
    seen = visit(out)
    assert_clean(seen, len(seen.charts))
    ids = {c["id"] for c in seen.charts}
    assert {"chart-importance-bars", "chart-importance-swarm"} <= ids
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(out.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.chart:not([data-rendered])').length === 0")
    for chart in ("#chart-importance-bars", "#chart-importance-swarm"):
        labels = page.locator(chart).evaluate(
            "e => Array.from(e.querySelectorAll('svg text')).map(t => t.textContent)"
        )
        assert any(label.startswith("</script><script>") for label in labels), (chart, labels)
        assert page.locator(f"{chart} svg script, {chart} svg img").count() == 0
    assert HOSTILE[:20] not in out.read_text()
    page.close()


def test_robustness_panels_render_with_hostile_names_as_text(
    tmp_path: Path, visit: Callable[[Path], PageVisit]
) -> None:
    from reportgen.demo.why_robust import robustness_frames

    from .test_robustness import HOSTILE, NAME

    runs = []
    for name, frame in robustness_frames().items():
        path = tmp_path / f"{name}.csv"
        frame.assign(
            perturbation=frame["perturbation"].where(
                frame["perturbation"] == "none", frame["perturbation"] + HOSTILE
            )
        ).to_csv(path, index=False)
        runs.append(f"{NAME if name == 'digits-knn' else name}={path}")
    out = tmp_path / "robust.html"
    report = build_report(runs, title=HOSTILE, timestamp=False)
    report.save(out)
    seen = visit(out)
    assert_clean(seen, sum(len(s.figures) for s in report.sections))
    panels = {c["id"]: c["marks"] for c in seen.charts}
    assert panels["chart-robustness-severity"] > 2 * 2 * 4  # 2 panels x 2 models x 4 points


def test_attention_maps_render_switch_layers_and_keep_tokens_as_text(
    tmp_path: Path, browser: object, visit: Callable[[Path], PageVisit]
) -> None:
    from reportgen.demo import why_attention

    # hostile tokens and id: every chart drawn, nothing run
    seen = visit(hostile_attention_report(tmp_path / "hostile"))
    assert_clean(seen, len(seen.charts))
    assert "chart-attention-1" in {c["id"] for c in seen.charts}
    # the demo part: 12 examples, two models side by side, every chart drawn
    runs, options = why_attention.write_files(tmp_path / "demo")
    demo = tmp_path / "demo.html"
    build_report(runs, bootstrap=0, **options).save(demo)  # type: ignore[arg-type]
    seen = visit(demo)
    assert_clean(seen, len(seen.charts))
    drawn = {c["id"]: c["marks"] for c in seen.charts}
    assert all(f"chart-attention-{i}" in drawn for i in range(1, 13))
    # 200 tokens cut to 109 (the figure's bytes), one matrix in the page: other choices say
    # they were left out
    ids = ["e1"]
    pd.DataFrame({"id": ["e1", "e2"], "label": [0, 1], "prediction": [0, 1]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    write_maps(tmp_path / "big", ids, 200, 2, 3, seed=0)
    big = tmp_path / "big.html"
    build_report([f"m={tmp_path / 'm.csv'}"], attention=[f"m={tmp_path / 'big'}"]).save(big)
    context = browser.new_context()  # type: ignore[attr-defined]
    offline(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(big.resolve().as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart:not([data-rendered])').length === 0", timeout=30_000
    )
    cells = "document.querySelectorAll('#chart-attention-1 svg path').length"
    assert page.evaluate(cells) > 109 * 109  # every cell of the default view drawn
    selects = page.query_selector_all("#chart-attention-1 select")
    assert len(selects) == 2
    selects[1].select_option(label="head 2")
    page.wait_for_function(
        "document.querySelector('#chart-attention-1 svg').textContent"
        ".includes('left out to keep the page small')",
        timeout=10_000,
    )
    assert page.evaluate(cells) < 1000  # the matrix is not in the page
    selects[1].select_option(label="mean of heads")
    page.wait_for_function(f"{cells} > 109 * 109", timeout=10_000)
    assert errors == []
    context.close()


def test_history_page_renders_every_chart_fits_a_phone_and_hostile_labels_stay_text(
    tmp_path: Path, browser: object, visit: Callable[[Path], PageVisit]
) -> None:
    """reportgen history (issue 20): every trend chart drawn, nothing loaded, a label made
    to close the script element stays text, and the page fits 400 px."""
    from reportgen.history import history_report
    from tests.trend_data import drifting_builds, write_builds

    builds = drifting_builds(12)
    hostile = "</script><script>window.__pwned=1</script>"
    builds[3]["labels"] = {"commit": hostile, "note": "[x](https://evil.example)"}
    builds[3]["title"] = hostile
    out = tmp_path / "history.html"
    report = history_report(write_builds(tmp_path / "s", builds), timestamp=False)
    report.save(out)
    assert_clean(visit(out), 4)
    context = browser.new_context(viewport={"width": 400, "height": 800})  # type: ignore[attr-defined]
    offline(context)
    page = context.new_page()
    page.goto(out.resolve().as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart:not([data-rendered])').length === 0", timeout=30_000
    )
    found = page.evaluate(LAYOUT)
    assert found["page"] <= 400 and found["outside"] == [], found
    context.close()


def test_the_notebook_preview_draws_every_chart_with_nothing_from_the_network(
    tmp_path: Path, browser: object, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    """``_repr_html_`` as a notebook shows it: inside a page of its own, in an iframe. Every
    chart of the preview is drawn (static SVG), and nothing is asked of the network."""
    from reportgen import Run

    runs = {
        p.name: Run.from_arrays(p.name, p.y_true, p.y_pred, p.proba[:, 1])
        for p in (cancer_logistic, cancer_tree)
    }
    report = build_report(runs, bootstrap=0)
    expected = sum(len(s.figures) for s in report.preview().sections)
    assert expected >= 2
    wrapper = tmp_path / "notebook.html"
    wrapper.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Notebook</title></head>"
        f"<body><h1>In [1]: report</h1><div class='output'>{report._repr_html_()}</div>"
        "</body></html>",
        encoding="utf-8",
    )
    context, page, seen = watched(browser)
    page.goto(wrapper.resolve().as_uri(), wait_until="load")
    inner = next(f for f in page.frames if f is not page.main_frame)
    inner.wait_for_load_state("load")
    boxes = inner.eval_on_selector_all(
        ".static-chart svg",
        "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return [r.width, r.height, e.querySelectorAll('path, rect, line, text').length]; })",
    )
    assert len(boxes) == expected
    assert all(w > 100 and h > 50 and marks > 10 for w, h, marks in boxes), boxes
    assert "Leaderboard" in inner.inner_text("body")
    assert seen.blocked == [] and seen.console == []
    context.close()


def test_the_six_example_toy_report_renders_every_chart(
    tmp_path: Path, visit: Callable[[Path], PageVisit]
) -> None:
    """Seed-style toy arrays (six examples) give a whole, readable page."""
    from reportgen import Run

    run = Run.from_arrays("toy", [0, 1, 1, 0, 1, 0], [0, 0, 1, 0, 1, 1])
    other = Run.from_arrays("other", [0, 1, 1, 0, 1, 0], [0, 1, 1, 0, 1, 1])
    report = build_report([run, other])
    out = report.save(tmp_path / "toy.html")
    seen = visit(out)
    assert_clean(seen, sum(len(s.figures) for s in report.sections))
    compared = report.summary()["comparisons"]
    assert compared and all(c["ci"] is None and c["ci_adjusted"] is None for c in compared)


FITS = """sel => Array.from(document.querySelectorAll(sel)).map(card => ({
  id: card.id,
  scrolling: Array.from(card.querySelectorAll('.table-scroll'))
    .filter(s => s.offsetParent && s.scrollWidth > s.clientWidth + 1)
    .map(s => s.querySelector('th').textContent),
  tall: Array.from(card.querySelectorAll('thead th'))
    .filter(th => th.offsetParent && th.getBoundingClientRect().height >
                  3.5 * parseFloat(getComputedStyle(th).lineHeight))
    .map(th => th.textContent),
  bars: Array.from(card.querySelectorAll('#chart-importance-bars'))
    .map(c => [c.querySelector('svg.marks').getBoundingClientRect().width, c.clientWidth]),
}))"""


@pytest.mark.parametrize("width", [400, 1400])
def test_importance_tables_and_bars_fit_their_cards(
    browser: object, demo_pages: dict[str, Path], width: int
) -> None:
    """The demo's feature importance at phone and desktop width: no table of its sections is
    wider than its card (none scrolls sideways), no heading breaks letter by letter (a
    phone shows the rank-agreement and additivity tables turned), and the importance bars
    narrow to the card."""
    page = _open(browser, demo_pages["why-report"], width)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    found = page.evaluate(FITS, "#importance, #importance-leaderboard")  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert len(found) == 2, found
    assert all(card["scrolling"] == [] and card["tall"] == [] for card in found), found
    [bars] = [b for card in found for b in card["bars"]]
    assert 0 < bars[0] <= bars[1] + 1, (width, bars)
