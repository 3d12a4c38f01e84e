"""The HTML page: self-contained, escaped, deterministic, bounded in size; the JSON summary."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen import build_report, load_run
from reportgen.render.html import javascript_bundle

from .conftest import Predictions

HOSTILE = "</script><script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def hostile_report(tmp_path: Path, predictions: Predictions, format: str = "html") -> Path:
    """A report whose run names, file name, class names, title, metadata, slice column and
    values, and example texts are all hostile; two runs, so comparisons are drawn too
    (``format="static"``: the edition whose charts are inline SVG)."""
    frame = predictions.frame()
    names = {0: f"{HOSTILE} zero", 1: "one'\"&"}
    frame["label"] = frame["label"].map(names)
    frame["prediction"] = frame["prediction"].map(names)
    frame[f"{HOSTILE} slice"] = np.where(frame["id"] % 2 == 0, HOSTILE, "<b>b</b>")
    frame["text"] = HOSTILE
    path = tmp_path / "<img src=x onerror=window.__pwned=3>.csv"
    frame.to_csv(path, index=False)
    path.with_name(path.name + ".meta.json").write_text(json.dumps({HOSTILE: HOSTILE}))
    other = frame.assign(score=1 - frame["score"])
    other_path = tmp_path / "other.csv"
    other.to_csv(other_path, index=False)
    runs = [load_run(path, name=HOSTILE), load_run(other_path, name=f"{HOSTILE}2")]
    out = tmp_path / f"hostile-{format}.html"
    build_report(
        runs, title=HOSTILE, positive_label="one'\"&", slices=[f"{HOSTILE} slice"], bootstrap=100
    ).save(out, format=format)
    return out


def test_hostile_text_is_escaped_everywhere(tmp_path: Path, cancer_logistic: Predictions) -> None:
    page = hostile_report(tmp_path, cancer_logistic).read_text()
    page = page.replace(javascript_bundle(), "")
    assert "window.__pwned" in page  # the text is there, as text
    assert "<img" not in page
    script_tags = re.findall(r"<script[^>]*>", page)
    assert script_tags.count("<script>") == 2  # the bundle and the renderer
    assert all(tag == "<script>" or 'type="application/json"' in tag for tag in script_tags)
    # inside JSON blocks, < > & ' are unicode escapes, so no tag can be closed from data
    for block in re.findall(
        r'<script type="application/json"[^>]*>(.*?)</script>', page, flags=re.S
    ):
        assert "<" not in block and ">" not in block
        json.loads(block)


def test_page_is_self_contained(
    tmp_path: Path, cancer_logistic: Predictions, write_run: Callable[..., Path]
) -> None:
    out = tmp_path / "r.html"
    build_report([write_run(cancer_logistic.frame(), "a.csv")]).save(out)
    page = out.read_text()
    bundle = javascript_bundle()
    assert page.count(bundle) == 1  # inlined exactly once
    assert page.count("<script>") == 2
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert "unsafe-eval" not in policy and "http" not in policy
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'sha256-[^']+' 'sha256-[^']+';", policy)
    # no attribute anywhere points at the network
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.replace(bundle, ""))
    assert "$schema" not in page.replace(bundle, "")


def test_json_summary_has_the_documented_shape(
    tmp_path: Path, digits_forest: Predictions, write_run: Callable[..., Path]
) -> None:
    report = build_report([write_run(digits_forest.frame(), "forest.parquet")])
    summary = json.loads(report.to_json())
    run = summary["runs"][0]
    assert run["classes"] == [str(k) for k in range(10)]
    assert run["positive_label"] is None
    assert run["source"]["path"].endswith("forest.parquet")
    assert run["metrics"]["accuracy"] == pytest.approx(
        np.mean(digits_forest.y_true == digits_forest.y_pred)
    )
    assert [row["class"] for row in run["per_class"]] == run["classes"]
    assert run["confusion_matrix"]["matrix"][3][3] == int(
        np.sum((digits_forest.y_true == 3) & (digits_forest.y_pred == 3))
    )


def test_same_inputs_give_byte_identical_output(
    tmp_path: Path,
    cancer_logistic: Predictions,
    cancer_tree: Predictions,
    write_run: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runs = [write_run(cancer_logistic.frame(), "a.csv"), write_run(cancer_tree.frame(), "b.csv")]
    first, second = build_report(runs), build_report(runs)
    assert first.to_html() == second.to_html()
    assert first.to_json() == second.to_json()
    assert "2023-11-14 22:13 UTC" in first.to_html()
    assert build_report(runs, timestamp=False).generated_at is None


def synthetic_binary(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(0)  # the same examples for every model
    label = truth.random(n) < 0.3
    channel = truth.choice(np.array(["web", "app", "store"]), n)
    score = np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1)
    return pd.DataFrame(
        {"id": np.arange(n), "label": label.astype(int), "score": score, "channel": channel}
    )


def test_report_size_is_flat_from_10k_to_1m_rows(tmp_path: Path) -> None:
    sizes, static_sizes = [], []
    for n in (10_000, 100_000, 1_000_000):
        runs = []
        for seed in (1, 2):
            path = tmp_path / f"m{seed}-{n}.parquet"
            synthetic_binary(n, seed).to_parquet(path)
            runs.append(path)
        report = build_report(runs, timestamp=False, slices=["channel"], bootstrap=200)
        sizes.append(len(report.to_html().encode()))
        static_sizes.append(len(report.to_html(static=True).encode()))
    assert max(sizes) < 2_000_000, sizes
    assert max(sizes) - min(sizes) < 150_000, sizes  # curves are simplified, not per-row
    assert max(static_sizes) < 700_000 and max(static_sizes) - min(static_sizes) < 150_000


def test_notebook_display_is_a_light_isolated_preview(
    cancer_logistic: Predictions, cancer_tree: Predictions, write_run: Callable[..., Path]
) -> None:
    """Jupyter shows the verdict, the leaderboard and the key charts as static SVG, in an
    iframe (its own styles and CSP), with no script and well under 200 KB, whatever the size
    of the whole page; the hint says how to see the rest."""
    runs = [
        f"a={write_run(cancer_logistic.frame(), 'a.csv')}",
        f"b={write_run(cancer_tree.frame(), 'b.csv')}",
    ]
    report = build_report(runs, bootstrap=100, timestamp=False)
    shown = report._repr_html_()
    assert shown.startswith("<iframe srcdoc=")
    page = html.unescape(shown.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert page == report.preview().to_html(static=True)
    assert len(shown.encode()) < 200_000 < len(report.to_html().encode())
    assert "<script" not in page and report.verdict in page and 'id="leaderboard"' in page
    assert page.count("<svg") >= 2 and "report.show()" in page


def test_the_drawing_process_gives_the_bytes_this_process_gives(
    tmp_path: Path, cancer_logistic: Predictions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Static drawings made by the worker process (as the command line does) or here (the
    Python API) are the same bytes; a worker that cannot draw leaves it to this process."""
    from reportgen.render import fallbacks

    path = tmp_path / "m.csv"
    cancer_logistic.frame().to_csv(path, index=False)
    alone = build_report([path], bootstrap=50, timestamp=False).to_html()
    assert fallbacks.start() is not None
    try:
        report = build_report([path], bootstrap=50, timestamp=False)  # submits as it draws
        asked = len(fallbacks._WORKER._asked)  # type: ignore[union-attr]
        assert asked == len({id(f) for s in report.sections for f in s.figures}) > 3
        assert report.to_html() == alone
        drawn_here = []
        original = fallbacks.draw
        monkeypatch.setattr(
            fallbacks, "draw", lambda spec, fmt: drawn_here.append(1) or original(spec, fmt)
        )
        assert report.to_html() == alone and drawn_here == []  # every drawing came back
    finally:
        fallbacks.stop()
    broken = fallbacks.Worker()
    broken._process.kill()  # a worker that died: nothing is lost, only drawn here
    broken._process.wait()
    figure = next(f for s in report.sections for f in s.figures if not f.raster)
    broken.submit(figure.spec, "svg")
    assert broken.result(fallbacks.key_of(figure.spec, "svg")) is None
    broken.close()


def test_a_deltas_arrow_never_parts_from_its_number(
    tmp_path: Path, cancer_logistic: Predictions, cancer_tree: Predictions
) -> None:
    """In the page and the email, "▼ −0.004" is joined by a no-break space, so a narrow
    column breaks before "n.s."; the Markdown and plain text keep an ordinary space."""
    from reportgen.render.html import keep_arrow

    assert keep_arrow("▼ −0.004 n.s.") == "▼\u00a0−0.004 n.s."
    assert keep_arrow("▲ +0.1") == "▲\u00a0+0.1" and keep_arrow("= ±0") == "=\u00a0±0"
    paths = []
    for p in (cancer_logistic, cancer_tree):
        paths.append(tmp_path / f"{p.name}.csv")
        p.frame().to_csv(paths[-1], index=False)
    report = build_report(paths, bootstrap=100, timestamp=False)
    page = report.to_html()
    assert re.search("[▲▼]\u00a0[+−]", page) and not re.search("[▲▼] [+−]", page)
    markdown = report.to_markdown()
    assert re.search("[▲▼] [+−]", markdown) and "\u00a0" not in markdown


def test_the_cached_vega_bundle_is_used_only_when_it_is_the_pinned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script written into the cache, or a half-written copy, never reaches a page: the
    copy on disk must match the SHA-256 pinned for the installed vl-convert, else it is
    rebuilt; a bundle that does not match its pin is refused; an unpinned release is never
    read from disk."""
    import hashlib

    import vl_convert

    from reportgen.errors import ReportgenError
    from reportgen.render import html as page_html

    version = vl_convert.__version__
    assert version in page_html.BUNDLE_SHA256  # the installed release is pinned
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = tmp_path / "reportgen" / f"vega-bundle-{version}.js"
    real = vl_convert.javascript_bundle()
    assert hashlib.sha256(real.encode()).hexdigest() == page_html.BUNDLE_SHA256[version]
    for planted in ("window.__pwned = 1;", real[: len(real) // 2], real + "\nalert(1)"):
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(planted)
        page_html.javascript_bundle.cache_clear()
        assert page_html.javascript_bundle() == real
        assert cached.read_text() == real  # and the cache is mended
    # the good copy is used without building (a build that would fail is never called)
    page_html.javascript_bundle.cache_clear()
    monkeypatch.setattr(vl_convert, "javascript_bundle", lambda: "window.__pwned = 2;")
    assert page_html.javascript_bundle() == real
    # no good copy and a build that is not the pinned bundle: refused, one line
    cached.write_text("window.__pwned = 3;")
    page_html.javascript_bundle.cache_clear()
    with pytest.raises(ReportgenError, match="not the one reportgen pins"):
        page_html.javascript_bundle()
    # an unpinned release: built in this process, the disk never read
    monkeypatch.setattr(page_html, "BUNDLE_SHA256", {})
    page_html.javascript_bundle.cache_clear()
    assert page_html.javascript_bundle() == "window.__pwned = 2;"
    page_html.javascript_bundle.cache_clear()


def test_the_page_says_when_a_table_scrolls_sideways(
    tmp_path: Path, cancer_logistic: Predictions
) -> None:
    """Before: a wide table scrolled with nothing to show it. The page's script marks a box
    wider than its table's room (.more-left/.more-right: the edge with more beyond it fades)
    and adds a line that says so; print drops both (the browser test checks it at 400 px)."""
    path = tmp_path / "a.csv"
    cancer_logistic.frame().to_csv(path, index=False)
    out = tmp_path / "r.html"
    build_report([str(path)], bootstrap=0, timestamp=False).save(out)
    page = out.read_text()
    assert ".table-scroll.more-right { -webkit-mask-image: linear-gradient(" in page
    assert ".table-scroll.more-left.more-right {" in page
    assert 'box.classList.toggle("more-right", right);' in page
    assert "scroll sideways for more columns" in page
    assert "textContent" in page and "innerHTML" not in page.split("scroll-hint")[1][:800]
