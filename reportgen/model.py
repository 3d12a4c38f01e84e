"""The report model: plain data classes that every output format renders as they are.

Templates only lay these out; every number is already a formatted string here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

# Tableau 10 without its red (the page's colour for "worse"): colour-blind-safe, one colour
# per model in every chart and table; the baseline takes the first (see model_colours)
PALETTE = (
    "#4c78a8",
    "#f58518",
    "#72b7b2",
    "#54a24b",
    "#b279a2",
    "#9d755d",
    "#ff9da6",
    "#eeca3b",  # the light ones last: yellow on white is hard to read
    "#bab0ac",
)


def model_colours(
    names: Sequence[str], baseline: str | None = None, drawn: Sequence[str] | None = None
) -> dict[str, str]:
    """One colour per model: the baseline the first, the others in run order; the palette
    repeats past nine models. When charts draw only some models (``drawn``), those take the
    colours, in order, and every other model the last, grey one."""
    ordered = ([baseline] if baseline in names else []) + [n for n in names if n != baseline]
    if drawn is not None:
        chosen = set(drawn)
        palette = PALETTE[:-1]
        colour = dict.fromkeys(names, PALETTE[-1])
        colour |= {
            name: palette[i % len(palette)]
            for i, name in enumerate(n for n in ordered if n in chosen)
        }
    else:
        colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(ordered)}
    return {name: colour[name] for name in names}  # in run order


@dataclass
class Chart:
    """A chart to draw: the name of a builder in :mod:`reportgen.charts` and its tidy data.

    Sections hold these; the charts stage turns each into a Vega-Lite spec
    (:func:`reportgen.charts.draw_all`), so nothing before it imports Altair."""

    builder: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def chart(builder: str, *args: Any, **kwargs: Any) -> Chart:
    return Chart(builder, args, kwargs)


# What a cell says, in words every output understands; only reportgen.render turns these
# into CSS classes, Markdown bold or email colours
Role = Literal["", "num", "mono", "text", "model", "task", "verdict"]
Tone = Literal["", "better", "worse", "tie", "untested"]
SubRole = Literal["", "delta", "tag"]
SubTone = Literal["", "better", "worse"]
ROLES: tuple[Role, ...] = get_args(Role)
TONES: tuple[Tone, ...] = get_args(Tone)
SUB_ROLES: tuple[SubRole, ...] = get_args(SubRole)
SUB_TONES: tuple[SubTone, ...] = get_args(SubTone)


@dataclass(frozen=True)
class Token:
    """One token of a token strip: its text and its attribution, as the raw value and as a
    weight in [-1, 1] (the value over the strip's largest absolute value; sign = direction)."""

    text: str
    value: float
    weight: float


@dataclass(frozen=True)
class ExampleRef:
    """One example of one model, as a cell of ``place`` shows it: ``"strip"`` (its token
    attributions) or ``"error"`` (its row in the error analysis)."""

    model: str
    id: str
    place: Literal["strip", "error"]


@dataclass
class Cell:
    """One table cell: its text and what it is, never how it looks."""

    text: str
    title: str | None = None  # hover text: the full value, an interval or a reason
    # what the content is: a number, an id or code ("mono"), free text, a model's name, a
    # task's name, a verdict; "" for plain text
    role: Role = ""
    best: bool = False  # the best value of its column
    # better/worse than the baseline (significantly); for role="verdict", the verdict itself
    tone: Tone = ""
    delta: bool = False  # the text is a difference from the baseline
    undefined: bool = False  # no value, or too small a sample to trust it
    warning: bool = False  # a value to doubt: runs disagree on it, or it is not finite
    swatch: str | None = None  # a model's colour, shown as a dot before the text
    sub: str | None = None  # a second, smaller line: a delta, a tag
    sub_role: SubRole = ""  # what the second line is
    sub_tone: SubTone = ""  # a significant delta: better or worse than the baseline
    tokens: tuple[Token, ...] = ()  # a token strip after the text: tokens by attribution
    # the example of a model the cell stands for (a token strip, a row of the error analysis):
    # cells of the same example in two places link to each other (:func:`link_examples`)
    example: ExampleRef | None = None
    anchor: str = ""  # the cell's id on the page, when another cell links to it
    link: str = ""  # the anchor the cell's text links to ("": none)

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("role", self.role, ROLES),
            ("tone", self.tone, TONES),
            ("sub_role", self.sub_role, SUB_ROLES),
            ("sub_tone", self.sub_tone, SUB_TONES),
        ):
            if value not in allowed:
                raise ValueError(f"Cell {name} {value!r} is not one of {allowed}")


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    title: str = "Table"  # what a collapsed table is called
    caption: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns
    collapsed: bool = False  # shown behind a summary line (always so beside a chart...)
    lead: bool = False  # ...unless it leads its section: shown open, above the charts
    # the same table turned (a leaderboard with a row per metric), and where to show it
    # instead of this one: "always" (too wide to read across) or "narrow" (phones, print,
    # email); the JSON and the API keep this layout, a row per model
    turned: Table | None = None
    turn: str = ""
    # example tables of a candidate: which rows differ from the baseline (named), so that a
    # reader can narrow the table to them ("only changed vs baseline")
    changed: list[bool] | None = None
    changed_vs: str = ""

    def shown(self, narrow: bool = False) -> Table:
        """The layout to show on a wide page (a desktop) or a narrow one (phone, print,
        email, plain text)."""
        if self.turned is not None and (narrow or self.turn == "always"):
            return self.turned
        return self


@dataclass
class Figure:
    id: str
    title: str
    spec: dict[str, Any] | Chart  # a Chart until the charts stage draws it as Vega-Lite
    lead: str = ""  # how to read it, one sentence
    table: Table | None = None  # the numbers behind the chart
    note: str = ""
    raster: bool = False  # dense point clouds: the no-JavaScript fallback is a JPEG, not SVG
    # a lighter JPEG suffices (a heatmap whose cells are shown to the reader by its colours)
    raster_quality: int | None = None
    still: dict[str, Any] | Chart | None = None  # a lighter chart for that fallback (None: spec)


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


# where a cell of each place links to, and what its link says when hovered
LINKED = {"strip": "error", "error": "strip"}
LINK_TITLES = {
    "error": "this example in the error analysis",
    "strip": "this example's token attributions",
}
ANCHOR_CHARS = 60  # an anchor longer than this is a hash of the example's model and id


def anchor_part(text: str) -> str:
    """``text`` as letters and digits only, every other byte of its UTF-8 as ``_xx``: an id
    and a URL fragment any browser reads as it is (a quote, a space, ``</script>`` or a
    right-to-left mark become hex), and different texts never give the same part."""
    return "".join(
        ch if ch.isascii() and ch.isalnum() else "".join(f"_{b:02x}" for b in ch.encode())
        for ch in text
    )


def example_anchor(ref: ExampleRef) -> str:
    """The page id of ``ref``'s cell: unique per place, model and example."""
    body = f"{anchor_part(ref.model)}-{anchor_part(ref.id)}"
    if len(body) > ANCHOR_CHARS:
        body = "h" + hashlib.sha256(body.encode("ascii")).hexdigest()[:24]
    return f"ex-{ref.place}-{body}"


def link_examples(sections: Sequence[Section]) -> None:
    """Link each cell that stands for an example of a model (:attr:`Cell.example`) to the
    first cell of the other place (:data:`LINKED`) that shows the same example of the same
    model, both ways: a token strip to the example's row in the error analysis and back. An
    example that only one place shows gets no link (never a link to nothing)."""
    first: dict[tuple[str, str, str], Cell] = {}
    cells = []
    for section in sections:
        tables = [*section.tables, *(f.table for f in section.figures if f.table is not None)]
        for table in tables:
            for row in table.rows:
                for cell in row:
                    ref = cell.example
                    if ref is not None:
                        first.setdefault((ref.place, ref.model, ref.id), cell)
                        cells.append(cell)
    for cell in cells:
        ref = cell.example
        assert ref is not None
        other = LINKED[ref.place]
        target = first.get((other, ref.model, ref.id))
        if target is None:
            continue
        target.anchor = example_anchor(ExampleRef(ref.model, ref.id, other))
        cell.link = target.anchor
        cell.title = cell.title or LINK_TITLES[other]
