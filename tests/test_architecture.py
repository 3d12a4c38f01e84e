"""The house rules of docs/architecture.md, checked on the source: imports never go up the
pipeline, there are no import cycles, modules stay small and say what they are for, and every
kind is registered and implements the interface."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from reportgen import metrics
from reportgen.kinds import KINDS
from reportgen.kinds.base import Kind
from reportgen.model import Cell

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"
TEMPLATES = PACKAGE.parent / "templates"
MAX_LINES = 600

# stage -> the stages it may import (besides itself and the base modules)
BASE = {"errors", "formatting", "metrics", "model", "options", "parallel", "profiling"}
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
TOP = {
    "cli",
    "config",
    "diff",
    "gates",
    "history",
    "pipeline",
    "report",
    "summaries",
    "terminal",
    "trend",
    "write",
    "__init__",
    "__main__",
}


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
    ("reportgen.ingest.memory", "table"),  # a DataFrame or Arrow table in memory, not a run
    ("reportgen.kinds.classification.views", "curve"),
    ("reportgen.kinds.base", "ctx.options"),  # a view's file option (Kind.file_arguments)
    ("reportgen.kinds.lmeval_results.table", "s"),
    ("reportgen.pipeline", "o"),  # the options a view takes its files from (Kind.options)
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


def test_the_pipeline_and_the_report_name_no_kind() -> None:
    """The pipeline and the Report loop over KINDS: no kind's name as a string and no import of
    one kind's module, so that adding a kind never touches them."""
    names = {k.name for k in KINDS}
    for module in ("pipeline", "report"):
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        assert names & strings == set(), module
        imported = imports_of(PACKAGE / f"{module}.py", set(modules()))
        kinds = {m for m in imported if m.startswith("reportgen.kinds.")}
        assert kinds <= {"reportgen.kinds.base", "reportgen.kinds.board"}, module


def test_views_declare_what_they_read_and_kinds_order_only_the_page() -> None:
    """A kind that owns no runs reads other kinds' results, and says which; a kind that reads
    nothing gets nothing (the order of KINDS carries no data)."""
    names = {k.name for k in KINDS}
    for kind in KINDS:
        assert set(kind.reads) <= names | {"*"}, kind.name
        assert kind.name not in kind.reads
    assert {k.name for k in KINDS if k.reads} == {
        "embeddings",
        "efficiency",
        "token attributions",
        "boundary",
        "importance",
        "attention",
    }


def test_only_render_turns_a_cell_into_css() -> None:
    """A cell says what it is (role, best, tone, delta, undefined, warning); only
    ``reportgen.render`` makes CSS classes of that. No module outside it writes or reads a
    class string on a cell, and templates use the ``cell_class``/``sub_class`` filters."""
    assert not {f.name for f in dataclasses.fields(Cell)} & {"css", "sub_css", "classes"}
    offenders = []
    for name, path in modules().items():
        if name.startswith("reportgen.render"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("css", "sub_css"):
                offenders.append((name, node.lineno, ast.unparse(node)))
            if isinstance(node, ast.Call):
                offenders += [
                    (name, node.lineno, f"{k.arg}=")
                    for k in node.keywords
                    if k.arg in ("css", "sub_css")
                ]
    for path in sorted(TEMPLATES.glob("*.j2")):
        for found in re.finditer(r"\.(sub_)?css\b", path.read_text()):
            offenders.append((path.name, found.start(), found.group()))
    assert offenders == []
