"""The house rules of docs/architecture.md, checked on the source: imports never go up the
pipeline, there are no import cycles, modules stay small and say what they are for, and every
kind is registered and implements the interface."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import ClassVar

import pytest

from reportgen import metrics
from reportgen.kinds import KINDS
from reportgen.kinds.base import Kind

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"
MAX_LINES = 600

# stage -> the stages it may import (besides itself and the base modules)
BASE = {"errors", "formatting", "metrics", "model", "parallel", "profiling"}
ALLOWED = {
    "ingest": set(),
    "stats": {"ingest"},
    "kinds": {"ingest", "stats"},
    "engines": {"ingest", "stats", "kinds"},
    "charts": set(),
    "render": {"charts"},
    "top": {"ingest", "stats", "kinds", "engines", "charts", "render", "top", "demo"},
    "demo": {"ingest", "stats", "kinds", "engines", "charts", "render", "top"},
}
TOP = {"cli", "config", "gates", "pipeline", "report", "terminal", "write", "__init__", "__main__"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    head = parts[1]
    if head in BASE:
        return "base"
    if head in TOP:
        return "top"
    return head


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports, at module level or inside functions;
    imports for annotations only (``if TYPE_CHECKING:``) are not dependencies."""
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reportgen"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("reportgen")}
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def test_imports_never_go_up_the_pipeline() -> None:
    wrong = []
    for module, imported in graph().items():
        mine = stage(module)
        allowed = set() if mine == "base" else ALLOWED[mine] | {mine}
        for other in imported:
            theirs = stage(other)
            if theirs != "base" and theirs not in allowed and other != "reportgen":
                wrong.append(f"{module} ({mine}) imports {other} ({theirs})")
    assert wrong == []


def test_there_are_no_import_cycles() -> None:
    edges = graph()
    # a package's __init__ importing its own modules is not a cycle of the house
    for name in edges:
        edges[name] = {m for m in edges[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_modules_are_small_and_say_what_they_are_for() -> None:
    big, silent = [], []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_LINES:
            big.append(f"{name}: {text.count(chr(10))} lines")
        if not ast.get_docstring(ast.parse(text)):
            silent.append(name)
    assert big == [] and silent == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_implements_the_interface(kind: Kind) -> None:
    assert isinstance(kind, Kind)
    assert kind.name and kind.title and kind.board
    assert type(kind).evaluate is not Kind.evaluate
    names = [k.name for k in KINDS]
    assert names.count(kind.name) == 1


# every getattr/hasattr in the package, by module and the object it probes: none is a run
PROBES = {
    ("reportgen", "importlib.import_module(_WHERE[name])"),
    ("reportgen.config", "param"),
    ("reportgen.config", "exc"),
    ("reportgen.config", "value"),
    ("reportgen.demo.classic", "model"),
    ("reportgen.engines.slicing", "value"),
    ("reportgen.kinds.classification.views", "curve"),
    ("reportgen.kinds.lmeval_results.table", "s"),
    ("reportgen.render.html", "vl_convert"),
    ("reportgen.terminal", "param"),
}


def test_runs_are_never_probed_with_getattr_or_hasattr() -> None:
    """What a run has is declared by :class:`reportgen.ingest.base.RunBase`; code reads its
    fields. Any other getattr/hasattr must be listed in PROBES, so a new probe of a run shows
    up here."""
    found = set()
    for name, path in modules().items():
        if name.startswith("reportgen.charts") or name == "reportgen.ingest.base":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
            ):
                found.add((name, ast.unparse(node.args[0])))
    assert found - PROBES == set()


def test_direction_is_decided_in_one_place() -> None:
    """No module but the registry keeps a list of lower-is-better metrics."""
    offenders = []
    for name, path in modules().items():
        if name == "reportgen.metrics":
            continue
        text = path.read_text()
        if "LOWER_IS_BETTER" in text or "_lower_is_better" in text:
            offenders.append(name)
    assert offenders == []
    assert metrics.lower_is_better("bits_per_byte") and metrics.higher_is_better("acc")


def test_adding_a_kind_is_one_module_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worked example of docs/architecture.md, registered with one line: its file is
    claimed, evaluated, drawn, summarised and gated, with nothing else changed."""
    from dataclasses import dataclass

    import numpy as np

    from reportgen import build_report, kinds
    from reportgen.ingest.base import RunBase
    from reportgen.kinds.base import KindResult
    from reportgen.kinds.cells import model_cell
    from reportgen.model import Cell, Section, Table
    from reportgen.stats.score import Score

    @dataclass(kw_only=True)
    class LatencyRun(RunBase):
        latency: np.ndarray
        kind: ClassVar[str] = "latency"

    class LatencyKind(Kind):
        name, title, board = "latency", "Latency", "latency"
        run_types = (LatencyRun,)
        detect_rank = 5

        def claims(self, source):  # type: ignore[no-untyped-def]
            return "latency_ms" in source.frame and "label" not in source.frame

        def load(self, source):  # type: ignore[no-untyped-def]
            latency = source.frame["latency_ms"].to_numpy()
            return LatencyRun(name=source.name, path=source.path, latency=latency)

        def evaluate(self, runs, ctx):  # type: ignore[no-untyped-def]
            if not runs:
                return None
            names = [r.name for r in runs]
            result = KindResult(self.name, ctx.baseline_among(names), names)
            result.p50 = {r.name: float(np.median(r.latency)) for r in runs}  # type: ignore[attr-defined]
            return result

        def sections(self, result, ctx):  # type: ignore[no-untyped-def]
            rows = [
                [model_cell(m, ctx.colours), Cell(f"{v:,.1f}", css="num")]
                for m, v in result.p50.items()
            ]
            return [Section("latency", "Latency", tables=[Table(["Model", "p50 (ms)"], rows)])]

        def scores(self, result):  # type: ignore[no-untyped-def]
            return [
                Score(m, self.name, "latency_p50_ms", v, result.baseline)
                for m, v in result.p50.items()
            ]

    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, LatencyKind()))
    for name, values in (("a", [10, 20, 30]), ("b", [40, 50, 60])):
        (tmp_path / f"{name}.csv").write_text("latency_ms\n" + "\n".join(map(str, values)))
    report = build_report(
        [f"a={tmp_path / 'a.csv'}", f"b={tmp_path / 'b.csv'}"],
        timestamp=False,
        fail_if=["latency_p50_ms > 45"],
    )
    (section,) = [s for s in report.sections if s.id == "latency"]
    assert [[c.text for c in row] for row in section.tables[0].rows] == [
        ["a", "20.0"],
        ["b", "50.0"],
    ]
    assert [g.passed for g in report.gates] == [False]  # b's p50 is 50: the gate fails
    assert 'id="latency"' in report.to_html()
