"""Generation runs: free-text answers scored against acceptable references by exact match and
token F1 (SQuAD normalisation, :mod:`reportgen.kinds.textmatch`), with the answers that a
candidate newly gets wrong or right next to the baseline's. The section drawing is shared
with lm-eval sample logs (:mod:`reportgen.kinds.lmeval_samples`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reportgen import formatting as fmt
from reportgen.ingest.language import TextRun, generation_run, looks_generation
from reportgen.kinds.base import Context, Source
from reportgen.kinds.cells import (
    add_delta,
    best_index,
    interval_text,
    model_cell,
    slug_of,
)
from reportgen.kinds.per_example import LanguageKind, label, short_cell
from reportgen.kinds.sums import LanguageAssessment, LanguageResult
from reportgen.kinds.textmatch import score_answers
from reportgen.model import Cell, Section, Table
from reportgen.stats.pairing import Pairing


def _text_examples(
    result: LanguageResult,
    rows: np.ndarray,
    other: LanguageResult | None = None,
    other_rows: np.ndarray | None = None,
) -> list[list[Cell]]:
    run = result.run
    assert isinstance(run, TextRun)
    out = []
    for j, row in enumerate(rows):
        ident = fmt.MISSING if run.ids is None else str(run.ids[row])
        cells = [Cell(ident, role="mono")]
        cells.append(short_cell(run.prompts[row]) if run.prompts is not None else Cell(fmt.MISSING))
        cells.append(short_cell(" | ".join(run.references[row])))
        if other is not None and other_rows is not None:
            assert isinstance(other.run, TextRun)
            cells.append(short_cell(other.run.predictions[other_rows[j]]))
        cells.append(short_cell(run.predictions[row]))
        out.append(cells)
    return out


def _against_baseline(
    table: Table,
    rows: np.ndarray,
    result: LanguageResult,
    base: LanguageResult,
    pairing: Pairing,
    primary: str,
    binary: bool,
) -> None:
    """Add the baseline's answer and score beside a candidate's examples, and flag the rows
    where the baseline scored differently (the page's "only changed vs baseline" filter)."""
    assert isinstance(base.run, TextRun)
    base_row = pairing.baseline_row_of(len(result.columns[primary]))
    changed = []
    for cells, row in zip(table.rows, rows, strict=True):
        b = int(base_row[row])
        if b < 0:
            cells += [Cell("unpaired"), Cell(fmt.MISSING)]
            changed.append(True)
            continue
        mine, theirs = float(result.columns[primary][row]), float(base.columns[primary][b])
        said = ("right" if theirs == 1 else "wrong") if binary else fmt.rate(theirs)
        cells += [short_cell(base.run.predictions[b]), Cell(said, role="num")]
        changed.append(round(mine, 3) != round(theirs, 3))
    table.header = [*table.header, f"{base.name} answer", f"{base.name} {label(primary).lower()}"]
    table.changed, table.changed_vs = changed, base.name


def _changed(
    name: str, base: np.ndarray, cand: np.ndarray, binary: bool, top_k: int
) -> list[tuple[str, np.ndarray, int]]:
    """(title, paired positions, how many) of the examples a candidate changed: newly wrong
    and newly right for a 0/1 metric; for a continuous one (BLEU, ROUGE) the largest drops
    and gains."""
    if binary:
        base_ok, cand_ok = base == 1, cand == 1
        return [
            (
                f"{name}: newly wrong",
                np.flatnonzero(base_ok & ~cand_ok)[:top_k],
                int((base_ok & ~cand_ok).sum()),
            ),
            (
                f"{name}: newly right",
                np.flatnonzero(~base_ok & cand_ok)[:top_k],
                int((~base_ok & cand_ok).sum()),
            ),
        ]
    change = cand - base
    order = np.argsort(change, kind="stable")
    drops = order[change[order] < 0]
    gains = order[::-1][change[order[::-1]] > 0]
    return [
        (f"{name}: largest drops", drops[:top_k], len(drops)),
        (f"{name}: largest gains", gains[:top_k], len(gains)),
    ]


def text_sections(
    assessment: LanguageAssessment,
    colours: dict[str, str],
    top_k: int,
    group_title: Callable[[str], str],
) -> list[Section]:
    """One section per generation group / lm-eval task log: scores, then example tables."""
    sections = []
    groups = dict.fromkeys(r.group for r in assessment.results if isinstance(r.run, TextRun))
    for group in groups:
        results = [r for r in assessment.results if r.group == group]
        metrics = list(results[0].columns)
        deltas = {(c.candidate, c.metric): c for c in assessment.comparisons if c.scope == group}
        best = {m: best_index([r.metrics.get(m) for r in results], m) for m in metrics}
        rows = []
        for i, r in enumerate(results):
            row = [model_cell(r.name, colours), Cell(fmt.count(r.run.n_examples), role="num")]
            for m in metrics:
                c = Cell(
                    fmt.rate(r.metrics.get(m)),
                    role="num",
                    best=i in best[m],
                    title=interval_text(r.intervals.get(m)) or None,
                )
                comparison = deltas.get((r.name, m))
                if comparison is not None:
                    add_delta(c, comparison)
                row.append(c)
            rows.append(row)
        caption = (
            (
                "Grader score: the per-example score logged with the answers, averaged. "
                if "grader_score" in metrics
                else ""
            )
            + "Exact match and token F1 after SQuAD normalisation (lower case, no punctuation, "
            "articles or extra spaces; plain numbers compared as numbers), best over the "
            "acceptable answers."
            if group == "generation"
            else "Per-sample metrics as lm-eval logged them, averaged over the samples."
        )
        primary = metrics[0]
        binary = all(np.isin(r.columns[primary], (0.0, 1.0)).all() for r in results)
        section = Section(
            f"text-{slug_of(group)}",
            group_title(group),
            lead=(
                "Share of examples answered right per model"
                if binary
                else f"Mean per-sample {label(primary).lower()} per model (a continuous score)"
            )
            + ". Hover a value for its 95% interval.",
            tables=[
                Table(
                    ["Model", "Examples", *[label(m) for m in metrics]],
                    rows,
                    title="Scores",
                    lead=True,
                    caption=caption,
                    numeric=[False, True, *[True] * len(metrics)],
                )
            ],
        )
        base_name = assessment.baselines[group]
        by_name = {r.name: r for r in results}
        base = by_name[base_name]
        for r in results:
            if r.name == base_name:
                continue
            pairing = assessment.pairings.get((group, r.name))
            if pairing is None or pairing.baseline_rows is None:
                section.notes.append(
                    f"{r.name}: unpaired with {base_name}, so no newly-wrong list."
                )
                continue
            b_values = base.columns[primary][pairing.baseline_rows]
            c_values = r.columns[primary][pairing.candidate_rows]
            for title, picked, count in _changed(r.name, b_values, c_values, binary, top_k):
                section.tables.append(
                    Table(
                        ["Id", "Prompt", "Reference", f"{base_name} answer", f"{r.name} answer"],
                        _text_examples(
                            r, pairing.candidate_rows[picked], base, pairing.baseline_rows[picked]
                        ),
                        title=f"{title} ({fmt.count(count)})",
                        caption=f"By {label(primary).lower()}; at most {top_k} examples, "
                        + (f"in {base_name}'s order." if binary else "largest changes first."),
                        collapsed=True,
                    )
                )
        for r in results:
            values = r.columns[primary]
            if binary:
                shown = np.flatnonzero(values < 1)
                title = f"{r.name}: wrong answers ({fmt.count(len(shown))})"
                caption = f"The first {min(top_k, len(shown))} in file order."
            else:
                shown = np.argsort(values, kind="stable")
                title = f"{r.name}: lowest {label(primary).lower()}"
                caption = f"The {min(top_k, len(shown))} samples with the lowest score."
            table = Table(
                ["Id", "Prompt", "Reference", "Answer"],
                _text_examples(r, shown[:top_k]),
                title=title,
                caption=caption,
                collapsed=True,
            )
            pairing = assessment.pairings.get((group, r.name))
            if r.name != base_name and pairing is not None and pairing.baseline_rows is not None:
                _against_baseline(table, shown[:top_k], r, base, pairing, primary, binary)
            section.tables.append(table)
            section.notes += [f"{r.name}: {n}" for n in r.run.notes]
        sections.append(section)
    return sections


class GenerationKind(LanguageKind):
    name = "generation"
    forced_by = "generation"
    title = "Generation (exact match, token F1)"
    slug = "generation"
    run_types = (TextRun,)
    leaderboard_metrics = 2
    compare_lead = "Exact match by McNemar's exact test, token F1 by the paired bootstrap"

    def owns(self, run: Any) -> bool:
        return isinstance(run, TextRun) and not run.sample_metrics

    def looks_like(self, source: Source) -> bool:
        return looks_generation(source.frame, source.path, source.columns)

    def load(self, source: Source) -> TextRun:
        return generation_run(*source.reader_args())

    def example_columns(self, run: Any) -> tuple[Any, Any, Any, Any]:
        graded = {} if run.graded is None else {"grader_score": run.graded}
        return graded | score_answers(run.predictions, run.references), {}, {}, {}

    def same_targets(self, base: Any, cand: Any) -> str | None:
        return "references" if base.references == cand.references else None

    def views(self, result: LanguageAssessment, ctx: Context) -> list[Section]:
        return text_sections(result, ctx.colours, ctx.options.top_k, self.group_title)


GENERATION = GenerationKind()
