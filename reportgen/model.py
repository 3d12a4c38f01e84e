"""The report model: plain data classes that every output format renders as they are.

Templates only lay these out; every number is already a formatted string here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cell:
    text: str
    title: str | None = None  # hover text: the full value, an interval or a reason
    css: str = ""  # e.g. "num best", "num missing"
    swatch: str | None = None  # a model's colour, shown as a dot before the text
    sub: str | None = None  # a second, smaller line: a delta, a tag
    sub_css: str = ""


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    title: str = "Table"  # what a collapsed table is called
    caption: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns
    collapsed: bool = False  # shown behind a summary line (always so beside a chart...)
    lead: bool = False  # ...unless it leads its section: shown open, above the charts


@dataclass
class Figure:
    id: str
    title: str
    spec: dict[str, Any]  # a Vega-Lite spec, rendered by vega-embed in the page
    lead: str = ""  # how to read it, one sentence
    table: Table | None = None  # the numbers behind the chart
    note: str = ""
    raster: bool = False  # dense point clouds: the no-JavaScript fallback is a PNG, not SVG


@dataclass
class Section:
    id: str
    title: str
    lead: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    collapsed: bool = False


@dataclass
class RunInfo:
    name: str
    colour: str
    path: str
    sha256: str
    n_examples: str
    task: str
    classes: str | None  # None for runs without classes (perplexity, generation, benchmarks)
    positive_label: str | None
    predictions_from: str | None
    columns: list[tuple[str, str]]
    metadata: list[tuple[str, str]]
    notes: list[str]
