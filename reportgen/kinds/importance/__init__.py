"""Feature importance, a view: importance tables (``--importance NAME=PATH``) and per-example
contributions that classification and regression runs carry (``shap_<feature>`` columns).

A model with contributions and no table gets its importances from them (mean absolute
contribution per feature). The view draws the top features of every model in one shared order,
compares each candidate's ranking with the baseline's (:mod:`.formulas`) and checks that the
contributions add up to the model's output (:mod:`.contributions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportgen.ingest.base import ExampleRun
from reportgen.ingest.importance import ImportanceTable, load_importance
from reportgen.kinds.base import (
    MAX_DRAWN,
    BoardPart,
    Context,
    Kind,
    KindResult,
    SummaryPart,
)
from reportgen.kinds.importance.contributions import (
    Additivity,
    Contributions,
    additivity,
    find_contributions,
    mean_abs,
)
from reportgen.kinds.importance.formulas import Agreement, agreement, shared_order, top_k
from reportgen.kinds.importance.sections import board_table, importance_section
from reportgen.model import Section
from reportgen.stats.score import Score

DERIVED = "mean |contribution|"  # the method of a table made from a run's contributions
JSON_TOP = 10  # features per model in the JSON summary


@dataclass
class ImportanceResult(KindResult):
    tables: list[ImportanceTable] = field(default_factory=list)  # per model, in run order
    order: list[str] = field(default_factory=list)  # every feature, by mean rank
    agreements: list[Agreement] = field(default_factory=list)
    contributions: list[Contributions] = field(default_factory=list)
    checks: list[Additivity] = field(default_factory=list)
    top: int = 15


class ImportanceKind(Kind):
    """Feature importance across models, drawn after the kinds whose runs it reads."""

    name = "importance"
    title = "Feature importance"
    board = "importance"
    board_title = "Feature importance"
    reads = ("classification", "regression")
    options = ("importance",)

    def evaluate(self, runs: list[Any], ctx: Context) -> ImportanceResult | None:
        given = _tables(ctx)
        found: dict[str, Contributions] = {}
        for result in ctx.inputs:
            for run in result.runs:
                if isinstance(run, ExampleRun) and run.name not in found:
                    contributions = find_contributions(run)
                    if contributions is not None:
                        found[run.name] = contributions
        models = [m for m in ctx.names if m in given or m in found]
        if not models:
            return None
        tables = [given[m] if m in given else _derived(found[m]) for m in models]
        baseline = ctx.baseline_among(models)
        base = next(t for t in tables if t.name == baseline)
        top = ctx.options.importance_top
        agreements = [agreement(base, t, top) for t in tables if t.name != baseline]
        contributions = [found[m] for m in models if m in found]
        order, _ = shared_order(tables)
        return ImportanceResult(
            kind=self.name,
            baseline=baseline,
            models=models,
            tables=tables,
            order=order,
            agreements=agreements,
            contributions=contributions,
            checks=[additivity(c) for c in contributions],
            top=top,
        )

    def scores(self, result: ImportanceResult) -> list[Score]:
        found = []
        for a in result.agreements:
            for metric, value in (
                ("importance_spearman", a.spearman),
                ("importance_kendall", a.kendall),
                ("importance_top_k_overlap", a.overlap),
            ):
                found.append(
                    Score(
                        a.candidate,
                        self.name,
                        metric,
                        value,
                        a.baseline,
                        n=a.common,
                        reason=None if value is not None else "fewer than 2 common features",
                    )
                )
        for c in result.checks:
            found.append(
                Score(
                    c.model,
                    self.name,
                    "additivity_max_gap",
                    c.max_gap,
                    result.baseline,
                    n=c.n,
                    reason=None if c.max_gap is not None else "no model output in the run",
                )
            )
        return found

    def ranked_by(self, result: Any) -> str | None:
        return None  # every model's importances are drawn (up to the palette, in run order)

    def on_board(self, result: ImportanceResult, ctx: Context) -> BoardPart:
        return BoardPart(
            table=board_table(
                result.tables, result.agreements, result.checks, ctx.colours, result.top
            )
        )

    def sections(self, result: ImportanceResult, ctx: Context) -> list[Section]:
        drawn = [m for m in result.models if ctx.draws(m)][:MAX_DRAWN]
        return [
            importance_section(
                result.tables,
                result.order,
                result.agreements,
                result.contributions,
                result.checks,
                ctx.colours,
                result.top,
                ctx.options.seed,
                drawn,
            )
        ]

    def run_infos(self, result: ImportanceResult, ctx: Context) -> list[Any]:
        return []  # the runs are listed by their own kinds; tables are named in the JSON

    def summary(self, result: ImportanceResult) -> SummaryPart:
        checks = {c.model: c for c in result.checks}
        models = {}
        for table in result.tables:
            check = checks.get(table.name)
            models[table.name] = {
                "method": table.method or None,
                "source": {"path": str(table.path), "sha256": table.sha256 or None},
                "n_features": len(table.features),
                "top_features": [
                    {"feature": f, "importance": float(table.importance[i])}
                    for f, i in _top_positions(table, JSON_TOP)
                ],
                "additivity": None
                if check is None
                else {
                    "output": check.space or None,
                    "max_gap": check.max_gap,
                    "mean_gap": check.mean_gap,
                    "at_id": check.worst_id,
                    "base_estimated": check.base_estimated,
                },
            }
        agreements = [
            {
                "candidate": a.candidate,
                "baseline": a.baseline,
                "common_features": a.common,
                "spearman": a.spearman,
                "kendall": a.kendall,
                "top_k": a.k,
                "top_k_overlap": a.overlap,
                "entered_top_k": a.entered,
                "left_top_k": a.left,
            }
            for a in result.agreements
        ]
        return SummaryPart(
            top={
                "importance": {
                    "baseline": result.baseline,
                    "models": models,
                    "rank_agreement": agreements,
                }
            }
        )


def _top_positions(table: ImportanceTable, k: int) -> list[tuple[str, int]]:
    at = {f: i for i, f in enumerate(table.features)}
    return [(f, at[f]) for f in top_k(table, k)]


def _derived(found: Contributions) -> ImportanceTable:
    """Importances implied by a run's contributions: mean |contribution| per feature."""
    return ImportanceTable(
        found.model,
        path=found.path,
        sha256="",
        format="contributions",
        method=DERIVED,
        features=np.array(found.features, dtype=object),
        importance=mean_abs(found),
        std=np.full(len(found.features), np.nan),
    )


def _tables(ctx: Context) -> dict[str, ImportanceTable]:
    """The ``--importance NAME=PATH`` tables, by model; NAME must be a run of the report."""
    tables: dict[str, ImportanceTable] = {}
    for given in IMPORTANCE.file_arguments(
        ctx, ctx.names, twice="{name!r} has a table already; give one per model"
    ):
        with given.named():
            tables[given.name] = load_importance(given.path, given.name)
    return tables


IMPORTANCE = ImportanceKind()
