"""A cell's meaning (:class:`reportgen.model.Cell`: role, best, tone, delta...) as the CSS
classes of the page. The Markdown summary (:func:`reportgen.render.publish.markdown_cell`)
and the email template read the same fields for bold and colours; nothing outside
``reportgen.render`` and the templates turns a cell into presentation."""

from __future__ import annotations

from reportgen.model import Cell


def cell_class(cell: Cell) -> str:
    """The cell's CSS classes: its role, then delta, best, tone, missing, warn ("" for none)."""
    words = [
        cell.role,
        "delta" if cell.delta else "",
        "best" if cell.best else "",
        cell.tone,
        "missing" if cell.undefined else "",
        "warn" if cell.warning else "",
    ]
    return " ".join(w for w in words if w)


def sub_class(cell: Cell) -> str:
    """The CSS classes of the cell's second line, besides "sub": "delta better", "tag"..."""
    return " ".join(w for w in (cell.sub_role, cell.sub_tone) if w)
