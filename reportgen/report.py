"""The pipeline in one call: runs -> :class:`Report`, which renders itself as HTML or JSON."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reportgen import __version__, render, sections
from reportgen.errors import ReportgenError
from reportgen.evaluate import RunEvaluation, evaluate
from reportgen.ingest import ColumnNames, Run, load_run, parse_run_argument
from reportgen.model import RunInfo, Section, Table
from reportgen.slices import SliceAnalysis, analyse
from reportgen.tasks import encode_runs
from reportgen.uncertainty import Assessment, assess
from reportgen.views import model_colours

Progress = Callable[[str], None]
RunSource = Run | str | Path


@dataclass
class Report:
    """A built report: the data model that every output format is rendered from."""

    title: str
    task: str
    generated_at: str | None
    runs: list[RunInfo]
    leaderboard: Table
    sections: list[Section]
    evaluations: list[RunEvaluation] = field(repr=False)
    assessment: Assessment = field(repr=False)
    verdict: str = ""
    slices: list[SliceAnalysis] = field(default_factory=list, repr=False)
    version: str = __version__

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary written by ``--json``."""
        return {
            "reportgen_version": self.version,
            "title": self.title,
            "generated_at": self.generated_at,
            "task": self.task,
            "baseline": self.assessment.baseline,
            "bootstrap": {"replicates": self.assessment.replicates, "seed": self.assessment.seed},
            "runs": [
                {
                    **_run_summary(e),
                    "ci": self.assessment.intervals[e.name],
                    "pairing": _pairing_summary(self.assessment, e.name),
                    "slices": {a.column: a.summary_of(e.name) for a in self.slices},
                    "fairness": {
                        a.column: a.fairness[e.name] for a in self.slices if e.name in a.fairness
                    },
                }
                for e in self.evaluations
            ],
            "comparisons": [c.summary() for c in self.assessment.comparisons],
            "slice_comparisons": [
                {"column": a.column, "baseline": self.assessment.baseline, **d.summary()}
                for a in self.slices
                for d in a.deltas
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    def to_html(self) -> str:
        return render.render_html(self)

    def save(self, path: str | Path, format: Literal["html", "json"] | None = None) -> Path:
        """Write the HTML page, or the JSON summary (``format="json"`` or a ``.json`` path)."""
        path = Path(path)
        as_json = format == "json" or (format is None and path.suffix.lower() == ".json")
        text = self.to_json() if as_json else self.to_html()
        render.write_atomic(path, text)
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script, styles and CSP apart from the notebook's
        page = html.escape(self.to_html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:900px;border:0" '
            f'title="{html.escape(self.title)}"></iframe>'
        )


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
        "metrics": {k: _number(v) for k, v in evaluation.metrics.items()},
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
    """Load ``PATH`` or ``NAME=PATH`` arguments (Run objects pass through), in parallel."""

    def load(source: RunSource) -> Run:
        if isinstance(source, Run):
            return source
        name, path = parse_run_argument(str(source))
        return load_run(path, name=name, columns=columns)

    return _parallel_map(load, sources)


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
    progress: Progress | None = None,
) -> Report:
    """Load (if given paths), evaluate and lay out runs into one side-by-side report.

    >>> report = build_report(["old=a.csv", "new=b.csv"], title="v1 vs v2")  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP
    """
    say = progress or (lambda message: None)
    say("Loading runs")
    loaded = load_runs(runs, columns)
    encoded = encode_runs(loaded, task=task, positive_label=positive_label, threshold=threshold)
    say(f"Computing metrics for {len(encoded)} run{'s' if len(encoded) > 1 else ''}")
    evaluations: list[RunEvaluation] = _parallel_map(evaluate, encoded)
    if bootstrap < 0:
        raise ReportgenError(f"--bootstrap {bootstrap} must be 0 (no intervals) or more")
    say(f"Bootstrapping intervals ({bootstrap:,} replicates) and comparing with the baseline")
    assessment = assess(evaluations, baseline, unpaired, bootstrap, seed, _parallel_map)
    analyses = []
    for column in dict.fromkeys(slices):
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
    say("Drawing charts")
    names = [e.name for e in evaluations]
    colours = model_colours(names)
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
    body.append(sections.error_section(evaluations, assessment, colours, top_k, text_col))
    body.append(sections.details_section(evaluations, colours))
    resolved_task = evaluations[0].task
    return Report(
        title=title or _default_title(names, resolved_task),
        task=resolved_task,
        generated_at=generation_time(timestamp),
        runs=[sections.run_info(e, colours[e.name]) for e in evaluations],
        leaderboard=sections.leaderboard(evaluations, colours, assessment),
        sections=body,
        evaluations=evaluations,
        assessment=assessment,
        verdict=sections.verdict_line(assessment),
        slices=analyses,
    )


def _default_title(names: Sequence[str], task: str) -> str:
    shown = " vs ".join(names[:4]) + (" …" if len(names) > 4 else "")
    return f"{shown}: {task} evaluation"
