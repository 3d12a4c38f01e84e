"""The pipeline in one call: runs -> :class:`Report`, which renders itself as HTML or JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reportgen import __version__
from reportgen.charts import draw_all
from reportgen.engines import outofcore as scale
from reportgen.engines.outofcore import (
    ENGINE_NAMES,
    EngineChoice,
    choose_engine,
    open_engine,
    parse_memory,
)
from reportgen.errors import ReportgenError
from reportgen.gates import GateResult, check_names, evaluate_gates, parse_gates
from reportgen.ingest.language import BenchmarkRun, History
from reportgen.ingest.runs import ColumnNames, Run, parse_run_argument
from reportgen.ingest.sources import AnyRun, load_sources
from reportgen.ingest.tabular import MultilabelRun, RegressionRun
from reportgen.kinds import kind_sections, lm_sections
from reportgen.kinds.benchmarks import BenchmarkTable, benchmark_table, parse_overrides
from reportgen.kinds.classification import sections
from reportgen.kinds.classification.assess import Assessment, assess
from reportgen.kinds.classification.encode import EncodedRun, encode_runs, sort_classes
from reportgen.kinds.classification.evaluate import HEADLINE, RunEvaluation, evaluate
from reportgen.kinds.classification.slices import SliceAnalysis, analyse
from reportgen.kinds.efficiency import efficiency_metrics
from reportgen.kinds.embeddings import (
    DEFAULT_MAX_POINTS,
    EmbeddingSource,
    Projection,
    project,
    read_rows,
    sample_rows,
)
from reportgen.kinds.multilabel_metrics import per_label_counts
from reportgen.kinds.sums import (
    LanguageAssessment,
    LanguageResult,
    LMSlices,
    assess_language,
    slice_language,
)
from reportgen.model import RunInfo, Section, Table, model_colours
from reportgen.render import html as render
from reportgen.render import publish

Progress = Callable[[str], None]
RunSource = AnyRun | str | Path
HISTORY_SCALES = ("auto", "linear", "log")
TASKS = ("binary", "multiclass", "multilabel", "regression", "generation")
KIND_TASKS = ("generation", "regression", "multilabel")  # force how every run file is read


@dataclass
class Report:
    """A built report: the data model that every output format is rendered from."""

    title: str
    task: str  # the classification task, or the kinds of runs when there is none
    generated_at: str | None
    runs: list[RunInfo]
    leaderboard: Table | None
    sections: list[Section]
    evaluations: list[RunEvaluation] = field(repr=False)
    assessment: Assessment | None = field(repr=False)
    verdict: str = ""
    slices: list[SliceAnalysis] = field(default_factory=list, repr=False)
    version: str = __version__
    baseline: str = ""
    replicates: int = 0
    seed: int = 0
    language: LanguageAssessment | None = field(default=None, repr=False)
    benchmarks: BenchmarkTable | None = field(default=None, repr=False)
    benchmark_runs: list[BenchmarkRun] = field(default_factory=list, repr=False)
    lm_slices: list[LMSlices] = field(default_factory=list, repr=False)
    kinds: str = ""
    n_models: int = 0
    gates: list[GateResult] = field(default_factory=list)
    regression: LanguageAssessment | None = field(default=None, repr=False)
    multilabel: LanguageAssessment | None = field(default=None, repr=False)
    kind_slices: dict[str, list[LMSlices]] = field(default_factory=dict, repr=False)
    projections: list[Projection] = field(default_factory=list, repr=False)
    engine: str = "memory"
    engine_note: str | None = None  # why auto switched engines, shown under the verdict

    @property
    def leaderboards(self) -> list[tuple[str, Table]]:
        """The leaderboard, then each further kind's (a report may hold several kinds)."""
        found = [("Leaderboard", self.leaderboard)] if self.leaderboard is not None else []
        for section in self.sections:
            if section.id.endswith("-leaderboard") and section.tables:
                found.append((section.title, section.tables[0]))
        return found

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary written by ``--json``."""
        classification = []
        if self.assessment is not None:
            assessment = self.assessment
            classification = [
                {
                    **_run_summary(e),
                    "ci": assessment.intervals[e.name],
                    "pairing": _pairing_summary(assessment, e.name),
                    "slices": {a.column: a.summary_of(e.name) for a in self.slices},
                    "fairness": {
                        a.column: a.fairness[e.name] for a in self.slices if e.name in a.fairness
                    },
                }
                for e in self.evaluations
            ]
        language = _example_runs(self.language, self.lm_slices)
        for kind in ("regression", "multilabel"):
            language += _example_runs(getattr(self, kind), self.kind_slices.get(kind, []))
        by_name = {p.name: p for p in self.projections}
        for entry in classification:
            projection = by_name.get(entry["name"])
            if projection is not None:
                entry["embedding"] = {
                    "sampled": len(projection.rows),
                    "dimensions": projection.dims,
                    "silhouette": projection.silhouette_score,
                    "pca_explained_variance": list(projection.explained),
                }
        benchmark_runs = [
            {
                "name": run.name,
                "task": "benchmark",
                "n_examples": run.n_examples,
                "source": {
                    "path": str(run.path),
                    "sha256": run.sha256,
                    "format": run.format,
                    "files": [str(p) for p in run.files],
                },
                "metadata": run.metadata,
                "notes": run.notes,
            }
            for run in self.benchmark_runs
        ]
        comparisons = [] if self.assessment is None else self.assessment.comparisons
        for other in (self.language, self.regression, self.multilabel):
            if other is not None:
                comparisons = [*comparisons, *other.comparisons]
        found: dict[str, Any] = {
            "reportgen_version": self.version,
            "title": self.title,
            "generated_at": self.generated_at,
            "task": self.task,
            "baseline": self.baseline,
            "bootstrap": {"replicates": self.replicates, "seed": self.seed},
            "engine": {"name": self.engine, "note": self.engine_note},
            "runs": [*classification, *language, *benchmark_runs],
            "comparisons": [c.summary() for c in comparisons],
            "slice_comparisons": [
                {"column": a.column, "baseline": self.baseline, **d.summary()}
                for a in self.slices
                for d in a.deltas
            ],
        }
        if self.benchmarks is not None:
            found["benchmarks"] = self.benchmarks.summary()
        if self.gates:
            found["gates"] = {
                "passed": not self.failed_gates,
                "results": [g.summary() for g in self.gates],
            }
        return found

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    def to_html(self, static: bool = False) -> str:
        """The self-contained page; ``static=True``: no JavaScript, charts as SVG images."""
        return render.render_html(self, static=static)

    def to_markdown(self) -> str:
        """A GitHub-flavoured summary (verdict, gates, leaderboard) for PR comments."""
        return publish.to_markdown(self)

    def to_junit(self) -> str:
        """JUnit XML: one test case per gate and model."""
        return publish.to_junit(self)

    def to_email(
        self, to: str | None = None, subject: str | None = None, sender: str | None = None
    ) -> bytes:
        """A ready-to-send MIME message (.eml) with the full report attached."""
        return publish.to_email(self, to=to, subject=subject, sender=sender)

    def save(
        self,
        path: str | Path,
        format: Literal["html", "static", "json", "markdown", "junit", "eml"] | None = None,
    ) -> Path:
        """Write one output, by ``format`` or by the path's suffix (.html, .json, .md, .xml,
        .eml)."""
        path = Path(path)
        suffixes = {".json": "json", ".md": "markdown", ".xml": "junit", ".eml": "eml"}
        chosen = format or suffixes.get(path.suffix.lower(), "html")
        if chosen == "eml":
            render.write_atomic_bytes(path, self.to_email())
            return path
        writers = {
            "html": self.to_html,
            "static": lambda: self.to_html(static=True),
            "json": self.to_json,
            "markdown": self.to_markdown,
            "junit": self.to_junit,
        }
        render.write_atomic(path, writers[chosen]())
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script, styles and CSP apart from the notebook's
        page = html.escape(self.to_html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:900px;border:0" '
            f'title="{html.escape(self.title)}"></iframe>'
        )


def _example_runs(
    assessment: LanguageAssessment | None, slices: Sequence[LMSlices]
) -> list[dict[str, Any]]:
    """JSON entries of runs evaluated from per-example sums (language, regression,
    multilabel)."""
    if assessment is None:
        return []
    found = []
    for result in assessment.results:
        run = result.run
        pairing = assessment.pairings.get((result.group, result.name))
        entry: dict[str, Any] = {
            "name": result.name,
            "task": run.kind,
            "benchmark_task": getattr(run, "task", None),
            "n_examples": run.n_examples,
            "source": {"path": str(run.path), "sha256": run.sha256, "format": run.format},
            "columns": run.columns,
            "metadata": run.metadata,
            "metrics": {k: _number(v) for k, v in result.metrics.items()},
            "metric_notes": dict(sorted(result.metric_notes.items())),
            "ci": result.intervals,
            "pairing": None
            if pairing is None
            else {
                "with": assessment.baselines[result.group],
                "mode": pairing.mode,
                "n_paired": pairing.n_paired,
                "note": pairing.note,
            },
            "slices": {
                s.column: [
                    {"value": c.value, "n": c.n, "small": c.small, c.metric: c.score}
                    for c in s.cells
                    if c.model == result.name and c.group == result.group
                ]
                for s in slices
            },
            "notes": run.notes,
        }
        if isinstance(run, MultilabelRun):
            entry["labels"] = list(run.label_names)
            entry["per_label"] = _per_label_summary(result)
        if isinstance(run, RegressionRun | MultilabelRun):
            entry.pop("benchmark_task")
        found.append(entry)
    return found


def _per_label_summary(result: LanguageResult) -> list[dict[str, Any]]:
    run = result.run
    assert isinstance(run, MultilabelRun)
    counts = per_label_counts(result.columns, len(run.label_names))
    auc, ap = result.per_label.get("roc_auc"), result.per_label.get("average_precision")
    rows = []
    for j, name in enumerate(run.label_names):
        row: dict[str, Any] = {
            "label": name,
            "precision": float(counts["precision"][j]),
            "recall": float(counts["recall"][j]),
            "f1": float(counts["f1"][j]),
            "support": int(counts["support"][j]),
        }
        if auc is not None and ap is not None:
            row["roc_auc"] = None if not np.isfinite(auc[j]) else float(auc[j])
            row["average_precision"] = None if not np.isfinite(ap[j]) else float(ap[j])
        rows.append(row)
    return rows


def _pairing_summary(assessment: Assessment, name: str) -> dict[str, Any] | None:
    pairing = assessment.pairings.get(name)
    if pairing is None:
        return None
    return {
        "with": assessment.baseline,
        "mode": pairing.mode,
        "n_paired": pairing.n_paired,
        "note": pairing.note,
    }


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def _run_summary(evaluation: RunEvaluation) -> dict[str, Any]:
    encoded = evaluation.encoded
    run = encoded.run
    classes = list(encoded.classes)
    pc = evaluation.per_class
    per_class = []
    for k, name in enumerate(classes):
        absent = pc["support"][k] == 0 and evaluation.confusion.predicted[k] == 0
        per_class.append(
            {
                "class": name,
                "precision": None if absent else float(pc["precision"][k]),
                "recall": None if absent else float(pc["recall"][k]),
                "f1": None if absent else float(pc["f1"][k]),
                "support": int(pc["support"][k]),
            }
        )
    return {
        "name": run.name,
        "task": encoded.task,
        "n_examples": run.n_examples,
        "classes": classes,
        "positive_label": classes[encoded.positive] if encoded.positive is not None else None,
        "predictions_from": encoded.prediction_source,
        "source": {"path": str(run.path), "sha256": run.sha256, "format": run.format},
        "columns": run.columns,
        "metadata": run.metadata,
        "metrics": {
            **{k: _number(v) for k, v in evaluation.metrics.items()},
            **efficiency_metrics(run.extra),
        },
        "metric_notes": dict(sorted(evaluation.metric_notes.items())),
        "per_class": per_class,
        "confusion_matrix": {"labels": classes, "matrix": evaluation.confusion.matrix.tolist()},
        "notes": [*encoded.notes, *evaluation.notes],
    }


def generation_time(timestamp: bool = True) -> str | None:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds); None to omit."""
    if not timestamp:
        return None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except ValueError:
            raise ReportgenError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds"
            ) from None
    else:
        moment = dt.datetime.now(tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def load_runs(sources: Sequence[RunSource], columns: ColumnNames | None = None) -> list[Run]:
    """Load classification ``PATH`` or ``NAME=PATH`` arguments (Run objects pass through)."""
    found = load_sources(sources, columns, mapper=_parallel_map)
    other = [r for r in found.runs if not isinstance(r, Run)]
    if other:
        raise ReportgenError(f"{other[0].path}: a {other[0].kind} run, not a classification run")
    return found.classification


def _parallel_map(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``map`` on threads: reading Parquet and sorting release the GIL. Results (and the
    first error, if any) come in input order, so the outcome does not depend on timing."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def build_report(
    runs: Sequence[RunSource],
    *,
    title: str | None = None,
    task: str | None = None,
    positive_label: str | None = None,
    threshold: float | None = None,
    columns: ColumnNames | None = None,
    timestamp: bool = True,
    baseline: str | None = None,
    unpaired: bool = False,
    bootstrap: int = 1000,
    seed: int = 0,
    top_k: int = 20,
    text_col: str | None = None,
    slices: Sequence[str] = (),
    slice_bins: int = 4,
    min_slice_size: int = 30,
    benchmark_metrics: Sequence[str] = (),
    histories: Sequence[str | History] = (),
    history_scale: str = "auto",
    fail_if: Sequence[str] = (),
    embeddings: Sequence[str] = (),
    max_points: int = DEFAULT_MAX_POINTS,
    progress: Progress | None = None,
    engine: str = "auto",
    memory_limit: str | int | None = None,
    spark_master: str = "local[*]",
) -> Report:
    """Load (if given paths), evaluate and lay out runs into one side-by-side report.

    Runs may be of several kinds (classification, regression, multilabel, perplexity,
    generation, lm-eval results and sample logs); each kind gets its own sections and runs are
    compared within their kind. ``embeddings`` (``NAME=PATH.npy``) and ``embedding`` columns add
    PCA/t-SNE projections of at most ``max_points`` sampled examples per classification run.

    >>> report = build_report(["old=a.csv", "new=b.csv"], title="v1 vs v2")  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP
    """
    say = progress or (lambda message: None)
    if bootstrap < 0:
        raise ReportgenError(f"--bootstrap {bootstrap} must be 0 (no intervals) or more")
    if task is not None and task not in TASKS:
        raise ReportgenError(f"--task {task!r} is not known; use {', '.join(TASKS)}")
    if max_points < 10:
        raise ReportgenError(f"--max-points {max_points} is too small; use 10 or more")
    if history_scale not in HISTORY_SCALES:
        raise ReportgenError(f"--history-scale {history_scale!r}: use auto, linear or log")
    overrides = parse_overrides(benchmark_metrics)
    gates = parse_gates(fail_if)
    if not runs:
        raise ReportgenError("no runs given; pass at least one run file")
    limit = parse_memory(memory_limit) if isinstance(memory_limit, str) else memory_limit
    choice = choose_engine(engine, runs, limit)
    if choice.name != "memory":
        if choice.reason:
            say("Switching to DuckDB: the runs do not fit --memory-limit")
        return build_out_of_core(
            runs,
            choice,
            spark_master=spark_master,
            title=title,
            task=task,
            positive_label=positive_label,
            threshold=threshold,
            columns=columns,
            timestamp=timestamp,
            baseline=baseline,
            unpaired=unpaired,
            bootstrap=bootstrap,
            seed=seed,
            top_k=top_k,
            text_col=text_col,
            slices=slices,
            min_slice_size=min_slice_size,
            gates=gates,
            say=say,
        )
    say("Loading runs")
    found = load_sources(
        runs, columns, task if task in KIND_TASKS else None, histories, _parallel_map
    )
    names = list(dict.fromkeys(r.name for r in found.runs))
    if baseline is not None and baseline not in names:
        raise ReportgenError(
            f"--baseline {baseline!r} is not a run name; runs are: {', '.join(names)}"
        )
    resolved_baseline = baseline or names[0]
    check_names(gates, names, _loaded_metric_names(found), resolved_baseline)
    colours = model_colours(names + [h.name for h in found.histories if h.name not in names])
    body: list[Section] = []
    evaluations: list[RunEvaluation] = []
    assessment: Assessment | None = None
    analyses: list[SliceAnalysis] = []
    leaderboard: Table | None = None
    verdicts: list[str] = []
    run_infos: list[RunInfo] = []
    classification = _with_embeddings(found, embeddings)
    projections: list[Projection] = []
    if classification:
        evaluations, assessment, analyses = _classification(
            classification,
            task,
            positive_label,
            threshold,
            baseline if baseline in {r.name for r in classification} else None,
            unpaired,
            bootstrap,
            seed,
            slices,
            slice_bins,
            min_slice_size,
            say,
        )
        projections = _projections(evaluations, max_points, seed, say)
        say("Drawing charts")
        body += _classification_sections(
            evaluations, assessment, analyses, colours, top_k, text_col
        )
        if projections:
            ids = {e.name: e.encoded.run.ids for e in evaluations}
            classes = evaluations[0].encoded.classes
            embedding = kind_sections.embedding_section(projections, classes, colours, ids, seed)
            body.insert(len(body) - 1, embedding)  # before the error examples
        leaderboard = sections.leaderboard(evaluations, colours, assessment)
        verdicts.append(sections.verdict_line(assessment))
        run_infos += [sections.run_info(e, colours[e.name]) for e in evaluations]
    language = None
    lm_slices: list[LMSlices] = []
    if found.language:
        say(f"Evaluating {len(found.language)} language-model run(s)")
        language = assess_language(
            found.language, resolved_baseline, bootstrap, seed, _parallel_map
        )
        for column in dict.fromkeys(slices):
            found_slices = slice_language(language.results, column, slice_bins, min_slice_size)
            if found_slices is not None:
                lm_slices.append(found_slices)
    table = None
    if found.benchmarks:
        table = benchmark_table(found.benchmarks, resolved_baseline, overrides)
    elif overrides:
        raise ReportgenError("--benchmark-metric given, but no lm-eval results among the runs")
    if language is not None or table is not None:
        lm_names = list(
            dict.fromkeys(
                [r.name for r in (language.results if language else [])]
                + ([*table.models] if table else [])
            )
        )
        lm_board = lm_sections.leaderboard(
            lm_names,
            colours,
            language,
            table,
            resolved_baseline if resolved_baseline in lm_names else lm_names[0],
        )
        if leaderboard is None:
            leaderboard = lm_board
        else:
            body.append(
                Section("lm-leaderboard", "Language models: leaderboard", tables=[lm_board])
            )
        verdicts.append(lm_sections.verdict_line(language, table))
        if language is not None:
            run_infos += [lm_sections.run_info(r.run, colours[r.name]) for r in language.results]
            comparison = lm_sections.comparison_section(language, colours, bootstrap, seed)
            if comparison is not None:
                body.append(comparison)
            perplexity = lm_sections.perplexity_section(language, colours)
            if perplexity is not None:
                body.append(perplexity)
            body += lm_sections.text_sections(language, colours, top_k)
            body += [lm_sections.slice_section(a, colours, i) for i, a in enumerate(lm_slices)]
        if table is not None:
            run_infos += [lm_sections.run_info(r, colours[r.name]) for r in found.benchmarks]
            body.append(lm_sections.benchmark_section(table, colours))
    kind_results: dict[str, LanguageAssessment] = {}
    kind_slices: dict[str, list[LMSlices]] = {}
    for kind, members in (("regression", found.regression), ("multilabel", _aligned(found))):
        if not members:
            continue
        say(f"Evaluating {len(members)} {kind} run{'s' if len(members) > 1 else ''}")
        assessed = assess_language(members, resolved_baseline, bootstrap, seed, _parallel_map)
        kind_results[kind] = assessed
        kind_slices[kind] = [
            a
            for column in dict.fromkeys(slices)
            if (a := slice_language(assessed.results, column, slice_bins, min_slice_size))
        ]
        base_name = assessed.baselines[kind]
        board = lm_sections.leaderboard(
            [r.name for r in assessed.results], colours, assessed, None, base_name
        )
        if leaderboard is None:
            leaderboard = board
        else:
            heading = f"{kind.capitalize()}: leaderboard"
            body.append(Section(f"{kind}-leaderboard", heading, tables=[board]))
        verdicts.append(sections.verdict_text(assessed.comparisons, base_name, f"{kind} metrics"))
        run_infos += [lm_sections.run_info(r.run, colours[r.name]) for r in assessed.results]
        if kind == "regression":
            body += kind_sections.regression_sections(
                assessed, colours, top_k, text_col, bootstrap, seed
            )
        else:
            body += kind_sections.multilabel_sections(assessed, colours, top_k, bootstrap, seed)
        body += [
            lm_sections.slice_section(a, colours, i, kind.capitalize(), kind)
            for i, a in enumerate(kind_slices[kind])
        ]
    if slices:
        _check_slices_found(
            slices,
            analyses,
            [*lm_slices, *(a for v in kind_slices.values() for a in v)],
            found.runs,
        )
    efficiency = lm_sections.efficiency_section(_efficiency_entries(evaluations, language), colours)
    if efficiency is not None:
        body.append(efficiency)
    training = lm_sections.history_section(found.histories, colours, history_scale)
    if training is not None:
        body.append(training)
    if evaluations:
        body.append(sections.details_section(evaluations, colours))
    kinds = _kinds(evaluations, found)
    gate_results = evaluate_gates(
        gates,
        names,
        resolved_baseline,
        lambda model, metric: _value_of(
            model, metric, evaluations, [language, *kind_results.values()], table
        ),
        lambda model, metric: _verdict_of(
            model, metric, assessment, [language, *kind_results.values()], table
        ),
        lambda model, metric: _baseline_of(
            model,
            metric,
            resolved_baseline,
            evaluations,
            assessment,
            [language, *kind_results.values()],
            table,
        ),
    )
    draw_all(body)
    return Report(
        title=title or _default_title(names, kinds),
        task=evaluations[0].task if evaluations else kinds,
        generated_at=generation_time(timestamp),
        runs=run_infos,
        leaderboard=leaderboard,
        sections=body,
        evaluations=evaluations,
        assessment=assessment,
        verdict=" ".join(v for v in verdicts if v),
        slices=analyses,
        baseline=resolved_baseline,
        replicates=bootstrap,
        seed=seed,
        language=language,
        benchmarks=table,
        benchmark_runs=found.benchmarks,
        lm_slices=lm_slices,
        kinds=kinds,
        n_models=len(names),
        gates=gate_results,
        regression=kind_results.get("regression"),
        multilabel=kind_results.get("multilabel"),
        kind_slices=kind_slices,
        projections=projections,
    )


def build_out_of_core(
    runs: Sequence[RunSource],
    choice: EngineChoice,
    *,
    spark_master: str,
    title: str | None,
    task: str | None,
    positive_label: str | None,
    threshold: float | None,
    columns: ColumnNames | None,
    timestamp: bool,
    baseline: str | None,
    unpaired: bool,
    bootstrap: int,
    seed: int,
    top_k: int,
    text_col: str | None,
    slices: Sequence[str],
    min_slice_size: int,
    gates: Any,
    say: Progress,
) -> Report:
    """Classification runs evaluated by an engine (DuckDB or Spark) where they lie: the same
    sections as in memory from aggregated statistics; per-example views are skipped."""
    if task is not None and task not in ("binary", "multiclass"):
        raise ReportgenError(
            f"--task {task}: the {choice.name} engine evaluates binary and multiclass runs; "
            "use --engine memory"
        )
    engine = open_engine(choice, spark_master)
    say(f"Reading {len(runs)} run(s) with {choice.name}")
    tables = [scale.open_run(engine, r, columns) for r in runs]
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise ReportgenError(f"two runs are named {_first_repeat(names)!r}; name them NAME=PATH")
    if baseline is not None and baseline not in names:
        raise ReportgenError(
            f"--baseline {baseline!r} is not a run name; runs are: {', '.join(names)}"
        )
    resolved = baseline or names[0]
    check_names(gates, names, set(HEADLINE["binary"]) | set(HEADLINE["multiclass"]), resolved)
    say("Aggregating statistics")
    found = [scale.aggregate(engine, t, threshold, task, positive_label) for t in tables]
    run_task = found[0].task
    for f in found[1:]:
        if f.task != run_task:
            raise ReportgenError(
                f"{f.run.name} is a {f.task} run and {found[0].run.name} a {run_task} one; "
                f"out of core, compare runs of one task (--task {run_task}, or one run per "
                "report)"
            )
    classes = sort_classes(set().union(*(f.labels for f in found)))
    evaluations = [
        scale.evaluate_table(engine, f, classes, positive_label, threshold) for f in found
    ]
    scale.stage_rows(engine, found, evaluations, top_k)
    say(f"Bootstrapping intervals ({bootstrap:,} replicates) and comparing with the baseline")
    assessment = scale.assess_tables(
        engine, found, evaluations, resolved, unpaired, bootstrap, seed, threshold, _parallel_map
    )
    analyses = []
    for column in dict.fromkeys(slices):
        say(f"Slicing by {column}")
        analyses.append(
            scale.slice_analysis(
                engine, found, evaluations, column, resolved, min_slice_size, threshold
            )
        )
    colours = model_colours(names)
    say("Drawing charts")
    body = _classification_sections(
        evaluations,
        assessment,
        analyses,
        colours,
        top_k,
        text_col,
        out_of_core=(engine, found, threshold),
    )
    body.append(sections.details_section(evaluations, colours))
    draw_all(body)
    gate_results = evaluate_gates(
        gates,
        names,
        resolved,
        lambda model, metric: _value_of(model, metric, evaluations, [], None),
        lambda model, metric: _verdict_of(model, metric, assessment, [], None),
        lambda model, metric: _baseline_of(
            model, metric, resolved, evaluations, assessment, [], None
        ),
    )
    return Report(
        title=title or _default_title(names, run_task),
        task=run_task,
        generated_at=generation_time(timestamp),
        runs=[sections.run_info(e, colours[e.name]) for e in evaluations],
        leaderboard=sections.leaderboard(evaluations, colours, assessment),
        sections=body,
        evaluations=evaluations,
        assessment=assessment,
        verdict=sections.verdict_line(assessment),
        slices=analyses,
        baseline=resolved,
        replicates=bootstrap,
        seed=seed,
        kinds=run_task,
        n_models=len(names),
        gates=gate_results,
        engine=choice.name,
        engine_note=(choice.reason + ".")
        if choice.reason
        else (
            f"Statistics computed by {ENGINE_NAMES[choice.name]} where the files lie; "
            "per-example views are limited to top-k lists."
        ),
    )


def _first_repeat(names: Sequence[str]) -> str:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return ""


def _with_embeddings(found: Any, embeddings: Sequence[str]) -> list[Run]:
    """The classification runs, with ``--embeddings NAME=PATH`` files attached by name."""
    runs = list(found.classification)
    by_name = {r.name: i for i, r in enumerate(runs)}
    for item in embeddings:
        name, path = parse_run_argument(str(item))
        if name is None:
            raise ReportgenError(
                f"--embeddings {item!r}: write NAME=PATH, e.g. --embeddings v2=runs/v2.npy"
            )
        if name not in by_name:
            other = next((r for r in found.runs if r.name == name), None)
            if other is not None:
                raise ReportgenError(
                    f"--embeddings {item!r}: {name!r} is a {other.kind} run; embedding views "
                    "colour examples by true class, so they need a classification run"
                )
            known = ", ".join(by_name) or "(none)"
            raise ReportgenError(
                f"--embeddings {item!r}: no classification run named {name!r}; runs are: {known}"
            )
        if not path.is_file():
            raise ReportgenError(f"--embeddings {item!r}: {path}: file not found")
        if path.suffix.lower() != ".npy":
            raise ReportgenError(
                f"--embeddings {item!r}: {path} is not a .npy file; save the n x d array with "
                "numpy.save, or put the vectors in an 'embedding' column of the run file"
            )
        index = by_name[name]
        runs[index] = dataclasses.replace(
            runs[index], embedding=EmbeddingSource(str(path), npy=path)
        )
    return runs


def _projections(
    evaluations: list[RunEvaluation], max_points: int, seed: int, say: Progress
) -> list[Projection]:
    having = [e for e in evaluations if e.encoded.run.embedding is not None]
    if not having:
        return []
    say(f"Projecting embeddings (PCA, t-SNE on at most {max_points:,} examples per run)")

    def one(evaluation: RunEvaluation) -> Projection:
        encoded: EncodedRun = evaluation.encoded
        run = encoded.run
        assert run.embedding is not None
        rows = sample_rows(run.n_examples, max_points, seed)
        vectors = read_rows(run.embedding, rows, run.n_examples)
        return project(
            run.name,
            vectors,
            rows,
            encoded.y_true[rows],
            encoded.y_pred[rows],
            run.n_examples,
            seed,
        )

    # one at a time: t-SNE already uses every core (OpenMP), and two at once contend
    return [one(e) for e in having]


def _aligned(found: Any) -> list[MultilabelRun]:
    """Multilabel runs over one shared label list, so per-label tables line up."""
    runs = found.multilabel
    if not runs:
        return []
    shared = sort_classes({name for run in runs for name in run.label_names})
    return [run.aligned(shared) for run in runs]


def _loaded_metric_names(found: Any) -> set[str]:
    """Metric names known once runs are loaded: lm-eval tasks and logged sample metrics."""
    names = {task for run in found.benchmarks for task in run.tasks}
    for run in found.language:
        names |= set(getattr(run, "sample_metrics", {}))
    return names


def _value_of(
    model: str,
    metric: str,
    evaluations: list[RunEvaluation],
    assessments: Sequence[LanguageAssessment | None],
    table: BenchmarkTable | None,
) -> float | None:
    for e in evaluations:
        if e.name == model:
            value = e.metrics.get(metric, efficiency_metrics(e.encoded.run.extra).get(metric))
            if value is not None:
                return float(value)
    for r in (r for a in assessments if a is not None for r in a.results):
        if r.name == model and r.metrics.get(metric) is not None:
            return float(r.metrics[metric])  # type: ignore[arg-type]
    if table is not None and metric in table.scores.get(model, {}):
        return table.scores[model][metric].value
    return None


def _baseline_of(
    model: str,
    metric: str,
    default: str,
    evaluations: list[RunEvaluation],
    assessment: Assessment | None,
    assessments: Sequence[LanguageAssessment | None],
    table: BenchmarkTable | None,
) -> str:
    """The baseline that ``model`` is compared with on ``metric``: its kind's baseline."""
    if assessment is not None and any(e.name == model and metric in e.metrics for e in evaluations):
        return assessment.baseline
    for found in assessments:
        for r in found.results if found is not None else []:
            if r.name == model and metric in r.metrics:
                return found.baselines[r.group]  # type: ignore[union-attr]
    if table is not None and metric in table.scores.get(model, {}):
        return table.baseline
    return default


def _verdict_of(
    model: str,
    metric: str,
    assessment: Assessment | None,
    assessments: Sequence[LanguageAssessment | None],
    table: BenchmarkTable | None,
) -> str | None:
    comparisons = [
        *(assessment.comparisons if assessment else []),
        *(c for a in assessments if a is not None for c in a.comparisons),
    ]
    for c in comparisons:
        if c.candidate == model and c.metric == metric:
            return c.verdict
    for d in table.deltas if table else []:
        if d.candidate == model and d.task == metric:
            return d.verdict
    return None


def _classification(
    runs: list[Run],
    task: str | None,
    positive_label: str | None,
    threshold: float | None,
    baseline: str | None,
    unpaired: bool,
    bootstrap: int,
    seed: int,
    slices: Sequence[str],
    slice_bins: int,
    min_slice_size: int,
    say: Progress,
) -> tuple[list[RunEvaluation], Assessment, list[SliceAnalysis]]:
    encoded = encode_runs(
        runs,
        task=task if task in ("binary", "multiclass") else None,
        positive_label=positive_label,
        threshold=threshold,
    )
    say(f"Computing metrics for {len(encoded)} run{'s' if len(encoded) > 1 else ''}")
    evaluations: list[RunEvaluation] = _parallel_map(evaluate, encoded)
    say(f"Bootstrapping intervals ({bootstrap:,} replicates) and comparing with the baseline")
    assessment = assess(evaluations, baseline, unpaired, bootstrap, seed, _parallel_map)
    analyses = []
    for column in dict.fromkeys(slices):
        having = [
            column in e.encoded.run.extra.columns
            or column.lower() in {str(c).lower() for c in e.encoded.run.extra.columns}
            for e in evaluations
        ]
        if not any(having):
            continue  # the column may belong to other kinds of runs in this report
        say(f"Slicing by {column}")
        analyses.append(
            analyse(
                evaluations,
                column,
                assessment.baseline,
                assessment.pairings,
                slice_bins,
                min_slice_size,
                bootstrap,
                seed,
                _parallel_map,
            )
        )
    return evaluations, assessment, analyses


def _classification_sections(
    evaluations: list[RunEvaluation],
    assessment: Assessment,
    analyses: list[SliceAnalysis],
    colours: dict[str, str],
    top_k: int,
    text_col: str | None,
    out_of_core: tuple[Any, Sequence[Any], float | None] | None = None,
) -> list[Section]:
    names = [e.name for e in evaluations]
    body: list[Section] = []
    if assessment.comparisons:
        body.append(sections.comparison_section(assessment, colours))
    body.append(sections.confusion_section(evaluations, names))
    body.append(sections.curves_section(evaluations, colours))
    thresholds = sections.threshold_section(evaluations, colours)
    if thresholds is not None:
        body.append(thresholds)
    body.append(sections.calibration_section(evaluations, colours))
    pairs = sections.confused_pairs_section(evaluations, colours)
    if pairs is not None:
        body.append(pairs)
    body.append(sections.per_class_section(evaluations, colours))
    body += [
        sections.slice_section(a, colours, assessment.baseline, i) for i, a in enumerate(analyses)
    ]
    if out_of_core is None:
        body.append(sections.error_section(evaluations, assessment, colours, top_k, text_col))
    else:
        engine, found, threshold = out_of_core
        mistakes = {
            e.name: scale.mistakes(engine, f, e, top_k, threshold)
            for f, e in zip(found, evaluations, strict=True)
        }
        body.append(sections.bounded_error_section(evaluations, mistakes, top_k, text_col))
    return body


def _check_slices_found(
    slices: Sequence[str],
    analyses: list[SliceAnalysis],
    lm_slices: list[LMSlices],
    runs: Sequence[AnyRun],
) -> None:
    done = {a.column.lower() for a in analyses} | {s.column.lower() for s in lm_slices}
    for column in slices:
        if column.lower() not in done:
            first = next((r for r in runs if hasattr(r, "extra")), runs[0])
            extra = getattr(first, "extra", None)
            known = ", ".join(map(str, extra.columns)) if extra is not None else ""
            raise ReportgenError(
                f"{first.path}: no column {column!r} for --slice (nor in any other run); "
                f"metadata columns are: {known or '(none)'}"
            )


def _efficiency_entries(
    evaluations: list[RunEvaluation], language: LanguageAssessment | None
) -> list[tuple[str, str, dict[str, float], str, float | None]]:
    entries = []
    for e in evaluations:
        found = efficiency_metrics(e.encoded.run.extra)
        if found:
            metric = HEADLINE[e.task][0]
            entries.append(
                (e.name, f"{e.task} classification", found, metric, e.metrics.get(metric))
            )
    if language is not None:
        for r in language.results:
            if r.efficiency:
                metric = r.headline[0]
                kind = lm_sections.group_title(r.group)
                entries.append((r.name, kind, r.efficiency, metric, r.metrics.get(metric)))
    return entries


def _kinds(evaluations: list[RunEvaluation], found: Any) -> str:
    kinds = []
    if evaluations:
        kinds.append(f"{evaluations[0].task} classification")
    for run in found.runs:
        if not isinstance(run, Run):
            kind = {"lm-eval samples": "lm-eval sample logs", "benchmark": "lm-eval results"}.get(
                run.kind, run.kind
            )
            if kind not in kinds:
                kinds.append(kind)
    return ", ".join(kinds)


def _default_title(names: Sequence[str], kinds: str) -> str:
    shown = " vs ".join(names[:4]) + (" …" if len(names) > 4 else "")
    return f"{shown}: {kinds.replace(' classification', '')} evaluation"
