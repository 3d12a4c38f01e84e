"""Benchmark scores of other harnesses (MTEB, model cards, simple-evals, LLaMA-Factory,
RobustBench, summary tables) and inspect-ai logs' task-level scores: the lm-eval results
board's model x task table, read from each format's own file (see
:mod:`reportgen.ingest.harnesses` and :mod:`reportgen.ingest.inspect_logs`). An inspect-ai log's
per-sample scores become sample logs, which the sample-log kind compares by sample id.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from reportgen.ingest.harnesses import ScoresRun, harness_format, harness_runs
from reportgen.ingest.inspect_logs import inspect_runs, is_inspect_file, is_inspect_folder
from reportgen.ingest.summary_tables import read_summary_table, summary_table
from reportgen.kinds.base import BoardColumn, Context, SummaryPart
from reportgen.kinds.lmeval_results import BenchmarkResult, LmevalResultsKind
from reportgen.model import RunInfo, Section


class BenchmarkScoresKind(LmevalResultsKind):
    name = "benchmark scores"
    title = "Benchmark scores"
    board_rank = 1  # after lm-eval's suites on the language-model leaderboard
    run_types = (ScoresRun,)

    def owns(self, run: Any) -> bool:
        return isinstance(run, ScoresRun)

    def claims_file(self, path: Path) -> bool:
        if path.is_dir():
            return is_inspect_folder(path)
        return (
            is_inspect_file(path)
            or harness_format(path) is not None
            or summary_table(path) is not None
        )

    def load_file(self, path: Path, name: str | None) -> list[Any]:
        if path.is_dir() or is_inspect_file(path):
            return inspect_runs(path, name)
        if harness_format(path) is None:
            return list(read_summary_table(path, name))
        return list(harness_runs(path, name))

    def evaluate(self, runs: list[Any], ctx: Context) -> BenchmarkResult | None:
        if not runs:
            return None
        found = super().evaluate(runs, ctx)
        assert found is not None and found.table is not None
        # no standard errors, no test: equal values are not a tie the way a test says so
        table = found.table
        table.deltas = [
            d if d.p_value_adjusted is not None else replace(d, verdict="untested")
            for d in table.deltas
        ]
        found.comparisons = [
            d.as_comparison(table.baseline, d.family_in(table.deltas)) for d in table.deltas
        ]
        return found

    def columns(self, result: BenchmarkResult, ctx: Context) -> list[BoardColumn]:
        bare = {run.name for run in result.runs if not run.intervals}
        spreads = {run.name: run.spreads for run in result.runs}
        found = []
        for column in super().columns(result, ctx):
            task = column.metric
            spread = dict(column.spread)
            for model, texts in spreads.items():
                if task in texts and model in column.values:
                    spread[model] = texts[task]
            header = column.header
            if bare & set(column.values):
                header += " · no intervals"
            found.append(replace(column, key=("scores", task), header=header, spread=spread))
        return found

    def sections(self, result: BenchmarkResult, ctx: Context) -> list[Section]:
        formats = sorted({run.format for run in result.runs})
        bare = [run.name for run in result.runs if not run.intervals]
        lead = (
            f"Scores as the files report them ({', '.join(formats)}); "
            f"{result.table.baseline} is the baseline. A difference is tested (z-test on the "
            "two standard errors, Holm per model) only where both files give a standard error."
        )
        if bare:
            lead += (
                f" {', '.join(bare[:4])}{' and more' if len(bare) > 4 else ''} come from a "
                "summary table: values without intervals, so no difference is tested."
            )
        found = []
        for section in super().sections(result, ctx):
            tables = [
                replace(
                    t,
                    caption=t.caption.replace("lm-eval's standard error", "its standard error"),
                )
                for t in section.tables
            ]
            found.append(
                replace(
                    section,
                    id="benchmark-scores",
                    title="Benchmark scores (other harnesses)",
                    lead=lead,
                    tables=tables,
                )
            )
        return found

    def run_infos(self, result: BenchmarkResult, ctx: Context) -> list[RunInfo]:
        infos = super().run_infos(result, ctx)
        formats = {run.name: run.format for run in result.runs}
        return [
            replace(info, task=info.task.replace("lm-eval results", formats[info.name]))
            for info in infos
        ]

    def summary(self, result: BenchmarkResult) -> SummaryPart:
        part = super().summary(result)
        for entry, run in zip(part.runs, result.runs, strict=True):
            entry["task"] = "benchmark scores"
            entry["intervals"] = run.intervals
            if run.spreads:
                entry["spreads"] = dict(run.spreads)
        return SummaryPart(runs=part.runs, top={"benchmark_scores": part.top["benchmarks"]})


BENCHMARK_SCORES = BenchmarkScoresKind()
