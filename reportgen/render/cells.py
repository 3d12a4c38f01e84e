"""A cell's meaning (:class:`reportgen.model.Cell`: role, best, tone, delta...) as the CSS
classes of the page. The Markdown summary (:func:`reportgen.render.publish.markdown_cell`)
and the email template read the same fields for bold and colours; nothing outside
``reportgen.render`` and the templates turns a cell into presentation."""

from __future__ import annotations

import re
from dataclasses import replace

from markupsafe import Markup, escape

from reportgen.model import Cell, Table

# a sentence that asks for a mouse: no reader of paper or email can follow it
INTERACTIVE = re.compile(
    r"\s*\b(?:Hover|Click|Drag|Double-click|Use the slider|Move the slider)\b[^.]*\."
)


def cell_class(cell: Cell) -> str:
    """The cell's CSS classes: its role, then delta, best, tone, missing, warn, long ("" for
    none)."""
    words = [
        cell.role,
        "delta" if cell.delta else "",
        "best" if cell.best else "",
        cell.tone,
        "missing" if cell.undefined else "",
        "warn" if cell.warning else "",
        "long" if long_words(cell.text) else "",
    ]
    return " ".join(w for w in words if w)


LONG_WORD = 18  # characters: longer words may break anywhere on paper, shorter ones never


def long_words(text: str) -> bool:
    """Whether the text has a word (between spaces and hyphens) too long for a narrow
    column: on paper only such a word may break inside (a name of 60 letters would
    otherwise push the table off the page), never a number or a heading's word."""
    return any(len(word) > LONG_WORD for word in re.split(r"[\s\-]+", text))


def header_class(heading: str, numeric: bool) -> str:
    """A column heading's CSS classes: "num" over numbers, "long" for a long word."""
    return " ".join(
        w for w in ("num" if numeric else "", "long" if long_words(heading) else "") if w
    )


def sub_class(cell: Cell) -> str:
    """The CSS classes of the cell's second line, besides "sub": "delta better", "tag"..."""
    return " ".join(w for w in (cell.sub_role, cell.sub_tone) if w)


# a diverging scale for token strips: orange for a positive attribution, blue for a
# negative one (colour-blind safe), its opacity the weight's size; inline, so email keeps it
POSITIVE_RGB = "230,97,1"
NEGATIVE_RGB = "33,102,172"
EMAIL_STRIPS = 4  # examples of a token table the email shows


def token_colour(weight: float) -> str:
    """A token's background for a weight in [-1, 1]: transparent at 0, full colour at ±1."""
    if weight == 0:
        return "transparent"
    rgb = POSITIVE_RGB if weight > 0 else NEGATIVE_RGB
    return f"rgba({rgb},{min(abs(weight), 1.0):.2f})"


def token_strip(cell: Cell) -> Markup:
    """A cell's tokens as a strip of ``<mark>`` elements: each token's text escaped, its
    colour and hover value inline, so the strip needs no script and no style sheet."""
    marks = [
        Markup('<mark style="background:{}" title="{:+.3g}">{}</mark>').format(
            token_colour(t.weight), t.value, t.text
        )
        for t in cell.tokens
    ]
    return Markup('<span class="strip" style="display:block;line-height:1.9">{}</span>').format(
        Markup(" ").join(marks)
    )


def token_tables(tables: list[Table]) -> list[Table]:
    """The tables that hold token strips, each cut to the rows the email shows."""
    found = []
    for table in tables:
        if any(c.tokens for row in table.rows for c in row):
            found.append(replace(table, rows=table.rows[:EMAIL_STRIPS]))
    return found


def still(text: str) -> str:
    """A caption for a reader who cannot hover or click (an email, a printout): the
    sentences that ask for the mouse left out."""
    return INTERACTIVE.sub("", text).strip()


def hints(text: str) -> Markup:
    """The caption escaped, its sentences that ask for the mouse marked as hints (print
    leaves them out)."""
    out, end = [], 0
    for match in INTERACTIVE.finditer(text):
        out += [escape(text[end : match.start()]), Markup('<span class="hint">')]
        out += [escape(match.group()), Markup("</span>")]
        end = match.end()
    out.append(escape(text[end:]))
    return Markup("").join(out)
