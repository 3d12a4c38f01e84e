"""reportgen: side-by-side, self-contained HTML reports for ML evaluation runs.

The public names are imported on first use (PEP 562), so that ``reportgen --help`` and
``--version`` load the command line only, not pandas and Altair."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Report",
    "ReportgenError",
    "Run",
    "UndefinedMetric",
    "__version__",
    "build_report",
    "load_run",
]

_WHERE = {
    "Report": "reportgen.report",
    "ReportgenError": "reportgen.errors",
    "UndefinedMetric": "reportgen.errors",
    "Run": "reportgen.ingest.runs",
    "load_run": "reportgen.ingest.runs",
    "build_report": "reportgen.pipeline",
}

if TYPE_CHECKING:
    from reportgen.errors import ReportgenError, UndefinedMetric
    from reportgen.ingest.runs import Run, load_run
    from reportgen.pipeline import build_report
    from reportgen.report import Report


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
    import importlib

    if name == "Run":  # Run.from_frame and Run.from_arrays ask the kinds what a table holds
        importlib.import_module("reportgen.kinds")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
