"""The README and docs/ stay true: the site builds strictly, every link and anchor resolves,
every option is documented, and the README's quick starts run as written (each fenced block
after a ``<!-- test: NAME -->`` line is run in an empty folder)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reportgen.options import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^(```|~~~)")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where links are not links."""
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lower-cased, punctuation (but - and _)
    dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeats numbered -1, -2 as GitHub does."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    fenced = False
    for line in path.read_text().splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading and not fenced:
            slug = github_slug(heading.group(1))
            found.add(slug if slug not in counts else f"{slug}-{counts[slug]}")
            counts[slug] = counts.get(slug, 0) + 1
    return found


def relative_links(path: Path) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose(path.read_text()))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def quick_starts() -> dict[str, tuple[str, str]]:
    """The README's tested blocks by name: (language, code)."""
    blocks = re.findall(
        r"^<!-- test: (\w+) -->\n```(\w+)\n(.*?)^```$", README.read_text(), re.S | re.M
    )
    return {name: (language, code) for name, language, code in blocks}


def test_github_slug_follows_github() -> None:
    assert github_slug("Publishing: CI gates, summaries, email, print") == (
        "publishing-ci-gates-summaries-email-print"
    )
    assert github_slug("The kind interface (`kinds/base.py`)") == "the-kind-interface-kindsbasepy"
    assert github_slug("Regression, multilabel and embeddings") == (
        "regression-multilabel-and-embeddings"
    )


def test_readme_keeps_its_two_commands_first() -> None:
    """CI and newcomers run the first block as it is: the demo, then the tests."""
    first = re.search(r"```bash\n(.*?)```", README.read_text(), re.S)
    assert first is not None
    assert first.group(1).splitlines() == [
        "pip install -e . && reportgen demo",
        "apt-get update && apt-get install -y chromium openjdk-17-jre-headless && "
        'pip install -e ".[test]" && python3 -m pytest',
    ]


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    """Every relative link of the README and the docs pages names an existing file, and an
    anchor names a heading of the Markdown file it points into (as GitHub renders it)."""
    broken = []
    for link in relative_links(path):
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{link}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{link}: no heading with anchor #{anchor} in {file.name}")
    assert not broken, f"{path.name}: " + "; ".join(broken)


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in relative_links(README)}
    assert not [p.name for p in PAGES if p.resolve() not in linked]


def test_every_option_is_documented() -> None:
    """Each option of reportgen build is named in the README or a docs page (as --name, or
    --no-name for flags on by default)."""
    text = README.read_text() + "".join(page.read_text() for page in PAGES)
    missing = [
        o.long
        for o in OPTIONS
        if not re.search(re.escape(o.long) + r"(?![\w-])", text)
        and not (o.negatable and f"--no-{o.long[2:]}" in text)
    ]
    assert not missing


def nav_pages(nav: list) -> list[str]:
    found = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        found.extend(nav_pages(value) if isinstance(value, list) else [value])
    return found


def test_mkdocs_nav_lists_every_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    assert sorted(listed) == sorted(p.name for p in PAGES)
    assert config["theme"]["name"] == "material" and config["strict"] is True


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    """The site builds with --strict (a broken link, a missing anchor or a page left out of
    nav is an error), and every page is in it."""
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (it is in the test extra)")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    for page in PAGES:
        built = site / "index.html" if page.stem == "index" else site / page.stem / "index.html"
        assert built.stat().st_size > 0, page.name
    assert (site / "report.png").exists()
    assert "reportgen turns evaluation runs" in (site / "index.html").read_text()


def quick_start_env(tmp_path: Path) -> dict[str, str]:
    """This checkout's reportgen first on the path, and a reportgen command on PATH."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("GITHUB_STEP_SUMMARY", None)  # --markdown - prints rather than appends
    env.pop("SOURCE_DATE_EPOCH", None)
    if shutil.which("reportgen") is None:
        shim = tmp_path / "bin" / "reportgen"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reportgen.cli "$@"\n')
        shim.chmod(0o755)
        env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    return env


def run_quick_start(
    command: list[str], cwd: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """A quick start run as a user would, in ``cwd``; it must succeed."""
    done = subprocess.run(
        command,
        cwd=cwd,
        env=quick_start_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_readme_marks_three_quick_starts() -> None:
    blocks = quick_starts()
    assert {name: language for name, (language, _) in blocks.items()} == {
        "cli": "bash",
        "python": "python",
        "ci": "yaml",
    }


@pytest.mark.slow
def test_cli_quick_start_runs(tmp_path: Path) -> None:
    """The shell quick start, run by bash in an empty folder: the demo's run files, then a
    report, a JSON summary and the Markdown verdict on standard output."""
    _, code = quick_starts()["cli"]
    work = tmp_path / "work"
    work.mkdir()
    done = run_quick_start(["bash", "-euo", "pipefail", "-c", code], work, tmp_path)
    assert (work / "demo" / "cancer-logistic.csv").exists()
    assert (work / "report.html").stat().st_size > 100_000
    summary = json.loads((work / "summary.json").read_text())
    assert summary["gates"]["passed"] is True
    assert [g["gate"] for g in summary["gates"]["results"]] == ["regression(f1)"]
    assert summary["verdict"].replace("_", r"\_") in done.stdout  # Markdown escapes _
    assert "Gates: ✅ all passed" in done.stdout
    assert "Wrote report.html" in done.stderr


def test_python_quick_start_runs(tmp_path: Path) -> None:
    """The Python quick start, run by python3 in an empty folder: two run files, the page,
    the JSON summary, the verdict printed first and one comparison row per metric."""
    _, code = quick_starts()["python"]
    (tmp_path / "quickstart.py").write_text(code)
    done = run_quick_start([sys.executable, "quickstart.py"], tmp_path, tmp_path)
    for name in ("baseline.csv", "candidate.csv", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert "<script" in (tmp_path / "report.html").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["gates"]["passed"] is True
    assert [r["name"] for r in summary["runs"]] == ["baseline", "candidate"]
    lines = done.stdout.splitlines()
    assert lines[0] == summary["verdict"]
    compared = {c["metric"] for c in summary["comparisons"]}
    assert {"accuracy", "f1", "roc_auc"} <= compared
    assert all(any(f" {m} " in line for line in lines) for m in compared)


def test_ci_quick_start_is_the_tested_example() -> None:
    """The README shows examples/ci/github-actions.yml as it is, and that file's build step is
    the one tests/test_publish.py runs in a folder holding only run files."""
    from .test_publish import _ci_commands

    _, shown = quick_starts()["ci"]
    example = ROOT / "examples" / "ci" / "github-actions.yml"
    assert shown == example.read_text()
    workflow = yaml.safe_load(shown)
    runs = [step.get("run", "") for step in workflow["jobs"]["report"]["steps"]]
    assert "set -e\n" + next(r for r in runs if "reportgen build" in r) == _ci_commands()["github"]
    assert "examples/" not in "".join(runs)  # nothing that exists only in this repository


def test_the_limits_table_states_the_limits_the_code_enforces() -> None:
    from reportgen.ingest.files import GZIP_LIMIT
    from reportgen.ingest.runs import MAX_CLASSES
    from reportgen.kinds.base import MAX_DRAWN
    from reportgen.pipeline import MAX_MODELS, MAX_RUNS

    text = (ROOT / "docs" / "inputs.md").read_text()
    assert f"| Models in one report | {MAX_MODELS:,} |" in text
    assert f"| Runs in one report | {MAX_RUNS:,} |" in text
    assert f"| Classes across the runs | {MAX_CLASSES:,} |" in text
    assert f"| {GZIP_LIMIT / 2**30:g} GiB |" in text
    assert f"With more than {MAX_DRAWN} models" in text
    assert f"the {MAX_DRAWN - 1} best others" in text
