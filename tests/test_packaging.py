"""The wheel carries the templates and works from a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_wheel_installs_and_runs_the_demo_outside_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    wheel = next(dist.glob("reportgen_ml-*.whl"))  # the distribution is reportgen-ml
    names = zipfile.ZipFile(wheel).namelist()
    assert "reportgen/templates/report.html.j2" in names
    assert "reportgen/templates/render.js" in names
    assert "reportgen/py.typed" in names  # type hints ship (PEP 561)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        cwd=tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(env_dir / "bin" / "reportgen", "demo", "-o", "out", "--quiet", cwd=elsewhere)
    assert "report.html" in result.stdout
    page = (elsewhere / "out" / "report.html").read_text()
    assert page.count("<script>") == 2 and "Leaderboard" in page
    llm = (elsewhere / "out" / "llm" / "llm-report.html").read_text()  # lm-eval files written
    assert "mmlu" in llm and "leaderboard_bbh" in llm and "Perplexity" in llm
    assert not list((env_dir / "lib").rglob("examples/lm-eval"))  # no third-party files ship
    # the installed package, not this checkout, did the work
    where = run(
        python, "-c", "import reportgen.render.html as r; print(r.templates_dir())", cwd=elsewhere
    ).stdout
    assert str(env_dir) in where
