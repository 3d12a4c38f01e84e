"""reportgen: side-by-side, self-contained HTML reports for ML evaluation runs."""

from __future__ import annotations

__version__ = "0.1.0"

from reportgen.errors import ReportgenError, UndefinedMetric
from reportgen.ingest.runs import Run, load_run
from reportgen.pipeline import build_report
from reportgen.report import Report

__all__ = [
    "Report",
    "ReportgenError",
    "Run",
    "UndefinedMetric",
    "__version__",
    "build_report",
    "load_run",
]
