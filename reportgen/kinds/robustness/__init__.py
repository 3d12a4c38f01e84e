"""The robustness kind: classification runs on clean and perturbed copies of the same
examples (``perturbation`` and ``severity`` columns), and aggregated tables given with
``--robustness-table``. Its board lists clean and robust accuracy, mCE and the flip rate; its
section the views of :mod:`.sections`, from the numbers of :mod:`.compute`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen import formatting as fmt
from reportgen.errors import ReportgenError
from reportgen.ingest import robustness as ingest
from reportgen.kinds.base import Context, Kind, KindResult, Source, SummaryPart, run_entry
from reportgen.kinds.robustness import compute
from reportgen.kinds.robustness.sections import colours_for, robustness_section
from reportgen.model import PALETTE, Section
from reportgen.stats.score import LEVEL, Score


@dataclass
class RobustnessResult(KindResult):
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    found: list[compute.ModelRobustness] = field(default_factory=list)
    pairs: dict[str, pd.DataFrame] = field(default_factory=dict)  # candidate -> McNemar rows
    notes: list[str] = field(default_factory=list)


class RobustnessKind(Kind):
    name = "robustness"
    options = ("robustness_tables",)  # aggregated tables: read in memory
    title = "Robustness"
    board = "robustness"
    board_title = "Robustness"
    run_types = (ingest.RobustnessRun,)
    detect_rank = 20  # before classification, which claims every table

    def claims(self, source: Source) -> bool:
        # --task binary or multiclass still leaves perturbed copies to this kind: read as
        # classification, their repeated ids would be refused as duplicates
        return source.task in (None, "binary", "multiclass") and ingest.has_columns(source.frame)

    def load(self, source: Source) -> ingest.RobustnessRun:
        return ingest.load_run(*source.reader_args())

    def evaluate(self, runs: list[Any], ctx: Context) -> RobustnessResult | None:
        tables = [ingest.read_table(Path(str(p))) for p in ctx.options.robustness_tables]
        if not runs and not tables:
            return None
        notes: list[str] = []
        table = None
        if tables:
            table, notes = compute.table_points(pd.concat(tables, ignore_index=True))
            hidden = fmt.check_names(list(dict.fromkeys(table["model"])))
            if hidden is not None:
                raise ReportgenError(f"--robustness-table: {hidden}")
            clash = sorted(set(table["model"]) & {r.name for r in runs})
            if clash:
                raise ReportgenError(
                    f"--robustness-table: model {clash[0]!r} also has a robustness run; give "
                    "each model once, as a run or in the table"
                )
            dup = table.duplicated(["model", "perturbation", "severity"]).to_numpy()
            if dup.any():
                row = table.iloc[int(dup.argmax())]
                raise ReportgenError(
                    f"--robustness-table: {row['model']!r} has two values for "
                    f"{row['perturbation']!r} at severity {row['severity']:g} across the tables"
                )
        names = list(
            dict.fromkeys([*(r.name for r in runs), *(table["model"] if table is not None else [])])
        )
        baseline = ctx.baseline_among(names)
        for name in names:  # models only a table names get the next colours of the palette
            ctx.colours.setdefault(name, PALETTE[len(ctx.colours) % len(PALETTE)])
        points, found = compute.analyse(runs, table, baseline)
        by_name = {r.name: r for r in runs}
        pairs = {}
        if baseline in by_name:
            pairs = {
                r.name: compute.mcnemar_pairs(r, by_name[baseline])
                for r in runs
                if r.name != baseline
            }
        options = ctx.options
        tested = compute.comparisons(runs, found, baseline, options.bootstrap, options.seed)
        return RobustnessResult(
            kind=self.name,
            baseline=baseline,
            models=names,
            comparisons=tested,
            runs=list(runs),
            points=points,
            found=found,
            pairs={k: v for k, v in pairs.items() if len(v)},
            notes=notes,
        )

    def scores(self, result: RobustnessResult) -> list[Score]:
        records = []
        for m in result.found:
            low, high = m.clean_interval or (None, None)
            records += [
                Score(
                    m.name,
                    self.name,
                    "clean_accuracy",
                    m.clean,
                    result.baseline,
                    low=low,
                    high=high,
                    level=LEVEL if low is not None else None,
                    n=m.clean_n,
                ),
                Score(
                    m.name,
                    self.name,
                    "robust_accuracy",
                    m.robust,
                    result.baseline,
                    low=m.robust_interval[0] if m.robust_interval else None,
                    high=m.robust_interval[1] if m.robust_interval else None,
                    level=LEVEL if m.robust_interval else None,
                    reason=None if m.robust is not None else "no perturbed rows",
                ),
                Score(m.name, self.name, "mce", m.mce, result.baseline, reason=m.mce_reason),
            ]
            if not m.from_table:
                records.append(Score(m.name, self.name, "flip_rate", m.flip_rate, result.baseline))
        return records

    def sections(self, result: RobustnessResult, ctx: Context) -> list[Section]:
        colours = colours_for(result.models, ctx.colours)
        drawn = [m for m in result.models if ctx.draws(m)]  # the pipeline caps the charts
        notes = list(result.notes)
        if len(drawn) < len(result.models):
            notes.append(
                "The flip-rate, most-flipped and McNemar tables list the charted models, as "
                "the chart does; the JSON holds every model's."
            )
        return [
            robustness_section(
                result.points, result.found, result.pairs, result.baseline, colours, drawn, notes
            )
        ]

    def summary(self, result: RobustnessResult) -> SummaryPart:
        entries = []
        by_name = {r.name: r for r in result.runs}
        for m in result.found:
            run = by_name.get(m.name)
            if run is not None:
                entry = run_entry(run, result.scores)
            else:
                mine = [s for s in result.scores if s.model == m.name]
                entry = {
                    "name": m.name,
                    "task": self.name,
                    "source": "--robustness-table",
                    "metrics": {s.metric: s.value for s in mine},
                }
            mine = result.points[result.points["model"] == m.name]
            entry["robustness"] = {
                "clean_accuracy": m.clean,
                "robust_accuracy": m.robust,
                "mce": m.mce,
                "ce": m.ce,
                "flip_rate": m.flip_rate,
                "flip_rates": None
                if m.flips is None
                else {
                    f"{p} {s:g}": r
                    for p, s, r in zip(
                        m.flips["perturbation"],
                        m.flips["severity"],
                        m.flips["flip_rate"],
                        strict=True,
                    )
                },
                "accuracy": {
                    f"{p} {s:g}": v
                    for p, s, v in zip(
                        mine["perturbation"], mine["severity"], mine["value"], strict=True
                    )
                    if p != "none"
                },
                "mcnemar_vs_baseline": None
                if m.name not in result.pairs
                else [
                    {k: _plain(v) for k, v in row.items()}
                    for row in result.pairs[m.name].to_dict("records")
                ],
            }
            entries.append(entry)
        return SummaryPart(runs=entries)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


ROBUSTNESS = RobustnessKind()
