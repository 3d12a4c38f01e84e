"""The feature importance section: dodged bars of the top features in one shared order, the
rank agreement of each candidate with the baseline, the beeswarm of per-example
contributions, and the additivity check; and the leaderboard of its headline numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.ingest.importance import ImportanceTable
from reportgen.kinds.cells import listed, model_cell
from reportgen.kinds.importance.contributions import Additivity, Contributions, swarm_points
from reportgen.kinds.importance.formulas import Agreement, top_k
from reportgen.model import Cell, Figure, Section, Table, chart

SWARM_FEATURES = 10  # feature rows of the beeswarm
SWARM_EXAMPLES = 1000  # examples sampled per model for the beeswarm (a point per feature)
SWARM_MODELS = 4  # panels of the beeswarm: the baseline and the first candidates
TOP_SHOWN = 3  # features named per model on the leaderboard
NAMED = 5  # features named as entered or left before "and N more"
CAVEAT = (
    "Importances are relative to each model and its data, not causal effects; correlated "
    "features split credit between them, so a feature low here may still matter."
)


def method_of(table: ImportanceTable) -> str:
    return table.method or "not stated"


def bar_rows(
    tables: Sequence[ImportanceTable], features: Sequence[str]
) -> tuple[pd.DataFrame, Table]:
    """Tidy rows of the drawn features (feature, order, model, importance, std, low, high,
    method), and the table behind the chart."""
    rows = []
    for table in tables:
        at = {f: i for i, f in enumerate(table.features)}
        for order, feature in enumerate(features):
            if feature not in at:
                continue
            value, std = float(table.importance[at[feature]]), float(table.std[at[feature]])
            rows.append(
                {
                    "feature": feature,
                    "order": order,
                    "model": table.name,
                    "importance": _sig(value),
                    "std": _sig(std) if np.isfinite(std) else None,
                    "low": _sig(value - std) if np.isfinite(std) else None,
                    "high": _sig(value + std) if np.isfinite(std) else None,
                    "method": method_of(table),
                }
            )
    frame = pd.DataFrame(
        rows, columns=["feature", "order", "model", "importance", "std", "low", "high", "method"]
    )
    header = ["Feature", *[t.name for t in tables]]
    body = []
    for feature in features:
        cells = [Cell(feature, role="mono")]
        for table in tables:
            mine = frame[(frame["feature"] == feature) & (frame["model"] == table.name)]
            if mine.empty:
                cells.append(Cell(fmt.MISSING, role="num", undefined=True, title="not in table"))
                continue
            value, std = mine.iloc[0]["importance"], mine.iloc[0]["std"]
            text = f"{value:.4g}" + (f" ± {std:.2g}" if std is not None and pd.notna(std) else "")
            cells.append(Cell(text, role="num"))
        body.append(cells)
    table = Table(
        header,
        body,
        title="Importances of the drawn features",
        numeric=[False, *[True] * len(tables)],
    )
    return frame, table


def _sig(value: float) -> float:
    return float(f"{value:.4g}")


def agreement_table(
    agreements: Sequence[Agreement], colours: dict[str, str], methods: dict[str, str]
) -> Table:
    rows = []
    for a in agreements:
        rows.append(
            [
                model_cell(a.candidate, colours),
                Cell(methods[a.candidate], role="text"),
                Cell(_common_text(a), role="num"),
                _value_cell(a.spearman, "fewer than 2 common features, or constant"),
                _value_cell(a.kendall, "fewer than 2 common features, or constant"),
                Cell(
                    f"{round((a.overlap or 0) * a.k)} of {a.k}" if a.overlap is not None else "—",
                    role="num",
                    undefined=a.overlap is None,
                ),
                Cell(_names(a.entered), role="text"),  # lists of names: they wrap
                Cell(_names(a.left), role="text"),
            ]
        )
    base = agreements[0].baseline if agreements else ""
    return narrow_turned(
        Table(
            [
                "Candidate",
                "Method",
                "Common features",
                "Spearman ρ",
                "Kendall τ",
                "Top-k overlap",
                "Entered the top k",
                "Left the top k",
            ],
            rows,
            title=f"Rank agreement with the baseline ({base})",
            lead=True,
            caption="Spearman's ρ and Kendall's τ-b of the importances on the features both "
            "tables hold (1: the same order, 0: unrelated, −1: reversed); top-k overlap and the "
            "features that entered or left compare each model's own top k.",
            numeric=[False, False, True, True, True, True, False, False],
        ),
        "Candidate",
    )


def narrow_turned(table: Table, corner: str) -> Table:
    """``table`` (a row per model) with its turned layout for narrow pages: a row per
    column, a column per model, so that a phone reads it without squeezing eight headings
    into 400 px."""
    rows = [
        [Cell(heading), *(row[j] for row in table.rows)]
        for j, heading in enumerate(table.header[1:], start=1)
    ]
    table.turned = Table(
        [corner, *(row[0].text for row in table.rows)],
        rows,
        title=table.title,
        caption=table.caption,
        numeric=[False] * (len(table.rows) + 1),
    )
    table.turn = "narrow"
    return table


def _common_text(a: Agreement) -> str:
    extra = []
    if a.only_candidate:
        extra.append(f"{fmt.count(a.only_candidate)} only in the candidate")
    if a.only_baseline:
        extra.append(f"{fmt.count(a.only_baseline)} only in the baseline")
    return fmt.count(a.common) + (f" ({', '.join(extra)})" if extra else "")


def _value_cell(value: float | None, reason: str) -> Cell:
    if value is None:
        return Cell(fmt.MISSING, role="num", undefined=True, title=reason)
    return Cell(fmt.rate(value), role="num")


def _names(features: Sequence[str]) -> str:
    if not features:
        return "none"
    shown = list(features[:NAMED])
    more = len(features) - len(shown)
    return listed(shown) + (f" and {more} more" if more else "")


def additivity_table(checks: Sequence[Additivity], colours: dict[str, str]) -> Table:
    rows = []
    for c in checks:
        if c.max_gap is None:
            rows.append(
                [
                    model_cell(c.model, colours),
                    Cell(fmt.count(c.n), role="num"),
                    Cell("no output to check against", undefined=True),
                    Cell(fmt.MISSING, role="num", undefined=True),
                    Cell(fmt.MISSING, role="num", undefined=True),
                    Cell(fmt.MISSING, undefined=True),
                ]
            )
            continue
        rows.append(
            [
                model_cell(c.model, colours),
                Cell(fmt.count(c.n), role="num"),
                Cell(c.space + (" (base estimated)" if c.base_estimated else "")),
                Cell(f"{c.max_gap:.3g}", role="num", warning=c.max_gap > 1e-3),
                Cell(f"{c.mean_gap:.3g}", role="num"),
                Cell(str(c.worst_id), role="mono"),
            ]
        )
    return narrow_turned(
        Table(
            ["Model", "Examples", "Output compared", "Largest gap", "Mean gap", "At example"],
            rows,
            title="Additivity: base + Σ contributions against the output",
            lead=True,
            caption="Contributions that explain the output add up to it exactly (SHAP's local "
            "accuracy); a gap above 0.001 is flagged. Without a base column the base is "
            "estimated as the mean of output − Σ contributions, which checks that the gap is "
            "constant. A binary score is compared as given and as log-odds; the closer is shown. "
            "A score within about 1e-12 of 0 or 1 has lost the precision its log-odds need: "
            "write the margin in a model_output column for an exact check.",
            numeric=[False, True, False, True, True, False],
        ),
        "Model",
    )


def importance_section(
    tables: Sequence[ImportanceTable],
    order: Sequence[str],
    agreements: Sequence[Agreement],
    contributions: Sequence[Contributions],
    checks: Sequence[Additivity],
    colours: dict[str, str],
    top: int,
    seed: int,
    drawn: Sequence[str],
) -> Section:
    """The whole section; charts draw only the models in ``drawn`` (tables list them all)."""
    shown = [t for t in tables if t.name in drawn]
    features = list(order[:top])
    frame, behind = bar_rows(shown, features)
    methods = sorted({method_of(t) for t in tables})
    axis = "Importance" + (f" ({methods[0]})" if len(methods) == 1 else "")
    lead = (
        f"The {len(features)} features of highest mean rank over the models, in that order, "
        "a bar per model; lines span ± one standard deviation where the table gives one."
    )
    if len(methods) > 1:
        lead += f" The methods differ ({listed(methods)}): compare the order, not bar lengths."
    figures = [
        Figure(
            "importance-bars",
            f"Top {len(features)} features",
            chart(
                "importance_bars",
                frame,
                [t.name for t in shown],
                [colours[t.name] for t in shown],
                axis,
            ),
            lead=lead,
            table=behind,
        )
    ]
    section = Section(
        "importance",
        "Feature importance",
        lead="Which features each model relies on, and whether the candidates rely on the "
        f"same ones as the baseline. {CAVEAT}",
        figures=figures,
    )
    if agreements:
        section.tables.append(
            agreement_table(agreements, colours, {t.name: method_of(t) for t in tables})
        )
    swarm = [c for c in contributions if c.model in drawn][:SWARM_MODELS]
    if swarm:
        strength = np.zeros(len(order))
        at = {f: i for i, f in enumerate(order)}
        for c in swarm:
            mean = np.abs(c.values).mean(axis=0)
            for feature, value in zip(c.features, mean, strict=True):
                strength[at[feature]] += value / len(swarm)
        rows = np.lexsort((np.arange(len(order)), -strength))
        chosen = [order[i] for i in rows if strength[i] > 0 or len(order) <= SWARM_FEATURES]
        chosen = chosen[:SWARM_FEATURES]
        points = pd.concat(
            [swarm_points(c, chosen, SWARM_EXAMPLES, seed) for c in swarm], ignore_index=True
        )
        coloured = bool(points["colour"].notna().any())
        sampled = max(min(len(c.ids), SWARM_EXAMPLES) for c in swarm)
        section.figures.append(
            Figure(
                "importance-swarm",
                "Per-example contributions",
                chart(
                    "contribution_swarm",
                    points,
                    chosen,
                    [c.model for c in swarm],
                    [colours[c.model] for c in swarm],
                    coloured,
                ),
                lead=f"Each point is one example (a deterministic sample, seed {seed}, of at "
                f"most {fmt.count(SWARM_EXAMPLES)} per model; {fmt.count(sampled)} here) at its "
                f"feature's contribution; the {len(chosen)} features of largest mean |contribution|"
                + (
                    ", coloured by the feature's value (blue low, red high; grey: not in the run)."
                    if coloured
                    else "; the runs do not carry the feature values, so no colour."
                ),
                raster=True,
            )
        )
        left_out = [c.model for c in contributions if c.model not in {s.model for s in swarm}]
        if left_out:
            section.notes.append(
                f"The beeswarm draws {len(swarm)} models ({listed([c.model for c in swarm])}); "
                f"{listed(left_out)} carry contributions too, checked in the additivity table."
            )
    if checks:
        section.tables.append(additivity_table(checks, colours))
    if len(order) > top:
        section.notes.append(
            f"The chart draws the top {top} of {fmt.count(len(order))} features "
            "(--importance-top); the rank agreement uses every feature."
        )
    return section


def board_table(
    tables: Sequence[ImportanceTable],
    agreements: Sequence[Agreement],
    checks: Sequence[Additivity],
    colours: dict[str, str],
    top: int,
) -> Table:
    """The headline numbers, a row per model: method, top features, agreement, additivity."""
    by_candidate = {a.candidate: a for a in agreements}
    gaps = {c.model: c for c in checks}
    header = ["Model", "Method", f"Top {TOP_SHOWN} features"]
    if agreements:
        header += ["Spearman ρ", "Kendall τ", f"Top-{top} overlap"]
    if checks:
        header += ["Additivity gap"]
    rows = []
    for table in tables:
        row = [
            model_cell(table.name, colours),
            Cell(method_of(table)),
            Cell(listed(top_k(table, TOP_SHOWN)), role="text"),  # a list of names: it wraps
        ]
        if agreements:
            a = by_candidate.get(table.name)
            if a is None:
                row += [
                    Cell(fmt.MISSING, role="num", undefined=True, title="the baseline")
                    for _ in range(3)
                ]
            else:
                row += [
                    _value_cell(a.spearman, "undefined"),
                    _value_cell(a.kendall, "undefined"),
                    _value_cell(a.overlap, "undefined"),
                ]
        if checks:
            c = gaps.get(table.name)
            gap = c.max_gap if c is not None else None
            row.append(
                Cell(f"{gap:.3g}", role="num", warning=gap > 1e-3)
                if gap is not None
                else Cell(fmt.MISSING, role="num", undefined=True)
            )
        rows.append(row)
    numeric = [False, False, False] + [True] * (len(header) - 3)
    return Table(header, rows, title="Feature importance", numeric=numeric)
