"""Error analysis drawn: each model's most confident mistakes, the baseline-vs-candidate
agreement, and the examples a candidate newly gets wrong or right; bounded by ``--top-k``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reportgen import formatting as fmt
from reportgen.kinds.cells import (
    TEXT_HOVER,
    TEXT_PREVIEW,
)
from reportgen.kinds.classification.assess import Assessment
from reportgen.kinds.classification.encode import EncodedRun
from reportgen.kinds.classification.evaluate import (
    RunEvaluation,
)
from reportgen.kinds.classification.examples import Example, agreement, confident_mistakes
from reportgen.model import Cell, ExampleRef, Section, Table


def _example_rows(examples: Sequence[Example], with_text: bool, model: str) -> list[list[Cell]]:
    rows = []
    for example in examples:
        row = [
            Cell(
                fmt.escape_hidden(example.id),  # a bidi override in an id cannot act
                role="mono",
                example=ExampleRef(model, example.id, "error"),
            ),
            Cell(example.label, role="mono"),
            Cell(example.prediction, role="mono"),
            Cell(fmt.rate(example.confidence), role="num"),
        ]
        if with_text:
            text = example.text or ""
            short = text if len(text) <= TEXT_PREVIEW else text[:TEXT_PREVIEW] + "…"
            row.append(Cell(short, title=text[:TEXT_HOVER] if short != text else None, role="text"))
        rows.append(row)
    return rows


def _examples_table(examples: Sequence[Example], title: str, caption: str, model: str) -> Table:
    """One model's examples (``model``: whose predictions they are)."""
    with_text = any(e.text is not None for e in examples)
    header = ["Id", "Label", "Prediction", "Confidence"] + (["Text"] if with_text else [])
    return Table(
        header,
        _example_rows(examples, with_text, model),
        title=title,
        caption=caption,
        numeric=[False, False, False, True] + ([False] if with_text else []),
        collapsed=True,
    )


def _shown(shown: int, total: int) -> str:
    """Say when a list holds fewer examples than there are, and how to see more."""
    if shown >= total:
        return ""
    return f" The first {fmt.count(shown)} of {fmt.count(total)}; --top-k sets how many."


def _against_baseline(
    table: Table,
    examples: Sequence[Example],
    base: EncodedRun,
    base_row: np.ndarray,
) -> Table:
    """The candidate's examples with the baseline's prediction beside each (``base_row``: the
    baseline row of each candidate row, -1 unpaired), and the rows where the two differ
    flagged (the page's "only changed vs baseline" filter)."""
    header = [*table.header[:3], f"{base.name} prediction", *table.header[3:]]
    numeric = [*table.numeric[:3], False, *table.numeric[3:]]
    rows, changed = [], []
    for example, row in zip(examples, table.rows, strict=True):
        b = int(base_row[example.row])
        said = base.classes[int(base.y_pred[b])] if b >= 0 else None
        rows.append([*row[:3], Cell("unpaired" if said is None else said, role="mono"), *row[3:]])
        changed.append(said != example.prediction)
    table.header, table.numeric, table.rows = header, numeric, rows
    table.changed, table.changed_vs = changed, base.name
    return table


def error_section(
    evaluations: Sequence[RunEvaluation],
    assessment: Assessment,
    colours: dict[str, str],
    top_k: int,
    text_col: str | None,
) -> Section:
    """The most confident mistakes of each model; what changed against the baseline."""
    section = Section(
        "errors",
        "Error analysis",
        lead=f"At most {top_k} examples per list, most confident first. Confidence is the "
        "model's score for the class it predicted. Hover a cut text for all of it.",
    )
    by_name = {e.name: e for e in evaluations}
    base = by_name[assessment.baseline]
    left = [name for name in assessment.pairings if name not in by_name]
    if left:
        section.notes.append(
            f"Lists of the {len(by_name)} models the charts draw; {len(left)} more candidates "
            "are left out."
        )
    for name, pairing in assessment.pairings.items():
        if name not in by_name:
            continue
        found = agreement(base.encoded, by_name[name].encoded, pairing, top_k, text_col)
        if found is None:
            section.notes.append(f"{name}: unpaired with {base.name}, so no agreement table.")
            continue
        section.tables.append(
            Table(
                ["", f"{name} right", f"{name} wrong"],
                [
                    [
                        Cell(f"{base.name} right"),
                        Cell(fmt.count(found.both_right), role="num"),
                        Cell(fmt.count(found.only_baseline_right), role="num", tone="worse"),
                    ],
                    [
                        Cell(f"{base.name} wrong"),
                        Cell(fmt.count(found.only_candidate_right), role="num", tone="better"),
                        Cell(fmt.count(found.both_wrong), role="num"),
                    ],
                ],
                title=f"{name} against {base.name}: right and wrong",
                caption=f"On the {fmt.count(pairing.n_paired)} paired examples.",
                numeric=[False, True, True],
            )
        )
        section.tables.append(
            _examples_table(
                found.newly_wrong,
                f"{name}: newly wrong ({fmt.count(found.only_baseline_right)})",
                f"{base.name} got these right; {name} gets them wrong."
                + _shown(len(found.newly_wrong), found.only_baseline_right),
                name,
            )
        )
        section.tables.append(
            _examples_table(
                found.newly_right,
                f"{name}: newly right ({fmt.count(found.only_candidate_right)})",
                f"{base.name} got these wrong; {name} gets them right."
                + _shown(len(found.newly_right), found.only_candidate_right),
                name,
            )
        )
    for evaluation in evaluations:
        mistakes = confident_mistakes(evaluation.encoded, top_k, text_col)
        wrong = int(evaluation.confusion.n - evaluation.confusion.correct.sum())
        table = _examples_table(
            mistakes,
            f"{evaluation.name}: most confident mistakes ({fmt.count(wrong)} wrong)",
            "Wrong predictions the model was surest of." + _shown(len(mistakes), wrong),
            evaluation.name,
        )
        pairing = assessment.pairings.get(evaluation.name)
        if evaluation.name != base.name and pairing and pairing.baseline_rows is not None:
            base_row = pairing.baseline_row_of(len(evaluation.encoded.y_pred))
            table = _against_baseline(table, mistakes, base.encoded, base_row)
            table.caption += f" Beside each, what {base.name} predicted."
        section.tables.append(table)
    return section


def bounded_error_section(
    evaluations: Sequence[RunEvaluation],
    mistakes: dict[str, EncodedRun | None],
    top_k: int,
    text_col: str | None,
) -> Section:
    """Error analysis of runs evaluated where they lie: each run's most confident mistakes
    from a bounded query; the views that need every example are named as skipped."""
    section = Section(
        "errors",
        "Error analysis",
        lead=f"At most {top_k} examples per list, most confident first, fetched with a bounded "
        "query. Confidence is the model's score for the class it predicted.",
        notes=[
            "Skipped, because the runs were not read into memory: the right/wrong agreement "
            "table with newly wrong and newly right examples, embedding projections and "
            "per-slice paired deltas need every example. Rerun with --engine memory on a "
            "sample to see them."
        ],
    )
    for evaluation in evaluations:
        wrong = int(evaluation.confusion.n - evaluation.confusion.correct.sum())
        found = mistakes.get(evaluation.name)
        if found is None:
            section.notes.append(
                f"{evaluation.name}: no mistakes listed ({fmt.count(wrong)} wrong); "
                "top-k mistakes out of core need a binary run with scores."
            )
            continue
        listed = confident_mistakes(found, top_k, text_col)
        section.tables.append(
            _examples_table(
                listed,
                f"{evaluation.name}: most confident mistakes ({fmt.count(wrong)} wrong)",
                "Wrong predictions the model was surest of." + _shown(len(listed), wrong),
                evaluation.name,
            )
        )
    return section
