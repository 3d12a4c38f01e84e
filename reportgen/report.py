"""The built report: the data model that every output format is rendered from, in one place.

:func:`reportgen.pipeline.build_report` makes it; :meth:`Report.save` writes it as HTML (with
or without JavaScript), JSON, Markdown, JUnit XML or an email.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from reportgen import __version__
from reportgen import kinds as registry
from reportgen.errors import ReportgenError
from reportgen.gates import GateResult
from reportgen.kinds.base import KindResult
from reportgen.model import RunInfo, Section, Table
from reportgen.render import html as render
from reportgen.render import publish
from reportgen.render.reporters import reporter_for
from reportgen.stats.comparison import Comparison
from reportgen.stats.score import Score
from reportgen.summaries import SCHEMA_VERSION
from reportgen.trend import Trend


@dataclass
class Report:
    """A built report: the data model that every output format is rendered from."""

    title: str
    task: str  # the task the runs share (binary, multiclass), else the kinds of runs
    generated_at: str | None
    runs: list[RunInfo]
    leaderboard: Table | None
    sections: list[Section]
    results: list[KindResult] = field(default_factory=list, repr=False)  # one per kind
    verdict: str = ""
    version: str = __version__
    baseline: str = ""
    replicates: int = 0
    seed: int = 0
    kinds: str = ""
    n_models: int = 0
    gates: list[GateResult] = field(default_factory=list)
    # tied gated metrics: what this set detects, and how many examples the margin needs
    detectable: list[str] = field(default_factory=list)
    engine: str = "memory"
    engine_note: str | None = None  # why auto switched engines, shown under the verdict
    # what a reader must know about how the report was built (the same file under two names,
    # runs no other model could be compared with): under the verdict, in the JSON, on stderr
    warnings: list[str] = field(default_factory=list)
    # how it was built, to be pasted: the reportgen build command, or the build_report call
    command: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # --label KEY=VALUE, in order
    trend: Trend | None = None  # the trend of earlier builds (--trend; reportgen history)
    # the HTML file save() last wrote, which show() opens
    _saved: Path | None = field(default=None, init=False, repr=False, compare=False)

    def result(self, kind: str) -> Any:
        """One kind's result (``"classification"``, ``"regression"``, ...), or None."""
        return next((r for r in self.results if r.kind == kind), None)

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

    @property
    def scores(self) -> list[Score]:
        """Every kind's score records, in page order of the kinds."""
        return [s for r in self.results for s in r.scores]

    @property
    def comparisons(self) -> list[Comparison]:
        """Every kind's comparisons of a candidate with its baseline (verdicts settled)."""
        return [c for r in self.results for c in r.comparisons]

    def scores_frame(self) -> pd.DataFrame:
        """The score records as a DataFrame: one row per model, metric and slice; the columns
        are :class:`~reportgen.stats.score.Score`'s fields."""
        return _frame(Score, [s.summary() for s in self.scores])

    def metrics_frame(self) -> pd.DataFrame:
        """Each model's metrics on the whole runs as a tidy DataFrame: one row per model,
        scope and metric (``model``, ``kind``, ``scope``, ``metric``, ``value``, the interval
        ``low``/``high`` or ``stderr``, ``n``, ``baseline``, ``reason`` when undefined);
        slices are in :meth:`scores_frame`."""
        columns = ["model", "kind", "scope", "metric", "value", "low", "high", "stderr", "n"]
        columns += ["baseline", "reason"]
        rows = [s.summary() for s in self.scores if s.slice_column is None]
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=columns)
        return frame[columns].reset_index(drop=True)

    @property
    def slice_comparisons(self) -> list[Comparison]:
        """Comparisons on each value of a ``--slice`` column (``slice_column``, ``slice_value``)."""
        return [c for r in self.results for c in r.by_slice]

    def comparisons_frame(self) -> pd.DataFrame:
        """The comparison records as a DataFrame: one row per candidate, baseline, metric and
        slice value (``slice_column`` empty for the whole runs); the columns are
        :class:`~reportgen.stats.comparison.Comparison`'s fields (without the bootstrap
        replicates), intervals as ``ci_low``/``ci_high`` and ``ci_adjusted_low``/
        ``ci_adjusted_high``."""
        rows = [c.record() for c in (*self.comparisons, *self.slice_comparisons)]
        return _frame(Comparison, rows)

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary written by ``--json``."""
        kinds = registry.by_name()
        entries: list[tuple[str, dict[str, Any]]] = []  # (board, run entry)
        patches: dict[tuple[str, str], dict[str, Any]] = {}
        extra: dict[str, Any] = {}
        slices: list[dict[str, Any]] = []
        for result in self.results:
            kind = kinds[result.kind]
            part = kind.summary(result)
            entries += [(kind.board, entry) for entry in part.runs]
            for name, patch in part.patches.items():
                patches[(kind.board, name)] = patch
            slices += part.slice_comparisons
            extra |= part.top
        runs = [entry | patches.get((board, entry["name"]), {}) for board, entry in entries]
        headlines = {
            r.kind: metrics for r in self.results if (metrics := kinds[r.kind].headline_metrics(r))
        }
        found: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "reportgen_version": self.version,
            "title": self.title,
            "generated_at": self.generated_at,
            "task": self.task,
            "baseline": self.baseline,
            "bootstrap": {"replicates": self.replicates, "seed": self.seed},
            "engine": {"name": self.engine, "note": self.engine_note},
            "command": self.command,
            "labels": dict(self.labels),
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            "runs": runs,
            "scores": [s.summary() for s in self.scores],
            "headlines": headlines,
            "comparisons": [c.summary() for r in self.results for c in r.comparisons],
            "slice_comparisons": slices,
            **extra,
        }
        if self.trend is not None and not self.results:  # reportgen history's page
            return {
                "schema_version": SCHEMA_VERSION,
                "document": "history",
                "reportgen_version": self.version,
                "title": self.title,
                "generated_at": self.generated_at,
                "verdict": self.verdict,
                **self.trend.summary(),
            }
        if self.trend is not None:  # build --trend: where this build stands, not the points
            found["trend"] = {
                "builds": len(self.trend.builds),
                "breaks": [
                    {
                        "model": b.point.model,
                        "kind": b.point.kind,
                        "metric": b.point.metric,
                        "value": b.point.value,
                        "low": b.low,
                        "high": b.high,
                        "window": b.window,
                        "baseline": b.point.baseline,
                    }
                    for b in self.trend.breaks(self.trend.window)
                ],
            }
        if self.gates:
            found["gates"] = {
                "passed": not self.failed_gates,
                "results": [g.summary() for g in self.gates],
            }
        return found

    def to_json(self) -> str:
        """The JSON summary. JSON has no NaN or Infinity: a non-finite number is written as
        the string "NaN", "Infinity" or "-Infinity", and its place is listed under
        ``non_finite`` (e.g. ``runs[0].metrics.perplexity``)."""
        places: list[str] = []
        found = _finite(self.summary(), "", places)
        if places:
            found["non_finite"] = places
        return json.dumps(found, indent=2, sort_keys=False, allow_nan=False) + "\n"

    def to_html(self, static: bool = False) -> str:
        """The self-contained page; ``static=True``: no JavaScript, charts as SVG images."""
        return render.render_html(self, static=static)

    def to_markdown(self, marker: str | None = None) -> str:
        """A GitHub-flavoured summary (verdict, gates, leaderboard) for PR comments;
        ``marker``: a hidden ``<!-- reportgen:ID -->`` first line that finds the comment."""
        return publish.to_markdown(self, marker)

    def to_junit(self) -> str:
        """JUnit XML: one test case per gate and model."""
        return publish.to_junit(self)

    def to_email(
        self,
        to: str | None = None,
        subject: str | None = None,
        sender: str | None = None,
        attach: str = "report",
    ) -> bytes:
        """A ready-to-send MIME message (.eml): the verdict, gates, leaderboard and key
        charts, with the full report attached (``attach``: ``report``, ``static`` without
        JavaScript, or ``none``)."""
        return publish.to_email(self, to=to, subject=subject, sender=sender, attach=attach)

    def save(self, path: str | Path, format: str | None = None, **settings: Any) -> Path:
        """Write one output, by ``format`` or by the path's suffix (.html, .htm, .json, .md,
        .xml, .eml; another suffix is an error that lists them), from the registry of formats
        (:data:`reportgen.render.reporters.REPORTERS`): ``html``, ``static``, ``json``,
        ``markdown``, ``junit``, ``eml``. ``settings`` go to the format (the email's ``to``,
        ``subject``, ``sender``)."""
        path = Path(path)
        reporter = reporter_for(path, format)
        render.write_atomic_bytes(path, reporter.render(self, settings))
        if reporter.name == "html":
            self._saved = path
        return path

    def preview(self) -> Report:
        """The report cut to what a notebook shows inline: verdict, gates, leaderboards and
        the key charts (as the email picks them), no per-example sections."""
        from reportgen.render.publish import key_figures

        figures = key_figures(self)
        lead = (
            "A preview: the key charts only. The whole report: report.show() opens it in a "
            'browser; report.save("report.html") writes it.'
        )
        shown = [s for s in self.sections if s.id.endswith("-leaderboard")]
        if figures:
            shown.append(Section("key-charts", "Key charts", lead=lead, figures=figures))
        else:
            shown.append(Section("key-charts", "The whole report", lead=lead))
        return replace(self, sections=shown, runs=[])

    def _repr_html_(self) -> str:
        """A light preview in Jupyter (well under 200 KB, whatever the report's size): the
        static page of :meth:`preview`, in an iframe that keeps its styles and CSP apart
        from the notebook's."""
        page = html.escape(self.preview().to_html(static=True), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:700px;border:0" '
            f'title="{html.escape(self.title)}"></iframe>'
        )

    def show(self) -> Path:
        """Open the whole report in a browser, when one is available: the HTML file last
        written by :meth:`save`, else a new one in a temporary folder. Returns the file's
        path (to open by hand where no browser is, on a remote kernel)."""
        import tempfile
        import webbrowser

        path = self._saved
        if path is None or not path.is_file():
            folder = Path(tempfile.mkdtemp(prefix="reportgen-"))
            path = self.save(folder / "report.html")
        with contextlib.suppress(webbrowser.Error):  # no browser: the path is returned
            webbrowser.open(path.resolve().as_uri())
        return path


def _frame(record: type, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a frame with the record's columns, also when there are none."""
    if rows:
        return pd.DataFrame.from_records(rows)
    columns = [f.name for f in fields(record) if f.name != "draws"]
    if record is Comparison:
        columns = list(Comparison.record_columns())
    return pd.DataFrame(columns=columns)


# SOURCE_DATE_EPOCH as far as a date can go: 0001-01-01 00:00 to 9999-12-31 23:59:59 UTC
_UNIX = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_RANGE = (
    (dt.datetime.min.replace(tzinfo=dt.UTC) - _UNIX) // dt.timedelta(seconds=1),
    (dt.datetime.max.replace(tzinfo=dt.UTC) - _UNIX) // dt.timedelta(seconds=1),
)


def _source_date(epoch: str) -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` as a UTC date, the same on every platform (no time_t)."""
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", epoch):
        raise ReportgenError(
            f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a whole number of seconds: "
            "give seconds since 1970-01-01 UTC, e.g. SOURCE_DATE_EPOCH=$(date +%s)"
        )
    low, high = _EPOCH_RANGE
    # the length first: int() refuses more than 4,300 digits
    if len(epoch.strip().lstrip("+-").lstrip("0")) > 12 or not low <= int(epoch) <= high:
        raise ReportgenError(
            f"SOURCE_DATE_EPOCH={epoch.strip()[:40]!r} is out of range: give whole seconds "
            f"since 1970-01-01 UTC from {low} (year 1) to {high} (year 9999)"
        )
    return _UNIX + dt.timedelta(seconds=int(epoch))


def generation_time(timestamp: bool = True) -> str | None:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds); None to omit."""
    if not timestamp:
        return None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.now(tz=dt.UTC) if not epoch else _source_date(epoch)
    return f"{moment.year:04d}-{moment:%m-%d %H:%M} UTC"  # %Y is not padded everywhere


def _finite(value: Any, where: str, places: list[str]) -> Any:
    """``value`` with every non-finite float replaced by its name as a string, the places
    collected in ``places``."""
    if isinstance(value, float) and not math.isfinite(value):
        places.append(where or "(top)")
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {
            k: _finite(v, f"{where}.{k}" if where else str(k), places) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_finite(v, f"{where}[{i}]", places) for i, v in enumerate(value)]
    return value
