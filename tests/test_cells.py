"""Semantic cells: the report model says what a cell is; reportgen.render alone turns that into
CSS classes (in a fixed order, the same strings the page has always had), Markdown bold and
email colours."""

from __future__ import annotations

import pytest

from reportgen.model import Cell, Table
from reportgen.render.cells import cell_class, sub_class
from reportgen.render.html import environment
from reportgen.render.publish import markdown_cell


@pytest.mark.parametrize(
    ("cell", "classes"),
    [
        (Cell("x"), ""),
        (Cell("a", role="model", swatch="#4c78a8"), "model"),
        (Cell("0.91", role="num", best=True, undefined=True), "num best missing"),
        (Cell("0.91", role="num", best=True, warning=True), "num best warn"),
        (Cell("▲ +0.01", role="num", delta=True, tone="better"), "num delta better"),
        (Cell("= +0", role="num", delta=True), "num delta"),
        (Cell("a.b", role="mono", tone="worse"), "mono worse"),
        (Cell("tie", role="verdict", tone="tie"), "verdict tie"),
        (Cell("—", role="num", undefined=True), "num missing"),
        (Cell("1", role="num", warning=True), "num warn"),
    ],
)
def test_a_cell_s_meaning_maps_to_its_classes(cell: Cell, classes: str) -> None:
    assert cell_class(cell) == classes


def test_the_second_line_s_classes() -> None:
    assert sub_class(Cell("1", sub="▲ +0.1", sub_role="delta", sub_tone="better")) == (
        "delta better"
    )
    assert sub_class(Cell("1", sub="▼ −0.1", sub_role="delta", sub_tone="worse")) == "delta worse"
    assert sub_class(Cell("1", sub="= 0 n.s.", sub_role="delta")) == "delta"
    assert sub_class(Cell("a", sub="baseline", sub_role="tag")) == "tag"
    assert sub_class(Cell("a", sub="note")) == ""


def test_a_typo_in_a_cell_s_meaning_fails() -> None:
    with pytest.raises(ValueError, match="role"):
        Cell("1", role="numeric")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tone"):
        Cell("1", tone="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sub_role"):
        Cell("1", sub_role="delta better")  # type: ignore[arg-type]


def test_markdown_bolds_the_best_value_and_significant_deltas() -> None:
    assert markdown_cell(Cell("0.9", role="num", best=True)) == "**0.9**"
    assert markdown_cell(Cell("0.9", role="num", tone="better")) == "0.9"
    better = Cell("0.9", role="num", sub="▲ +0.1", sub_role="delta", sub_tone="better")
    assert markdown_cell(better) == "0.9 <br>**▲ +0.1**"
    tie = Cell("0.9", role="num", sub="= 0 n.s.", sub_role="delta")
    assert markdown_cell(tie) == "0.9 <br>= 0 n.s."
    assert markdown_cell(Cell("a", role="model", sub="baseline", sub_role="tag")) == "a (baseline)"


def test_the_page_s_table_cell_markup() -> None:
    macros = environment().get_template("_macros.html.j2").module
    table = macros.grid  # type: ignore[attr-defined]

    page = str(
        table(
            Table(
                ["Model", "F1"],
                [
                    [
                        Cell("a", role="model", sub="baseline", sub_role="tag"),
                        Cell(
                            "0.9",
                            role="num",
                            best=True,
                            sub="▲ +0.1",
                            sub_role="delta",
                            sub_tone="better",
                        ),
                    ],
                    [Cell("b"), Cell("0.8")],
                ],
            )
        )
    )
    assert '<th scope="row" class="model">a<span class="sub tag">baseline</span></th>' in page
    assert '<td class="num best">0.9<span class="sub delta better">▲\u00a0+0.1</span></td>' in page
    assert '<th scope="row">b</th>' in page
    assert "<td>0.8</td>" in page


def test_a_delta_too_small_for_three_decimals_reads_less_than_one_thousandth() -> None:
    """fmt.signed(floor=True), the deltas of table cells: one width down a column."""
    from reportgen import formatting as fmt

    assert fmt.signed(0.0004, floor=True) == "<0.001"
    assert fmt.signed(-0.0004, floor=True) == "<0.001"
    assert fmt.signed(0.0004) == "+0.00040"
    assert fmt.signed(0.0, floor=True) == "±0"
    assert fmt.signed(-0.0123, floor=True) == "−0.012"
    assert fmt.signed(float("nan"), floor=True) == fmt.MISSING
